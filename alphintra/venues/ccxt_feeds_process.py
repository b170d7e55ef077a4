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

import contextlib
import functools
import itertools
import logging
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from alphintra.osthread import name_os_thread
from alphintra.venues.ccxt_feeds import Kind, MarketFeeds, Post
from alphintra.workerproc import Outbox, WorkerHandle, context, described, send_logs

_log = logging.getLogger("alphintra.venues.feeds")
_START_S = 60.0  # markets to load over the network first
_ANSWER_S = 30.0


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
        outbox.send(("failed", described(exc)))
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
                outbox.send(("refused", sub_id, described(exc)))
            else:
                outbox.send(("subscribed", sub_id))
    except (EOFError, OSError):
        pass  # the daemon is gone
    finally:
        feeds.close()


class FeedsProcess(WorkerHandle):
    """:class:`MarketFeeds` in a worker process (see the module): ``start``, ``subscribe``, ``close``;
    ``options`` are MarketFeeds' own (``exchange``, ``stale_after_s``, ``check_s``, ``book_depth``)."""

    def __init__(self, config: dict[str, Any], *, post: Post, **options: Any) -> None:
        super().__init__(context(__name__), _worker, (config, options), "feeds")
        self._post = post
        self._subs: dict[int, tuple[Kind, str, Callable[[Any], None]]] = {}
        self._ids = itertools.count(1)

    def start(self) -> None:
        """Start the worker and wait until it loaded the exchange's markets (or raise what stopped it)."""
        self._start_worker(_START_S)

    def _start_timeout(self) -> float:
        return _START_S

    def subscribe(self, kind: Kind, symbol: str, callback: Callable[[Any], None]) -> None:
        """Deliver ``kind`` updates of ``symbol`` to ``callback`` (through ``post``) until :meth:`close`."""
        if self._commands is None:
            raise RuntimeError("start the feeds first")
        sub_id = next(self._ids)
        self._ask(sub_id, kind, symbol)
        with self._lock:
            self._subs[sub_id] = (kind, symbol, callback)

    def _ask(self, sub_id: int, kind: Kind, symbol: str) -> None:
        self._expect(sub_id)
        self._send(("subscribe", sub_id, kind, symbol))
        self._wait(sub_id, _ANSWER_S)

    def _take(self, message: tuple[Any, ...]) -> None:
        tag = message[0]
        if tag == "update":
            sub = self._subs.get(message[1])
            if sub is not None:
                self._post(functools.partial(sub[2], message[2]))
        elif tag == "subscribed":
            self._answer(message[1], ("ok", None))
        elif tag == "refused":
            self._answer(message[1], ("error", message[2]))
        elif tag == "ready":
            self._ready()

    def _after_restart(self) -> None:
        """Every subscription made again on the new worker (its books from a fresh snapshot)."""
        with self._lock:
            subs = list(self._subs.items())
        try:
            for sub_id, (kind, symbol, _) in subs:
                self._ask(sub_id, kind, symbol)
        except Exception as exc:
            _log.error("the market data worker did not take its subscriptions again: %s", exc)


__all__ = ["FeedsProcess"]
