"""WebSocket streams: topics, sequence numbers, and a hub that never lets a slow client stall the engine.

Every message is ``{"type", "topic", "seq", "ts", "data"}``. ``seq`` counts the messages published on a topic
(1, 2, 3 ...), so a client sees gaps if it ever misses one; ``ts`` is nanoseconds since the epoch from the
hub's clock. The first message of every subscription is ``{"type": "subscribed", "seq": <last seq published
on the topic>, ...}``: once a client has it, it receives every later message of the topic.

``publish`` may be called from any thread (the engine runs outside the event loop). It serialises once, appends
the text to a mailbox per event loop and returns at once; it never waits for a socket. The loop is woken with
``call_soon_threadsafe`` only when its mailbox was empty, so a burst of publishes costs one wake-up, not one
per message. Each subscriber has a bounded queue; when it is full the subscriber is disconnected with
close code 1008 and reason "slow consumer" instead of buffering without bound or blocking the publisher.

A message may belong to one account (``publish(..., account=...)``: orders, fills, account alerts). A subscriber
limited to some accounts (a non-admin user's, see ``ownership.py``) receives only those accounts' messages and the
ones of no account, numbered by a ``seq`` of its own (its ``subscribed`` message says 0, then 1, 2, 3 ...), so
that a gap still means a missed message and never another user's; unlimited subscribers see the topic's ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    from alphintra.daemon.metrics import EngineMetrics

SLOW_CONSUMER_CODE = 1008
SLOW_CONSUMER_REASON = "slow consumer"
GOING_AWAY_CODE = 1001
UNKNOWN_TOPIC_CODE = 4404
DEFAULT_QUEUE_SIZE = 1024
CLOSE_TIMEOUT = 2.0

# The streams of the plan's §5.2; ``{name}`` matches one path segment.
DEFAULT_TOPICS = (
    "market-data/ticker/{symbol}",
    "market-data/trades/{symbol}",
    "market-data/orderbook/{symbol}",
    "orders/updates",
    "trades/updates",
    "portfolio/updates",
    "strategies/{strategy_id}/signals",
    "strategies/{strategy_id}/status",
    "risk/alerts",
    "engine/events",
)

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


class WsMessage(BaseModel):
    type: str
    topic: str
    seq: int
    ts: int
    data: Any = None


class WebSocketLike(Protocol):
    """The part of Starlette's WebSocket the hub uses (a fake in tests drives back-pressure exactly)."""

    async def send_text(self, data: str) -> None: ...

    async def receive(self) -> Any: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


def _compile(pattern: str) -> re.Pattern[str]:
    """``{name}`` matches one path segment, except ``{symbol}``: ccxt symbols carry a slash (``BTC/USD``)."""
    parts = _PLACEHOLDER.split(pattern)
    names = _PLACEHOLDER.findall(pattern)
    regex = ""
    for i, part in enumerate(parts):
        regex += re.escape(part)
        if i < len(names):
            regex += "[^/]+(?:/[^/]+)?" if names[i] == "{symbol}" else "[^/]+"
    return re.compile(f"^{regex}$")


class _Subscriber:
    def __init__(
        self,
        topic: str,
        queue_size: int,
        loop: asyncio.AbstractEventLoop,
        accounts: frozenset[str] | None = None,
    ) -> None:
        self.topic = topic
        self.loop = loop
        self.accounts = accounts  # None: every message; else those of these accounts (and of none), own seq
        self.seq = 0  # the messages a limited subscriber was given (its own numbering)
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.kicked = asyncio.Event()
        self.close_code = GOING_AWAY_CODE
        self.close_reason = ""

    def offer(self, text: str) -> None:
        """Runs on the subscriber's loop."""
        if self.kicked.is_set():
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.kick(SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON)

    def kick(self, code: int, reason: str) -> None:
        """Runs on the subscriber's loop."""
        if not self.kicked.is_set():
            self.close_code, self.close_reason = code, reason
            self.kicked.set()

    def post(self, callback: Callable[..., None], *args: Any) -> bool:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the connection is gone with it
            return False
        return True


class _Mailbox:
    """Messages waiting to enter one event loop, in publish order; guarded by the hub's lock."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: deque[tuple[_Subscriber, str]] = deque()
        self.scheduled = False
        self.users = 0


class WebSocketHub:
    """Topic registry, per-topic sequence numbers and the subscribers of one daemon."""

    def __init__(
        self,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        topics: Iterable[str] = DEFAULT_TOPICS,
        clock: Callable[[], int] = time.time_ns,
        metrics: EngineMetrics | None = None,
    ) -> None:
        if queue_size < 1:
            raise ValidationError("queue_size", "must be at least 1", queue_size)
        self.queue_size = queue_size
        self._clock = clock
        self._metrics = metrics
        self._lock = threading.Lock()
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        self._seq: dict[str, int] = {}
        self._subs: dict[str, set[_Subscriber]] = {}
        self._mailboxes: dict[asyncio.AbstractEventLoop, _Mailbox] = {}
        self.slow_consumers = 0
        for pattern in topics:
            self.add_topic(pattern)

    def add_topic(self, pattern: str) -> None:
        """Allow subscriptions to ``pattern`` (e.g. ``"fills/{account}"``)."""
        cleaned = pattern.strip("/")
        if not cleaned:
            raise ValidationError("topic", "must not be empty", pattern)
        with self._lock:
            self._patterns.append((cleaned, _compile(cleaned)))

    def is_known(self, topic: str) -> bool:
        return any(regex.match(topic) for _, regex in self._patterns)

    @property
    def topic_patterns(self) -> list[str]:
        return [pattern for pattern, _ in self._patterns]

    def last_seq(self, topic: str) -> int:
        with self._lock:
            return self._seq.get(topic, 0)

    def subscriber_count(self, topic: str | None = None) -> int:
        with self._lock:
            if topic is not None:
                return len(self._subs.get(topic, ()))
            return sum(len(subs) for subs in self._subs.values())

    def publish(self, topic: str, type: str, data: Any = None, account: str | None = None) -> int:
        """Queue ``data`` (of ``account``, or of none) for every subscriber of ``topic`` who may see it; returns
        its sequence number on the topic. Never blocks."""
        topic = topic.strip("/")
        wake: list[_Mailbox] = []
        with self._lock:
            seq = self._seq.get(topic, 0) + 1
            self._seq[topic] = seq
            subs = self._subs.get(topic)
            if subs:
                # Serialised and queued under the lock so that two publishing threads cannot interleave their
                # messages out of sequence order.
                ts = self._clock()
                shared: str | None = None
                for sub in subs:
                    if sub.accounts is None:
                        if shared is None:
                            shared = WsMessage(type=type, topic=topic, seq=seq, ts=ts, data=data).model_dump_json()
                        text = shared
                    elif account is None or account in sub.accounts:
                        sub.seq += 1
                        text = WsMessage(type=type, topic=topic, seq=sub.seq, ts=ts, data=data).model_dump_json()
                    else:
                        continue
                    box = self._mailboxes[sub.loop]
                    box.items.append((sub, text))
                    if not box.scheduled:
                        box.scheduled = True
                        wake.append(box)
        for box in wake:
            with contextlib.suppress(RuntimeError):  # the loop is closed: its connections are gone with it
                box.loop.call_soon_threadsafe(self._deliver, box)
        return seq

    def _deliver(self, box: _Mailbox) -> None:
        """Runs on the mailbox's loop: hand every waiting message to its subscriber's bounded queue."""
        with self._lock:
            items = list(box.items)
            box.items.clear()
            box.scheduled = False
        for sub, text in items:
            sub.offer(text)

    def close_all(self, code: int = GOING_AWAY_CODE, reason: str = "engine stopping") -> None:
        with self._lock:
            subs = [sub for topic_subs in self._subs.values() for sub in topic_subs]
        for sub in subs:
            sub.post(sub.kick, code, reason)

    async def drain(self, timeout: float) -> bool:
        """Wait until every subscriber has gone (after ``close_all``); False when ``timeout`` ran out first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.subscriber_count():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def _register(self, sub: _Subscriber) -> int:
        with self._lock:
            self._subs.setdefault(sub.topic, set()).add(sub)
            box = self._mailboxes.get(sub.loop)
            if box is None:
                box = self._mailboxes[sub.loop] = _Mailbox(sub.loop)
            box.users += 1
            last = self._seq.get(sub.topic, 0)
        if self._metrics is not None:
            self._metrics.websocket_clients.inc()
        return last

    def _unregister(self, sub: _Subscriber) -> None:
        with self._lock:
            subs = self._subs.get(sub.topic)
            if subs is not None and sub in subs:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.topic]
                box = self._mailboxes[sub.loop]
                box.users -= 1
                if box.users == 0 and not box.scheduled:
                    del self._mailboxes[sub.loop]
                removed = True
            else:
                removed = False
        if removed and self._metrics is not None:
            self._metrics.websocket_clients.dec()

    async def serve(self, websocket: WebSocketLike, topic: str, accounts: frozenset[str] | None = None) -> None:
        """Stream ``topic`` to an accepted WebSocket until the client leaves or is disconnected; with
        ``accounts``, only the messages of those accounts and of none (see the module docstring)."""
        topic = topic.strip("/")
        if not self.is_known(topic):
            await websocket.close(UNKNOWN_TOPIC_CODE, f"unknown topic: {topic}"[:123])
            return
        sub = _Subscriber(topic, self.queue_size, asyncio.get_running_loop(), accounts)
        last = self._register(sub)
        if accounts is not None:
            last = 0  # a limited subscriber counts its own messages
        pump = asyncio.ensure_future(self._pump(websocket, sub))
        listen = asyncio.ensure_future(self._listen(websocket))
        kicked = asyncio.ensure_future(sub.kicked.wait())
        client_left = False
        try:
            try:
                hello = WsMessage(type="subscribed", topic=topic, seq=last, ts=self._clock(), data={})
                sub.queue.put_nowait(hello.model_dump_json())
                await asyncio.wait({pump, listen, kicked}, return_when=asyncio.FIRST_COMPLETED)
                client_left = listen.done() or pump.done()
            finally:
                for task in (pump, listen, kicked):
                    task.cancel()
                # asyncio.wait, not gather: it keeps a cancellation of this coroutine intact (message included)
                # and never re-raises the helpers' own errors.
                await asyncio.wait({pump, listen, kicked})
                for task in (pump, listen, kicked):
                    if not task.cancelled():
                        task.exception()  # a send to a vanished client failed: expected, and retrieved here
            if sub.kicked.is_set() and not client_left:
                if sub.close_code == SLOW_CONSUMER_CODE:
                    self.slow_consumers += 1
                # A slow client may not drain the close frame either; never wait on it for long.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(websocket.close(sub.close_code, sub.close_reason), CLOSE_TIMEOUT)
        finally:
            # Only now: ``drain`` must not report a stream gone before its close frame was sent.
            self._unregister(sub)

    @staticmethod
    async def _pump(websocket: WebSocketLike, sub: _Subscriber) -> None:
        while True:
            text = await sub.queue.get()
            await websocket.send_text(text)

    @staticmethod
    async def _listen(websocket: WebSocketLike) -> None:
        # Clients have nothing to say on a stream; reading only notices when they leave.
        while True:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                return


__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_TOPICS",
    "GOING_AWAY_CODE",
    "SLOW_CONSUMER_CODE",
    "SLOW_CONSUMER_REASON",
    "UNKNOWN_TOPIC_CODE",
    "WebSocketHub",
    "WebSocketLike",
    "WsMessage",
]
