"""Trade totals for /trades/summary and /portfolio/performance, from ``(symbol, side, quantity, price, fee,
fee asset)`` rows.

The rows are the fills the engine holds in memory, which order retention (``engine.order_retention``) trims: the
totals cover the retained history only (a known limit, see the README); reading them from the SQL projection is
the fix once its reads are proven safe beside the projector's writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

_CATCH_UP_S = 10.0


def summarise(rows: Iterable[tuple[Any, ...]], quotes: dict[str, str]) -> dict[str, Any]:
    """Per-symbol and per-currency totals: notional in each instrument's quote currency, fees in their own asset,
    never a sum of dollars and euros (nor a volume summed over different instruments)."""
    by: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    fees_by: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    notional: dict[str, Decimal] = defaultdict(Decimal)
    fees: dict[str, Decimal] = defaultdict(Decimal)
    for symbol, side, qty, price, fee, fee_asset in rows:
        agg = by[symbol]
        agg["count"] += 1
        agg["volume"] += qty
        agg["buy_volume" if side == "BUY" else "sell_volume"] += qty
        agg["notional"] += qty * price
        notional[quotes.get(symbol, "?")] += qty * price
        if fee and fee_asset is not None:
            fees[fee_asset] += fee
            fees_by[symbol][fee_asset] += fee
    return {
        "count": sum(int(agg["count"]) for agg in by.values()),
        "notional": {currency: str(v) for currency, v in sorted(notional.items())},
        "fees": {asset: str(v) for asset, v in sorted(fees.items())},
        "by_symbol": {
            s: {k: (int(v) if k == "count" else str(v)) for k, v in agg.items()}
            | {"currency": quotes.get(s, "?"), "fees": {a: str(v) for a, v in sorted(fees_by[s].items())}}
            for s, agg in sorted(by.items())
        },
    }


__all__ = ["summarise"]
