"""The reports say what their less obvious figures mean, next to the figures."""

from __future__ import annotations

from pathlib import Path

from test_report_outputs import make_result

from alphintra.strategies.report import render_html, write_report


def test_text_and_html_reports_define_both_drawdowns(isolated_home: Path) -> None:
    files = write_report(make_result("bt-defs"))
    txt = files.txt.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "Definitions\n" in txt
    assert (
        "  Max drawdown (money): the most money equity ever gave back from a running peak (not always the deepest %)\n"
        in txt
    )
    assert "  Max % drawdown in money: the money lost in the deepest percentage fall\n" in txt
    page = render_html(make_result("bt-defs"))
    assert (
        "<dt>Max drawdown</dt><dd>the deepest fall of equity from its running peak, in percent of that peak</dd>"
        in page
    )
