"""Soak: a real paper daemon under steady place / cancel / fill traffic over its API; is its memory flat?

python bench/soak.py [--minutes 10] [--clients 4] [--json]

A fresh daemon (paper feed off: market orders trade against the liquidity ladder; default settings otherwise,
so finished orders leave memory after engine.order_retention) is started in a temporary data home. Each client
loops: a market BUY and a market SELL (filled at once, each with a unique client order id), a limit BUY far below
the market (rests), and its cancel -- every answer only once the journal has fsync-ed it. The daemon's resident
memory (VmRSS) is sampled every 5 s; the table shows per minute the orders placed and the mean RSS. The verdict
compares the last minute with the second (the first holds start-up and warm-up): flat when within 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.benchmarks.api import _Connection

SAMPLE_S = 5.0
FLAT = 0.10


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_daemon(root: Path) -> subprocess.Popen[bytes]:
    from alphintra.daemon.client import EngineClient
    from alphintra.errors import OperationFailed

    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    env.update(
        ALPHINTRA_HOME=str(root),
        ALPHINTRA_PAPER__FEED="none",
        ALPHINTRA_ACCOUNTS__MAIN__STARTING_CASH="1000000000000",
        ALPHINTRA_ACCOUNTS__MAIN__MODE="spot",  # as the published figures ran (the default account is margin now)
        PYTHONPATH=str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    log = (root / "soak-daemon.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "alphintra.daemon"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise OperationFailed(f"the soak daemon exited with code {proc.returncode} (see {log.name})")
        try:
            with EngineClient(socket_path=root / "engine.sock", timeout=2) as client:
                if client.ready():
                    return proc
        except OperationFailed:
            pass
        if time.monotonic() > deadline:
            raise OperationFailed("the soak daemon did not become ready in time")
        time.sleep(0.1)


def _count(counts: dict[str, int], status: int, ok: int, raw: bytes, what: str = "orders") -> bool:
    if status == ok:
        counts[what] += 1
        return True
    code = json.loads(raw).get("error", "?") if raw.startswith(b"{") else "?"
    key = f"error {status} {code}"
    counts[key] = counts.get(key, 0) + 1
    return False


async def traffic(socket_path: str, worker: int, until: float, counts: dict[str, int]) -> None:
    conn = await _Connection.open(socket_path)
    n = 0
    try:
        while time.monotonic() < until:
            n += 1
            for side in ("BUY", "SELL"):
                body = {
                    "symbol": "ETH/USD",
                    "side": side,
                    "quantity": "0.01",
                    "client_order_id": f"s{worker}-{n}{side}",
                }
                status, raw = await conn.post("/api/v1/orders", json.dumps(body).encode())
                _count(counts, status, 201, raw)
            body = {"symbol": "ETH/USD", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "1000"}
            status, raw = await conn.post("/api/v1/orders", json.dumps(body).encode())
            if not _count(counts, status, 201, raw):
                continue
            order_id = json.loads(raw)["id"]
            status, raw = await conn.post(f"/api/v1/orders/{order_id}/cancel", b"")
            _count(counts, status, 200, raw, "cancels")
    finally:
        await conn.close()


async def soak(socket_path: str, pid: int, minutes: float, clients: int) -> list[dict[str, Any]]:
    counts = {"orders": 0, "cancels": 0}
    start = time.monotonic()
    until = start + minutes * 60
    workers = [asyncio.create_task(traffic(socket_path, i, until, counts)) for i in range(clients)]
    samples: list[tuple[float, float, int]] = []
    while time.monotonic() < until:
        await asyncio.sleep(SAMPLE_S)
        samples.append((time.monotonic() - start, rss_mb(pid), counts["orders"]))
    await asyncio.gather(*workers)
    rows = []
    placed_before = 0
    for minute in range(int(minutes + 0.999)):
        inside = [s for s in samples if minute * 60 < s[0] <= (minute + 1) * 60]
        if not inside:
            continue
        placed = inside[-1][2]
        rows.append(
            {
                "minute": minute + 1,
                "orders": placed - placed_before,
                "rss_mb": round(sum(s[1] for s in inside) / len(inside), 1),
                "rss_max_mb": round(max(s[1] for s in inside), 1),
            }
        )
        placed_before = placed
    rows.append({"totals": dict(counts)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="soak", dir="/tmp"))
    proc = start_daemon(root)
    try:
        rows = asyncio.run(soak(str(root / "engine.sock"), proc.pid, args.minutes, args.clients))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
    minutes = [r for r in rows if "minute" in r]
    verdict: dict[str, Any] = {}
    if len(minutes) >= 3:
        second, last = minutes[1]["rss_mb"], minutes[-1]["rss_mb"]
        change = (last - second) / second
        verdict = {"second_minute_mb": second, "last_minute_mb": last, "change": round(change, 3)}
        verdict["flat"] = abs(change) <= FLAT
    if args.json:
        print(json.dumps({"minutes": rows, "verdict": verdict}, indent=2))
    else:
        for r in minutes:
            print(
                f"minute {r['minute']:>3}  orders {r['orders']:>7,}  "
                f"rss {r['rss_mb']:>8.1f} MB  max {r['rss_max_mb']:>8.1f} MB"
            )
        print(f"totals {rows[-1]['totals']}")
        if verdict:
            print(
                f"last minute {verdict['last_minute_mb']} MB vs second {verdict['second_minute_mb']} MB: "
                f"{verdict['change']:+.1%} -> {'flat' if verdict['flat'] else 'NOT flat'} (limit {FLAT:.0%})"
            )
    return 0 if not verdict or verdict["flat"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
