"""The writer side of the market-data store: idempotent, atomic writes and the DuckDB catalog.

Only one process writes a store at a time. Opening :class:`MarketStore` opens the DuckDB catalog read-write, and
DuckDB's file lock is what keeps a second writer out (it gets a RetryableError naming the store). Readers never
need that lock: :class:`~alphintra.storage.market.reader.MarketData` reads the manifests and Parquet files.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from alphintra.errors import OperationFailed, RetryableError, ValidationError

from .frames import normalize_book, normalize_ohlcv, normalize_trades, sort_dedupe, split_runs
from .layout import (
    Manifest,
    PartFile,
    collect_garbage,
    commit_manifest,
    dataset_dir,
    find_manifests,
    publish,
    read_manifest,
    write_temp,
)
from .reader import MarketData, default_root
from .schema import DatasetKey, Kind
from .timeframes import Timeframe, parse_timeframe

if TYPE_CHECKING:
    import duckdb
    import polars as pl

CATALOG_FILE = "catalog.duckdb"
ROW_GROUP_ROWS = 131_072
Progress = Callable[[int], None]

IDENTITY_COLUMNS = ("symbol", "exchange", "timeframe")
KEYS: dict[Kind, tuple[str, ...]] = {Kind.OHLCV: ("time",), Kind.TRADES: ("time", "trade_id"), Kind.BOOK: ("time",)}


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write did to one dataset. ``replaced`` rows had a key already stored and took the new values."""

    key: DatasetKey
    received: int
    duplicates_dropped: int
    added: int
    replaced: int
    total: int


class MarketStore:
    """Read-write access to a store root (``HomePaths().market`` by default). Use as a context manager."""

    def __init__(self, root: Path | None = None, *, catalog: bool = True) -> None:
        self.root = (root or default_root()).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        self._db: duckdb.DuckDBPyConnection | None = None
        if catalog:
            self._db = _open_catalog(self.root / CATALOG_FILE)
            self.refresh_catalog()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> MarketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def reader(self) -> MarketData:
        return MarketData(self.root)

    # ------------------------------------------------------------------ writes
    def write_bars(
        self,
        df: pl.DataFrame,
        *,
        timeframe: str | Timeframe,
        symbol: str | None = None,
        exchange: str | None = None,
        replace: bool = False,
        source: str = "frame",
        progress: Progress | None = None,
    ) -> list[WriteResult]:
        """Store OHLCV bars; a frame with several symbols (a ``symbol`` column) is split per symbol.

        Rows whose time is already stored replace the stored row (so re-importing is idempotent and a corrected
        file wins). ``replace=True`` makes the frame the dataset's whole content instead. Every part is checked
        before anything is written; each symbol's dataset is then committed atomically on its own.
        """
        tf = parse_timeframe(timeframe)

        def prepare(part: pl.DataFrame) -> tuple[DatasetKey, pl.DataFrame]:
            norm = normalize_ohlcv(part, symbol=symbol, exchange=exchange, timeframe=tf, source=source)
            return DatasetKey(Kind.OHLCV, norm["exchange"][0], norm["symbol"][0], tf.name), norm

        return self._write_all(df, symbol, prepare, replace=replace, source=source, progress=progress)

    def write_trades(
        self,
        df: pl.DataFrame,
        *,
        symbol: str | None = None,
        exchange: str | None = None,
        source: str = "frame",
        progress: Progress | None = None,
    ) -> list[WriteResult]:
        """Store trade prints, de-duplicated by (time, trade_id)."""

        def prepare(part: pl.DataFrame) -> tuple[DatasetKey, pl.DataFrame]:
            norm = normalize_trades(part, symbol=symbol, exchange=exchange, source=source)
            return DatasetKey(Kind.TRADES, norm["exchange"][0], norm["symbol"][0]), norm

        return self._write_all(df, symbol, prepare, replace=False, source=source, progress=progress)

    def write_book_snapshots(
        self,
        df: pl.DataFrame,
        *,
        symbol: str | None = None,
        exchange: str | None = None,
        source: str = "frame",
    ) -> list[WriteResult]:
        """Store L2 snapshots (one row per time), de-duplicated by time."""

        def prepare(part: pl.DataFrame) -> tuple[DatasetKey, pl.DataFrame]:
            norm = normalize_book(part, symbol=symbol, exchange=exchange, source=source)
            return DatasetKey(Kind.BOOK, norm["exchange"][0], norm["symbol"][0]), norm

        return self._write_all(df, symbol, prepare, replace=False, source=source, progress=None)

    def remove(
        self,
        kind: Kind = Kind.OHLCV,
        *,
        exchange: str | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
    ) -> list[DatasetKey]:
        """Remove every dataset matching the filters; returns what was removed (an empty list is not an error)."""
        removed = []
        for manifest in find_manifests(self.root, kind):
            key = manifest.key
            if (exchange and key.exchange != exchange) or (symbol and key.symbol != symbol):
                continue
            if timeframe and key.timeframe != parse_timeframe(timeframe).name:
                continue
            directory = dataset_dir(self.root, key)
            # Deleting the manifest is the commit: from then on readers see no dataset, whatever is left on disk.
            (directory / "_manifest.json").unlink()
            collect_garbage(directory, None)
            removed.append(key)
        if removed:
            self.refresh_catalog()
        return removed

    # ------------------------------------------------------------------ internals
    def _write_all(
        self,
        df: pl.DataFrame,
        symbol: str | None,
        prepare: Callable[[pl.DataFrame], tuple[DatasetKey, pl.DataFrame]],
        *,
        replace: bool,
        source: str,
        progress: Progress | None,
    ) -> list[WriteResult]:
        if df.height == 0:
            raise ValidationError(source, "holds no rows", None)
        parts = _split(df, "symbol", symbol)
        # polars releases the GIL while it encodes Parquet, so series are prepared and written in parallel.
        workers = max(1, min(len(parts), os.cpu_count() or 1, 8))
        with ThreadPoolExecutor(workers) as pool:
            prepared = list(pool.map(prepare, parts))  # all parts checked before anything is written
            keys = [key for key, _ in prepared]
            if len(set(keys)) != len(keys):
                raise ValidationError(f"{source}: column 'symbol'", "must not repeat a series in separate runs", None)
            outcomes = list(
                pool.map(lambda job: self._write_dataset(job[0], job[1], replace=replace, progress=progress), prepared)
            )
        self._catalog_datasets([manifest for manifest, _ in outcomes if manifest is not None])
        return [result for _, result in outcomes]

    def _write_dataset(
        self, key: DatasetKey, df: pl.DataFrame, *, replace: bool, progress: Progress | None
    ) -> tuple[Manifest | None, WriteResult]:
        """Write one series' new part files and commit its manifest; returns None for the manifest if unchanged."""
        import polars as pl

        keys = KEYS[key.kind]
        received = df.height
        df, dropped = sort_dedupe(df, keys)
        # The series' identity lives in the directory names and the manifest, not in every row.
        df = df.drop([c for c in IDENTITY_COLUMNS if c in df.columns])
        directory = dataset_dir(self.root, key)
        old = read_manifest(directory)
        collect_garbage(directory, old)  # leftovers of a killed write, never visible to readers
        old_files = {} if old is None or replace else {f.year: f for f in old.files}
        generation = (old.generation if old else 0) + 1

        new_files: dict[int, PartFile] = dict(old_files)
        written: list[tuple[Path, Path]] = []  # (temp file, final name) of each new part file
        added = replaced = 0
        try:
            for year, part in _by_year(df):
                previous = old_files.get(year)
                if previous is not None:
                    stored = pl.read_parquet(directory / previous.path)
                    if _last_ns(stored) < _first_ns(part):  # appending: already sorted and disjoint
                        merged = pl.concat([stored, part], how="vertical")
                    else:
                        merged, _ = sort_dedupe(pl.concat([stored, part], how="vertical"), keys)
                    added += merged.height - stored.height
                    replaced += part.height - (merged.height - stored.height)
                    if merged.equals(stored):
                        continue  # nothing new for this year: keep the committed file, write nothing
                else:
                    merged = part
                    added += part.height
                rel = f"year={year}/part-{generation:08d}.parquet"
                target = directory / rel
                tmp = write_temp(target, functools.partial(encode_parquet, merged))
                written.append((tmp, target))
                size = tmp.stat().st_size
                new_files[year] = PartFile(rel, year, merged.height, _first_ns(merged), _last_ns(merged), size)
                if progress:
                    progress(part.height)
            # Every part file is encoded before the first fsync, so the disk writes one while the next is encoded.
            while written:
                publish(*written[0])
                written.pop(0)
        except BaseException:
            _discard(written)  # never named by a manifest; the next write's GC would remove them too
            raise
        if replace and old is not None:
            added, replaced = df.height, 0
        if old is not None and not replace and new_files == old_files:
            return None, WriteResult(key, received, dropped, added, replaced, old.rows)  # idempotent: no commit
        manifest = Manifest(
            key,
            generation,
            [new_files[y] for y in sorted(new_files)],
            [] if old is None else [f.path for f in old.files],
        )
        _commit(directory, manifest)
        collect_garbage(directory, manifest)
        return manifest, WriteResult(key, received, dropped, added, replaced, manifest.rows)

    # ------------------------------------------------------------------ catalog
    def refresh_catalog(self) -> None:
        """Rebuild the DuckDB projection from the manifests (cheap; run on open and after removals)."""
        if self._db is None:
            return
        db = self._db
        db.execute("BEGIN")
        db.execute("DELETE FROM datasets")
        db.execute("DELETE FROM files")
        for manifest in find_manifests(self.root):
            self._insert_dataset(manifest)
        self._create_views()
        db.execute("COMMIT")

    def _catalog_datasets(self, manifests: list[Manifest]) -> None:
        """Project committed datasets into the catalog; one transaction and one rebuild of the views for all of
        them (rebuilding the views per dataset cost ~10 ms each, most of the catalog's share of an ingest)."""
        if self._db is None or not manifests:
            return
        db = self._db
        db.execute("BEGIN")
        for manifest in manifests:
            k = manifest.key
            args = [k.kind.value, k.exchange, k.symbol, k.timeframe]
            db.execute("DELETE FROM datasets WHERE kind=? AND exchange=? AND symbol=? AND timeframe=?", args)
            db.execute("DELETE FROM files WHERE kind=? AND exchange=? AND symbol=? AND timeframe=?", args)
            self._insert_dataset(manifest)
        self._create_views()
        db.execute("COMMIT")

    def _insert_dataset(self, manifest: Manifest) -> None:
        assert self._db is not None
        k = manifest.key
        directory = dataset_dir(self.root, k)
        self._db.execute(
            "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, make_timestamp(?::BIGINT // 1000), "
            "make_timestamp(?::BIGINT // 1000), ?, ?, ?)",
            [
                k.kind.value,
                k.exchange,
                k.symbol,
                k.timeframe,
                manifest.rows,
                manifest.first,
                manifest.last,
                manifest.bytes,
                len(manifest.files),
                manifest.generation,
            ],
        )
        for f in manifest.files:
            self._db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [k.kind.value, k.exchange, k.symbol, k.timeframe, str(directory / f.path), f.year, f.rows, f.bytes],
            )

    def _create_views(self) -> None:
        """One view per table over the committed files, with each series' identity columns put back."""
        assert self._db is not None
        db = self._db
        for kind in Kind:
            rows = db.execute(
                "SELECT exchange, symbol, timeframe, list(path ORDER BY path) FROM files WHERE kind = ? "
                "GROUP BY ALL ORDER BY ALL",
                [kind.value],
            ).fetchall()
            columns = [c for c, _ in _SQL_TYPES[kind]]
            selects = []
            for exchange, symbol, timeframe, paths in rows:
                ident = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
                listing = ", ".join(_sql_str(p) for p in paths)
                cols = ", ".join(f"{_sql_str(ident[c])} AS {c}" if c in ident else c for c in columns)
                selects.append(f"SELECT {cols} FROM read_parquet([{listing}])")
            if not selects:
                selects = ["SELECT " + ", ".join(f"NULL::{t} AS {c}" for c, t in _SQL_TYPES[kind]) + " WHERE false"]
            name = "market_data" if kind is Kind.OHLCV else kind.value
            db.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(selects))


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_SQL_TYPES: dict[Kind, list[tuple[str, str]]] = {
    Kind.OHLCV: [
        ("time", "TIMESTAMPTZ"),
        ("symbol", "VARCHAR"),
        ("exchange", "VARCHAR"),
        ("timeframe", "VARCHAR"),
        ("open", "DOUBLE"),
        ("high", "DOUBLE"),
        ("low", "DOUBLE"),
        ("close", "DOUBLE"),
        ("volume", "DOUBLE"),
        ("quote_volume", "DOUBLE"),
        ("trades_count", "BIGINT"),
    ],
    Kind.TRADES: [
        ("time", "TIMESTAMPTZ"),
        ("symbol", "VARCHAR"),
        ("exchange", "VARCHAR"),
        ("price", "DOUBLE"),
        ("quantity", "DOUBLE"),
        ("side", "VARCHAR"),
        ("trade_id", "VARCHAR"),
    ],
    Kind.BOOK: [
        ("time", "TIMESTAMPTZ"),
        ("symbol", "VARCHAR"),
        ("exchange", "VARCHAR"),
        ("bids", "STRUCT(price DOUBLE, quantity DOUBLE)[]"),
        ("asks", "STRUCT(price DOUBLE, quantity DOUBLE)[]"),
    ],
}

_CATALOG_DDL = """
CREATE TABLE IF NOT EXISTS datasets (
    kind VARCHAR NOT NULL, exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
    rows BIGINT NOT NULL, first_time TIMESTAMP, last_time TIMESTAMP, bytes BIGINT NOT NULL,
    files INTEGER NOT NULL, generation INTEGER NOT NULL,
    PRIMARY KEY (kind, exchange, symbol, timeframe));
CREATE TABLE IF NOT EXISTS files (
    kind VARCHAR NOT NULL, exchange VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
    path VARCHAR NOT NULL, year INTEGER NOT NULL, rows BIGINT NOT NULL, bytes BIGINT NOT NULL);
"""


def _open_catalog(path: Path) -> duckdb.DuckDBPyConnection:
    import duckdb

    try:
        db = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise RetryableError(
                f"{path.parent}: the market store is being written by another process (the daemon?)",
                detail=str(exc),
            ) from exc
        raise OperationFailed(f"{path}: cannot open the market catalog: {exc}") from exc
    db.execute(_CATALOG_DDL)
    return db


def _commit(directory: Path, manifest: Manifest) -> None:
    """Separate function so that tests can simulate a crash right before the commit."""
    commit_manifest(directory, manifest)


def encode_parquet(df: pl.DataFrame, dest: Path | IO[bytes]) -> None:
    """Encode one part file exactly as the store writes it (the benchmark times this alone, into memory)."""
    # zstd level 1: nearly the ratio of the default level at several times the speed; statistics let readers skip
    # row groups outside a time range.
    df.write_parquet(dest, compression="zstd", compression_level=1, statistics=True, row_group_size=ROW_GROUP_ROWS)


def _discard(written: list[tuple[Path, Path]]) -> None:
    """Remove temp files of a write that failed before publishing them (the next write's GC would, too)."""
    for tmp, _ in written:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _first_ns(df: pl.DataFrame) -> int:
    return int(df["time"].to_physical()[0])


def _last_ns(df: pl.DataFrame) -> int:
    return int(df["time"].to_physical()[-1])


def _split(df: pl.DataFrame, column: str, given: str | None) -> list[pl.DataFrame]:
    if given is not None:
        return [df]
    return split_runs(df, column)


def _by_year(df: pl.DataFrame) -> list[tuple[int, pl.DataFrame]]:
    """Split a time-sorted frame into calendar years (UTC) with zero-copy slices."""
    import polars as pl

    # Years of the two ends only: ``dt.year()`` over the column cost ~20 ms per million rows.
    times = df["time"]
    first_year, last_year = times[0].year, times[-1].year
    if first_year == last_year:
        return [(first_year, df)]
    bounds = pl.Series(
        [datetime(y, 1, 1, tzinfo=UTC) for y in range(first_year + 1, last_year + 1)],
        dtype=pl.Datetime("ns", "UTC"),
    )
    cuts = [0, *df["time"].search_sorted(bounds, side="left").to_list(), df.height]
    return [
        (first_year + i, df.slice(cuts[i], cuts[i + 1] - cuts[i]))
        for i in range(len(cuts) - 1)
        if cuts[i + 1] > cuts[i]
    ]


__all__ = ["CATALOG_FILE", "MarketStore", "WriteResult", "encode_parquet"]
