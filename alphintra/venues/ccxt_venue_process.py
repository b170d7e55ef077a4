"""An exchange venue in a worker process: :class:`CcxtVenue` there, :class:`VenueProcess` (the same port) here.

ccxt is Python through and through: signing, building and parsing each request, and on the private streams every
execution report and balance update, about four milliseconds of CPU per live order on this project's machines. On
the daemon's threads all of it took the GIL the engine thread and the API need, so an order waited behind the
parsing of the last one's reports. In a worker (:mod:`alphintra.workerproc`) it has an interpreter of its own.

Nothing about the venue changes: the worker runs the adapter as it is, with its retries, lookups by client order
id, streams and poller. Commands (``submit``, ``cancel``, ``poke``) go over a pipe and return at once, as they did;
the reports of one step of the adapter's loop come back as one message and reach the node through ``post`` in one
batch, as they did; the reconciliation queries block the caller until the worker answers. The key pair travels to
the worker inside the process start (never through a file, the command line or a log).

A worker that dies takes no order with it silently: every command sent and not yet answered is reported to the node
as having an unknown outcome (``venue_unknown``), which the node resolves by asking the exchange by client order id
once a new worker runs; the node reconciles as after a reconnect. A daemon that dies closes the command pipe and the
worker exits.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from alphintra.engine.core.instrument import Instrument
from alphintra.engine.venue import base as port
from alphintra.engine.venue.base import VenueUnavailable
from alphintra.errors import AlphintraError
from alphintra.osthread import name_os_thread
from alphintra.venues.ccxt_venue import ExchangePort, Post
from alphintra.workerproc import Outbox, WorkerHandle, context, described, send_logs

_log = logging.getLogger("alphintra.venues.ccxt")
_MARGIN_S = 15.0  # beyond the adapter's own time limits
_STATUS_S = 0.25
# which commands a report answers (venue_unknown names its command itself)
_ANSWERS: dict[str, tuple[str, ...]] = {
    "venue_accepted": ("submit",),
    "venue_rejected": ("submit",),
    "venue_canceled": ("submit", "cancel"),
    "venue_cancel_rejected": ("cancel",),
}
_STATS = ("connection", "stream_reconnects", "polls", "resyncs", "lookups", "streams_down")


# ---------------------------------------------------------------------------------------------- the worker


class _Forward:
    """The worker's listener: each report of a step of the loop, gathered for one message."""

    def __init__(self) -> None:
        self.batch: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, method: str) -> Callable[..., None]:
        if not method.startswith("venue_"):
            raise AttributeError(method)
        return functools.partial(self._add, method)

    def _add(self, method: str, *args: Any) -> None:
        self.batch.append((method, args))


def _status(venue: Any) -> dict[str, Any]:
    return {name: getattr(venue, name) for name in _STATS} | {"streams_down": frozenset(venue.streams_down)}


def _worker(commands: Connection, out: Connection, name: str, config: dict[str, Any], options: dict[str, Any]) -> None:
    from alphintra.venues.ccxt_venue import CcxtVenue

    name_os_thread(f"venue-{name}")
    outbox = send_logs(out)
    forward = _Forward()

    def post(run: Callable[[], None]) -> None:  # on the adapter's loop thread: the reports go as one message
        run()
        if forward.batch:
            batch, forward.batch = forward.batch, []
            _send(outbox, ("reports", batch))

    venue = CcxtVenue(name, config, post=post, **options)
    venue.on_reconnect = functools.partial(_send, outbox, ("reconnected",))
    try:
        venue.start()
    except Exception as exc:
        outbox.send(("failed", described(exc)))
        return
    venue.bind(forward)
    outbox.send(("ready", venue.instruments(), venue.capabilities, _status(venue)))
    stop = threading.Event()
    threading.Thread(target=_report_status, args=(venue, outbox, stop), name="status", daemon=True).start()
    try:
        while True:
            command = commands.recv()
            tag = command[0]
            if tag == "close":
                break
            if tag == "submit":
                _command(venue.submit, command[1], outbox, command[1].key, "submit")
            elif tag == "cancel":
                _command(venue.cancel, command[1], outbox, command[1], "cancel")
            elif tag == "poke":
                venue.poke()
            elif tag == "query":
                threading.Thread(target=_answer, args=(venue, outbox, *command[1:]), daemon=True).start()
    except (EOFError, OSError):
        pass  # the daemon is gone
    finally:
        stop.set()
        venue.close()


def _send(outbox: Outbox, message: Any) -> None:
    with contextlib.suppress(OSError):  # the daemon is gone: the command pipe's end stops the worker
        outbox.send(message)


def _command(run: Callable[[Any], None], arg: Any, outbox: Outbox, key: str, command: str) -> None:
    try:
        run(arg)
    except Exception as exc:  # the adapter refused to take it: the node asks the exchange
        reason = exc.message if isinstance(exc, AlphintraError) else type(exc).__name__
        _send(outbox, ("reports", [("venue_unknown", (key, command, reason))]))


def _answer(venue: Any, outbox: Outbox, query_id: int, method: str, args: tuple[Any, ...]) -> None:
    try:
        value = getattr(venue, method)(*args)
    except Exception as exc:
        _send(outbox, ("answer", query_id, False, described(exc)))
    else:
        _send(outbox, ("answer", query_id, True, value))


def _report_status(venue: Any, outbox: Outbox, stop: threading.Event) -> None:
    last = None
    while not stop.wait(_STATUS_S):
        now = _status(venue)
        if now != last:
            last = now
            _send(outbox, ("status", now))


# ---------------------------------------------------------------------------------------------- the daemon's side


class VenueProcess(WorkerHandle, ExchangePort):
    """The venue port over a worker running :class:`~alphintra.venues.ccxt_venue.CcxtVenue` (see the module);
    ``options`` are CcxtVenue's own (``exchange``, ``symbols``, ``poll_s``, ``private_streams``...)."""

    def __init__(self, name: str, config: dict[str, Any], *, post: Post, **options: Any) -> None:
        ctx = context(__name__, "alphintra.venues.ccxt_venue")
        super().__init__(ctx, _worker, (name, config, options), f"venue-{name}")
        self.name = name
        self.account: str = options.get("account", "main")
        self.query_timeout_s: float = options.get("query_timeout_s", 20.0)  # CcxtVenue's default
        self._post = post
        self._ids = itertools.count(1)
        self._in_flight: set[tuple[str, str]] = set()  # (key, "submit"/"cancel"): sent, not answered by a report
        self._listener: port.VenueListener | None = None
        self._markets: dict[str, Instrument] = {}
        self._status: dict[str, Any] = {"connection": "disconnected", "streams_down": frozenset()}
        self.capabilities: port.VenueCapabilities | None = None
        self.on_reconnect: Callable[[], None] | None = None

    def start(self) -> None:
        """Start the worker and wait until its venue connected; raises what stopped it (named as in-process)."""
        self._start_worker(self._start_timeout())

    def _start_timeout(self) -> float:
        return self.query_timeout_s + 10 + _MARGIN_S  # the adapter's own start waits query_timeout_s + 10

    def _unavailable(self, message: str) -> AlphintraError:
        return VenueUnavailable(f"venue {self.name}: {message}")

    # -- what the worker says ------------------------------------------------------------------------------------

    def _take(self, message: tuple[Any, ...]) -> None:
        tag = message[0]
        if tag == "reports":
            self._deliver(message[1])
        elif tag == "answer":
            _, query_id, ok, value = message
            self._answer(query_id, ("ok", value) if ok else ("error", value))
        elif tag == "status":
            self._status = message[1]
        elif tag == "reconnected":
            if self.on_reconnect is not None:
                self._post(self.on_reconnect)
        elif tag == "ready":
            _, instruments, capabilities, status = message
            self._markets = {inst.symbol: inst for inst in instruments}
            self.capabilities = capabilities
            self._status = status
            self._ready()

    def _deliver(self, reports: list[tuple[str, tuple[Any, ...]]]) -> None:
        with self._lock:
            for method, args in reports:
                for command in _ANSWERS.get(method, ()) if method != "venue_unknown" else (args[1],):
                    self._in_flight.discard((args[0], command))
        self._hand_over(reports)

    def _on_exit(self, why: str) -> None:
        """Queries fail; every command the dead worker had not answered has an unknown outcome (the node asks the
        exchange by client order id)."""
        self._status = {**self._status, "connection": "disconnected"}
        self._fail_waiting(("error", "VenueUnavailable", f"venue {self.name}: {why}", None))
        with self._lock:
            lost, self._in_flight = self._in_flight, set()
            closing = self._closing
        if lost and not closing:
            self._deliver([("venue_unknown", (key, command, why)) for key, command in sorted(lost)])

    def _after_restart(self) -> None:
        if self.on_reconnect is not None:
            self._post(self.on_reconnect)  # what happened meanwhile is settled with the exchange

    # -- the port ------------------------------------------------------------------------------------------------

    @property
    def connection(self) -> str:
        return "disconnected" if self._closing else str(self._status["connection"])

    def __getattr__(self, name: str) -> Any:
        if name in _STATS:  # stream_reconnects, polls, resyncs, lookups, streams_down: the worker's last report
            return self._status.get(name, 0)
        raise AttributeError(name)

    def _command(self, message: tuple[Any, ...], key: str, command: str) -> None:
        with self._lock:
            self._in_flight.add((key, command))
            try:
                self._send(message)
            except AlphintraError:
                self._in_flight.discard((key, command))
                raise

    def submit(self, order: port.VenueOrder) -> None:
        self._command(("submit", order), order.key, "submit")

    def cancel(self, key: str) -> None:
        self._command(("cancel", key), key, "cancel")

    def poke(self) -> None:
        with contextlib.suppress(VenueUnavailable):
            self._send(("poke",))

    def _query(self, method: str, *args: Any) -> Any:
        query_id = next(self._ids)
        self._expect(query_id)
        try:
            self._send(("query", query_id, method, args))
        except AlphintraError:
            with self._lock:
                self._answers.pop(query_id, None)
            raise
        return self._wait(query_id, self.query_timeout_s + _MARGIN_S, VenueUnavailable)

    def open_orders(self) -> list[port.VenueOrderState]:
        return self._query("open_orders")  # type: ignore[no-any-return]

    def fills(self, since_ns: int) -> list[port.VenueFill]:
        return self._query("fills", since_ns)  # type: ignore[no-any-return]

    def order_status(self, key: str) -> port.VenueOrderState | None:
        return self._query("order_status", key)  # type: ignore[no-any-return]

    def balances(self) -> list[port.VenueBalances]:
        return self._query("balances")  # type: ignore[no-any-return]


__all__ = ["VenueProcess"]
