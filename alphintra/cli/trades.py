"""`alphintra trades`: the engine's fills (executions) and a summary of them, from the running daemon."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, ns_time, print_json, print_table
from alphintra.cli.order import engine_client

app = typer.Typer(help="Fills and trade summaries (needs a running engine).", no_args_is_help=True)

TRADE_COLUMNS = ["time", "id", "order_id", "symbol", "side", "quantity", "price", "fee", "fee_asset", "liquidity"]


def trade_row(trade: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": ns_time(trade["timestamp"]),
        "id": trade["id"],
        "order_id": trade["order_id"],
        "symbol": trade["symbol"],
        "side": trade["side"],
        "quantity": Decimal(trade["quantity"]),
        "price": Decimal(trade["price"]),
        "fee": Decimal(trade["fee"]),
        "fee_asset": trade["fee_asset"],
        "liquidity": trade["trade_type"],
    }


@app.command("list")
def list_trades(
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this instrument.")] = None,
    order_id: Annotated[str | None, typer.Option("--order", help="Only this order's fills.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Fills, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if symbol is not None:
        params["symbol"] = symbol
    if order_id is not None:
        params["order_id"] = order_id
    with engine_client() as client:
        trades = client.get("/api/v1/trades", params=params)
    if as_json:
        print_json(trades)
        return
    print_table([trade_row(t) for t in trades], TRADE_COLUMNS, title="trades", empty="no trades")


@app.command("summary")
def summary(
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this instrument.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Count, volume, notional and fees of every fill, in total and per instrument."""
    with engine_client() as client:
        data = client.get("/api/v1/trades/summary", params={"symbol": symbol} if symbol else None)
    if as_json:
        print_json(data)
        return
    emit(
        {"count": data["count"], "notional": _amounts(data["notional"]), "fees": _amounts(data["fees"])},
        False,
        title="all trades",
    )
    rows = [
        {
            "symbol": sym,
            "count": agg.get("count", 0),
            **{k: Decimal(agg.get(k, "0")) for k in ("buy_volume", "sell_volume")},
            "notional": _amounts({agg.get("currency", ""): agg.get("notional", "0")}),
            "fees": _amounts(agg.get("fees", {})),
        }
        for sym, agg in sorted(data["by_symbol"].items())
    ]
    if rows:
        print_table(rows, title="by symbol")


def _amounts(by_currency: dict[str, str]) -> str:
    """``{"USD": "12.5", "EUR": "3"}`` -> ``12.50 USD, 3.00 EUR`` (amounts in different currencies are never added)."""
    if not by_currency:
        return "0"
    return ", ".join(f"{Decimal(v):,.2f} {c}".rstrip() for c, v in by_currency.items())


__all__ = ["app", "trade_row"]
