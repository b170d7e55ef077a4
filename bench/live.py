"""Live order round trip: through the daemon to the fake exchange and back, next to raw ccxt against the same fake.

python bench/live.py [--orders 200] [--warmup 20] [--block 25] [--walk-ms 0] [--json]

Both paths run in the same run against one fake exchange process (``alphintra venue fake``) on 127.0.0.1, each
with its own funded key pair, market orders alternating buy and sell, in alternating blocks of ``--block`` orders:
this machine's speed drifts by up to half within a minute (other tenants of its host), and one path measured
before the other was as likely to be measured on a faster machine as on the same one.

- ``daemon``: a real daemon in live mode (``venue add`` + an account on the venue). One order is POSTed to the API
  on the unix socket; the round trip ends when the order's FILLED update arrives on the ``orders/updates``
  WebSocket. That covers the API, the journal fsync of the order, the engine thread, the ccxt venue's loop, the
  exchange, the report back to the engine thread, its journal fsync and the stream.
- ``ccxt``: ``ccxt.binance.create_order`` (synchronous client, rate limiter on at the same 1 ms) -- the
  exchange's answer to the order, which already carries its fills.

Printed: p50 / p99 / mean in ms, the daemon's acknowledgement alone (the POST answered once the order is
journaled),  and orders/s (sequential, one order in flight) for each, the daemon's CPU per order split by thread,
and what the daemon adds (daemon minus ccxt) at p50 and p99. Target: the daemon adds <= 2 ms at p99.

``--walk-ms N`` has the fake move its price every N ms (its background liquidity model: a new book, ticker and
depth diffs each time), so the daemon keeps up with a moving market's public streams while it trades; 0 (the
default) leaves the market still but for the bench's own trades.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.benchmarks.procstat import thread_cpu
from alphintra.daemon.client import EngineClient
from alphintra.venues.fake.testing import FakeHandle, running_fake

FUNDS = {"USDT": "100000000", "BTC": "1000"}
QTY = "0.001"


def _stats(samples: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "orders": n,
        "p50_ms": round(ordered[n // 2] * 1000, 3),
        "p99_ms": round(ordered[min(n - 1, int(n * 0.99))] * 1000, 3),
        "mean_ms": round(sum(ordered) / n * 1000, 3),
        "orders_per_sec": round(n / wall, 1),
    }


def _account(fake: FakeHandle) -> dict[str, str]:
    return dict(fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": FUNDS}))


class RawCcxt:
    """``ccxt.binance.create_order`` straight at the fake, on a key pair of its own."""

    def __init__(self, fake: FakeHandle) -> None:
        import ccxt

        acct = _account(fake)
        self.client = ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"], rateLimit=1))
        self.client.load_markets()

    def order(self, i: int) -> float:
        t0 = time.perf_counter()
        order = self.client.create_order("BTC/USDT", "market", "buy" if i % 2 == 0 else "sell", float(QTY))
        elapsed = time.perf_counter() - t0
        assert order["status"] == "closed", order
        return elapsed


class LiveDaemon:
    def __init__(self, root: Path, fake: FakeHandle) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
        self.env.update(
            ALPHINTRA_HOME=str(root),
            ALPHINTRA_PASSPHRASE="a passphrase for the bench",
            ALPHINTRA_PAPER__FEED="none",
            PYTHONPATH=str(Path(__file__).resolve().parent.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        acct = _account(fake)
        self.cli(
            "venue", "add", "fk", "--exchange", "binance", "--urls", json.dumps(fake.urls), "--rate-limit", "1",
            "--secret-stdin", input=f"{acct['api_key']}\n{acct['api_secret']}\n",
        )  # fmt: skip
        config = root / "config.toml"
        config.write_text('[venues.sim]\n[accounts.live]\nvenue = "fk"\n', encoding="utf-8")
        self.env["ALPHINTRA_CONFIG"] = str(config)

    def cli(self, *args: str, input: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "alphintra", *args], env=self.env, capture_output=True, text=True, input=input
        )
        if done.returncode != 0:
            raise RuntimeError(f"alphintra {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def pid(self) -> int:
        return int((self.root / "engine.pid").read_text().split()[0])

    @contextlib.contextmanager
    def session(self) -> Iterator[DaemonSession]:
        with (
            EngineClient(socket_path=self.root / "engine.sock", timeout=30) as client,
            client.subscribe("orders/updates") as updates,
        ):
            yield DaemonSession(client, updates)


class DaemonSession:
    """One API client and its ``orders/updates`` stream: an order's round trip ends with its FILLED update."""

    def __init__(self, client: EngineClient, updates: Any) -> None:
        self.client = client
        self.updates = updates

    def order(self, i: int) -> tuple[float, float]:
        """(round trip, acknowledgement) in seconds; the acknowledgement is the POST answered once the order is
        validated, journaled and fsync-ed (not yet at the exchange)."""
        body: dict[str, Any] = {"symbol": "BTC/USDT", "side": "BUY" if i % 2 == 0 else "SELL"}
        body.update(quantity=QTY, type="MARKET", account="live")
        t0 = time.perf_counter()
        placed = self.client.post("/api/v1/orders", body)
        acked = time.perf_counter() - t0
        while True:
            message = self.updates.recv(timeout=30)
            if message is None:
                raise RuntimeError("the engine closed the stream")
            data = message.data or {}
            if data.get("id") == placed["id"] and data.get("status") in ("FILLED", "REJECTED"):
                break
        elapsed = time.perf_counter() - t0
        if data["status"] != "FILLED":
            raise RuntimeError(f"order {placed['id']} was {data['status']}: {data.get('status_message')}")
        return elapsed, acked


def interleaved(raw: RawCcxt, daemon: LiveDaemon, orders: int, warmup: int, block: int) -> dict[str, Any]:
    """Both paths in alternating blocks of ``block`` orders (which goes first alternates too), so that a burst of
    load from elsewhere on the machine hits both alike; the daemon's CPU counts only during its own blocks."""
    raw_samples: list[float] = []
    samples: list[float] = []
    acks: list[float] = []
    cpu: dict[str, float] = {}
    walls = {"ccxt": 0.0, "daemon": 0.0}
    with daemon.session() as session:
        for i in range(warmup):
            raw.order(i)
            session.order(i)
        pid = daemon.pid()
        done = 0
        n = 0
        while done < orders:
            size = min(block, orders - done)
            for path in ("ccxt", "daemon") if n % 2 == 0 else ("daemon", "ccxt"):
                before = thread_cpu(pid) if path == "daemon" else {}
                started = time.perf_counter()
                for i in range(done, done + size):
                    if path == "ccxt":
                        raw_samples.append(raw.order(i))
                    else:
                        elapsed, acked = session.order(i)
                        samples.append(elapsed)
                        acks.append(acked)
                walls[path] += time.perf_counter() - started
                if path == "daemon":
                    for name, sec in thread_cpu(pid).items():
                        cpu[name] = cpu.get(name, 0.0) + sec - before.get(name, 0.0)
            done += size
            n += 1
    # Where the daemon's CPU went, per measured order and thread (each thread carries its name at the OS level; the
    # main thread, serving the API and the streams, shows as "python").
    by_thread = {
        name: round(sec * 1000 / len(samples), 3) for name, sec in sorted(cpu.items(), key=lambda kv: -kv[1]) if sec > 0
    }
    ack = _stats(acks, walls["daemon"])
    through = {
        **_stats(samples, walls["daemon"]),
        "ack_p50_ms": ack["p50_ms"],
        "ack_p99_ms": ack["p99_ms"],
        "daemon_cpu_ms_per_order": round(sum(by_thread.values()), 3),
        "daemon_cpu_ms_by_thread": by_thread,
    }
    return {"ccxt": _stats(raw_samples, walls["ccxt"]), "daemon": through}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="measured orders per path")
    parser.add_argument("--warmup", type=int, default=20, help="orders sent first and not measured")
    parser.add_argument("--block", type=int, default=25, help="orders of one path before the other takes a turn")
    parser.add_argument("--walk-ms", type=int, default=0, help="the fake's price moves every N ms (0: still)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with running_fake(walk_ms=args.walk_ms) as fake, tempfile.TemporaryDirectory(prefix="abl", dir="/tmp") as name:
        fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
        daemon = LiveDaemon(Path(name), fake)
        daemon.cli("engine", "start", "--wait", "60")
        try:
            measured = interleaved(RawCcxt(fake), daemon, args.orders, args.warmup, args.block)
        finally:
            daemon.cli("engine", "stop")
    raw, through = measured["ccxt"], measured["daemon"]
    result = {
        "ccxt": raw,
        "daemon": through,
        "block": args.block,
        "daemon_adds_p50_ms": round(through["p50_ms"] - raw["p50_ms"], 3),
        "daemon_adds_p99_ms": round(through["p99_ms"] - raw["p99_ms"], 3),
        "target_p99_ms": 2.0,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    for label, r in (("ccxt", raw), ("daemon", through)):
        print(
            f"{label:<7} {r['orders']:>5} orders  p50 {r['p50_ms']:>8.3f} ms  p99 {r['p99_ms']:>8.3f} ms  "
            f"mean {r['mean_ms']:>8.3f} ms  {r['orders_per_sec']:>7.1f} orders/s"
        )
    ack_p50, ack_p99 = through["ack_p50_ms"], through["ack_p99_ms"]
    print(f"daemon acknowledgement alone (API + journal fsync): p50 {ack_p50:.3f} ms  p99 {ack_p99:.3f} ms")
    split = ", ".join(f"{name} {ms:.2f}" for name, ms in through["daemon_cpu_ms_by_thread"].items())
    print(f"daemon CPU per order: {through['daemon_cpu_ms_per_order']:.2f} ms ({split})")
    print(
        f"the daemon adds {result['daemon_adds_p50_ms']:.3f} ms at p50 and {result['daemon_adds_p99_ms']:.3f} ms at "
        f"p99 over raw ccxt (target <= 2 ms at p99)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
