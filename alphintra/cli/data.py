"""`alphintra data`: import, generate, validate, resample, query, export and remove market data.

Commands that write open the store as its one writer; ``list`` and ``show`` only read Parquet, so they work while
a daemon owns the store. polars and DuckDB are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import (
    JsonOption,
    TimerangeOpt,
    console,
    emit,
    info,
    print_json,
    print_table,
    progress,
    time_range,
)

if TYPE_CHECKING:
    from alphintra.storage.market import ValidationReport, WriteResult

app = typer.Typer(help="Market data: import, validate, resample, query.", no_args_is_help=True)

SymbolOpt = Annotated[str, typer.Option("--symbol", "-s", help="Symbol, e.g. GOOG or BTC/USDT.")]
OptSymbolOpt = Annotated[str | None, typer.Option("--symbol", "-s", help="Symbol, e.g. GOOG or BTC/USDT.")]
ExchangeOpt = Annotated[
    str | None, typer.Option("--exchange", "-e", help="Exchange; may be left out when the symbol is on one only.")
]
TimeframeOpt = Annotated[str, typer.Option("--timeframe", "-t", help="1m 5m 15m 30m 1h 4h 1d 1w 1M")]
OptTimeframeOpt = Annotated[str | None, typer.Option("--timeframe", "-t", help="1m 5m 15m 30m 1h 4h 1d 1w 1M")]
StartOpt = Annotated[str | None, typer.Option("--start", help="From this UTC date/time (inclusive), ISO format.")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Up to this UTC date/time (exclusive), ISO format.")]


class _LegacyArgCommand(typer.core.TyperCommand):
    """A command whose hidden positional argument (an older form still accepted) stays out of its usage line."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not getattr(param, "hidden", False):
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _write_summary(results: list[WriteResult]) -> list[dict[str, Any]]:
    return [
        {
            "dataset": r.key.label(),
            "received": r.received,
            "added": r.added,
            "replaced": r.replaced,
            "duplicates_dropped": r.duplicates_dropped,
            "total": r.total,
        }
        for r in results
    ]


def _store() -> Any:
    from alphintra.storage.market import MarketStore

    return MarketStore()


def _reader() -> Any:
    from alphintra.storage.market import MarketData

    return MarketData()


def _check_tz(value: str) -> str:
    """An IANA zone name, checked before any file is read (polars would fail deep inside with its own words)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from alphintra.errors import ValidationError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("--tz", "must be an IANA time zone such as UTC or America/New_York", value) from None
    return value


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A .csv or .parquet file.", show_default=False)],
    symbol: SymbolOpt,
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="Exchange or venue name, e.g. NASDAQ.")],
    timeframe: OptTimeframeOpt = None,
    kind: Annotated[str, typer.Option("--kind", help="ohlcv (bars) or trades (prints).")] = "ohlcv",
    tz: Annotated[
        str, typer.Option("--tz", callback=_check_tz, help="Zone of timestamps that carry none (IANA name).")
    ] = "UTC",
    time_format: Annotated[
        str | None, typer.Option("--time-format", help="strftime format when detection is ambiguous.")
    ] = None,
    snap: Annotated[bool, typer.Option("--snap", help="Move each time to the start of its bar.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse a file with rows `data validate` would flag (nothing written).")
    ] = False,
    weekdays: Annotated[bool, typer.Option("--weekdays", help="Bars on Saturday/Sunday are not gaps.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import a file; importing it again (or an overlapping one) keeps one row per time.

    Bars are checked as `data validate` checks them: what it would flag is a warning, or with --strict a refusal.
    """
    from alphintra.errors import ValidationError
    from alphintra.storage.market import Kind, import_file

    try:
        chosen = Kind(kind)
    except ValueError:
        raise ValidationError("--kind", "must be ohlcv or trades", kind) from None
    if chosen is Kind.OHLCV and timeframe is None:
        raise ValidationError("--timeframe", "is required for OHLCV imports", None)
    if strict and chosen is not Kind.OHLCV:
        raise ValidationError("--strict", "checks bars: it applies to OHLCV imports only", None)
    warnings: list[ValidationReport] = []
    with _store() as store, progress(f"importing {path.name}") as advance:
        results = import_file(
            store,
            path,
            symbol=symbol,
            exchange=exchange,
            timeframe=timeframe,
            kind=chosen,
            tz=tz,
            time_format=time_format,
            snap=snap,
            progress=advance,
            strict=strict,
            weekdays=weekdays,
            findings=lambda report: warnings.append(report),
        )
    for report in warnings:
        from rich.markup import escape

        command = f"alphintra data validate {path} -t {report.timeframe}{' --weekdays' if weekdays else ''}"
        text = f"{path}: {report.summary()}; `{command}` lists them all, `--strict` refuses such a file"
        info(f"[yellow]warning:[/yellow] {escape(text)}")
    emit(_write_summary(results), as_json, title=f"imported {path.name}")


@app.command("generate")
def generate(
    symbols: Annotated[int, typer.Option("--symbols", "-n", help="Number of symbols (SYN00, SYN01, ...).")] = 3,
    names: Annotated[
        list[str] | None, typer.Option("--symbol", "-s", help="Symbol names instead of --symbols (repeatable).")
    ] = None,
    periods: Annotated[int, typer.Option("--periods", "-p", help="Bars per symbol.")] = 10_000,
    timeframe: TimeframeOpt = "1m",
    start: Annotated[str, typer.Option("--start", help="First bar (UTC).")] = "2024-01-01",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 0,
    exchange: Annotated[str, typer.Option("--exchange", "-e")] = "SYNTH",
    trades: Annotated[int, typer.Option("--trades", help="Also this many trade prints per symbol.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Generate seeded synthetic bars (and optionally trade prints) and store them."""
    from alphintra.storage.market import generate_bars, generate_trades

    chosen: list[str] | int = list(names) if names else symbols
    frame = generate_bars(chosen, periods=periods, timeframe=timeframe, start=start, seed=seed, exchange=exchange)
    with _store() as store:
        with progress("storing bars", total=frame.height) as advance:
            results = store.write_bars(frame, timeframe=timeframe, progress=advance)
        if trades:
            symbols_written = [r.key.symbol for r in results]
            for i, name in enumerate(symbols_written):
                prints = generate_trades(name, count=trades, start=start, seed=seed + 1 + i, exchange=exchange)
                results += store.write_trades(prints)
    emit(_write_summary(results), as_json, title="generated")


@app.command("sample")
def sample(as_json: JsonOption = False) -> None:
    """Load the real sample data shipped with Alphintra (GOOG daily, EUR/USD hourly, BTC/USD monthly)."""
    from alphintra.storage.market import load_samples

    with _store() as store, progress("loading samples") as advance:
        results = load_samples(store, progress=advance)
    emit(_write_summary(results), as_json, title="sample data")


@app.command("list")
def list_(
    symbol: OptSymbolOpt = None,
    exchange: ExchangeOpt = None,
    kind: Annotated[str | None, typer.Option("--kind", help="ohlcv, trades or book_snapshots.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Datasets in the store: symbol, exchange, timeframe, time range, rows and size."""
    from alphintra.errors import ValidationError
    from alphintra.storage.market import Kind

    try:
        chosen = Kind(kind) if kind else None
    except ValueError:
        raise ValidationError("--kind", "must be ohlcv, trades or book_snapshots", kind) from None
    infos = _reader().datasets(chosen, symbol=symbol, exchange=exchange)
    rows = [i.to_dict() for i in infos]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["size"] = _human(row.pop("bytes"))
    print_table(
        rows,
        ["kind", "exchange", "symbol", "timeframe", "first", "last", "rows", "size"],
        title="market data",
        empty="no market data yet: try `alphintra data sample` or `alphintra data import`",
    )


@app.command("show", cls=_LegacyArgCommand)
def show(
    symbol: OptSymbolOpt = None,
    old_symbol: Annotated[
        str | None, typer.Argument(hidden=True, show_default=False)
    ] = None,  # the positional form of earlier releases, still accepted; --symbol is the form every command takes
    timeframe: TimeframeOpt = "1d",
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-l", help="At most this many bars (0: all).")] = 20,
    oldest: Annotated[bool, typer.Option("--oldest", help="The first bars of the range instead of the last.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Print bars of one symbol (the newest ones unless --oldest)."""
    symbol = _one_symbol(symbol, old_symbol)
    start, end = time_range(start, end, timerange)
    frame = _reader().bars(
        symbol, timeframe, exchange=exchange, start=start, end=end, limit=limit or None, newest=not oldest
    )
    rows = frame.drop("symbol", "exchange", "timeframe").to_dicts()
    emit(rows, as_json, title=f"{symbol} {timeframe}")


def _one_symbol(option: str | None, positional: str | None) -> str:
    from alphintra.errors import ValidationError

    if option is not None and positional is not None and option != positional:
        raise ValidationError("--symbol", "is given twice with different values", f"{positional}, {option}")
    chosen = option if option is not None else positional
    if chosen is None:
        raise ValidationError("--symbol", "is required, e.g. --symbol GOOG", None)
    return chosen


@app.command("validate")
def validate(
    path: Annotated[Path | None, typer.Argument(help="Validate a file instead of stored data.")] = None,
    symbol: OptSymbolOpt = None,
    exchange: ExchangeOpt = None,
    timeframe: TimeframeOpt = "1d",
    tz: Annotated[
        str, typer.Option("--tz", callback=_check_tz, help="Zone of file timestamps that carry none (IANA name).")
    ] = "UTC",
    weekdays: Annotated[bool, typer.Option("--weekdays", help="Bars on Saturday/Sunday are not gaps.")] = False,
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar",
            help="Exchange calendar (XNYS, XLON ...): only bars in its sessions can be missing "
            "(default: the symbol's configured calendar).",
        ),
    ] = None,
    z: Annotated[float, typer.Option("--z", help="Robust z-score above which a return is an outlier.")] = 8.0,
    drop_duplicates: Annotated[
        bool, typer.Option("--drop-duplicates", help="Fix: keep the last row of each time.")
    ] = False,
    fill_gaps: Annotated[
        bool, typer.Option("--fill-gaps", help="Fix: insert flat zero-volume bars where bars are missing.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where a fixed file goes (.csv or .parquet).")
    ] = None,
    show_max: Annotated[int, typer.Option("--max", help="Findings shown in the table (JSON has all).")] = 50,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with 1 when anything is found.")] = False,
    anomalies: Annotated[
        bool,
        typer.Option("--anomalies", help="Also find anomalies: bad prints, jumps, volume spikes (robust z + forest)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Report gaps, duplicates, time going backwards, OHLC inconsistencies and outliers (with their rows)."""
    from alphintra.errors import ValidationError
    from alphintra.storage.market import Kind, validate_bars, validate_file
    from alphintra.storage.market import drop_duplicates as dedupe
    from alphintra.storage.market import fill_gaps as filler

    if path is None and symbol is None:
        raise ValidationError("PATH or --symbol", "is required: validate a file or a stored series", None)
    if calendar is not None:
        from alphintra.storage.market.calendars import check_calendar

        if weekdays:
            raise ValidationError("--calendar", "cannot be combined with --weekdays (the calendar knows the weekends)")
        check_calendar(calendar, field="--calendar")
    elif symbol is not None and not weekdays:
        calendar = _configured_calendar(symbol)
    if path is not None:
        report, frame = validate_file(path, timeframe, tz=tz, z_threshold=z, weekdays=weekdays, calendar=calendar)
        if drop_duplicates or fill_gaps:
            if output is None:
                raise ValidationError("--output", "is required to fix a file (the original is never modified)")
            fixed = dedupe(frame)
            if fill_gaps:
                fixed = filler(fixed, timeframe, weekdays=weekdays)
            _write_file(fixed, output)
            info(f"wrote {fixed.height} rows to {output}")
    else:
        assert symbol is not None
        reader = _reader()
        key = reader.resolve(Kind.OHLCV, symbol, exchange, timeframe)
        frame = reader.read(key)
        report = validate_bars(
            frame, timeframe, source=key.label(), z_threshold=z, weekdays=weekdays, calendar=calendar
        )
        if fill_gaps:
            filled = filler(frame, timeframe, weekdays=weekdays)
            with _store() as store:
                results = store.write_bars(filled, timeframe=timeframe)
            info(f"filled {sum(r.added for r in results)} missing bars in {key.label()}")
    if anomalies:
        _report_with_anomalies(report, frame, as_json, show_max, strict)
        return
    _print_report(report, as_json, show_max)
    if strict and not report.ok:
        raise typer.Exit(1)


def _configured_calendar(symbol: str) -> str | None:
    """The exchange calendar the settings give ``symbol`` (``[[instruments]]`` ``calendar = "XNYS"``), if any."""
    from alphintra.config.settings import get_settings

    return next((i.calendar for i in get_settings().instruments if i.symbol == symbol and i.calendar), None)


def _report_with_anomalies(report: ValidationReport, frame: Any, as_json: bool, show_max: int, strict: bool) -> None:
    """`validate --anomalies`: the usual report plus the anomaly detector's findings (alphintra.ml.anomaly)."""
    from alphintra.ml.anomaly import detect

    found = [a.to_dict() for a in detect(frame)]
    if as_json:
        print_json({**report.to_dict(), "anomalies": found})
    else:
        _print_report(report, False, show_max)
        status = f"[yellow]{len(found)} anomaly(ies)[/yellow]" if found else "[green]no anomalies[/green]"
        console.print(f"anomalies: {status}")
        if found:
            print_table(found[:show_max], ["row", "time", "detail", "forest_score"], title="anomalies")
    if strict and (found or not report.ok):
        raise typer.Exit(1)


def _write_file(frame: Any, output: Path) -> None:
    from alphintra.errors import ValidationError
    from alphintra.storage.market.layout import atomic_write

    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValidationError("--output", "must end in .csv or .parquet", str(output))
    if suffix == ".csv":
        atomic_write(output, lambda tmp: frame.write_csv(tmp))
    else:
        atomic_write(output, lambda tmp: frame.write_parquet(tmp))


def _print_report(report: ValidationReport, as_json: bool, show_max: int) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    counts = {k: v for k, v in report.counts().items() if v}
    status = "[green]no findings[/green]" if report.ok else f"[yellow]{len(report.findings)} finding(s)[/yellow]"
    console.print(f"{report.source}: {report.rows} rows, timeframe {report.timeframe}: {status}")
    if counts:
        print_table([{"check": k, "count": v} for k, v in counts.items()], ["check", "count"], title="summary")
        shown = [f.to_dict() for f in report.findings[:show_max]]
        for row in shown:
            row[report.row_label] = row.pop("row")
        print_table(shown, ["check", report.row_label, "time", "detail"], title="findings")
        if len(report.findings) > show_max:
            console.print(f"[dim]… {len(report.findings) - show_max} more (use --max or --json)[/dim]")


@app.command("resample")
def resample(
    symbol: OptSymbolOpt = None,
    exchange: ExchangeOpt = None,
    source_tf: Annotated[str, typer.Option("--from", help="Stored timeframe to read.")] = "1m",
    target_tf: Annotated[list[str] | None, typer.Option("--to", help="Target timeframe(s), repeatable.")] = None,
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar",
            help="Exchange calendar (XNYS ...): 1d/1w/1M bars follow its sessions (default: the instrument's).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build coarser bars from stored ones (every symbol of --from when no --symbol is given). Daily and longer bars
    of a symbol with an exchange calendar are one per session, trading week or month, from the session's opening
    hours in the exchange's time zone (not UTC midnight to midnight)."""
    from alphintra.errors import NotFoundError, ValidationError
    from alphintra.storage.market import Kind, parse_timeframe, resample_bars
    from alphintra.storage.market.calendars import check_calendar

    if calendar is not None:
        check_calendar(calendar, field="--calendar")

    targets = [parse_timeframe(t, field="--to").name for t in (target_tf or [])]
    if not targets:
        raise ValidationError("--to", "is required (e.g. --to 1h --to 1d)", None)
    frm = parse_timeframe(source_tf, field="--from").name
    reader = _reader()
    infos = reader.datasets(Kind.OHLCV, symbol=symbol, exchange=exchange, timeframe=frm)
    if not infos:
        raise NotFoundError(f"no {frm} bars{' for ' + symbol if symbol else ''} in {reader.root}")
    results = []
    with _store() as store, progress("resampling", total=len(infos) * len(targets)) as advance:
        for i in infos:
            key = reader.resolve(Kind.OHLCV, i.symbol, i.exchange, frm)
            bars = reader.read(key)
            sessions = calendar or _configured_calendar(i.symbol)
            for target in targets:
                resampled = resample_bars(bars, target, source=frm, calendar=sessions)
                results += store.write_bars(resampled, timeframe=target)
                advance(1)
    emit(_write_summary(results), as_json, title="resampled")


@app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="Output file.", show_default=False)],
    symbol: SymbolOpt,
    timeframe: TimeframeOpt = "1d",
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="parquet or csv (default: from the file's extension, else parquet)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write one series to a Parquet or CSV file (atomically)."""
    start, end = time_range(start, end, timerange)
    from alphintra.errors import ValidationError
    from alphintra.storage.market.layout import atomic_write

    if fmt is None:
        fmt = "csv" if path.suffix.lower() == ".csv" else "parquet"
    if fmt not in ("parquet", "csv"):
        raise ValidationError("--format", "must be parquet or csv", fmt)
    if path.is_dir():
        raise ValidationError("PATH", "is a directory; give the file to write, such as goog.csv", str(path))
    frame = _reader().bars(symbol, timeframe, exchange=exchange, start=start, end=end)
    if fmt == "csv":
        atomic_write(path, lambda tmp: frame.write_csv(tmp))
    else:
        atomic_write(path, lambda tmp: frame.write_parquet(tmp))
    emit({"path": str(path), "rows": frame.height, "format": fmt}, as_json, title="exported")


@app.command("remove")
def remove(
    symbol: SymbolOpt,
    exchange: ExchangeOpt = None,
    timeframe: OptTimeframeOpt = None,
    kind: Annotated[str, typer.Option("--kind", help="ohlcv, trades or book_snapshots.")] = "ohlcv",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove a symbol's data (one timeframe, or all of them)."""
    from alphintra.errors import NotFoundError, ValidationError
    from alphintra.storage.market import Kind

    try:
        chosen = Kind(kind)
    except ValueError:
        raise ValidationError("--kind", "must be ohlcv, trades or book_snapshots", kind) from None
    matches = _reader().datasets(chosen, symbol=symbol, exchange=exchange, timeframe=timeframe)
    if not matches:
        raise NotFoundError(f"no {chosen.value} data for {symbol}")
    if not yes:
        listing = ", ".join(f"{m.exchange}:{m.symbol} {m.timeframe}".strip() for m in matches)
        typer.confirm(f"Remove {listing}?", abort=True)
    with _store() as store:
        removed = store.remove(chosen, exchange=exchange, symbol=symbol, timeframe=timeframe)
    emit([{"removed": k.label()} for k in removed], as_json, title="removed")


@app.command("download")
def download(
    venue: Annotated[str, typer.Option("--venue", help="A venue of `alphintra venue list`.")],
    symbol: SymbolOpt,
    since: Annotated[str, typer.Option("--since", help="First bar (UTC date/time, ISO format).")],
    timeframe: TimeframeOpt = "1m",
    until: Annotated[str | None, typer.Option("--until", help="Up to this UTC date/time (exclusive).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Download a venue's bars through ccxt into the store; running it again resumes where the store ends."""
    from datetime import UTC, datetime

    from alphintra.config.settings import get_settings
    from alphintra.errors import NotFoundError, ValidationError
    from alphintra.storage.market import MarketData, parse_timeframe
    from alphintra.storage.market.download import download_ohlcv
    from alphintra.storage.market.schema import Kind, to_ns
    from alphintra.venues.ccxt_client import create_client
    from alphintra.venues.ohlcv import CcxtOhlcvSource
    from alphintra.venues.registry import configured_venue

    tf = parse_timeframe(timeframe, field="--timeframe")
    start_ns = to_ns(since, "--since")
    end_ns = None if until is None else to_ns(until, "--until")
    if end_ns is not None and end_ns <= start_ns:
        raise ValidationError("--until", "must be later than --since", until)
    try:
        definition = configured_venue(get_settings(), venue)
    except NotFoundError as exc:
        raise ValidationError(
            "--venue", exc.message.replace(f"no venue named {venue!r}", "names no venue"), venue
        ) from None
    # public data: no key is needed, so the credentials stay locked (no passphrase asked)
    source = CcxtOhlcvSource(create_client(definition), venue)
    source.check(symbol, tf.name)
    stored = MarketData().datasets(Kind.OHLCV, symbol=symbol, exchange=venue, timeframe=tf.name)
    first_ns = max(start_ns, to_ns(stored[0].last)) if stored and stored[0].last is not None else start_ns
    last_ns = end_ns if end_ns is not None else int(datetime.now(UTC).timestamp() * 1e9)
    total = max(0, (last_ns - first_ns) // tf.nanos) if tf.nanos else None
    with _store() as store, progress(f"{venue} {symbol} {tf.name}", total=total) as advance:
        result = download_ohlcv(
            store,
            source,
            symbol=symbol,
            exchange=venue,
            timeframe=tf.name,
            start=start_ns,
            end=end_ns,
            page_limit=source.page_limit,
            chunk_rows=10_000,  # a kill loses at most this many bars of work, never a stored one
            progress=advance,
        )
    summary = {
        "dataset": result.key.label(),
        "venue": venue,
        "pages": result.pages,
        "received": result.received,
        "added": result.added,
        "resumed_from": datetime.fromtimestamp(result.resumed_from_ms / 1000, UTC).isoformat(),
    }
    emit(summary, as_json, title="downloaded")


__all__ = ["app"]
