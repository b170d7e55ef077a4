"""Result notes drawn from a run's signals: why a strategy did not trade."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from alphintra.formatting import money, plain


def _skipped_note(name: str, signals: Sequence[Any]) -> str:
    """One note for a strategy's orders that could not buy one lot; with the prices the signals carry (dca's do),
    the cheapest lot seen and the most a signal had to spend, so that the user sees how far apart they are."""
    count = len(signals)
    keys = ("amount", "lot", "base", "price", "cost", "currency")
    if not all(all(k in sig.data for k in keys) for sig in signals):
        return f"{name}: {count} orders not placed, the amount buys less than one lot"
    cheapest = min(signals, key=lambda sig: Decimal(sig.data["cost"])).data
    most = max(Decimal(sig.data["amount"]) for sig in signals)
    cur = cheapest["currency"]
    return (
        f"{signals[0].strategy}: {count} buy signals could not buy one lot ({plain(Decimal(cheapest['lot']))} "
        f"{cheapest['base']} at {money(Decimal(cheapest['price']), cur)} {cur} or more needs "
        f"{money(Decimal(cheapest['cost']), cur)} {cur} with fees; at most {money(most, cur)} {cur} per signal)"
    )


def _round_trip_notes(signals: Sequence[Any]) -> list[str]:
    """One note per arbitrage round trip (``round_trip`` signals, see ``builtins/_legs.py``): the profit realised
    from its fills and its edge on what it committed; the first 20, then a total."""
    trips = [sig for sig in signals if sig.name == "round_trip"]
    notes = []
    for sig in trips[:20]:
        d = sig.data
        unwound = f", {d['unwinds']} unwinding order(s) after a short leg" if d.get("unwinds") else ""
        left = ", left " + ", ".join(f"{v} {a}" for a, v in d["left"].items()) if d.get("left") else ""
        notes.append(
            f"{sig.strategy} round trip {d['number']}: realised {d['profit']} {d['home']} on {d['committed']} "
            f"{d['home']} (edge {d['edge']}){unwound}{left}"
        )
    if len(trips) > 20:
        homes = {sig.data["home"] for sig in trips}
        total = sum((Decimal(sig.data["profit"]) for sig in trips), Decimal(0))
        notes.append(f"{len(trips)} round trips in all, realised {plain(total)} {'/'.join(sorted(homes))}")
    return notes


def signal_notes(signals: Sequence[Any], *, filled: bool) -> list[str]:
    """Say why a run did not trade: a ``*_skipped`` signal is an order a strategy could not size (less than one
    lot: dca with an amount below one share), and a run with signals but no fill says so."""
    skipped: dict[str, list[Any]] = {}
    for sig in signals:
        if sig.name.endswith("_skipped"):
            skipped.setdefault(sig.name, []).append(sig)
    notes = [_skipped_note(name, sigs) for name, sigs in skipped.items()]
    notes += _round_trip_notes(signals)
    if signals and not filled:
        notes.append(f"no fills: {len(signals)} signals, 0 orders filled")
    return notes


__all__ = ["signal_notes"]
