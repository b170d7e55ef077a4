"""`alphintra plot` in the terminal: the close with overlay indicators, then one chart per oscillator."""

from __future__ import annotations

import re
from pathlib import Path


def test_plot_draws_price_with_overlays_then_each_oscillator(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    result = run_cli("plot", "GOOG", "-t", "1d", "--indicators", "sma:20,rsi:14", "--width", "80")
    assert result.code == 0, result.err
    titles = [line.strip() for line in result.out.splitlines() if line.strip() in ("GOOG 1d", "rsi(14)")]
    assert titles == ["GOOG 1d", "rsi(14)"]
    assert "GOOG close" in result.out and "sma(20)" in result.out  # the legend of the price chart
    # Daily bars: the axis labels are dates, never a time of day between two bars.
    labels = re.findall(r"\d{4}-\d\d-\d\d(?: \d\d:\d\d)?", result.out)
    assert labels and all(len(label) == 10 for label in labels)


def test_plot_refuses_bad_indicators_naming_the_option(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    unknown = run_cli("plot", "GOOG", "--indicators", "foo:1")
    assert unknown.code == 2
    assert "--indicators: must be one of: adx, atr, bollinger" in unknown.err
    too_many = run_cli("plot", "GOOG", "--indicators", "sma:1:2")
    assert too_many.code == 2
    assert "--indicators: sma takes at most 1 parameter(s) (period) (got 'sma:1:2')" in " ".join(too_many.err.split())
