"""What the daemon serves: the engine host, seen through the few calls the server needs.

The server only starts, stops, flushes and asks "are you ready?"; everything else (orders, portfolio,
strategies) is reached by routers the trading node registers. ``LifecycleHost`` is the minimal real host:
it owns the lifecycle state and runs optional start/stop hooks, which is all a daemon without a trading node
needs, and what the server's own tests drive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

from alphintra.config.logs import get_logger
from alphintra.errors import ConflictError

log = get_logger("daemon.lifecycle")


class HostState(StrEnum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@runtime_checkable
class EngineHost(Protocol):
    """The running engine services as the daemon sees them.

    ``start`` may take long (journal replay): the server calls it in a worker thread while ``/health``
    already answers and ``/ready`` says 503. ``stop`` stops strategies and flushes the journal; it must be
    safe to call once after a failed or partial ``start``.
    """

    @property
    def ready(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def flush(self) -> None: ...

    def status(self) -> Mapping[str, object]: ...


Hook = Callable[[], None]


class LifecycleHost:
    """A host that owns only lifecycle state; hooks run in order on start and in reverse order on stop."""

    def __init__(
        self,
        *,
        on_start: Sequence[Hook] = (),
        on_stop: Sequence[Hook] = (),
        on_flush: Sequence[Hook] = (),
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._on_start = tuple(on_start)
        self._on_stop = tuple(on_stop)
        self._on_flush = tuple(on_flush)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = HostState.CREATED
        self._started_at: int | None = None
        self._error: str | None = None
        self.flushes = 0

    @property
    def state(self) -> HostState:
        return self._state

    @property
    def ready(self) -> bool:
        return self._state is HostState.RUNNING

    def start(self) -> None:
        with self._lock:
            if self._state is not HostState.CREATED:
                raise ConflictError(f"engine host cannot start from state {self._state.value}")
            self._state = HostState.STARTING
        try:
            for hook in self._on_start:
                hook()
        except BaseException as exc:
            with self._lock:
                self._state = HostState.FAILED
                self._error = f"{type(exc).__name__}: {exc}"
            raise
        with self._lock:
            # A stop that arrived while the hooks ran wins: never flip back to RUNNING.
            if self._state is HostState.STARTING:
                self._state = HostState.RUNNING
                self._started_at = self._clock()

    def stop(self) -> None:
        with self._lock:
            if self._state in (HostState.STOPPING, HostState.STOPPED):
                return
            self._state = HostState.STOPPING
        errors: list[str] = []
        # Stop hooks run even when one fails: a failing strategy stop must not prevent the journal flush.
        for hook in (*reversed(self._on_stop), self.flush):
            try:
                hook()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                log.exception("stop hook failed")
        with self._lock:
            self._state = HostState.STOPPED
            if errors:
                self._error = "; ".join(errors)

    def flush(self) -> None:
        for hook in self._on_flush:
            hook()
        self.flushes += 1

    def status(self) -> Mapping[str, object]:
        return {"state": self._state.value, "started_at_ns": self._started_at, "error": self._error}


__all__ = ["EngineHost", "HostState", "LifecycleHost"]
