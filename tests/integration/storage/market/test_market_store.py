"""The store against real files: idempotent imports, crash safety, the writer lock, queries and downloads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from alphintra.errors import NotFoundError, RetryableError, ValidationError
from alphintra.storage.market import (
    Kind,
    MarketData,
    MarketStore,
    download_ohlcv,
    generate_bars,
    generate_trades,
    import_file,
    load_samples,
)
from alphintra.storage.market import store as store_module
from alphintra.storage.market.layout import dataset_dir, read_manifest
from alphintra.storage.market.schema import DatasetKey

GOOG = Path("/work/shared/data/GOOG.csv")
REPO = Path(__file__).resolve().parents[4]


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix != ".wal"}


def import_goog(root: Path) -> None:
    with MarketStore(root) as store:
        import_file(store, GOOG, symbol="GOOG", exchange="NASDAQ", timeframe="1d")


def test_importing_goog_twice_keeps_2148_rows(tmp_path: Path) -> None:
    root = tmp_path / "m"
    with MarketStore(root) as store:
        first = import_file(store, GOOG, symbol="GOOG", exchange="NASDAQ", timeframe="1d")
        second = import_file(store, GOOG, symbol="GOOG", exchange="NASDAQ", timeframe="1d")
    assert (first[0].added, first[0].total) == (2148, 2148)
    assert (second[0].added, second[0].replaced, second[0].total) == (0, 2148, 2148)
    bars = MarketData(root).bars("GOOG", "1d")
    assert bars.height == 2148 and bars["time"].is_sorted() and bars["time"].n_unique() == 2148
    assert bars.row(0, named=True) | {"time": None} == {
        "time": None,
        "symbol": "GOOG",
        "exchange": "NASDAQ",
        "timeframe": "1d",
        "open": 100.0,
        "high": 104.06,
        "low": 95.96,
        "close": 100.34,
        "volume": 22351900.0,
        "quote_volume": None,
        "trades_count": None,
    }
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as db:
        assert db.execute("select count(*), count(distinct time) from market_data").fetchall()[0] == (2148, 2148)
        assert db.execute("select rows, files from datasets where symbol = 'GOOG'").fetchall()[0] == (2148, 10)


def test_an_overlapping_import_replaces_the_overlap_and_adds_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "m"
    header = "time,open,high,low,close,volume\n"
    a = tmp_path / "a.csv"
    a.write_text(header + "2024-01-01,1,1,1,1,1\n2024-01-02,2,2,2,2,2\n2024-01-03,3,3,3,3,3\n")
    b = tmp_path / "b.csv"
    b.write_text(header + "2024-01-03,30,30,30,30,30\n2024-01-04,4,4,4,4,4\n")
    with MarketStore(root) as store:
        import_file(store, a, symbol="X", exchange="E", timeframe="1d")
        result = import_file(store, b, symbol="X", exchange="E", timeframe="1d")[0]
    assert (result.added, result.replaced, result.total) == (1, 1, 4)
    assert MarketData(root).bars("X", "1d")["close"].to_list() == [1.0, 2.0, 30.0, 4.0]


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "m"
    bad = tmp_path / "bad.csv"
    bad.write_text("time,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n2024-01-02,1,1,1,abc,1\n")
    with MarketStore(root) as store, pytest.raises(ValidationError) as err:
        import_file(store, bad, symbol="X", exchange="E", timeframe="1d")
    assert err.value.field == f"{bad}: line 3 column 'close'" and err.value.rule == "must be a number"
    eurusd = Path("/work/shared/data/EURUSD.csv")
    with MarketStore(root) as store, pytest.raises(ValidationError) as err:
        import_file(store, eurusd, symbol="EUR/USD", exchange="FX", timeframe="1d")  # hourly rows as daily bars
    assert err.value.field == f"{eurusd}: line 2 column 'time'"
    assert err.value.rule.startswith("must fall on the start of a 1d bar (UTC)")
    assert MarketData(root).datasets() == []
    with MarketStore(root) as store, pytest.raises(ValidationError) as err:
        import_file(store, GOOG, symbol="GOOG", exchange="NASDAQ", timeframe="3d")
    assert err.value.field == "timeframe"


def test_a_crash_before_the_commit_leaves_the_store_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "m"
    import_goog(root)
    before = MarketData(root).bars("GOOG", "1d")
    changed = pl.read_csv(GOOG).with_columns(pl.col("Close") * 2)
    changed_path = tmp_path / "changed.csv"
    changed.write_csv(changed_path)

    def crash(directory: Path, manifest: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "_commit", crash)
    with MarketStore(root) as store, pytest.raises(OSError):
        import_file(store, changed_path, symbol="GOOG", exchange="NASDAQ", timeframe="1d")
    assert MarketData(root).bars("GOOG", "1d").equals(before)
    monkeypatch.undo()
    with MarketStore(root) as store:  # the next write clears what the failed one left behind
        import_file(store, changed_path, symbol="GOOG", exchange="NASDAQ", timeframe="1d")
    after = MarketData(root).bars("GOOG", "1d")
    assert after["close"].to_list() == (before["close"] * 2).to_list()
    directory = dataset_dir(root, DatasetKey(Kind.OHLCV, "NASDAQ", "GOOG", "1d"))
    manifest = read_manifest(directory)
    assert manifest is not None and manifest.generation == 2
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*.parquet")}
    assert on_disk == {f.path for f in manifest.files} | set(manifest.previous)


def test_a_failed_part_file_leaves_no_temp_files_and_the_store_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part files are encoded to temp names first and published together; a failure on a later year removes
    the temp files already written (and the committed dataset stays as it was)."""
    root = tmp_path / "m"
    bars = generate_bars(1, periods=3 * 365, timeframe="1d", start="2021-06-01")  # three calendar years
    with MarketStore(root) as store:
        store.write_bars(bars, timeframe="1d")
    symbol = bars["symbol"][0]
    before = MarketData(root).bars(symbol, "1d")
    real = store_module.encode_parquet
    calls: list[Path] = []

    def fail_on_second(df: pl.DataFrame, path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real(df, path)

    monkeypatch.setattr(store_module, "encode_parquet", fail_on_second)
    with MarketStore(root) as store, pytest.raises(OSError):
        store.write_bars(bars.with_columns(pl.col("close") * 2), timeframe="1d")
    assert MarketData(root).bars(symbol, "1d").equals(before)
    directory = dataset_dir(root, DatasetKey(Kind.OHLCV, "SYNTH", symbol, "1d"))
    assert not [p for p in directory.rglob("*") if p.name.endswith(".tmp")]
    manifest = read_manifest(directory)
    assert manifest is not None and manifest.generation == 1


def test_a_killed_import_leaves_the_store_readable_and_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "m"
    import_goog(root)
    before = MarketData(root).bars("GOOG", "1d")
    manifest_path = dataset_dir(root, DatasetKey(Kind.OHLCV, "NASDAQ", "GOOG", "1d")) / "_manifest.json"
    manifest_before = manifest_path.read_bytes()
    changed_path = tmp_path / "changed.csv"
    pl.read_csv(GOOG).with_columns(pl.col("Close") * 2).write_csv(changed_path)
    # The child writes every new part file, then stops right before the commit until it is killed.
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from alphintra.storage.market import MarketStore, import_file
        from alphintra.storage.market import store as store_module

        def wait_for_kill(directory, manifest):
            print("ready", flush=True)
            sys.stdin.readline()

        store_module._commit = wait_for_kill
        with MarketStore(Path({str(root)!r})) as store:
            import_file(store, Path({str(changed_path)!r}), symbol="GOOG", exchange="NASDAQ", timeframe="1d")
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        written = files_under(root)
        assert any("part-00000002" in f for f in written)  # the new generation is on disk, uncommitted
        assert MarketData(root).bars("GOOG", "1d").equals(before)  # a reader meanwhile sees the old data
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert manifest_path.read_bytes() == manifest_before
    assert MarketData(root).bars("GOOG", "1d").equals(before)
    with MarketStore(root) as store:  # the lock died with the process; the next writer cleans up
        result = import_file(store, GOOG, symbol="GOOG", exchange="NASDAQ", timeframe="1d")[0]
    assert result.total == 2148
    assert not any("part-00000002" in f for f in files_under(root))


def test_a_second_writer_is_refused_while_readers_carry_on(tmp_path: Path) -> None:
    root = tmp_path / "m"
    import_goog(root)
    probe = textwrap.dedent(
        f"""
        from pathlib import Path
        from alphintra.errors import RetryableError
        from alphintra.storage.market import MarketData, MarketStore
        print(MarketData(Path({str(root)!r})).bars("GOOG", "1d").height)
        try:
            MarketStore(Path({str(root)!r}))
        except RetryableError as exc:
            print("refused:", exc.message)
        """
    )
    with MarketStore(root):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
            check=True,
        ).stdout.splitlines()
    assert out[0] == "2148"
    assert out[1] == f"refused: {root}: the market store is being written by another process (the daemon?)"
    assert RetryableError.retryable


def test_queries_ranges_limits_and_last_price(tmp_path: Path) -> None:
    root = tmp_path / "m"
    bars = generate_bars(["AAA"], periods=3 * 24 * 60, start="2023-12-31", seed=1)
    with MarketStore(root) as store:
        store.write_bars(bars, timeframe="1m")
        store.write_bars(bars.with_columns(pl.lit("OTHER").alias("exchange")), timeframe="1m")
    data = MarketData(root)
    with pytest.raises(ValidationError) as err:
        data.bars("AAA", "1m")
    assert (err.value.field, err.value.rule) == ("exchange", "is needed: AAA is stored for OTHER, SYNTH")
    day = data.bars("AAA", "1m", exchange="SYNTH", start="2024-01-01", end=datetime(2024, 1, 2))
    assert day.height == 1440 and day["time"][0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert day["time"][-1] == datetime(2024, 1, 1, 23, 59, tzinfo=UTC)
    first = data.bars("AAA", "1m", exchange="SYNTH", limit=5)
    last = data.bars("AAA", "1m", exchange="SYNTH", limit=5, newest=True)
    assert first["time"][0] == datetime(2023, 12, 31, tzinfo=UTC)  # spans two yearly files
    assert last["time"].to_list() == [datetime(2024, 1, 2, 23, 55 + i, tzinfo=UTC) for i in range(5)]
    assert data.bars("AAA", "1m", exchange="SYNTH", start="2030-01-01").height == 0
    price = data.last_price("AAA", exchange="SYNTH")
    assert (price.price, price.source) == (bars["close"][-1], "bar:1m")
    assert price.time == datetime(2024, 1, 3, tzinfo=UTC)  # the close is known when the bar ends
    with pytest.raises(NotFoundError):
        data.bars("ZZZ", "1m")
    with pytest.raises(ValidationError):
        data.bars("AAA", "1m", exchange="SYNTH", start="2024-01-02", end="2024-01-01")


def test_trades_and_book_snapshots_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "m"
    trades = generate_trades("AAA", count=2_000, start="2024-01-03", seed=4)
    book = pl.DataFrame(
        {
            "time": [datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 3, 0, 0, 1, tzinfo=UTC)],
            "bids": [[[99.5, 2.0], [99.0, 1.0]], [[99.6, 1.0]]],
            "asks": [[[100.5, 1.5]], [[100.4, 3.0], [100.9, 1.0]]],
        }
    )
    with MarketStore(root) as store:
        store.write_bars(generate_bars(["AAA"], periods=10, start="2024-01-01", seed=1), timeframe="1m")
        assert store.write_trades(trades)[0].added == 2_000
        again = store.write_trades(trades.tail(500))[0]
        assert (again.added, again.replaced, again.total) == (0, 500, 2_000)
        store.write_book_snapshots(book, symbol="AAA", exchange="SYNTH")
    data = MarketData(root)
    assert data.trades("AAA").equals(trades)
    snaps = data.book_snapshots("AAA")
    assert snaps["bids"][0].to_list() == [{"price": 99.5, "quantity": 2.0}, {"price": 99.0, "quantity": 1.0}]
    price = data.last_price("AAA")
    assert (price.price, price.source) == (trades["price"][-1], "trade")


def test_previous_generation_files_outlive_one_write_for_readers_in_flight(tmp_path: Path) -> None:
    root = tmp_path / "m"
    base = generate_bars(["AAA"], periods=100, start="2024-01-01", seed=1)
    key = DatasetKey(Kind.OHLCV, "SYNTH", "AAA", "1m")
    directory = dataset_dir(root, key)
    with MarketStore(root) as store:
        store.write_bars(base, timeframe="1m")
        store.write_bars(base.with_columns(pl.col("close") + 1), timeframe="1m")
        assert (directory / "year=2024/part-00000001.parquet").exists()
        store.write_bars(base.with_columns(pl.col("close") + 2), timeframe="1m")
        assert not (directory / "year=2024/part-00000001.parquet").exists()
    assert MarketData(root).bars("AAA", "1m")["close"].to_list() == (base["close"] + 2).to_list()


class PagedVenue:
    """A venue that serves stored bars in pages, like ccxt's fetch_ohlcv, and records what it was asked."""

    def __init__(self, start: datetime, count: int) -> None:
        t0 = int(start.timestamp() * 1000)
        self.rows = [[t0 + i * 3_600_000, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 100.0] for i in range(count)]
        self.calls: list[int | None] = []

    def fetch_ohlcv(self, symbol: str, timeframe: str, since_ms: int | None, limit: int) -> list[list[float]]:
        assert (symbol, timeframe) == ("BTC/USDT", "1h")
        self.calls.append(since_ms)
        return [list(r) for r in self.rows if since_ms is None or r[0] >= since_ms][:limit]


def test_paginated_download_and_resume(tmp_path: Path) -> None:
    root = tmp_path / "m"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    venue = PagedVenue(start, 10)
    with MarketStore(root) as store:
        first = download_ohlcv(
            store, venue, symbol="BTC/USDT", exchange="binance", timeframe="1h", start=start, page_limit=4
        )
    assert (first.pages, first.received, first.added) == (4, 10, 10)
    hour = 3_600_000
    t0 = int(start.timestamp() * 1000)
    assert venue.calls == [t0, t0 + 4 * hour - hour + 1, t0 + 8 * hour - hour + 1, t0 + 10 * hour - hour + 1]
    venue.rows += [[venue.rows[-1][0] + hour, 1.0, 2.0, 0.5, 1.5, 7.0]]
    venue.rows[9][4] = 99.0  # the last stored bar was still forming: the venue now has its final close
    venue.calls.clear()
    with MarketStore(root) as store:
        again = download_ohlcv(
            store, venue, symbol="BTC/USDT", exchange="binance", timeframe="1h", start=start, page_limit=4
        )
    assert venue.calls[0] == t0 + 9 * hour  # resumed at the newest stored bar, not at `start`
    assert (again.received, again.added) == (2, 1)
    bars = MarketData(root).bars("BTC/USDT", "1h")
    assert bars.height == 11 and bars["close"][9] == 99.0 and bars["time"][-1] == start + timedelta(hours=10)


def test_sample_data_loads_and_reloads_idempotently(tmp_path: Path) -> None:
    root = tmp_path / "m"
    with MarketStore(root) as store:
        load_samples(store)
        again = load_samples(store)
    assert [(r.key.symbol, r.added, r.total) for r in again] == [
        ("GOOG", 0, 2148),
        ("EUR/USD", 0, 5000),
        ("BTC/USD", 0, 156),
    ]
    infos = {(i.exchange, i.symbol, i.timeframe): i.rows for i in MarketData(root).datasets()}
    assert infos == {("NASDAQ", "GOOG", "1d"): 2148, ("FX", "EUR/USD", "1h"): 5000, ("BITSTAMP", "BTC/USD", "1M"): 156}
    btc = MarketData(root).bars("BTC/USD", "1M", limit=1)
    assert btc["time"][0] == datetime(2012, 1, 1, tzinfo=UTC) and btc["close"][0] == 5.55
