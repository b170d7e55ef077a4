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

import concurrent.futures
import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from alphintra.engine.core.instrument import Instrument
from alphintra.engine.venue.base import (
    VenueBalances,
    VenueCapabilities,
    VenueFill,
    VenueListener,
    VenueOrder,
    VenueOrderState,
    VenueUnavailable,
)
from alphintra.errors import AlphintraError, ConflictError, NotFoundError, OperationFailed, ValidationError
from alphintra.osthread import name_os_thread
from alphintra.workerproc import Outbox, context, handle_log, send_logs

_log = logging.getLogger("alphintra.venues.ccxt")
Post = Callable[[Callable[[], None]], object]
_START_MARGIN_S = 15.0
_STATUS_S = 0.25
_RESTART_S = 1.0
_RESTART_MAX_S = 30.0
# which commands a report answers (venue_unknown names its command itself)
_ANSWERS: dict[str, tuple[str, ...]] = {
    "venue_accepted": ("submit",),
    "venue_rejected": ("submit",),
    "venue_canceled": ("submit", "cancel"),
    "venue_cancel_rejected": ("cancel",),
}
_ERRORS: dict[str, type[AlphintraError]] = {
    c.__name__: c for c in (AlphintraError, OperationFailed, ConflictError, NotFoundError, VenueUnavailable)
}


def _described(exc: BaseException) -> tuple[Any, ...]:
    """An error as plain values (the project's errors do not pickle: their constructors take the parts)."""
    if isinstance(exc, ValidationError):
        return ("validation", exc.field, exc.rule, exc.value)
    if isinstance(exc, AlphintraError):
        kind = type(exc).__name__ if type(exc).__name__ in _ERRORS else "OperationFailed"
        return ("error", kind, exc.message, exc.detail)
    return ("error", "OperationFailed", f"{type(exc).__name__}: {exc}", None)


def _error(described: tuple[Any, ...]) -> AlphintraError:
    if described[0] == "validation":
        return ValidationError(described[1], described[2], described[3])
    return _ERRORS[described[1]](described[2], detail=described[3])


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


def _status(venue: Any) -> tuple[Any, ...]:
    return (
        venue.connection,
        venue.stream_reconnects,
        venue.polls,
        venue.resyncs,
        venue.lookups,
        frozenset(venue.streams_down),
    )


def _worker(commands: Connection, out: Connection, name: str, config: dict[str, Any], options: dict[str, Any]) -> None:
    from alphintra.venues.ccxt_venue import CcxtVenue

    name_os_thread(f"venue-{name}")
    outbox = send_logs(out)
    forward = _Forward()

    def post(run: Callable[[], None]) -> None:  # on the adapter's loop thread: the reports go as one message
        run()
        if forward.batch:
            batch, forward.batch = forward.batch, []
            with contextlib.suppress(OSError):
                outbox.send(("reports", batch))

    venue = CcxtVenue(name, config, post=post, **options)
    venue.on_reconnect = functools.partial(_send, outbox, ("reconnected",))
    try:
        venue.start()
    except Exception as exc:
        outbox.send(("failed", _described(exc)))
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
    with contextlib.suppress(OSError):
        outbox.send(message)


def _command(run: Callable[[Any], None], arg: Any, outbox: Outbox, key: str, command: str) -> None:
    try:
        run(arg)
    except Exception as exc:  # the adapter took no command: its outcome is known (nothing went out)
        reason = exc.message if isinstance(exc, AlphintraError) else type(exc).__name__
        _send(outbox, ("reports", [("venue_unknown", (key, command, reason))]))


def _answer(venue: Any, outbox: Outbox, query_id: int, method: str, args: tuple[Any, ...]) -> None:
    try:
        value = getattr(venue, method)(*args)
    except Exception as exc:
        _send(outbox, ("answer", query_id, False, _described(exc)))
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


class VenueProcess:
    """The venue port over a worker running :class:`~alphintra.venues.ccxt_venue.CcxtVenue` (see the module);
    constructed with CcxtVenue's arguments."""

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        *,
        post: Post,
        exchange: str = "binance",
        account: str = "main",
        symbols: list[str] | None = None,
        poll_s: float = 5.0,
        query_timeout_s: float = 20.0,
        private_streams: bool = True,
        market_collar_bps: Decimal | None = Decimal(100),
    ) -> None:
        self.name = name
        self.account = account
        self._config = config
        self._options = {
            "exchange": exchange,
            "account": account,
            "symbols": symbols,
            "poll_s": poll_s,
            "query_timeout_s": query_timeout_s,
            "private_streams": private_streams,
            "market_collar_bps": market_collar_bps,
        }
        self.query_timeout_s = query_timeout_s
        self._post = post
        self._ctx = context(__name__, "alphintra.venues.ccxt_venue")
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._answers: dict[Any, concurrent.futures.Future[tuple[Any, ...]]] = {}
        self._in_flight: set[tuple[str, str]] = set()  # (key, "submit"/"cancel"): sent, not answered by a report
        self._commands: Connection | None = None
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self._started = False  # a first start that fails is the caller's error, not a worker to start again
        self._failures = 0  # restarts in a row whose worker did not connect (the delay grows)
        self._listener: VenueListener | None = None
        self._markets: dict[str, Instrument] = {}
        self._status: tuple[Any, ...] = ("disconnected", 0, 0, 0, 0, frozenset())
        self.capabilities: VenueCapabilities | None = None
        self.on_reconnect: Callable[[], None] | None = None
        self.restarts = 0

    # -- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and wait until its venue connected; raises what stopped it (named as in-process)."""
        inbox = self._spawn()
        self._reader = threading.Thread(target=self._read, args=(inbox,), name=f"venue-{self.name}-rx", daemon=True)
        self._reader.start()
        try:
            self._wait("start", self.query_timeout_s + 10 + _START_MARGIN_S)
        except BaseException:
            self.close()
            raise

    def _spawn(self) -> Connection:
        commands_in, commands = self._ctx.Pipe(duplex=False)
        inbox, out = self._ctx.Pipe(duplex=False)
        with self._lock:
            self._answers["start"] = concurrent.futures.Future()
            process = self._ctx.Process(
                target=_worker,
                args=(commands_in, out, self.name, self._config, self._options),
                name=f"venue-{self.name}",
                daemon=True,
            )
            process.start()
            commands_in.close()
            out.close()  # the worker holds the only write end: its exit ends our reading
            if self._commands is not None:
                self._commands.close()  # a dead worker's
            self._commands, self._process = commands, process
        reading: Connection = inbox
        return reading

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
        if reader is not None and reader is not threading.current_thread():
            reader.join(20)
            if reader.is_alive():
                process.terminate()
                reader.join(10)
        commands.close()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    # -- what the worker says ------------------------------------------------------------------------------------

    def _read(self, inbox: Connection) -> None:
        while True:
            with contextlib.suppress(EOFError, OSError):
                while True:
                    message = inbox.recv()
                    if isinstance(message, logging.LogRecord):
                        handle_log(message)
                    else:
                        self._take(message)
            inbox.close()
            process = self._process
            process.join()
            self._status = ("disconnected", *self._status[1:])
            self._answer("start", ("error", ("error", "OperationFailed", self._exited(process), None)))
            self._fail_queries(process)
            with self._lock:
                if self._closing or not self._started:
                    return
                self.restarts += 1
                delay = min(_RESTART_MAX_S, _RESTART_S * 2**self._failures)
                self._failures += 1
            _log.error("%s; starting it again", self._exited(process))
            self._lost_commands(process)
            time.sleep(delay)
            with self._lock:
                if self._closing:
                    return
                inbox = self._spawn()
            threading.Thread(target=self._restarted, name=f"venue-{self.name}-restart", daemon=True).start()

    def _exited(self, process: Any) -> str:
        return f"the worker of venue {self.name} exited (code {process.exitcode})"

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
            self._started = True
            self._failures = 0
            self._answer("start", ("ok", None))
        elif tag == "failed":
            self._answer("start", ("error", message[1]))

    def _deliver(self, reports: list[tuple[str, tuple[Any, ...]]]) -> None:
        with self._lock:
            for method, args in reports:
                for command in _ANSWERS.get(method, ()) if method != "venue_unknown" else (args[1],):
                    self._in_flight.discard((args[0], command))
        listener = self._listener
        if listener is None:
            return

        def deliver() -> None:
            for method, args in reports:
                try:
                    getattr(listener, method)(*args)
                except Exception:  # one report the node cannot take must not lose those after it
                    _log.exception("venue %s: the node failed on a %s report", self.name, method)

        self._post(deliver)

    def _lost_commands(self, process: Any) -> None:
        """Every command the dead worker had not answered: its outcome is unknown (the node asks by client id)."""
        with self._lock:
            lost, self._in_flight = self._in_flight, set()
        if lost:
            why = self._exited(process)
            self._deliver([("venue_unknown", (key, command, why)) for key, command in sorted(lost)])

    def _restarted(self) -> None:
        try:
            self._wait("start", self.query_timeout_s + 10 + _START_MARGIN_S)
        except AlphintraError as exc:
            _log.error("venue %s: its new worker did not connect: %s", self.name, exc)
            return
        if self.on_reconnect is not None:
            self._post(self.on_reconnect)  # what happened meanwhile is settled with the exchange

    def _answer(self, key: Any, answer: tuple[Any, ...]) -> None:
        with self._lock:
            future = self._answers.get(key)
        if future is not None and not future.done():
            future.set_result(answer)

    def _fail_queries(self, process: Any) -> None:
        with self._lock:
            waiting = [(k, f) for k, f in self._answers.items() if k != "start"]
        for _, future in waiting:
            if not future.done():
                future.set_result(("error", ("error", "VenueUnavailable", self._exited(process), None)))

    def _wait(self, key: Any, timeout: float) -> Any:
        with self._lock:
            future = self._answers[key]
        try:
            answer = future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise VenueUnavailable(f"venue {self.name}: no answer within {timeout:g} s") from None
        finally:
            with self._lock:
                self._answers.pop(key, None)
        if answer[0] != "ok":
            raise _error(answer[1])
        return answer[1]

    # -- the port ------------------------------------------------------------------------------------------------

    @property
    def connection(self) -> str:
        return str(self._status[0]) if not self._closing else "disconnected"

    @property
    def stream_reconnects(self) -> int:
        return int(self._status[1])

    @property
    def polls(self) -> int:
        return int(self._status[2])

    @property
    def resyncs(self) -> int:
        return int(self._status[3])

    @property
    def lookups(self) -> int:
        return int(self._status[4])

    @property
    def streams_down(self) -> frozenset[str]:
        return frozenset(self._status[5])

    def instruments(self) -> list[Instrument]:
        return list(self._markets.values())

    def instrument(self, symbol: str) -> Instrument:
        inst = self._markets.get(symbol)
        if inst is None:
            listed = ", ".join(self._markets) or "none"
            raise ValidationError("symbol", f"is not traded on venue {self.name!r} (traded: {listed})", symbol)
        return inst

    def bind(self, listener: VenueListener) -> None:
        self._listener = listener

    def _send(self, message: tuple[Any, ...], key: str | None = None, command: str | None = None) -> None:
        with self._lock:
            commands = self._commands
            if commands is None or self._closing:
                raise VenueUnavailable(f"venue {self.name} is not connected")
            if key is not None and command is not None:
                self._in_flight.add((key, command))
            try:
                commands.send(message)
            except OSError:
                self._in_flight.discard((key or "", command or ""))
                raise VenueUnavailable(f"venue {self.name} is not connected") from None

    def submit(self, order: VenueOrder) -> None:
        self._send(("submit", order), order.key, "submit")

    def cancel(self, key: str) -> None:
        self._send(("cancel", key), key, "cancel")

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None:
        raise ConflictError(f"venue {self.name} cannot modify a working order; cancel and place a new one")

    def defer(self, action: Callable[[], None]) -> bool:
        return False

    def poke(self) -> None:
        with contextlib.suppress(VenueUnavailable):
            self._send(("poke",))

    def _query(self, method: str, *args: Any) -> Any:
        query_id = next(self._ids)
        with self._lock:
            self._answers[query_id] = concurrent.futures.Future()
        try:
            self._send(("query", query_id, method, args))
        except VenueUnavailable:
            with self._lock:
                self._answers.pop(query_id, None)
            raise
        return self._wait(query_id, self.query_timeout_s + _START_MARGIN_S)

    def open_orders(self) -> list[VenueOrderState]:
        return self._query("open_orders")  # type: ignore[no-any-return]

    def fills(self, since_ns: int) -> list[VenueFill]:
        return self._query("fills", since_ns)  # type: ignore[no-any-return]

    def order_status(self, key: str) -> VenueOrderState | None:
        return self._query("order_status", key)  # type: ignore[no-any-return]

    def balances(self) -> list[VenueBalances]:
        return self._query("balances")  # type: ignore[no-any-return]


__all__ = ["VenueProcess"]
