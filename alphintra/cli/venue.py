"""`alphintra venue`: trading venues. `venue fake` runs the local fake exchange the live tests trade against."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer

from alphintra.cli.common import JsonOption
from alphintra.errors import ValidationError

if TYPE_CHECKING:
    from alphintra.venues.fake.server import FakeExchange

app = typer.Typer(
    help="Trading venues (exchanges reached through ccxt) and the local fake exchange.", no_args_is_help=True
)


def _symbols(text: str) -> tuple[str, ...]:
    symbols = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    if not symbols:
        raise ValidationError("--symbols", "must list at least one symbol, e.g. BTC/USDT,ETH/USDT")
    for s in symbols:
        base, sep, quote = s.partition("/")
        if not sep or not base.isalnum() or not quote.isalnum():
            raise ValidationError("--symbols", f"each symbol must look like BASE/QUOTE (got {s!r})")
    if len(set(symbols)) != len(symbols):
        raise ValidationError("--symbols", "lists a symbol twice")
    return symbols


def _funds(items: list[str]) -> dict[str, Decimal] | None:
    if not items:
        return None
    out: dict[str, Decimal] = {}
    for item in items:
        asset, sep, amount = item.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = Decimal("NaN")
        if not sep or not asset.isalnum() or not value.is_finite() or value < 0:
            raise ValidationError("--fund", f"must be ASSET=AMOUNT with AMOUNT >= 0 (got {item!r})")
        out[asset.upper()] = value
    return out


@app.command("fake")
def fake(
    port: Annotated[int, typer.Option("--port", help="TCP port; 0 picks a free one (the printed urls carry it).")] = 0,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    symbols: Annotated[
        str, typer.Option("--symbols", help="Comma-separated BASE/QUOTE symbols to list.")
    ] = "BTC/USDT,ETH/USDT",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the price paths (history and live walk).")] = 1,
    faults: Annotated[str, typer.Option("--faults", help="Faults to inject from the start (see docs/api.md).")] = "",
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key of the funded account (default: generated).")
    ] = None,
    api_secret: Annotated[
        str | None, typer.Option("--api-secret", help="Its secret (required with --api-key).")
    ] = None,
    fund: Annotated[
        list[str] | None, typer.Option("--fund", help="ASSET=AMOUNT to fund the account with (repeatable).")
    ] = None,
    walk_ms: Annotated[
        int, typer.Option("--walk-ms", help="Move the price every N ms; 0 only on admin request.")
    ] = 1000,
    taker_fee: Annotated[
        str, typer.Option("--taker-fee", help="Taker fee rate of every symbol (0.001 = 10 bps).")
    ] = "0.001",
    as_json: JsonOption = False,
) -> None:
    """Run a local fake of the Binance spot API (REST and streams) until SIGTERM or SIGINT."""
    import asyncio

    from alphintra.venues.fake.server import FakeConfig, serve

    if not 0 <= port <= 65535:
        raise ValidationError("--port", "must be between 0 and 65535", port)
    if (api_key is None) != (api_secret is None):
        raise ValidationError("--api-key", "--api-key and --api-secret go together")
    if walk_ms < 0:
        raise ValidationError("--walk-ms", "must be >= 0", walk_ms)
    try:
        taker = Decimal(taker_fee)
    except ArithmeticError:
        taker = Decimal(-1)
    if not taker.is_finite() or not 0 <= taker < 1:
        raise ValidationError("--taker-fee", "must be a rate between 0 and 1 (0.001 = 10 bps)", taker_fee)
    if faults:
        from alphintra.venues.fake.faults import parse_spec

        parse_spec(faults)  # a bad spec is a usage error (exit 2) before anything binds
    config = FakeConfig(
        host=host,
        port=port,
        symbols=_symbols(symbols),
        seed=seed,
        faults=faults,
        api_key=api_key,
        api_secret=api_secret,
        funds=_funds(fund or []),
        walk_ms=walk_ms,
        taker_fee=taker,
    )

    def ready(fake: FakeExchange, record: dict[str, object]) -> None:
        if as_json:
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            sys.stdout.write(
                f"fake exchange listening on {config.host} ({', '.join(config.symbols)})\n"
                f"api key:    {record['api_key']}\n"
                f"api secret: {record['api_secret']}\n"
                f"ccxt urls:  {json.dumps(record['urls'])}\n"
                "stop with Ctrl-C\n"
            )
        sys.stdout.flush()

    asyncio.run(serve(config, ready))
