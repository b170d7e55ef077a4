"""Copy market data and the trading history into PostgreSQL, in bulk and idempotently.

Rows travel with psycopg 3's ``COPY ... FROM STDIN`` into a temporary staging table and are then merged with
``INSERT ... ON CONFLICT`` on the primary key: new rows are inserted, changed rows updated, identical rows left
alone. Running the export twice therefore leaves the same rows, and a failure part-way leaves every dataset
either fully merged or untouched (one transaction per market dataset, one for the whole trading history).

``since`` narrows an export to rows created or changed at or after a time (bars from that time on; state rows by
their own time columns, :data:`STATE_SINCE`; accounts and strategies, the parents others point at, always whole),
and ``tables`` to some tables; both keep the merge, so a narrowed run is as idempotent as a full one.

Targets follow the plan's §6 schema: ``market_data`` (OHLCV, primary key time, symbol, exchange, timeframe, made a
TimescaleDB hypertable when that extension is installed or installable) and the state tables of
:mod:`alphintra.storage.state`, whose DDL comes from the same models. DuckDB's postgres extension is not used: it
must be downloaded at run time, which an offline workstation cannot do.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.config.paths import HomePaths
from alphintra.errors import OperationFailed, ValidationError
from alphintra.storage.state.db import libpq_url, make_engine, normalise_url

if TYPE_CHECKING:
    import polars as pl
    import psycopg
    from sqlalchemy import Table

Advance = Callable[[int], None]

MARKET_TABLE = "market_data"
MARKET_KEY = ("time", "symbol", "exchange", "timeframe")
# Store column -> target column (the plan's §6.2 names).
MARKET_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "time"),
    ("symbol", "symbol"),
    ("exchange", "exchange"),
    ("timeframe", "timeframe"),
    ("open", "open_price"),
    ("high", "high_price"),
    ("low", "low_price"),
    ("close", "close_price"),
    ("volume", "volume"),
    ("quote_volume", "quote_volume"),
    ("trades_count", "trades_count"),
)
# NUMERIC(38, 18) like the state tables: the store's float64 values arrive as their shortest decimal text, which
# this holds exactly (§6's DECIMAL(20, 8) would cut the prices of small coins).
MARKET_DDL = f"""
CREATE TABLE IF NOT EXISTS {MARKET_TABLE} (
    time TIMESTAMP WITH TIME ZONE NOT NULL,
    symbol VARCHAR(40) NOT NULL,
    exchange VARCHAR(50) NOT NULL,
    timeframe VARCHAR(10) NOT NULL,
    open_price NUMERIC(38, 18) NOT NULL,
    high_price NUMERIC(38, 18) NOT NULL,
    low_price NUMERIC(38, 18) NOT NULL,
    close_price NUMERIC(38, 18) NOT NULL,
    volume NUMERIC(38, 18) NOT NULL,
    quote_volume NUMERIC(38, 18),
    trades_count BIGINT,
    PRIMARY KEY (time, symbol, exchange, timeframe)
);
CREATE INDEX IF NOT EXISTS idx_market_data_symbol ON {MARKET_TABLE} (symbol, time DESC);
CREATE INDEX IF NOT EXISTS idx_market_data_exchange ON {MARKET_TABLE} (exchange, time DESC);
"""


# The columns that say when a state row was created or last changed; a row is exported by ``since`` when any of
# them is at or after it. Tables left out (accounts, strategies) are parents of others: always exported whole, so a
# narrowed export never leaves a child without its row in the target.
STATE_SINCE: dict[str, tuple[str, ...]] = {
    "orders": ("updated_at",),
    "trades": ("timestamp",),
    "positions": ("updated_at",),
    "account_balances": ("updated_at",),
    "strategy_executions": ("created_at", "started_at", "completed_at"),
    "risk_limits": ("updated_at",),
    "risk_limit_changes": ("changed_at",),
    "risk_alerts": ("time", "acknowledged_at"),
    "scheduled_jobs": ("updated_at", "last_run_at"),
}


def table_names() -> list[str]:
    """Every table an export can write, in export order."""
    from alphintra.storage.state.models import TABLES_IN_ORDER

    return [MARKET_TABLE, *(m.__table__.name for m in TABLES_IN_ORDER)]  # type: ignore[attr-defined]


def parse_tables(value: str | Sequence[str] | None) -> frozenset[str] | None:
    """``--tables orders,trades`` as a set of known table names (None: every table)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [item.strip().lower() for item in items if item.strip()]
    known = table_names()
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        raise ValidationError("--tables", f"must name tables among {', '.join(known)}", ",".join(unknown) or value)
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class TableExport:
    """What one target table received: rows read from the source, and how many were new or changed."""

    table: str
    rows: int
    inserted: int
    updated: int
    seconds: float

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["unchanged"] = self.unchanged
        out["rows_per_second"] = round(self.rows_per_second, 1)
        out["seconds"] = round(self.seconds, 4)
        return out


@dataclass(slots=True)
class ExportReport:
    target: str
    since: datetime | None = None
    timescaledb: bool = False
    hypertables: list[str] = field(default_factory=list)
    tables: list[TableExport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def table(self, name: str) -> TableExport:
        for entry in self.tables:
            if entry.table == name:
                return entry
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "since": None if self.since is None else self.since.isoformat().replace("+00:00", "Z"),
            "timescaledb": self.timescaledb,
            "hypertables": list(self.hypertables),
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "tables": [t.to_dict() for t in self.tables],
            "notes": list(self.notes),
        }


# -- connection and TimescaleDB ----------------------------------------------------------------------------------


@contextmanager
def _connect(url: str) -> Iterator[psycopg.Connection[Any]]:
    import psycopg

    try:
        # autocommit: every `with conn.transaction()` below is then a real transaction, committed at its end.
        conn = psycopg.connect(libpq_url(url), connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as exc:
        raise OperationFailed("cannot connect to PostgreSQL", detail=str(exc).strip()) from exc
    try:
        yield conn
    finally:
        conn.close()


def ensure_timescaledb(conn: psycopg.Connection[Any]) -> tuple[bool, str | None]:
    """Whether TimescaleDB is usable: installed in this database, or installable now. Returns (usable, note)."""
    import psycopg

    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
        return True, None
    if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone():
        return False, "TimescaleDB is not available on this server: market_data is a plain table"
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        # Typically: not preloaded (shared_preload_libraries) or not allowed for this role.
        return False, f"TimescaleDB could not be enabled ({str(exc).strip()}): market_data is a plain table"
    return True, "TimescaleDB extension created"


# -- market data -------------------------------------------------------------------------------------------------


def _market_datasets(root: Path, since: datetime | None = None) -> Iterator[tuple[str, Iterator[pl.DataFrame]]]:
    """(label, frames) per OHLCV dataset, one frame per calendar year so memory stays bounded.

    Reading goes through the market store's reader, which opens only the files its manifests commit to and puts
    back the identity columns (symbol, exchange, timeframe) that part files leave out.
    """
    from alphintra.storage.market.reader import MarketData
    from alphintra.storage.market.schema import DatasetKey, Kind

    reader = MarketData(root)
    for info in reader.datasets(Kind.OHLCV):
        if info.first is None or info.last is None or (since is not None and info.last < since):
            continue
        key = DatasetKey(Kind.OHLCV, info.exchange, info.symbol, info.timeframe)
        first = info.first.year if since is None else max(info.first.year, since.year)
        years = range(first, info.last.year + 1)
        yield key.label(), (_year(reader, key, year, since) for year in years)


def _year(reader: Any, key: Any, year: int, since: datetime | None = None) -> pl.DataFrame:
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    if since is not None:
        start = max(start, since)
    frame: pl.DataFrame = reader.scan(key, start=start, end=end).collect()
    return frame


def count_market_rows(root: Path) -> int:
    """Rows the market export will read (from the manifests; no Parquet file is opened)."""
    from alphintra.storage.market.reader import MarketData
    from alphintra.storage.market.schema import Kind

    if not root.exists():
        return 0
    return sum(info.rows for info in MarketData(root).datasets(Kind.OHLCV))


def _checked(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    import polars as pl

    values = ["open", "high", "low", "close", "volume", "quote_volume"]
    bad = frame.select(pl.any_horizontal([pl.col(c).is_nan() | pl.col(c).is_infinite() for c in values]).any()).item()
    if bad:
        raise ValidationError(label, "contains NaN or infinite prices or volumes (PostgreSQL NUMERIC cannot hold them)")
    return frame.select([c for c, _ in MARKET_COLUMNS])


def _copy_csv(conn: psycopg.Connection[Any], table: str, columns: Sequence[str], frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    # Floats are written as their shortest round-trip text, so NUMERIC receives exactly the stored value.
    frame.write_csv(buffer, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.6f+00")
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getbuffer())


def _merge(
    conn: psycopg.Connection[Any], target: str, stage: str, columns: Sequence[str], key: Sequence[str]
) -> tuple[int, int]:
    """Insert new rows, update changed ones, leave identical ones alone. Returns (inserted, updated)."""
    cols = ", ".join(columns)
    keys = ", ".join(key)
    rest = [c for c in columns if c not in key]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
    target_row = ", ".join(f"t.{c}" for c in rest)
    new_row = ", ".join(f"EXCLUDED.{c}" for c in rest)
    # Stages never hold a key twice (sources have the same primary keys: a dataset's times are unique, state
    # rows are keyed alike), which ON CONFLICT DO UPDATE requires. xmax = 0 marks the rows this statement inserted.
    sql = f"""
        WITH merged AS (
            INSERT INTO {target} AS t ({cols}) SELECT {cols} FROM {stage}
            ON CONFLICT ({keys}) DO UPDATE SET {assignments}
            WHERE ({target_row}) IS DISTINCT FROM ({new_row})
            RETURNING (t.xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
    """
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def export_market(
    conn: psycopg.Connection[Any],
    root: Path,
    *,
    timescaledb: bool,
    advance: Advance | None = None,
    since: datetime | None = None,
) -> tuple[TableExport, bool]:
    """Merge every committed OHLCV dataset under ``root`` into ``market_data``. Returns (result, hypertable)."""
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(MARKET_DDL)
        hypertable = False
        if timescaledb:
            conn.execute(
                "SELECT create_hypertable(%s, 'time', if_not_exists => TRUE, migrate_data => TRUE)", (MARKET_TABLE,)
            )
            hypertable = True
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS market_data_stage (LIKE {MARKET_TABLE}) ON COMMIT DELETE ROWS")
    targets = [t for _, t in MARKET_COLUMNS]
    rows = inserted = updated = 0
    for label, frames in _market_datasets(root, since):
        with conn.transaction():  # one dataset: merged completely or not at all
            for year_frame in frames:
                frame = _checked(year_frame, label)
                _copy_csv(conn, "market_data_stage", targets, frame)
                rows += frame.height
                if advance is not None:
                    advance(frame.height)
            ins, upd = _merge(conn, MARKET_TABLE, "market_data_stage", targets, MARKET_KEY)
            inserted += ins
            updated += upd
    return TableExport(MARKET_TABLE, rows, inserted, updated, time.perf_counter() - started), hypertable


# -- trading history ---------------------------------------------------------------------------------------------


def _state_query(table: Table, since: datetime | None) -> Any:
    from sqlalchemy import or_, select

    query = select(table)
    if since is not None and table.name in STATE_SINCE:
        query = query.where(or_(*(table.c[name] >= since for name in STATE_SINCE[table.name])))
    return query


def _state_rows(conn: Any, table: Table, since: datetime | None = None) -> Iterator[tuple[Any, ...]]:
    from psycopg.types.json import Jsonb
    from sqlalchemy import JSON

    json_at = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
    query = _state_query(table, since).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=5_000).execute(query)
    for row in result:
        values = list(row)
        for i in json_at:
            if values[i] is not None:
                values[i] = Jsonb(values[i])
        yield tuple(values)


def export_state(
    conn: psycopg.Connection[Any],
    url: str,
    state_url: str,
    *,
    advance: Advance | None = None,
    tables: frozenset[str] | None = None,
    since: datetime | None = None,
) -> list[TableExport]:
    """Merge the trading-state tables of ``state_url`` (all, or ``tables``; rows changed since ``since``) into the
    same tables at ``url`` (created if missing, with the §6.3 indexes the models declare).

    The source is read in one transaction (a consistent snapshot) and the target written in one.
    """
    from psycopg.types.json import set_json_dumps

    from alphintra.storage.state.models import TABLES_IN_ORDER, StateModel
    from alphintra.storage.state.types import json_dumps

    target_engine = make_engine(url)
    try:
        StateModel.metadata.create_all(target_engine)
    finally:
        target_engine.dispose()
    source = make_engine(state_url)
    results: list[TableExport] = []
    set_json_dumps(json_dumps, conn)  # Decimals inside JSON documents stay strings
    try:
        with source.connect() as src, src.begin(), conn.transaction():
            for model in TABLES_IN_ORDER:
                table: Table = model.__table__  # type: ignore[attr-defined]
                if tables is not None and table.name not in tables:
                    continue
                started = time.perf_counter()
                columns = [c.name for c in table.columns]
                stage = f"stage_{table.name}"
                conn.execute(f"CREATE TEMP TABLE {stage} (LIKE {table.name}) ON COMMIT DROP")
                rows = 0
                with conn.cursor().copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
                    for values in _state_rows(src, table, since):
                        copy.write_row(values)
                        rows += 1
                        if advance is not None and rows % 1_000 == 0:
                            advance(1_000)
                if advance is not None:
                    advance(rows % 1_000)
                key = [c.name for c in table.primary_key.columns]
                inserted, updated = _merge(conn, table.name, stage, columns, key) if rows else (0, 0)
                if key == ["id"]:
                    _sync_sequence(conn, table)
                results.append(TableExport(table.name, rows, inserted, updated, time.perf_counter() - started))
    finally:
        source.dispose()
    return results


def _sync_sequence(conn: psycopg.Connection[Any], table: Table) -> None:
    """Copied integer ids bypass the serial sequence; move it past them so later inserts there do not collide."""
    if table.c.id.type.python_type is not int:
        return
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)",
        (table.name,),
    )


def state_row_count(state_url: str, *, tables: frozenset[str] | None = None, since: datetime | None = None) -> int:
    """Rows the state export will read (for a progress bar); 0 when the SQLite file does not exist (yet)."""
    from sqlalchemy import func, select

    from alphintra.storage.state.models import TABLES_IN_ORDER

    sqlite_file = _sqlite_file(state_url)
    if sqlite_file is not None and not sqlite_file.exists():
        return 0
    engine = make_engine(state_url)
    try:
        total = 0
        with engine.connect() as conn:
            for model in TABLES_IN_ORDER:
                table: Table = model.__table__  # type: ignore[attr-defined]
                if tables is None or table.name in tables:
                    query = select(func.count()).select_from(_state_query(table, since).subquery())
                    total += int(conn.execute(query).scalar_one())
        return total
    finally:
        engine.dispose()


# -- the whole export --------------------------------------------------------------------------------------------


def _sqlite_file(state_url: str) -> Path | None:
    parsed = normalise_url(state_url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()


def export_to_postgres(
    url: str,
    *,
    market_root: Path | None = None,
    state_url: str | None = None,
    include_market: bool = True,
    include_state: bool = True,
    advance: Advance | None = None,
    tables: frozenset[str] | None = None,
    since: datetime | None = None,
) -> ExportReport:
    """Export market data (from ``market_root``, default ``$ALPHINTRA_HOME/market``) and the trading history
    (from ``state_url``, default the SQLite state database) into the PostgreSQL database at ``url``; only
    ``tables`` when given, only rows created or changed since ``since`` when given."""
    import psycopg

    if tables is not None:
        include_market = include_market and MARKET_TABLE in tables
        include_state = include_state and bool(tables - {MARKET_TABLE})
    if since is not None and (since.tzinfo is None or since.utcoffset() is None):
        raise ValidationError("--since", "must be timezone-aware", since)
    if not include_market and not include_state:
        raise ValidationError("--market/--state", "nothing to export: enable market data or trading state")
    target = normalise_url(url)
    if target.get_backend_name() != "postgresql":
        raise ValidationError("url", "must be a postgresql:// URL", url)
    paths = HomePaths()
    root = market_root or paths.market
    source_url = state_url or f"sqlite:///{paths.state_db}"
    report = ExportReport(
        target=target.set(drivername="postgresql").render_as_string(hide_password=True),
        since=None if since is None else since.astimezone(UTC),
    )
    started = time.perf_counter()
    with _connect(url) as conn:
        try:
            if include_market:
                if root.exists():
                    usable, note = ensure_timescaledb(conn)
                    report.timescaledb = usable
                    if note:
                        report.notes.append(note)
                    result, hypertable = export_market(
                        conn, root, timescaledb=usable, advance=advance, since=report.since
                    )
                    report.tables.append(result)
                    if hypertable:
                        report.hypertables.append(MARKET_TABLE)
                else:
                    report.notes.append(f"no market data under {root}")
            if include_state:
                sqlite_file = _sqlite_file(source_url)
                if sqlite_file is not None and not sqlite_file.exists():
                    report.notes.append(f"no trading state database at {sqlite_file}")
                else:
                    report.tables.extend(
                        export_state(conn, url, source_url, advance=advance, tables=tables, since=report.since)
                    )
        except psycopg.Error as exc:
            raise OperationFailed("the export to PostgreSQL failed", detail=str(exc).strip()) from exc
    report.seconds = time.perf_counter() - started
    return report


__all__ = [
    "MARKET_COLUMNS",
    "MARKET_TABLE",
    "STATE_SINCE",
    "ExportReport",
    "TableExport",
    "count_market_rows",
    "ensure_timescaledb",
    "export_market",
    "export_state",
    "export_to_postgres",
    "parse_tables",
    "state_row_count",
    "table_names",
]
