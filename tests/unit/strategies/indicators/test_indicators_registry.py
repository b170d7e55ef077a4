"""The registry: every indicator by name, both forms, and ``compute``/``create`` taking the same parameters."""

from __future__ import annotations

import inspect
from pathlib import Path

import polars as pl
import pytest

from alphintra.errors import ValidationError
from alphintra.strategies import indicators
from alphintra.strategies.indicators import INDICATORS, Indicator, compute, create, lookup

EXPECTED = {
    "sma": ("sma",),
    "ema": ("ema",),
    "wma": ("wma",),
    "rsi": ("rsi",),
    "macd": ("macd", "signal", "histogram"),
    "bollinger": ("middle", "upper", "lower", "percent_b", "bandwidth"),
    "zscore": ("zscore",),
    "atr": ("atr",),
    "adx": ("plus_di", "minus_di", "adx"),
    "stochastic": ("fast_k", "fast_d", "slow_k", "slow_d"),
    "obv": ("obv",),
    "vwap": ("vwap",),
    "donchian": ("upper", "lower", "middle"),
}


def test_every_indicator_is_registered_with_its_outputs() -> None:
    assert {name: spec.outputs for name, spec in INDICATORS.items()} == EXPECTED
    with pytest.raises(TypeError):
        INDICATORS["mine"] = INDICATORS["sma"]  # type: ignore[index]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_both_forms_take_the_inputs_and_parameters_the_spec_names(name: str) -> None:
    spec = INDICATORS[name]
    assert spec.name == name and issubclass(spec.incremental, Indicator)
    assert getattr(indicators, name) is spec.vectorised
    vectorised = list(inspect.signature(spec.vectorised).parameters)
    assert tuple(vectorised[: len(spec.inputs)]) == spec.inputs
    # The vectorised parameters after the inputs are the incremental constructor's (less `source`); VWAP's
    # session is a per-row input: a column for the vectorised form, an `update` argument for the incremental.
    constructor = [p for p in inspect.signature(spec.incremental).parameters if p != "source"]
    assert [p for p in vectorised[len(spec.inputs) :] if p != "session"] == constructor
    update = list(inspect.signature(spec.incremental.update).parameters)[1:]
    assert tuple(update[: len(spec.inputs)]) == spec.inputs or spec.single_input


def test_incremental_classes_are_slotted() -> None:
    for spec in INDICATORS.values():
        instance = create(spec.name)
        with pytest.raises(AttributeError):
            instance.some_new_attribute = 1  # type: ignore[attr-defined]


def test_lookup_is_case_insensitive_and_unknown_names_are_refused() -> None:
    assert lookup("RSI") is INDICATORS["rsi"]
    with pytest.raises(ValidationError) as raised:
        lookup("ichimoku")
    assert raised.value.field == "indicator"
    assert raised.value.rule.startswith("must be one of: adx, atr, bollinger")


def test_compute_finds_columns_in_any_case_and_names_missing_ones() -> None:
    frame = pl.DataFrame({"High": [2.0, 3.0], "Low": [1.0, 2.0], "CLOSE": [1.5, 2.5]})
    assert compute("donchian", frame, period=2).row(1) == (3.0, 1.0, 2.0)
    with pytest.raises(ValidationError) as raised:
        compute("obv", frame)
    assert raised.value.field == "volume" and "needs a column 'volume'" in raised.value.rule


def test_parameters_that_do_not_fit_are_refused() -> None:
    frame = pl.DataFrame({"high": [2.0], "low": [1.0], "close": [1.5]})
    with pytest.raises(ValidationError, match="source: only applies to single-input indicators, not atr"):
        compute("atr", frame, source="high")
    with pytest.raises(ValidationError, match="source: only applies to single-input indicators, not atr"):
        create("atr", source="high")
    with pytest.raises(ValidationError) as raised:
        create("rsi", length=14)
    assert raised.value.field == "params" and "rsi" in raised.value.rule


def test_a_strategy_and_a_chart_built_from_the_registry_agree() -> None:
    frame = pl.DataFrame({"close": [float(x % 7 + x // 3) for x in range(40)]})
    chart = compute("ema", frame, period=5)["ema"].to_list()
    live = create("ema", period=5)
    assert [live.update(x) for x in frame["close"]] == pytest.approx(chart, rel=1e-12)


def test_incremental_classes_import_without_the_vectorised_form() -> None:
    """A live strategy imports the incremental classes only; polars-backed modules load on first use."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from alphintra.strategies.indicators import SMA, RSI\n"
        "assert 'alphintra.strategies.indicators.vectorised' not in sys.modules\n"
        "assert 'alphintra.strategies.indicators.registry' not in sys.modules\n"
        "from alphintra.strategies.indicators import INDICATORS\n"
        "assert 'alphintra.strategies.indicators.vectorised' in sys.modules and len(INDICATORS) == 13\n"
    )
    root = Path(__file__).resolve().parents[4]  # the repository, so `-c` finds the package as pytest does
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root)
    assert result.returncode == 0, result.stderr
