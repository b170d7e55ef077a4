"""Properties every equity curve must satisfy, whatever its shape."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.strategies.metrics import compute_metrics

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
curves = st.lists(cents, min_size=1, max_size=60).map(lambda vs: [(i * 60_000_000_000, v) for i, v in enumerate(vs)])


@settings(max_examples=150, deadline=None)
@given(curves)
def test_drawdown_bounds_and_strict_json(equity: list[tuple[int, Decimal]]) -> None:
    m = compute_metrics(equity, periods_per_year=525_600)
    assert -1.0 < m.max_drawdown <= 0.0
    assert m.max_drawdown_amount <= m.max_drawdown_pct_amount <= 0
    values = [v for _, v in equity]
    assert m.max_drawdown_amount == min((v - max(values[: i + 1]) for i, v in enumerate(values)), default=Decimal(0))
    assert 0 <= m.max_drawdown_duration_bars <= len(equity) - 1
    assert (m.max_drawdown == 0.0) == (m.max_drawdown_duration_bars == 0)
    assert m.net_profit == equity[-1][1] - equity[0][1]
    json.dumps(m.to_dict(), allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(curves, st.integers(min_value=2, max_value=1000))
def test_ratios_do_not_depend_on_account_size(equity: list[tuple[int, Decimal]], scale: int) -> None:
    a = compute_metrics(equity, periods_per_year=365)
    b = compute_metrics([(t, v * scale) for t, v in equity], periods_per_year=365)
    for name in ("total_return", "volatility", "sharpe", "sortino", "max_drawdown"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert abs(x - y) <= 1e-9 * max(1.0, abs(x)), name
    assert b.max_drawdown_amount == a.max_drawdown_amount * scale
    assert b.max_drawdown_duration_bars == a.max_drawdown_duration_bars
