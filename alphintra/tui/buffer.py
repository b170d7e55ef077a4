"""Coalescing of updates between frames: a burst of 1,000 book messages costs one redraw, not 1,000.

Streams push ``(kind, key, data)`` as fast as they arrive; the app drains the buffer once per frame. Updates with
the same kind and key replace each other (the newest book of BTC/USD is all a frame needs), while different keys
keep their first-arrival order (fills and log lines are keyed by their own id, so none is lost).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Update:
    kind: str
    key: str
    data: Any


class UpdateBuffer:
    """Latest update per (kind, key) since the last drain; safe to fill from any thread."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.received = 0
        self.delivered = 0

    def put(self, kind: str, key: str, data: Any) -> None:
        with self._lock:
            self._pending[(kind, key)] = data
            self.received += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def drain(self) -> list[Update]:
        with self._lock:
            pending, self._pending = self._pending, {}
            self.delivered += len(pending)
        return [Update(kind, key, data) for (kind, key), data in pending.items()]


__all__ = ["Update", "UpdateBuffer"]
