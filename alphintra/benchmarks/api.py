"""Order-entry benchmark through a real daemon: sustained orders/s and round-trip latency over its unix socket.

A fresh paper daemon (no price feed, a large cash balance so no order is refused for funds) is started in a
temporary data home. Load generators then post limit orders that rest on the book -- the full path of an
order: HTTP parsing, validation, the hand-off to the engine thread, risk, funds lock, the venue, the journal
**fsync** (the daemon answers only once the order is durable) and the JSON answer:

* ``rest``: single ``POST /api/v1/orders`` from 1 and from N concurrent connections (each connection sends its
  next order when the previous one is answered, like a real client);
* ``batch``: ``POST /api/v1/orders/batch`` of B orders from 1 and N connections (orders/s counts orders;
  latency is per request);
* ``ws``: the order-entry WebSocket (``/api/v1/orders/entry``) from 1 and N connections, each keeping up to
  ``window`` orders in flight (latency per order: sent to answered);
* ``client``: one sequential ``EngineClient`` (httpx), the path the CLI takes;
* ``listing``: one client's single orders while another lists ``listing`` orders (``GET /api/v1/orders?limit=``)
  back to back, next to the same client's figures with nothing else running (``idle``): a big listing must not
  stall order entry (the target: p99 within 2x of idle). The two alternate in ``LISTING_ROUNDS`` rounds of
  ``seconds / LISTING_ROUNDS`` each, and each one's percentiles are over all of its rounds.

Each scenario also reports the daemon's CPU time (user + system, from ``/proc``) per order: unlike orders/s on a
machine shared with other work, it does not move with the load others put on the cores.

Between scenarios the bench pauses (``settle``, then until the daemon is quiet) so that the state projection,
which yields to a busy engine and catches up afterwards, does not bill one scenario's rows to the next: the
figures are for bursts of ``seconds`` seconds.

The load generator is a minimal asyncio HTTP/1.1 client on raw unix streams, so the figures measure the daemon,
not an HTTP library; it shares the machine's cores with the daemon, which is part of the honest figure on a
small machine. Latency is measured per request with ``perf_counter_ns`` from send to the last byte received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alphintra.benchmarks.procstat import cpu_seconds, thread_cpu

TARGET_ORDERS_PER_SEC = 10_000
TARGET_P99_MS = 10.0
_SYMBOLS = (("BTC/USD", "30000", "0.001"), ("ETH/USD", "1500", "0.01"), ("GOOG", "400", "1"))


class _Connection:
    """One keep-alive HTTP/1.1 connection over the daemon's unix socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, socket_path: str) -> _Connection:
        reader, writer = await asyncio.open_unix_connection(socket_path, limit=1 << 22)
        return cls(reader, writer)

    async def post(self, target: str, body: bytes) -> tuple[int, bytes]:
        return await self.request("POST", target, body)

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: engine\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


def _order(worker: int, n: int) -> dict[str, str]:
    symbol, base, qty = _SYMBOLS[(worker + n) % len(_SYMBOLS)]
    # Resting buys spread over 100 price levels far below the market: they never trade, the book keeps them.
    price = f"{int(base) - (n % 100)}"
    return {"symbol": symbol, "side": "BUY", "quantity": qty, "type": "LIMIT", "price": price}


def _settle(pid: int, least: float, most: float = 60.0) -> None:
    """Wait at least ``least`` seconds, then until the daemon is quiet (under 10 % of a core for half a second; at
    most ``most`` seconds): the projection and snapshots of one scenario's orders are not billed to the next."""
    time.sleep(least)
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:
            return


# Alternating idle and listing phases of the listing scenario (see ``run``).
LISTING_ROUNDS = 3


def _pooled(parts: list[dict[str, Any]], latencies: list[int]) -> dict[str, Any]:
    """One scenario's figures from its rounds: counts and CPU summed, percentiles over every request of them."""
    latencies.sort()
    orders = sum(p["orders"] for p in parts)
    elapsed = sum(p["seconds"] for p in parts)
    threads: dict[str, float] = {}
    for p in parts:
        for name, ms in p["daemon_cpu_ms_by_thread"].items():
            threads[name] = threads.get(name, 0.0) + ms * p["orders"]
    cpu = sum(p["daemon_cpu_ms_per_order"] * p["orders"] for p in parts)
    return {
        "clients": parts[0]["clients"],
        "batch": parts[0]["batch"],
        "rounds": len(parts),
        **_rates(orders, elapsed, latencies),
        "errors": [e for p in parts for e in p["errors"]][:3],
        "daemon_cpu_ms_per_order": round(cpu / orders, 3) if orders else 0.0,
        "daemon_cpu_ms_by_thread": {
            name: round(total / orders, 3) for name, total in sorted(threads.items(), key=lambda kv: -kv[1])
        }
        if orders
        else {},
    }


def _rates(orders: int, elapsed: float, latencies: list[int]) -> dict[str, Any]:
    """The figures every scenario reports: requests, time, orders/s and latency percentiles (``latencies`` sorted,
    in ns)."""
    return {
        "orders": orders,
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "orders_per_sec": round(orders / elapsed) if elapsed else 0,
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(latencies[-1] / 1e6, 3) if latencies else 0.0,
    }


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index] / 1e6


async def _load(
    socket_path: str, clients: int, seconds: float, batch: int, keep: list[int] | None = None
) -> dict[str, Any]:
    """``clients`` connections posting for ``seconds``; returns orders/s and latency percentiles (and adds each
    request's latency in ns to ``keep``, when given)."""
    conns = [await _Connection.open(socket_path) for _ in range(clients)]
    latencies: list[int] = []
    counts = [0] * clients
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    target = "/api/v1/orders/batch" if batch > 1 else "/api/v1/orders"

    async def worker(i: int) -> None:
        conn = conns[i]
        n = 0
        while time.perf_counter() < deadline:
            if batch > 1:
                body = json.dumps({"orders": [_order(i, n + k) for k in range(batch)]}).encode()
            else:
                body = json.dumps(_order(i, n)).encode()
            t0 = time.perf_counter_ns()
            status, payload = await conn.post(target, body)
            latencies.append(time.perf_counter_ns() - t0)
            n += batch
            if status >= 300:
                errors.append(f"{status}: {payload[:200]!r}")
                return
            if batch > 1:
                results = json.loads(payload)["results"]
                bad = [r["error"] for r in results if r.get("error")]
                if bad:
                    errors.append(str(bad[0]))
                    return
            counts[i] += batch

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - start
    for conn in conns:
        await conn.close()
    latencies.sort()
    if keep is not None:
        keep.extend(latencies)
    total = sum(counts)
    return {
        "clients": clients,
        "batch": batch,
        **_rates(total, elapsed, latencies),
        "errors": errors[:3],
    }


async def _ws_load(socket_path: str, clients: int, seconds: float, window: int) -> dict[str, Any]:
    """``clients`` order-entry streams, each with up to ``window`` unanswered orders, for ``seconds``."""
    from websockets.asyncio.client import unix_connect

    latencies: list[int] = []
    counts = [0] * clients
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        # No per-message compression: small JSON frames gain nothing and both ends would pay zlib per order.
        async with unix_connect(socket_path, "ws://engine/api/v1/orders/entry", max_size=None, compression=None) as ws:
            sent: dict[int, int] = {}
            slots = asyncio.Semaphore(window)

            async def read() -> None:
                async for raw in ws:
                    answer = json.loads(raw)
                    latencies.append(time.perf_counter_ns() - sent.pop(answer["ref"]))
                    if "error" in answer:
                        errors.append(str(answer["error"]))
                    else:
                        counts[i] += 1
                    slots.release()

            reader = asyncio.create_task(read())
            n = 0
            while time.perf_counter() < deadline and not errors:
                await slots.acquire()
                sent[n] = time.perf_counter_ns()
                await ws.send(json.dumps({"ref": n, "order": _order(i, n)}))
                n += 1
            for _ in range(window):  # every answer is in
                await slots.acquire()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    total = sum(counts)
    return {
        "clients": clients,
        "batch": 1,
        "window": window,
        **_rates(total, elapsed, latencies),
        "errors": errors[:3],
    }


def _lister(socket_path: str, listing: int, started: Any, stop: Any, out: Any) -> None:
    """Child process: list ``listing`` orders back to back until ``stop`` is set (``started`` once the first
    request is sent); sends (durations, errors)."""

    async def loop() -> tuple[list[int], list[str]]:
        lister = await _Connection.open(socket_path)
        listed: list[int] = []
        errors: list[str] = []
        try:
            while not stop.is_set():
                t0 = time.perf_counter_ns()
                request = asyncio.ensure_future(lister.request("GET", f"/api/v1/orders?limit={listing}"))
                await asyncio.sleep(0)  # the request is written
                started.set()
                status, payload = await request
                listed.append(time.perf_counter_ns() - t0)
                if status != 200:
                    errors.append(f"listing {status}: {payload[:200]!r}")
                    break
        finally:
            await lister.close()
        return listed, errors

    out.send(asyncio.run(loop()))


async def _listing_load(
    socket_path: str, seconds: float, listing: int, keep: list[int] | None = None, listings: list[int] | None = None
) -> dict[str, Any]:
    """One client's single orders for ``seconds`` while another client lists ``listing`` orders over and over.

    The lister is a process of its own, as a user's TUI or script would be: reading 5 MB answers on the order
    client's event loop would bill the order client's own waiting to the daemon."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # a fork of a process inside a running event loop inherits it
    started, stop = ctx.Event(), ctx.Event()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_lister, args=(socket_path, listing, started, stop, send), daemon=True)
    child.start()
    try:
        # the first listing is under way before the orders start (or the child failed to start)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 60)
        result = await _load(socket_path, 1, seconds, 1, keep)
    finally:
        stop.set()
        listed, errors = receive.recv() if receive.poll(120) else ([], ["the lister did not answer"])
        child.join(30)
    listed.sort()
    if listings is not None:
        listings.extend(listed)
    result["listings"] = len(listed)
    result["listing_p50_ms"] = round(_percentile(listed, 0.50), 3) if listed else None
    result["errors"] = [*result["errors"], *errors][:3]
    return result


async def _fill_book(socket_path: str, orders: int) -> None:
    """Place resting orders in batches until the daemon holds at least ``orders`` (for the listing scenario)."""
    conn = await _Connection.open(socket_path)
    try:
        status, payload = await conn.request("GET", "/api/v1/engine/status")
        have = int(json.loads(payload).get("orders", 0)) if status == 200 else 0
        n = 0
        while have < orders:
            body = json.dumps({"orders": [_order(7, n + k) for k in range(500)]}).encode()
            await conn.post("/api/v1/orders/batch", body)
            have += 500
            n += 500
    finally:
        await conn.close()


def _client_path(socket_path: Path, seconds: float) -> dict[str, Any]:
    """One sequential EngineClient (httpx), as the CLI uses it."""
    from alphintra.daemon.client import EngineClient

    latencies: list[int] = []
    n = 0
    with EngineClient(socket_path=socket_path, timeout=30) as client:
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            t0 = time.perf_counter_ns()
            client.post("/api/v1/orders", _order(0, n))
            latencies.append(time.perf_counter_ns() - t0)
            n += 1
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "clients": 1,
        "batch": 1,
        **_rates(n, elapsed, latencies),
        "errors": [],
    }


_DAEMON_PIDS: dict[Path, int] = {}  # socket path -> pid of the bench daemon serving it (for its CPU time)


@contextlib.contextmanager
def paper_daemon(home: Path | None = None, wait_seconds: float = 60.0) -> Iterator[Path]:
    """A paper daemon on a fresh data home; yields its socket path and stops it (SIGTERM) afterwards."""
    from alphintra.daemon.client import EngineClient
    from alphintra.errors import OperationFailed

    own = home is None
    root = Path(tempfile.mkdtemp(prefix="ab", dir="/tmp")) if home is None else home
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    env.update(
        ALPHINTRA_HOME=str(root),
        ALPHINTRA_PAPER__FEED="none",
        ALPHINTRA_ACCOUNTS__MAIN__STARTING_CASH="1000000000000",
        ALPHINTRA_ACCOUNTS__MAIN__MODE="spot",  # as the published figures ran (the default account is margin now)
        PYTHONPATH=str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    socket_path = root / "engine.sock"
    log = (root / "bench-daemon.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "alphintra.daemon"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            if proc.poll() is not None:
                raise OperationFailed(f"the bench daemon exited with code {proc.returncode} (see {log.name})")
            try:
                with EngineClient(socket_path=socket_path, timeout=2) as client:
                    if client.ready():
                        break
            except OperationFailed:
                pass
            if time.monotonic() > deadline:
                raise OperationFailed("the bench daemon did not become ready in time")
            time.sleep(0.05)
        _DAEMON_PIDS[socket_path] = proc.pid
        yield socket_path
    finally:
        _DAEMON_PIDS.pop(socket_path, None)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if own:
            shutil.rmtree(root, ignore_errors=True)


def run(
    *,
    seconds: float = 3.0,
    clients: tuple[int, ...] = (1, 16, 64),
    batch: int = 100,
    batch_clients: tuple[int, ...] = (1, 8),
    ws_clients: tuple[int, ...] = (1, 8),
    window: int = 64,
    client_seconds: float = 1.0,
    settle: float = 2.0,
    listing: int = 10_000,
) -> dict[str, Any]:
    """Every scenario against one fresh daemon; the result holds each scenario's figures and the KPI verdict."""
    results: dict[str, Any] = {
        "target_orders_per_sec": TARGET_ORDERS_PER_SEC,
        "target_p99_ms": TARGET_P99_MS,
        "cpus": os.cpu_count(),
        "rest": [],
        "batch": [],
        "ws": [],
    }
    with paper_daemon() as socket_path:
        sock = str(socket_path)
        pid = _DAEMON_PIDS[socket_path]

        def measured(scenario: Any) -> dict[str, Any]:
            _settle(pid, settle)
            cpu, threads = cpu_seconds(pid), thread_cpu(pid)
            result: dict[str, Any] = scenario()
            used = cpu_seconds(pid) - cpu
            orders = result["orders"]
            result["daemon_cpu_ms_per_order"] = round(used * 1000 / orders, 3) if orders else 0.0
            # Where it went: the threads' CPU per order in this scenario (the projection's catch-up after it is not
            # in here: it is quiet before the next scenario starts).
            after = thread_cpu(pid)
            spent = {name: after[name] - threads.get(name, 0.0) for name in after}
            result["daemon_cpu_ms_by_thread"] = (
                {
                    name: round(sec * 1000 / orders, 3)
                    for name, sec in sorted(spent.items(), key=lambda kv: -kv[1])
                    if sec
                }
                if orders
                else {}
            )
            return result

        asyncio.run(_load(sock, 1, 0.3, 1))  # warm-up: imports, first book levels, caches
        for n in clients:
            results["rest"].append(measured(lambda n=n: asyncio.run(_load(sock, n, seconds, 1))))
        for n in batch_clients:
            results["batch"].append(measured(lambda n=n: asyncio.run(_load(sock, n, seconds, batch))))
        for n in ws_clients:
            results["ws"].append(measured(lambda n=n: asyncio.run(_ws_load(sock, n, seconds, window))))
        if client_seconds > 0:
            results["client"] = measured(lambda: _client_path(socket_path, client_seconds))
        if listing > 0:
            asyncio.run(_fill_book(sock, listing))
            # Idle and listing phases alternate (which comes first alternates too), each pooled over its rounds: this
            # machine's speed drifts within a minute, and one idle phase measured once, before the listing, made the
            # ratio swing between 1.4x and 3x from run to run.
            idle_ns: list[int] = []
            listing_ns: list[int] = []
            listed_ns: list[int] = []
            idle_parts: list[dict[str, Any]] = []
            listing_parts: list[dict[str, Any]] = []
            part = seconds / LISTING_ROUNDS
            for r in range(LISTING_ROUNDS):
                phases = [
                    (idle_parts, lambda: asyncio.run(_load(sock, 1, part, 1, idle_ns))),
                    (listing_parts, lambda: asyncio.run(_listing_load(sock, part, listing, listing_ns, listed_ns))),
                ]
                for parts, phase in phases if r % 2 == 0 else phases[::-1]:
                    parts.append(measured(phase))
            results["idle"] = _pooled(idle_parts, idle_ns)
            results["listing"] = _pooled(listing_parts, listing_ns)
            listed_ns.sort()
            results["listing"]["listings"] = len(listed_ns)
            results["listing"]["listing_p50_ms"] = round(_percentile(listed_ns, 0.50), 3) if listed_ns else None
            idle_p99 = results["idle"]["p99_ms"]
            results["listing"]["p99_vs_idle"] = round(results["listing"]["p99_ms"] / idle_p99, 2) if idle_p99 else None
    best_rest = max(results["rest"], key=lambda r: r["orders_per_sec"], default=None)
    results["kpi_met_rest"] = bool(
        best_rest and best_rest["orders_per_sec"] >= TARGET_ORDERS_PER_SEC and best_rest["p99_ms"] < TARGET_P99_MS
    )
    results["kpi_met_any"] = any(
        r["orders_per_sec"] >= TARGET_ORDERS_PER_SEC and r["p99_ms"] < TARGET_P99_MS
        for r in [*results["rest"], *results["batch"], *results["ws"]]
    )
    return results


__all__ = ["TARGET_ORDERS_PER_SEC", "TARGET_P99_MS", "paper_daemon", "run"]
