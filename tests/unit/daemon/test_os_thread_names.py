"""Daemon threads carry their names at the OS level (``top -H``, ``/proc``, profilers, the benches' CPU split)."""

from __future__ import annotations

import threading
from pathlib import Path

from alphintra.osthread import name_os_thread


def _os_name_in_thread(thread_name: str, given: str | None = None) -> str:
    seen: list[str] = []

    def body() -> None:
        name_os_thread(given)
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    thread = threading.Thread(target=body, name=thread_name)
    thread.start()
    thread.join(10)
    return seen[0]


def test_a_thread_takes_its_python_name() -> None:
    assert _os_name_in_thread("projector") == "projector"


def test_a_long_name_is_cut_to_the_15_bytes_linux_keeps() -> None:
    assert _os_name_in_thread("venue-binance-main-account") == "venue-binance-m"


def test_an_explicit_name_wins_and_the_caller_keeps_its_own() -> None:
    before = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text()
    assert _os_name_in_thread("Thread-9", "audit-sync") == "audit-sync"
    assert Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text() == before
