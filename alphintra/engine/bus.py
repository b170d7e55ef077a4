"""In-process publish/subscribe: the engine's parts talk through topics, not through references to each other.

Design choices:

* **Topics** are dot-separated names (``orders.filled.BTC/USDT``). A subscription pattern may use ``*`` (any run
  of characters, dots included) and ``?`` (one character), glob style: ``orders.*`` receives every order topic,
  ``*.filled.*`` every fill. A published topic is always concrete (no wildcards).
* **Synchronous, in publish order.** :meth:`MessageBus.publish` hands the message to every matching handler, in
  subscription order, before it returns. A handler that publishes does not re-enter the bus: its message is queued
  and delivered once the current one has reached every handler, so *every* handler sees messages in the order they
  were published (run-to-completion, as in an actor mailbox) and a backtest replays deterministically.
* **Isolation.** A handler's exception is caught, counted and reported to ``on_error`` (default: logged with its
  traceback); the publisher and the remaining handlers carry on. A strategy's bug must never stop the engine.
* **Typed handlers.** ``subscribe(pattern, handler, message_type=OrderFilled)`` delivers only instances of that
  type, and a type checker verifies the handler accepts it.
* **Cheap when idle.** The handlers of each concrete topic are resolved once and cached (the cache is dropped on
  every subscribe/unsubscribe), so publishing to a topic nobody listens to costs one dict lookup.
* **One thread.** The bus belongs to the engine's thread and takes no locks; other threads hand work to the
  engine's loop instead of publishing directly.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from alphintra.engine.core.errors import ConflictError, ValidationError

M = TypeVar("M")

_log = logging.getLogger("alphintra.engine.bus")
# Topics can carry ids (orders.filled.<order id>); bound the resolution cache so it cannot grow without end.
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """A handler raised while receiving ``message`` on ``topic``; the bus carried on."""

    topic: str
    message: object
    handler: str
    error: Exception


def _handler_name(handler: Callable[..., object]) -> str:
    owner = getattr(handler, "__self__", None)
    name = getattr(handler, "__qualname__", None) or repr(handler)
    return f"{type(owner).__name__}.{getattr(handler, '__name__', name)}" if owner is not None else name


def _compile(pattern: str) -> re.Pattern[str] | None:
    """A regex for a wildcard pattern, or None when the pattern is a plain topic (compared by equality)."""
    if "*" not in pattern and "?" not in pattern:
        return None
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


class Subscription(Generic[M]):
    """A live subscription; :meth:`cancel` (or ``bus.unsubscribe(sub)``) ends it, even mid-delivery."""

    __slots__ = ("_bus", "_regex", "active", "handler", "message_type", "pattern")

    def __init__(
        self,
        bus: MessageBus,
        pattern: str,
        handler: Callable[[M], object],
        message_type: type[M] | None,
    ) -> None:
        self._bus = bus
        self.pattern = pattern
        self.handler = handler
        self.message_type = message_type
        self.active = True
        self._regex = _compile(pattern)

    def matches(self, topic: str) -> bool:
        return topic == self.pattern if self._regex is None else self._regex.fullmatch(topic) is not None

    def cancel(self) -> None:
        self._bus.unsubscribe(self)

    def __repr__(self) -> str:
        kind = "" if self.message_type is None else f", {self.message_type.__name__}"
        return f"Subscription({self.pattern!r}, {_handler_name(self.handler)}{kind})"


class MessageBus:
    """Topic-based publish/subscribe with synchronous, ordered, isolated delivery (see the module docstring)."""

    def __init__(self, *, on_error: Callable[[HandlerFailure], None] | None = None) -> None:
        self._subs: list[Subscription[Any]] = []
        self._cache: dict[str, tuple[Subscription[Any], ...]] = {}
        self._queue: deque[tuple[str, object]] = deque()
        self._dispatching = False
        self._on_error = on_error or _log_failure
        self.published = 0
        self.delivered = 0
        self.failures = 0

    @overload
    def subscribe(self, pattern: str, handler: Callable[[M], object], *, message_type: type[M]) -> Subscription[M]: ...

    @overload
    def subscribe(self, pattern: str, handler: Callable[[Any], object]) -> Subscription[Any]: ...

    def subscribe(
        self, pattern: str, handler: Callable[[Any], object], *, message_type: type[Any] | None = None
    ) -> Subscription[Any]:
        """Call ``handler(message)`` for every message published on a topic matching ``pattern``."""
        if not isinstance(pattern, str) or not pattern or pattern != pattern.strip():
            raise ValidationError("pattern", "must be a non-empty topic pattern without surrounding spaces", pattern)
        if not callable(handler):
            raise ValidationError("handler", "must be callable", handler)
        if message_type is not None and not isinstance(message_type, type):
            raise ValidationError("message_type", "must be a class", message_type)
        for sub in self._subs:
            if sub.pattern == pattern and sub.handler == handler and sub.message_type is message_type:
                raise ConflictError(f"{_handler_name(handler)} is already subscribed to {pattern!r}")
        sub = Subscription(self, pattern, handler, message_type)
        self._subs.append(sub)
        self._cache.clear()
        return sub

    def unsubscribe(self, subscription: Subscription[Any]) -> bool:
        """End a subscription; returns False if it had already ended. Takes effect at once, even mid-delivery."""
        if not subscription.active:
            return False
        subscription.active = False
        self._subs.remove(subscription)
        self._cache.clear()
        return True

    def subscriptions(self, topic: str | None = None) -> list[Subscription[Any]]:
        """Every live subscription, or those a message on ``topic`` would reach, in delivery order."""
        return list(self._subs) if topic is None else list(self._resolve(topic))

    def has_subscribers(self, topic: str) -> bool:
        """Whether publishing on ``topic`` would reach anyone: lets a publisher skip building a costly message."""
        subs = self._cache.get(topic)
        return bool(subs if subs is not None else self._resolve(topic))

    def publish(self, topic: str, message: object) -> None:
        """Deliver ``message`` to every handler of ``topic`` (or queue it, when called from inside a handler)."""
        subs = self._cache.get(topic)
        if subs is None:
            if not isinstance(topic, str) or not topic or "*" in topic or "?" in topic:
                raise ValidationError("topic", "must be a non-empty concrete topic (no wildcards)", topic)
            subs = self._resolve(topic)
        if not subs:
            return
        self.published += 1
        if self._dispatching:
            self._queue.append((topic, message))
            return
        self._dispatching = True
        try:
            self._deliver(topic, message, subs)
            while self._queue:
                queued_topic, queued = self._queue.popleft()
                self._deliver(queued_topic, queued, self._resolve(queued_topic))
        finally:
            self._queue.clear()
            self._dispatching = False

    def _resolve(self, topic: str) -> tuple[Subscription[Any], ...]:
        subs = self._cache.get(topic)
        if subs is None:
            subs = tuple(sub for sub in self._subs if sub.matches(topic))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[topic] = subs
        return subs

    def _deliver(self, topic: str, message: object, subs: tuple[Subscription[Any], ...]) -> None:
        for sub in subs:
            if not sub.active or (sub.message_type is not None and not isinstance(message, sub.message_type)):
                continue
            try:
                sub.handler(message)
            except Exception as exc:
                self.failures += 1
                failure = HandlerFailure(topic, message, _handler_name(sub.handler), exc)
                try:
                    self._on_error(failure)
                except Exception:
                    _log.exception("the bus's on_error callback failed while reporting %s", failure.handler)
            else:
                self.delivered += 1


def _log_failure(failure: HandlerFailure) -> None:
    _log.error(
        "handler %s failed on topic %s: %r",
        failure.handler,
        failure.topic,
        failure.error,
        exc_info=(type(failure.error), failure.error, failure.error.__traceback__),
    )


__all__ = ["HandlerFailure", "MessageBus", "Subscription"]
