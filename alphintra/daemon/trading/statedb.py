"""The daemon's state database: one SQL engine (one connection pool) for it in the process.

The projector, the risk keeper, the strategy manager, the archive of finished orders and the backtest listing
each get a store on that one engine (:meth:`StateDatabase.store`); the engine opens on first use, creates any
missing tables once, and is disposed of when the host stops, after everything that used it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alphintra.storage.state import StateStore


class StateDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self._owner: StateStore | None = None
        self._lock = threading.Lock()

    def store(self) -> StateStore:
        """A store on the shared engine (closing it leaves the engine open)."""
        with self._lock:
            if self._owner is None:
                from alphintra.storage.state import StateStore

                owner = StateStore(self.url)
                owner.create_all()
                self._owner = owner
            return self._owner.share()

    def close(self) -> None:
        with self._lock:
            owner, self._owner = self._owner, None
        if owner is not None:
            owner.close()


__all__ = ["StateDatabase"]
