"""Waiting on a condition in tests: look every 20 ms until it holds, fail naming what did not happen.

The timeout is a ceiling, not a pause: a condition that holds returns at once; on a loaded 2-core CI machine a
daemon's start took 33 s, so the default leaves room for that."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Until ``condition()`` is truthy (returned); AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
