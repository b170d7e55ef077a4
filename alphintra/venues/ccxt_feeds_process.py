"""An exchange's public market data in a process of its own: :class:`MarketFeeds` behind the same three calls.

ccxt.pro keeps the order book (a REST snapshot, then every sequenced diff), parses each trade and ticker, all in
Python: on a busy market that is most of a core, and on the daemon's threads it took the GIL from the engine
thread and the API, an order waiting behind every book update. Here :class:`MarketFeeds` runs in a worker process
(:mod:`alphintra.workerproc`) and sends each update it would have posted -- a :class:`Ticker`, a list of
:class:`~alphintra.engine.data.TradeTick`, a :class:`BookSnapshot`, already in the node's types -- over a pipe;
a reader thread in the daemon hands each to its subscriber through ``post``, as before.

The stale-stream watchdog and the resubscription that re-syncs a book are MarketFeeds' own, in the worker. A
worker that dies is started again and every subscription made again (its books start from a fresh snapshot, as a
resubscription's do); a daemon that dies closes the command pipe and the worker exits.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from alphintra.errors import AlphintraError, OperationFailed, ValidationError
from alphintra.osthread import name_os_thread
from alphintra.venues.ccxt_feeds import Kind, MarketFeeds, Post
from alphintra.workerproc import Outbox, context, handle_log, send_logs

_log = logging.getLogger("alphintra.venues.feeds")
_START_S = 60.0  # markets to load over the network first
_ANSWER_S = 30.0
_RESTART_S = 1.0


def _described(exc: BaseException) -> tuple[Any, ...]:
    """An error as plain values (the project's errors do not pickle: their constructors take the parts)."""
    if isinstance(exc, ValidationError):
        return ("validation", exc.field, exc.rule, exc.value)
    return ("failed", exc.message if isinstance(exc, AlphintraError) else f"{type(exc).__name__}: {exc}")


def _error(described: tuple[Any, ...]) -> AlphintraError:
    if described[0] == "validation":
        return ValidationError(described[1], described[2], described[3])
    return OperationFailed(described[1])


def _deliver(outbox: Outbox, sub_id: int, update: Any) -> None:
    with contextlib.suppress(OSError):  # the daemon is gone: the command pipe's end stops the worker
        outbox.send(("update", sub_id, update))


def _worker(commands: Connection, out: Connection, config: dict[str, Any], options: dict[str, Any]) -> None:
    """The worker: MarketFeeds with ``post`` running each delivery at once (it sends the update to the daemon)."""
    name_os_thread("feeds")
    outbox = send_logs(out)
    feeds = MarketFeeds(config, post=lambda deliver: deliver(), **options)
    try:
        feeds.start()
    except Exception as exc:
        feeds.close()
        outbox.send(("failed", _described(exc)))
        return
    outbox.send(("ready",))
    try:
        while True:
            command = commands.recv()
            if command[0] == "close":
                break
            _, sub_id, kind, symbol = command
            try:
                feeds.subscribe(kind, symbol, functools.partial(_deliver, outbox, sub_id))
            except Exception as exc:
                outbox.send(("refused", sub_id, _described(exc)))
            else:
                outbox.send(("subscribed", sub_id))
    except (EOFError, OSError):
        pass  # the daemon is gone
    finally:
        feeds.close()


class FeedsProcess:
    """:class:`MarketFeeds` in a worker process (see the module): ``start``, ``subscribe``, ``close``."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        post: Post,
        exchange: str = "binance",
        stale_after_s: dict[str, float | None] | None = None,
        check_s: float = 1.0,
        book_depth: int = 20,
    ) -> None:
        self._config = config
        self._options = {
            "exchange": exchange,
            "stale_after_s": stale_after_s,
            "check_s": check_s,
            "book_depth": book_depth,
        }
        self._post = post
        self._ctx = context(__name__)
        self._subs: dict[int, tuple[Kind, str, Callable[[Any], None]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # a restart spawns under it (close sees the old worker or the new)
        self._answers: dict[Any, concurrent.futures.Future[tuple[Any, ...]]] = {}
        self._commands: Connection | None = None
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def start(self) -> None:
        """Start the worker and wait until it loaded the exchange's markets (or raise what stopped it)."""
        inbox = self._spawn()
        self._reader = threading.Thread(target=self._read, args=(inbox,), name="feeds-rx", daemon=True)
        self._reader.start()
        self._wait("start", _START_S)

    def _spawn(self) -> Connection:
        commands_in, commands = self._ctx.Pipe(duplex=False)
        inbox, out = self._ctx.Pipe(duplex=False)
        with self._lock:
            self._answers["start"] = concurrent.futures.Future()
        process = self._ctx.Process(
            target=_worker, args=(commands_in, out, self._config, self._options), name="feeds", daemon=True
        )
        process.start()
        commands_in.close()
        out.close()  # the worker holds the only write end: its exit ends our reading
        if self._commands is not None:
            self._commands.close()  # a dead worker's
        self._commands, self._process = commands, process
        reading: Connection = inbox
        return reading

    def _wait(self, key: Any, timeout: float) -> None:
        with self._lock:
            future = self._answers[key]
        try:
            answer = future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise OperationFailed(f"the market data worker did not answer within {timeout:g} s") from None
        finally:
            with self._lock:
                self._answers.pop(key, None)
        if answer[0] != "ok":
            raise _error(answer[1])

    def subscribe(self, kind: Kind, symbol: str, callback: Callable[[Any], None]) -> None:
        """Deliver ``kind`` updates of ``symbol`` to ``callback`` (through ``post``) until :meth:`close`."""
        sub_id = next(self._ids)
        with self._lock:
            if self._commands is None:
                raise RuntimeError("start the feeds first")
            self._answers[sub_id] = concurrent.futures.Future()
            self._commands.send(("subscribe", sub_id, kind, symbol))
        self._wait(sub_id, _ANSWER_S)
        with self._lock:
            self._subs[sub_id] = (kind, symbol, callback)

    def _answer(self, key: Any, answer: tuple[Any, ...]) -> None:
        with self._lock:
            future = self._answers.get(key)
        if future is not None and not future.done():
            future.set_result(answer)

    def _read(self, inbox: Connection) -> None:
        """The daemon's reader: updates to their subscribers, answers to their callers, log records to the log;
        a worker that exits is started again with every subscription."""
        post, subs = self._post, self._subs
        while True:
            with contextlib.suppress(EOFError, OSError):
                while True:
                    message = inbox.recv()
                    if isinstance(message, logging.LogRecord):
                        handle_log(message)
                        continue
                    tag = message[0]
                    if tag == "update":
                        sub = subs.get(message[1])
                        if sub is not None:
                            post(functools.partial(sub[2], message[2]))
                    elif tag == "subscribed":
                        self._answer(message[1], ("ok",))
                    elif tag == "refused":
                        self._answer(message[1], ("error", message[2]))
                    elif tag == "ready":
                        self._answer("start", ("ok",))
                    elif tag == "failed":
                        self._answer("start", ("error", message[1]))
            inbox.close()
            process = self._process
            process.join()
            self._answer("start", ("error", ("failed", f"the market data worker exited (code {process.exitcode})")))
            with self._lock:
                if self._closing:
                    return
                self.restarts += 1
            _log.error("the market data worker exited (code %s); starting it again", process.exitcode)
            time.sleep(_RESTART_S)
            following = self._restart()
            if following is None:
                return
            inbox = following

    def _restart(self) -> Connection | None:
        """A new worker; its subscriptions are made again on a helper thread, as its answers come through the
        reader (None when closing meanwhile)."""
        with self._lock:
            if self._closing:
                return None
            inbox = self._spawn()
        threading.Thread(target=self._resubscribe, name="feeds-resubscribe", daemon=True).start()
        return inbox

    def _resubscribe(self) -> None:
        try:
            self._wait("start", _START_S)
            with self._lock:
                subs = list(self._subs.items())
            for sub_id, (kind, symbol, _) in subs:
                with self._lock:
                    assert self._commands is not None
                    self._answers[sub_id] = concurrent.futures.Future()
                    self._commands.send(("subscribe", sub_id, kind, symbol))
                self._wait(sub_id, _ANSWER_S)
        except (AlphintraError, OSError) as exc:
            _log.error("the market data worker did not take its subscriptions again: %s", exc)

    def close(self) -> None:
        """Stop the worker (the reader joins it: one waiter on its exit code)."""
        with self._lock:
            self._closing = True
            commands, process = self._commands, self._process
        if commands is None:
            return
        with contextlib.suppress(OSError):
            commands.send(("close",))
        reader = self._reader
        if reader is not None:
            reader.join(15)
            if reader.is_alive():
                process.terminate()
                reader.join(10)
        commands.close()


__all__ = ["FeedsProcess"]
