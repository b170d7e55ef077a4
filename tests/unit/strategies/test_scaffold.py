"""Strategy files from templates: names, and a file that exists is never replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphintra.errors import ValidationError
from alphintra.strategies.scaffold import TEMPLATES, class_name, new_strategy, render


def test_class_names_and_every_template_renders_valid_python() -> None:
    assert (class_name("my_trend"), class_name("x2_y")) == ("MyTrend", "X2Y")
    for template in TEMPLATES:
        text = render("alpha_one", template)
        compile(text, f"{template}.py", "exec")  # syntax of the rendered file
        assert "class AlphaOne(Strategy):" in text and 'name = "alpha_one"' in text


def test_an_existing_file_is_not_overwritten_even_when_it_does_not_load(isolated_home: Path) -> None:
    folder = isolated_home / "strategies"
    folder.mkdir(parents=True)
    (folder / "broken.py").write_text("this is not python\n")
    with pytest.raises(ValidationError) as err:
        new_strategy("broken")
    assert err.value.field == "NAME" and err.value.rule == f"{folder / 'broken.py'} exists already: choose another name"
    assert (folder / "broken.py").read_text() == "this is not python\n"
    assert sorted(p.name for p in folder.iterdir()) == ["broken.py"]  # no temporary file left behind
