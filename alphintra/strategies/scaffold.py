"""New strategy files from templates (`alphintra strategy new`), written into the user strategies folder.

The templates (``templates/*.py.tmpl``) are complete, documented strategies that run as written; a new file only
gets its own strategy name and class name. A file is never overwritten, and a name already taken (a built-in,
a plug-in or another file of the home) is refused, so the new strategy is always the one that name runs.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from alphintra.errors import ValidationError

TEMPLATES = ("trend", "mean_reversion", "ml")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def class_name(name: str) -> str:
    """``my_trend`` -> ``MyTrend``."""
    return "".join(part.capitalize() for part in name.split("_") if part) or "Strategy"


def render(name: str, template: str) -> str:
    """The text of strategy ``name`` made from ``template``."""
    if template not in TEMPLATES:
        raise ValidationError("--template", f"must be one of {', '.join(TEMPLATES)}", template)
    text = resources.files("alphintra.strategies.templates").joinpath(f"{template}.py.tmpl").read_text("utf-8")
    return text.replace("__NAME__", name).replace("__CLASS__", class_name(name))


def new_strategy(name: str, template: str = "trend", folder: Path | None = None) -> Path:
    """Write ``<folder>/<name>.py`` (the home's strategies folder by default) and return its path."""
    from alphintra.strategies import registry

    if not _NAME.match(name):
        raise ValidationError(
            "NAME", "must start with a lowercase letter and use only a-z, 0-9 and _ (at most 64 characters)", name
        )
    text = render(name, template)
    if name in registry.available():
        raise ValidationError("NAME", "a strategy of that name exists already: choose another", name)
    target_dir = folder if folder is not None else registry.user_folder()
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{name}.py"
    tmp = target_dir / f".{name}.py.{os.getpid()}.tmp"
    # Written under a temporary name (no `.py`, so never loaded half-written), then linked into place: the link
    # fails when the file exists, so an existing strategy file is never replaced.
    try:
        with tmp.open("x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ValidationError("NAME", f"{path} exists already: choose another name", name) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["TEMPLATES", "class_name", "new_strategy", "render"]
