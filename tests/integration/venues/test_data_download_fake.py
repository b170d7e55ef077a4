"""`alphintra data download` of 100,000 1m bars from the fake exchange (a real process), killed with SIGKILL
mid-way, interrupted with SIGINT later on and run again: each bar is stored once and equals what the fake serves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from alphintra.storage.market import MarketData
from alphintra.storage.market.schema import Kind
from alphintra.venues.fake.testing import FakeHandle

SINCE_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
BARS = 100_000
UNTIL = "2024-03-10T10:40:00+00:00"  # SINCE + 100,000 minutes


def environ(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    return {**env, "ALPHINTRA_HOME": str(home), "ALPHINTRA_PASSPHRASE": "download test", "COLUMNS": "400"}


def stored_rows(home: Path) -> int:
    found = MarketData(home / "market").datasets(Kind.OHLCV, symbol="BTC/USDT", exchange="fakebin", timeframe="1m")
    return found[0].rows if found else 0


def served(fake: FakeHandle) -> dict[int, tuple[float, ...]]:
    """The fake's own klines over plain HTTP (no ccxt in between), as exact floats of its decimal strings."""
    bars: dict[int, tuple[float, ...]] = {}
    start = SINCE_MS
    while len(bars) < BARS:
        url = f"{fake.rest_url}/klines?symbol=BTCUSDT&interval=1m&startTime={start}&limit=1000"
        with urllib.request.urlopen(url, timeout=60) as resp:
            page = json.loads(resp.read())
        for row in page:
            if len(bars) < BARS:
                bars[row[0]] = tuple(float(v) for v in row[1:6])
        start = page[-1][0] + 60_000
    return bars


def interrupt(cli: list[str], args: list[str], env: dict[str, str], home: Path, at_least: int, sig: int) -> int:
    """Run a download until ``at_least`` bars are committed, stop it with ``sig``; the rows stored then."""
    proc = subprocess.Popen([*cli, *args, "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while stored_rows(home) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the download made no progress"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGINT:  # Ctrl-C: the CLI's own exit (not "internal error", even when DuckDB was interrupted)
        assert proc.returncode == 130 and b"error" not in err and b"Traceback" not in err, err
    else:
        assert proc.returncode == -sig
    return stored_rows(home)


def test_download_killed_mid_way_resumes_and_stores_each_bar_once(fake: FakeHandle, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = environ(home)
    cli = [sys.executable, "-m", "alphintra"]
    added = subprocess.run(
        [*cli, "venue", "add", "fakebin", "--exchange", "binance", "--url", fake.base_url, "--rate-limit", "1",
         "--secret-stdin"],
        input=f"{fake.api_key}\n{fake.api_secret}\n", text=True, capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    args = ["data", "download", "--venue", "fakebin", "-s", "BTC/USDT", "--since", "2024-01-01", "--until", UNTIL]
    # killed without warning (SIGKILL) once two chunks are committed, then interrupted (Ctrl-C) further on
    killed_at = interrupt(cli, args, env, home, at_least=20_000, sig=signal.SIGKILL)
    at_kill = interrupt(cli, args, env, home, at_least=killed_at + 20_000, sig=signal.SIGINT)
    assert 40_000 <= at_kill < BARS

    second = subprocess.run([*cli, *args, "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    # resumed from the newest stored bar (fetched again), not from the start
    assert summary["resumed_from"] == _iso(SINCE_MS + (at_kill - 1) * 60_000)
    assert summary["added"] == BARS - at_kill

    frame = MarketData(home / "market").bars("BTC/USDT", "1m", exchange="fakebin")
    times = [int(t.timestamp() * 1000) for t in frame["time"]]
    assert len(times) == len(set(times)) == BARS
    assert times == [SINCE_MS + 60_000 * i for i in range(BARS)]
    expected = served(fake)
    got = {
        t: (o, h, lo, c, v)
        for t, o, h, lo, c, v in zip(
            times, *(frame[k] for k in ("open", "high", "low", "close", "volume")), strict=True
        )
    }
    assert got == expected

    third = subprocess.run([*cli, *args, "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert json.loads(third.stdout)["added"] == 0 and stored_rows(home) == BARS  # idempotent


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
