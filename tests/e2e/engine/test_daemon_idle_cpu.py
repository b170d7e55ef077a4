"""An idle daemon sleeps: its engine thread waits on its queue until a command, a bar, a timer or a storage probe
is due, instead of polling (an empty home's daemon with no price feed used a quarter of a core, up to 87 %, once
its first bar time had passed)."""

from __future__ import annotations

import time

import pytest
from engine_e2e_support import daemon_home

from alphintra.benchmarks.procstat import cpu_seconds  # the daemon's workers (projection) count too

WINDOW_S = 5.0
# Generous for a loaded 2-core machine: an idle daemon measures well under 1 %; the polling loop measured 20-90 %.
MAX_SHARE = 0.15


@pytest.mark.serial
@pytest.mark.both_backends
def test_an_idle_daemon_uses_little_cpu() -> None:
    with daemon_home() as daemon:
        pid = daemon.start()
        # A working order rests on the book and the first bar time passes (60 / replay_speed = 1 s) before measuring.
        with daemon.client() as c:
            placed = c.post(
                "/api/v1/orders",
                {"symbol": "ETH/USD", "side": "BUY", "type": "LIMIT", "quantity": "0.1", "price": "2000"},
            )
            assert placed["status"] == "ACCEPTED"
        time.sleep(1.5)
        before, started = cpu_seconds(pid), time.monotonic()
        time.sleep(WINDOW_S)
        used, elapsed = cpu_seconds(pid) - before, time.monotonic() - started
        assert used / elapsed < MAX_SHARE, f"idle daemon used {used:.2f} s of CPU in {elapsed:.1f} s"
        with daemon.client() as c:  # and it still answers at once
            assert c.get(f"/api/v1/orders/{placed['id']}")["status"] == "ACCEPTED"
