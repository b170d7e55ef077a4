"""Totals over an account's whole trade history, read from the SQL projection.

The engine keeps only working and recent orders in memory (``engine.order_retention``), so sums over its fills
would shrink as orders age out; the projection holds every trade. A request first waits until the projection has
applied everything durable when it arrived, so a fill acknowledged before the request is always counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.errors import RetryableError

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host

_CATCH_UP_S = 10.0


def caught_up_rows(host: Host, symbol: str | None, accounts: frozenset[str] | None = None) -> list[tuple[Any, ...]]:
    """Worker thread: the projection's trades (of ``accounts``; None: all) once it holds every durable fill."""
    if not host.projection_caught_up(_CATCH_UP_S):
        raise RetryableError(f"the trade history is still being brought up to date (more than {_CATCH_UP_S:g} s)")
    store = host.archive.store
    if accounts is None:
        return list(store.fill_rows(symbol=symbol))
    return [row for account in sorted(accounts) for row in store.fill_rows(symbol=symbol, account=account)]


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


__all__ = ["caught_up_rows", "summarise"]
