"""Routed orders and the consolidated book in the CLI: ``order buy|sell --route best|split``, ``order routed`` and
``market book --venues`` (see :mod:`alphintra.engine.routing` and :mod:`alphintra.engine.book_merge`)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from alphintra.cli.common import console, emit, print_json, print_table
from alphintra.errors import ValidationError

ROUTED = "/api/v1/orders/routed"
CONSOLIDATED = "/api/v1/market-data/consolidated"
ROUTES = ("best", "split")
_FLAGS_NOT_ROUTED = ("stop", "trail", "iceberg", "twap", "vwap", "take_profit", "stop_loss", "tif", "expires")


def venue_list(text: str | None, flag: str = "--venues") -> list[str]:
    venues = [v.strip() for v in (text or "").split(",") if v.strip()]
    if text is not None and not venues:
        raise ValidationError(flag, "must name venues separated by commas, e.g. a,b", text)
    return venues


def routed_body(side: str, symbol: str, quantity: str, route: str, venues: str | None, **flags: Any) -> dict[str, Any]:
    """The body of ``POST /orders/routed``; an order flag a routed order cannot carry is named."""
    from alphintra.cli.order import parse_decimal

    if route not in ROUTES:
        raise ValidationError("--route", "must be best or split", route)
    for name in _FLAGS_NOT_ROUTED:
        if flags.get(name):
            raise ValidationError("--route", f"a routed order takes --limit and --venues only, not --{name}")
    for name in ("account", "venue"):
        if flags.get(name):
            raise ValidationError(f"--{name}", "a routed order uses each venue's account: give --venues instead")
    body: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "quantity": str(parse_decimal(quantity, "QTY")),
        "route": route,
        "venues": venue_list(venues),
    }
    if flags.get("limit") is not None:
        body["limit"] = str(parse_decimal(flags["limit"], "--limit"))
    if flags.get("strategy"):
        body["strategy"] = flags["strategy"]
    return body


def place_routed(client: Any, body: dict[str, Any], wait_s: float = 15.0) -> dict[str, Any]:
    """Send a routed order and wait (bounded) for its children to finish; returns its execution report."""
    report: dict[str, Any] = client.post(ROUTED, body)
    deadline = time.monotonic() + wait_s
    while report.get("status") == "WORKING" and time.monotonic() < deadline:
        time.sleep(0.1)
        report = client.get(f"{ROUTED}/{report['route_id']}")
    return report


def show_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    head = {k: v for k, v in report.items() if k not in ("children", "single_venue", "notes") and v not in (None, {})}
    if isinstance(head.get("best_single_venue"), dict):
        best = head["best_single_venue"]
        head["best_single_venue"] = f"{best['venue']} {best['all_in']}"
    if head.get("failed_venues"):
        head["failed_venues"] = ", ".join(f"{v}: {why}" for v, why in head["failed_venues"].items())
    emit(head, False, title=f"routed order {report['route_id']}")
    columns = ["order_id", "venue", "quantity", "limit_price", "filled", "avg_price", "fees", "status", "message"]
    print_table(report["children"], columns, title="children", empty="no child orders")
    for note in report.get("notes") or []:
        console.print(f"- {note}", highlight=False)


def book_rows(book: dict[str, Any], depth: int) -> list[dict[str, Any]]:
    """The consolidated ladder as rows: each side's level with its venue and fee-adjusted price."""
    bids, asks = book["bids"][:depth], book["asks"][:depth]
    rows = []
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else {}
        a = asks[i] if i < len(asks) else {}
        rows.append(
            {
                "bid venue": b.get("venue"),
                "bid qty": _dec(b.get("quantity")),
                "bid": _dec(b.get("price")),
                "bid all-in": _dec(b.get("all_in")),
                "ask all-in": _dec(a.get("all_in")),
                "ask": _dec(a.get("price")),
                "ask qty": _dec(a.get("quantity")),
                "ask venue": a.get("venue"),
            }
        )
    return rows


def show_consolidated(book: dict[str, Any], depth: int, as_json: bool) -> None:
    if as_json:
        print_json(book)
        return
    fees = ", ".join(f"{v} {f}" for v, f in book["taker_fees"].items())
    title = f"{book['symbol']} consolidated book (mid {book.get('mid')}; taker fees {fees})"
    print_table(book_rows(book, depth), title=title, empty="no levels")


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


__all__ = ["book_rows", "place_routed", "routed_body", "show_consolidated", "show_report", "venue_list"]
