"""Every command that offers ``--json`` prints valid JSON with ISO-8601 UTC times and plain decimals.

The commands are enumerated from the root Typer app, so a new command without an entry below fails the test
(write its arguments into ``ARGS``). Commands that need an engine run against a real daemon started here.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import typer
from engine_e2e_support import Daemon, daemon_home, register_groups

from alphintra.config.settings import reset_settings_cache
from alphintra.venues.fake.testing import FakeHandle, running_fake
from tests.pg_support import scratch_schema

# One run of each command; a list of several runs where one is not enough to print times or decimals.
# ``{tmp}`` is replaced by a scratch directory, ``{pg}`` by the test database URL.
ARGS: dict[str, list[list[str]]] = {
    "optimize run": [
        ["sma_cross", "-s", "GOOG", "-p", "fast=5,10", "-p", "slow=20", "--start", "2012-01-01"],
        [
            *("sma_cross", "-s", "GOOG", "-p", "fast=5,10", "-p", "slow=20:30:10", "--start", "2012-01-01"),
            *("--workers", "1", "--search", "tpe", "--trials", "3", "--multi", "sharpe,drawdown", "--study", "j1"),
        ],
    ],
    "optimize show": [["j1"]],
    # ml: two small models of GOOG (the second for compare/promote/rollback), scored on the data they learned from
    "ml train": [
        ["-s", "GOOG", "--end", "2012-01-01", "--trees", "10", "--folds", "2"],
        [
            "-s",
            "GOOG",
            "--end",
            "2012-01-01",
            "--trees",
            "10",
            "--folds",
            "2",
            "-f",
            "minimal",
            "--name",
            "GOOG-1d-core",
        ],
    ],
    "ml search": [["-s", "GOOG", "-p", "num_leaves=7,15", "--end", "2012-01-01"]],
    "ml features": [[], ["minimal"]],
    "ml list": [[]],
    "ml promote": [["GOOG-1d-core", "2"], ["GOOG-1d-core", "1"]],  # two promotions: rollback has one to go back to
    "ml show": [["GOOG-1d-core"]],
    "ml predict": [["GOOG-1d-core", "--last", "2"]],
    "ml evaluate": [["GOOG-1d-core", "--start", "2012-01-01"]],
    "ml compare": [["GOOG-1d-core", "1", "2", "--start", "2012-06-01"]],
    "ml drift": [["GOOG-1d-core", "--end", "2012-01-01", "--no-alert"]],
    "ml rollback": [["GOOG-1d-core"]],
    "optimize list": [[]],
    "order buy": [
        ["BTC/USD", "0.01"],
        ["BTC/USD", "0.01", "--limit", "50000"],
        ["BTC/USD", "0.01", "--twap", "1h", "--slices", "10"],  # a running algorithm for the algo commands
        ["BTC/USD", "0.01", "--route", "split"],  # a routed order (one venue here) for `order routed`
    ],
    "order sell": [["BTC/USD", "0.001"]],
    "order list": [[]],
    "order routed": [[]],
    "algo list": [[]],
    "algo show": [["{algo}"]],
    "algo cancel": [["{algo}"]],
    "order show": [["{order}"]],
    "order cancel": [["{open_order}"]],
    "order modify": [["{open_order2}", "--price", "50001"]],
    "trades list": [[]],
    "trades summary": [[]],
    "portfolio positions": [[]],
    "portfolio balances": [[]],
    "portfolio performance": [[]],
    "market ticker": [["BTC/USD"]],
    "market book": [["BTC/USD"], ["BTC/USD", "--venues", "all"]],
    "market ohlcv": [["BTC/USD"]],
    "market symbols": [[]],
    "watch orders": [["--count", "1"]],
    "watch trades": [["--count", "1"]],
    "watch book": [["BTC/USD", "--count", "1"]],
    "data import": [["/work/shared/data/GOOG.csv", "-s", "GOOG", "-e", "NASDAQ", "-t", "1d"]],
    "data generate": [["--symbols", "1", "--periods", "100", "--seed", "3"]],
    "data sample": [[]],
    "data list": [[]],
    "data show": [["--symbol", "GOOG", "--timeframe", "1d", "--limit", "3"]],
    "data validate": [["/work/shared/data/GOOG.csv"]],
    "data resample": [["--symbol", "GOOG", "--from", "1d", "--to", "1w"]],
    "data export": [["{tmp}/goog.parquet", "--symbol", "GOOG"]],
    "data remove": [["--symbol", "{generated}", "--yes"]],
    "data download": [["--venue", "fakebin", "-s", "BTC/USDT", "--since", "2024-01-01", "--until", "2024-01-01T02:00"]],
    "venue add": [["fakebin", "--exchange", "binance", "--url", "{fake_url}", "--from-env"]],
    "venue list": [[]],
    "venue show": [["fakebin"], ["sim"]],
    "venue reconcile": [["sim", "--dry-run"], ["sim"], []],
    "venue resume": [["sim", "--reason", "checked"]],
    "venue test": [["fakebin"]],
    "venue remove": [["fakebin", "--yes"]],
    "venue fake": [["--port", "0", "--seed", "2"]],  # serves until SIGTERM: its first line is read (venue_fake)
    "backtest run": [
        ["sma_cross", "-s", "GOOG", "--start", "2012-01-01"],
        ["-s", "GOOG", "--start", "2012-01-01", "--strategy-list", "sma_cross,donchian"],
    ],
    "backtest bias": [["sma_cross", "-s", "GOOG", "--timerange", "20120101-", "--cuts", "2", "--trims", "1"]],
    "backtest compare": [["{run}", "{run2}"]],
    "backtest parity": [["sma_cross", "-s", "GOOG", "--timerange", "20120101-"]],
    "strategy new": [["made_for_json", "--template", "ml"]],
    "backtest list": [[]],
    "backtest show": [["{run}"]],
    "strategy list": [[]],
    "strategy info": [["sma_cross"]],
    "strategy start": [["j1", "--strategy", "sma_cross", "--symbol", "BTC/USD"]],
    "strategy status": [["j1"]],
    "strategy signals": [["j1"]],
    "strategy stop": [["j1"]],
    "strategy run-once": [["sma_cross", "--symbol", "BTC/USD"]],
    "risk halt": [["--symbol", "ETH/USD", "--reason", "test"]],
    "risk resume": [["--symbol", "ETH/USD", "--by", "admin"]],
    "risk alerts": [[]],
    "risk metrics": [["--timeframe", "1M"]],
    "risk stress": [[]],
    "risk limits show": [[], ["--history"]],
    "risk limits set": [["max_order_notional", "1000000"]],
    "schedule add": [["--cron", "0 9 * * 1-5", "--strategy", "sma_cross", "--symbol", "BTC/USD", "--name", "s1"]],
    "schedule list": [[]],
    "schedule pause": [["s1"]],
    "schedule resume": [["s1"]],
    "schedule run-now": [["s1"]],
    "schedule remove": [["s1"]],
    "engine start": [["--wait", "60"]],
    "engine status": [[]],
    "engine rebuild-state": [[]],  # AFTER_STOP
    "engine repair": [["--yes"]],  # AFTER_STOP
    "auth token create": [["--user", "ann", "--role", "viewer"]],
    "user add": [["ann", "--role", "trader", "--account", "main"]],  # after `auth token create` (registration order)
    "user list": [[]],
    "user disable": [["ann"]],
    "user enable": [["ann"]],
    "user role": [["ann", "viewer"]],
    "user grant": [["ann", "other"]],
    "user revoke": [["ann", "other"]],
    "audit": [[]],
    "export postgres": [
        ["--url", "{pg}", "--state"],
        ["--url", "{pg}", "--tables", "orders,trades", "--since", "2020-01-01"],
    ],
    "db current": [[]],
    "db history": [[]],
    "db upgrade": [[]],  # already at head: a no-op that still reports where the database stands
    "bench matching": [["--orders", "2000", "--reference-orders", "2000", "--repeat", "1"]],
    "bench risk": [["--orders", "2000", "--matching-orders", "2000"]],
    "bench backtest": [["--bars", "2000"]],
    "config show": [[]],
    "config path": [[]],
}

# Run in this order: data first (the backtests need it), the orders before the commands that show them.
FIRST = [
    "engine start",
    "venue add",
    "data sample",
    "data import",
    "data generate",
    "backtest run",
    "optimize run",
    "ml train",
    "ml promote",
    "order buy",
    "order sell",
]
LAST = ["order cancel", "algo cancel", "data remove", "schedule remove", "strategy stop", "venue remove"]
# These refuse to run while the engine does: they run last, on the same home (its real journal), once it stopped.
AFTER_STOP = ["engine rebuild-state", "engine repair"]

# A key naming a time: ``ts``, ``time``, ``start``... or ending in ``_at``, ``_ts``, ``_time``, ``_start``...
TIME_KEY = re.compile(r"(^|_)(at|ts|time|timestamp|start|end)$")
NOT_TIMES = {"resting_at_end"}  # a count of orders (bench matching)
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00)$")
BAR_FIELDS = {"open", "high", "low", "close"}
NOISE = re.compile(r"\.\d*(0000000|9999999)\d$")  # 104.57000000000001, 0.30000000000000004
EXPONENT = re.compile(r"^-?\d+(\.\d+)?[eE][+-]?\d+$")


def json_commands() -> list[str]:
    from alphintra.cli.main import app

    register_groups()
    out: list[str] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        elif any("--json" in getattr(p, "opts", ()) for p in command.params):
            out.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return out


def problems(value: Any, where: str = "$") -> list[str]:
    """Every time key that does not hold ISO-8601 UTC text and every decimal in exponent form."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}"
            timed = TIME_KEY.search(str(key)) and key not in NOT_TIMES and item is not None
            if timed and not isinstance(item, dict | list) and not (isinstance(item, str) and ISO_UTC.match(item)):
                found.append(f"{path}: time {item!r} is not ISO-8601 UTC")
            if key in BAR_FIELDS and isinstance(item, str | float) and NOISE.search(str(item)):
                found.append(f"{path}: bar price with float noise {item!r}")
            found += problems(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += problems(item, f"{where}[{i}]")
    elif isinstance(value, str) and EXPONENT.match(value):
        found.append(f"{where}: decimal in exponent form {value!r}")
    return found


@contextlib.contextmanager
def _activity(daemon: Daemon) -> Iterator[None]:
    """Orders and price ticks in the background, so that a ``watch`` command has something to print."""
    stop = threading.Event()

    def trade() -> None:
        price = 60000
        with daemon.client() as c:
            while not stop.is_set():
                price += 1
                c.post("/api/v1/market-data/ticks", {"symbol": "BTC/USD", "price": str(price)})
                c.post("/api/v1/orders", {"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001"})
                stop.wait(0.1)

    thread = threading.Thread(target=trade, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


class Ran(NamedTuple):
    code: int
    out: str
    err: str


def venue_fake(args: list[str]) -> Ran:
    """`venue fake --json` as a process: it prints one JSON line, then serves until SIGTERM."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "alphintra", "venue", "fake", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the line or the process's end (a failed start)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    return Ran(0 if line else proc.returncode or 1, line, err)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    with daemon_home() as d:
        yield d  # started by the test's own `engine start --json`


@pytest.fixture
def pg_target(pg_url: str) -> Iterator[str]:
    """The export's own schema: the shared database's public tables hold other runs' rows (other ids, same keys)."""
    with scratch_schema("t_json", pg_url) as url:
        yield url


def test_every_json_output_is_valid_with_iso_times_and_plain_decimals(
    daemon: Daemon, fake: FakeHandle, run_cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_target: str
) -> None:
    register_groups()
    for key, value in daemon.env.items():
        if key.startswith("ALPHINTRA_"):
            monkeypatch.setenv(key, value)
    # the venue commands: a passphrase for the stored keys (no OS keyring here), the fake's keys from the environment
    monkeypatch.setenv("ALPHINTRA_PASSPHRASE", "a passphrase for tests")
    monkeypatch.setenv("ALPHINTRA_VENUE_FAKEBIN_API_KEY", fake.api_key)
    monkeypatch.setenv("ALPHINTRA_VENUE_FAKEBIN_API_SECRET", fake.api_secret)
    reset_settings_cache()
    commands = json_commands()
    missing = sorted(set(commands) - set(ARGS))
    assert not missing, f"commands with --json and no entry in ARGS: {missing}"
    ordered = [c for c in FIRST if c in commands]
    ordered += [c for c in commands if c not in FIRST and c not in LAST and c not in AFTER_STOP]
    ordered += [c for c in LAST if c in commands]
    ordered += [c for c in AFTER_STOP if c in commands]
    values = {"tmp": str(tmp_path), "pg": pg_target, "fake_url": fake.base_url}
    failures: list[str] = []
    for command in ordered:
        for args in ARGS[command]:
            if command == "order buy" and "--limit" in args:
                for key in ("open_order", "open_order2"):
                    argv = [*command.split(), *args, "--json"]
                    result = run_cli(*argv)
                    assert result.code == 0, f"{argv}: {result.err}"
                    values[key] = result.json()["id"]  # type: ignore[index]
                continue
            try:
                argv = [*command.split(), *(a.format(**values) for a in args), "--json"]
            except KeyError as exc:
                failures.append(f"{command}: no {exc} from an earlier command")
                continue
            if command in AFTER_STOP:
                daemon.stop()
            if command == "venue fake":
                result = venue_fake(argv[2:])
            elif command.startswith("watch"):
                with _activity(daemon):
                    result = run_cli(*argv)
            else:
                result = run_cli(*argv)
            if result.code != 0:
                failures.append(f"{' '.join(argv)}: exit {result.code}: {result.err.strip()}")
                continue
            try:
                data = (
                    [json.loads(line) for line in result.out.splitlines()]
                    if command.startswith("watch")
                    else (json.loads(result.out))
                )
            except json.JSONDecodeError as exc:
                failures.append(f"{' '.join(argv)}: not JSON ({exc}): {result.out[:200]!r}")
                continue
            failures += [f"{' '.join(argv)}: {p}" for p in problems(data)]
            if command == "order buy" and "--twap" in args:
                values["algo"] = data["algo"]["algo_id"]  # type: ignore[index]
            elif command == "order buy" and "order" not in values:
                values["order"] = data["id"]
            if command == "engine start":
                daemon.tick("BTC/USD", "60000")
            if command == "data generate":
                values["generated"] = data[0]["dataset"].split()[1].split(":")[-1]  # type: ignore[index]
            if command == "backtest run" and isinstance(data, list):  # --strategy-list: one row per strategy
                values["run2"] = data[1]["run_id"]
            elif command == "backtest run":
                values["run"] = data["run_id"]  # type: ignore[index]
    unique = list(dict.fromkeys(re.sub(r"\[\d+\]", "[*]", f) for f in failures))
    assert not unique, "\n".join(unique)
