"""CPU time of a process and of everything it started (Linux ``/proc``), for the benches and the tests that
measure a daemon: its workers (the state projection, an exchange's market data) run in processes below it, through
multiprocessing's fork server, and their CPU is the daemon's too."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def family(pid: int) -> list[int]:
    """``pid`` and every process below it (the daemon's state projection runs in a child of its fork server)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in (task / "children").read_text().split())
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of process ``pid`` and its descendants (Linux ``/proc``; 0 where there is
    none)."""
    total = 0.0
    for member in family(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the threads of process ``pid`` and of its descendants, summed by thread name
    (``engine``, ``projector``, the event loop's ``python``...); empty where there is no ``/proc``."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for member in family(pid):
        try:
            tasks = list(Path(f"/proc/{member}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                head, _, tail = (task / "stat").read_text().rpartition(")")
            except OSError:
                continue
            name = head.split("(", 1)[1].rstrip("_0123456789") or "?"
            fields = tail.split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


__all__ = ["cpu_seconds", "family", "thread_cpu"]
