"""`alphintra export`: copy market data and the trading history into PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, emit, info, progress

app = typer.Typer(help="Export market data and trading history to PostgreSQL.", no_args_is_help=True)

COLUMNS = ["table", "rows", "new", "changed", "same", "seconds", "rows/s"]


@app.command("postgres")
def postgres(
    url: Annotated[
        str,
        typer.Option(
            "--url", help="Target database, e.g. postgresql://user:password@host:5432/dbname.", show_default=False
        ),
    ],
    market: Annotated[
        bool, typer.Option("--market/--no-market", help="Export OHLCV bars from the market store.")
    ] = True,
    state: Annotated[
        bool, typer.Option("--state/--no-state", help="Export orders, trades, positions, strategies, risk...")
    ] = True,
    tables: Annotated[
        str | None,
        typer.Option(
            "--tables",
            metavar="NAME,...",
            help="Only these tables, e.g. orders,trades or market_data (default: all).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only rows created or changed from this UTC time on (ISO, e.g. 2024-06-01 or 2024-06-01T12:00).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Copy data into PostgreSQL with COPY, idempotently: running it again only adds new or changed rows, and a
    run cut short is completed by running it again.

    Target tables are created when missing, with the plan's indexes; market_data becomes a TimescaleDB hypertable
    when the server has that extension, a plain table otherwise. --since narrows to recent rows (accounts and
    strategies, which other rows point at, always go whole).
    """
    from alphintra.config.settings import get_settings
    from alphintra.storage.export import (
        MARKET_TABLE,
        count_market_rows,
        export_to_postgres,
        parse_tables,
        state_row_count,
    )
    from alphintra.storage.market.schema import from_ns, to_ns

    chosen = parse_tables(tables)
    start = None if since is None else from_ns(to_ns(since, "--since"))
    settings = get_settings()
    market_root = settings.paths.market
    state_url = settings.effective_database_url
    total = 0
    if market and (chosen is None or MARKET_TABLE in chosen) and start is None:
        total += count_market_rows(market_root)  # the manifests count whole datasets: no total with --since
    if state and (chosen is None or chosen - {MARKET_TABLE}):
        total += state_row_count(state_url, tables=chosen, since=start)
    with progress("exporting to PostgreSQL", total=total or None) as advance:
        report = export_to_postgres(
            url,
            market_root=market_root,
            state_url=state_url,
            include_market=market,
            include_state=state,
            advance=advance,
            tables=chosen,
            since=start,
        )
    if as_json:
        emit(report.to_dict(), True)
        return
    rows = [
        {
            "table": t.table,
            "rows": t.rows,
            "new": t.inserted,
            "changed": t.updated,
            "same": t.unchanged,
            "seconds": round(t.seconds, 3),
            "rows/s": round(t.rows_per_second),
        }
        for t in report.tables
    ]
    emit(rows, False, columns=COLUMNS, title="export")
    info(f"target: {report.target}")
    for note in report.notes:
        info(note)
    info(f"{report.rows} rows in {report.seconds:.2f}s; hypertables: {', '.join(report.hypertables) or 'none'}")


__all__ = ["app"]
