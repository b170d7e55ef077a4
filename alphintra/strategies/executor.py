"""Where a sweep's runs execute: in this process, in local worker processes (the default), or on a Dask cluster.

One abstraction for every fan-out of the research tools (grid and random searches, walk-forward windows, Optuna
study batches, ``backtest run --strategy-list``): :func:`open_executor` binds a picklable top-level function and
its shared arguments, and the executor's ``map(items)`` returns ``fn(item, *shared)`` for each item, **in the order
of the items**, whatever order the runs finish in. A sweep's table is therefore the same whichever executor ran it.

**Local processes** (``cluster=None``): a ``ProcessPoolExecutor`` whose initialiser receives the function and the
shared arguments once per process (not once per task), started with ``spawn`` by default (no half-held lock of the
parent is copied into a child, which ``fork`` can do). With one worker, or one item, everything runs in this
process, which is what a debugger wants.

**A Dask cluster** (``cluster="tcp://HOST:8786"``, ``--cluster`` or ``[cluster] address``): a
``distributed.Client`` connects to the scheduler. The market data is **shipped**, not read from Parquet paths on
the workers: the function and the shared arguments (the backtest configuration and the loaded bars as polars
frames) are scattered once to every worker (``broadcast``), and each task refers to that one copy. A worker
therefore needs no access to this machine's data home, only the same version of alphintra installed (it imports the
objective by name). The bars of a sweep are usually megabytes; one copy per worker costs less than every worker
reading a shared file system that machines of a cluster do not always have.

Each task is keyed ``<name>-<sweep token>-<item index>`` and is pure: it reads its arguments and returns a value,
writing nothing. When a worker dies, the scheduler runs its unfinished tasks again on the others (up to Dask's
``distributed.scheduler.allowed-failures`` deaths per task); a key has exactly one result, and results are
gathered into a table by index, so a run that ran twice is still counted once.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from alphintra.config.cluster import CLUSTER_FIELD, cluster_address
from alphintra.errors import OperationFailed, ValidationError

ProgressFn = Callable[[int], None]
StartMethod = Literal["spawn", "forkserver", "fork"]
DEFAULT_CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Cluster:
    """A Dask scheduler to run on: its address, where the address came from (named in errors: ``--cluster`` or
    the config key) and how long to try to reach it."""

    address: str
    field: str = CLUSTER_FIELD
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", cluster_address(self.address, field=self.field))
        timeout = self.connect_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValidationError("connect_timeout", "must be a number of seconds > 0", timeout)


ClusterLike = str | Cluster


class Executor(Protocol):
    def map(self, items: Sequence[Any], progress: ProgressFn | None = None) -> list[Any]:
        """``fn(item, *shared)`` for every item, in the items' order; ``progress(1)`` as each one finishes."""
        ...


class InProcess:
    def __init__(self, fn: Callable[..., Any], shared: tuple[Any, ...]) -> None:
        self._fn, self._shared = fn, shared

    def map(self, items: Sequence[Any], progress: ProgressFn | None = None) -> list[Any]:
        out = []
        for item in items:
            out.append(self._fn(item, *self._shared))
            if progress is not None:
                progress(1)
        return out


_BOUND: tuple[Callable[..., Any], tuple[Any, ...]] | None = None


def _init_process(fn: Callable[..., Any], shared: tuple[Any, ...]) -> None:
    global _BOUND
    _BOUND = (fn, shared)


def _call_bound(item: Any) -> Any:
    if _BOUND is None:  # pragma: no cover - the pool initialiser always runs first
        raise RuntimeError("worker not initialised")
    fn, shared = _BOUND
    return fn(item, *shared)


class LocalProcesses:
    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self._pool = pool

    def map(self, items: Sequence[Any], progress: ProgressFn | None = None) -> list[Any]:
        index_of: dict[Future[Any], int] = {self._pool.submit(_call_bound, item): i for i, item in enumerate(items)}
        results: dict[int, Any] = {}
        pending = set(index_of)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    results[index_of[future]] = future.result()
                    if progress is not None:
                        progress(1)
        except BrokenProcessPool as exc:
            raise OperationFailed(
                "a worker process died before finishing its runs",
                detail="out of memory, a crash in native code, or a script that starts the search without the "
                "`if __name__ == '__main__':` guard that spawned workers need",
            ) from exc
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        return [results[i] for i in range(len(items))]


def _call_shipped(payload: tuple[Callable[..., Any], tuple[Any, ...]], item: Any) -> Any:
    """A Dask task: the function and shared arguments arrive as the one scattered copy on the worker."""
    fn, shared = payload
    return fn(item, *shared)


class DaskCluster:
    def __init__(self, client: Any, address: str, payload: Any, name: str) -> None:
        self._client, self._address, self._payload, self._name = client, address, payload, name

    def map(self, items: Sequence[Any], progress: ProgressFn | None = None) -> list[Any]:
        import distributed

        as_completed: Any = distributed.as_completed
        token = uuid.uuid4().hex[:12]  # a new key space per map: nothing is mixed up with an earlier sweep's results
        futures = [
            self._client.submit(_call_shipped, self._payload, item, key=f"{self._name}-{token}-{i}")
            for i, item in enumerate(items)
        ]
        index_of = {future.key: i for i, future in enumerate(futures)}
        results: dict[int, Any] = {}
        try:
            for future in as_completed(futures, loop=self._client.loop):
                index = index_of[future.key]
                if index in results:  # pragma: no cover - a key has one result; never count a run twice
                    continue
                results[index] = self._result(future)
                if progress is not None:
                    progress(1)
        except BaseException:
            self._client.cancel(futures)
            raise
        return [results[i] for i in range(len(items))]

    def _result(self, future: Any) -> Any:
        from distributed import KilledWorker

        if future.status == "cancelled":
            raise OperationFailed(
                f"the Dask scheduler at {self._address} dropped the sweep's runs",
                detail="the scheduler restarted or the connection to it was lost",
            )
        try:
            return future.result()
        except KilledWorker as exc:
            raise OperationFailed(
                f"Dask workers at {self._address} kept dying while running one of the sweep's runs",
                detail=f"{exc}; look at the workers' logs (out of memory, or a crash in native code)",
            ) from None


def _check_picklable(fn: Callable[..., Any], shared: tuple[Any, ...]) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:  # pickling raises several types
        # A partial binds the user's objective first (the optimiser's runner): name that, not the wrapper.
        shown = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        raise ValidationError(
            "objective", "must be a top-level function so that worker processes can import it", repr(shown)
        ) from exc
    try:
        pickle.dumps(shared)
    except Exception as exc:
        raise ValidationError("args", "must be picklable to reach the worker processes", type(exc).__name__) from exc


def connect(address: str, *, field: str = CLUSTER_FIELD, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Any:
    """A client of the scheduler at ``address``; one clear error naming ``field`` when it cannot be reached."""
    try:
        import distributed
    except ImportError:
        raise OperationFailed(
            f"{field}: running on a Dask cluster needs the `cluster` extra",
            detail="pip install 'alphintra[cluster]' (dask and distributed)",
        ) from None
    try:
        client: Any = distributed.Client
        return client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise OperationFailed(
            f"{field}: cannot reach the Dask scheduler at {address}",
            detail=f"{exc}. Is the scheduler running (`dask scheduler`) and the port open?",
        ) from None


def default_workers() -> int:
    """The CPUs this process may run on (the affinity mask, not the machine's count, where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def worker_count(workers: int | None) -> int:
    count = default_workers() if workers is None else workers
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError("workers", "must be an integer >= 1", workers)
    return count


@contextmanager
def open_executor(
    fn: Callable[..., Any],
    shared: tuple[Any, ...],
    *,
    workers: int | None = None,
    start_method: StartMethod = "spawn",
    cluster: ClusterLike | None = None,
    items: int | None = None,
    name: str = "alphintra-run",
) -> Iterator[Executor]:
    """An executor for ``fn(item, *shared)``: on the Dask scheduler ``cluster`` (an address or a :class:`Cluster`)
    when given, else ``workers`` local processes (``items``, when known, caps how many are started; one means this
    process)."""
    if cluster is not None:
        target = Cluster(cluster) if isinstance(cluster, str) else cluster
        _check_picklable(fn, shared)
        client: Any = connect(target.address, field=target.field, timeout=target.connect_timeout)
        try:
            [payload] = client.scatter([(fn, shared)], broadcast=True, hash=False)
            yield DaskCluster(client, target.address, payload, name)
        finally:
            client.close()
        return
    count = worker_count(workers)
    if start_method not in ("spawn", "forkserver", "fork"):
        raise ValidationError("start_method", "must be spawn, forkserver or fork", start_method)
    if items is not None:
        count = min(count, max(1, items))
    if count == 1:
        yield InProcess(fn, shared)
        return
    _check_picklable(fn, shared)
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context(start_method),
        initializer=_init_process,
        initargs=(fn, shared),
    )
    try:
        yield LocalProcesses(pool)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


__all__ = [
    "CLUSTER_FIELD",
    "Cluster",
    "ClusterLike",
    "DaskCluster",
    "Executor",
    "InProcess",
    "LocalProcesses",
    "cluster_address",
    "connect",
    "default_workers",
    "open_executor",
    "worker_count",
]
