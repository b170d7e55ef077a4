"""`alphintra portfolio`: the account's value, positions, balances and performance from the running daemon.

``alphintra portfolio`` alone shows the summary (cash, positions value, equity, PnL).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, money_cell, print_json, print_table
from alphintra.cli.order import engine_client

app = typer.Typer(
    help="Account value, positions, balances and performance (needs a running engine).",
    invoke_without_command=True,
)


AccountOpt = Annotated[
    str | None, typer.Option("--account", help="Configured account (default: the first; each lives on one venue).")
]


def _params(account: str | None) -> dict[str, str] | None:
    return None if account is None else {"account": account}


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _quote(symbol: str) -> str | None:
    return symbol.split("/", 1)[1] if "/" in symbol else None


@app.callback()
def summary(
    ctx: typer.Context,
    account: AccountOpt = None,
    by_venue: Annotated[
        bool, typer.Option("--by-venue", help="Balances per venue (its accounts summed) and the total over venues.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Cash, positions value, equity, exposure and PnL of an account (default: the first configured)."""
    if ctx.invoked_subcommand is not None:
        return
    if by_venue:
        if account is not None:
            from alphintra.errors import ValidationError

            raise ValidationError("--by-venue", "shows every account: leave out --account")
        with engine_client() as client:
            data = client.get("/api/v1/portfolio/by-venue")
        if as_json:
            print_json(data)
            return
        rows = [
            {"venue": v["venue"], "accounts": ", ".join(v["accounts"]), **b}
            for v in data["venues"]
            for b in v["balances"]
        ]
        rows += [{"venue": "total", "accounts": "", **b} for b in data["total"]]
        shown = [{**r, **{k: money_cell(r[k], r["asset"]) for k in ("total", "available", "locked")}} for r in rows]
        print_table(shown, ["venue", "accounts", "asset", "total", "available", "locked"], title="balances by venue")
        return
    with engine_client() as client:
        data = client.get("/api/v1/portfolio", params=_params(account))
    if not as_json:  # money at the account currency's precision, with separators
        currency = data.get("currency")
        data = {k: money_cell(v, currency) if k in _MONEY else v for k, v in data.items()}
    emit(data, as_json, title=f"portfolio {data.get('account', '')}".strip())


_MONEY = frozenset(
    {"cash", "positions_value", "equity", "exposure", "unrealised_pnl", "realised_pnl", "pnl", "start_equity"}
)


@app.command("positions")
def positions(account: AccountOpt = None, as_json: JsonOption = False) -> None:
    """Open positions with their mark, market value and PnL."""
    with engine_client() as client:
        rows = client.get("/api/v1/portfolio/positions", params=_params(account))
    if as_json:
        print_json(rows)
        return
    shown = [
        {
            "symbol": p["symbol"],
            **{k: _dec(p.get(k)) for k in ("quantity", "average_price", "mark")},
            # Money in the instrument's quote currency (BTC/USD: USD, two decimals).
            **{
                k: money_cell(p.get(k), _quote(p["symbol"])) for k in ("market_value", "unrealised_pnl", "realised_pnl")
            },
            "fees": ", ".join(f"{v} {a}" for a, v in (p.get("fees") or {}).items()),
        }
        for p in rows
    ]
    print_table(shown, title="positions", empty="no positions")


@app.command("balances")
def balances(account: AccountOpt = None, as_json: JsonOption = False) -> None:
    """Each asset's total, available and locked (reserved by working orders) amount."""
    with engine_client() as client:
        rows = client.get("/api/v1/portfolio/balances", params=_params(account))
    if as_json:
        print_json(rows)
        return
    shown = [
        {"asset": b["asset"], **{k: money_cell(b[k], b["asset"]) for k in ("total", "available", "locked")}}
        for b in rows
    ]
    print_table(shown, title="balances", empty="no balances")


@app.command("performance")
def performance(as_json: JsonOption = False) -> None:
    """Equity against the session's start: PnL, return, fees paid and number of fills."""
    from alphintra.config.settings import get_settings

    with engine_client() as client:
        data = client.get("/api/v1/portfolio/performance")
    if not as_json:
        currency = get_settings().base_currency
        data = {k: money_cell(v, currency) if k in _MONEY else v for k, v in data.items()}
        if data.get("return_pct") is not None:
            data["return_pct"] = f"{data['return_pct']:,.2f} %"
        data["fees"] = ", ".join(f"{money_cell(v, a)} {a}" for a, v in data["fees"].items()) or "0"
    emit(data, as_json, title="performance")


__all__ = ["app"]
