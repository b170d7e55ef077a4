"""Idle CPU of a real daemon on an empty data home, as a share of one core over a window.

python bench/idle_cpu.py [--seconds 30] [--feed none,generator] [--baseline /path/to/other/checkout] [--json]

Starts `alphintra engine start` from this checkout (and from --baseline, in the same run, for comparison) with a
fresh ALPHINTRA_HOME, lets it settle, reads the user + system CPU time of the daemon and of its worker processes
(the state projection, market data) from /proc across the window, and stops it. Linux only. Target: an idle
daemon under 2 % of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))  # run from a checkout without installing

from alphintra.benchmarks.procstat import cpu_seconds  # noqa: E402


def measure(repo: Path, feed: str, seconds: float, settle: float = 5.0) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="aidle", dir="/tmp") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
        env.update(ALPHINTRA_HOME=home, ALPHINTRA_PAPER__FEED=feed, PYTHONPATH=str(repo))
        argv = [sys.executable, "-m", "alphintra", "engine", "start", "--wait", "60"]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=home)
        if done.returncode != 0:
            raise SystemExit(f"the daemon of {repo} did not start: {done.stderr.strip()}")
        pid = int((Path(home) / "engine.pid").read_text())
        try:
            time.sleep(settle)
            before, started = cpu_seconds(pid), time.monotonic()
            time.sleep(seconds)
            used, elapsed = cpu_seconds(pid) - before, time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
    return {"repo": str(repo), "feed": feed, "seconds": round(elapsed, 1), "cpu_s": round(used, 2),
            "share_pct": round(100 * used / elapsed, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--feed", default="none,generator", help="paper feeds to measure, comma-separated")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout measured in the same run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    repos = [HERE] + ([args.baseline.resolve()] if args.baseline else [])
    results = [measure(repo, feed.strip(), args.seconds) for feed in args.feed.split(",") for repo in repos]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"{r['repo']:<40} feed {r['feed']:<10} {r['share_pct']:>6.2f} % of one core "
              f"({r['cpu_s']} s CPU in {r['seconds']} s)")  # fmt: skip


if __name__ == "__main__":
    main()
