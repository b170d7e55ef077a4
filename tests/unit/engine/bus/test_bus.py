"""The message bus: wildcard routing, ordered synchronous delivery, isolation of failing handlers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.engine.bus import HandlerFailure, MessageBus
from alphintra.engine.core.errors import ConflictError, ValidationError


@dataclass(frozen=True)
class Filled:
    order_id: str


@dataclass(frozen=True)
class Canceled:
    order_id: str


def test_wildcards_route_to_matching_subscribers_only() -> None:
    bus = MessageBus()
    got: dict[str, list[object]] = {"all": [], "exact": [], "fills": [], "one": []}
    bus.subscribe("orders.*", got["all"].append)
    bus.subscribe("orders.filled", got["exact"].append)
    bus.subscribe("*.filled*", got["fills"].append)
    bus.subscribe("orders.fille?", got["one"].append)
    bus.publish("orders.filled", 1)
    bus.publish("orders.filled.BTC/USDT", 2)
    bus.publish("orders.canceled", 3)
    bus.publish("positions.changed", 4)
    bus.publish("ordersXfilled", 5)  # the dot is literal, not "any character"
    assert got == {"all": [1, 2, 3], "exact": [1], "fills": [1, 2], "one": [1]}
    assert bus.published == 3 + 0 + 0  # topics nobody listens to are not counted
    assert bus.delivered == 7


def test_typed_subscription_receives_only_its_type() -> None:
    bus = MessageBus()
    fills: list[Filled] = []
    everything: list[object] = []
    bus.subscribe("orders.*", fills.append, message_type=Filled)
    bus.subscribe("orders.*", everything.append)
    bus.publish("orders.a", Filled("1"))
    bus.publish("orders.b", Canceled("2"))
    assert fills == [Filled("1")]
    assert everything == [Filled("1"), Canceled("2")]


def test_handler_exception_is_isolated_and_reported() -> None:
    failures: list[HandlerFailure] = []
    bus = MessageBus(on_error=failures.append)
    seen: list[int] = []

    def broken(message: int) -> None:
        raise RuntimeError(f"cannot take {message}")

    bus.subscribe("t", seen.append)
    bus.subscribe("t", broken)
    bus.subscribe("t", lambda m: seen.append(m * 10))
    bus.publish("t", 1)  # does not raise
    bus.publish("t", 2)
    assert seen == [1, 10, 2, 20]
    assert [(f.topic, f.message, str(f.error)) for f in failures] == [
        ("t", 1, "cannot take 1"),
        ("t", 2, "cannot take 2"),
    ]
    assert failures[0].handler.endswith("broken")
    assert bus.failures == 2


def test_default_error_report_is_logged_and_a_failing_reporter_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    bus = MessageBus()
    bus.subscribe("t", lambda m: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="alphintra.engine.bus"):
        bus.publish("t", "x")
    assert "failed on topic t" in caplog.text and "ZeroDivisionError" in caplog.text

    def bad_reporter(failure: HandlerFailure) -> None:
        raise OSError("log disk full")

    quiet = MessageBus(on_error=bad_reporter)
    after: list[str] = []
    quiet.subscribe("t", lambda m: 1 / 0)
    quiet.subscribe("t", after.append)
    quiet.publish("t", "y")
    assert after == ["y"]


def test_nested_publish_keeps_publish_order_for_every_handler() -> None:
    bus = MessageBus()
    log: list[tuple[str, str]] = []

    def first(message: str) -> None:
        log.append(("first", message))
        if message == "a":
            bus.publish("t", "b")  # queued: "a" must reach `second` before "b" does
            log.append(("first", "published b"))

    bus.subscribe("t", first)
    bus.subscribe("t", lambda m: log.append(("second", m)))
    bus.publish("t", "a")
    assert log == [("first", "a"), ("first", "published b"), ("second", "a"), ("first", "b"), ("second", "b")]


def test_unsubscribe_takes_effect_immediately_even_mid_delivery() -> None:
    bus = MessageBus()
    got: list[str] = []
    later = None

    def canceller(message: str) -> None:
        got.append("canceller:" + message)
        assert later is not None
        later.cancel()

    bus.subscribe("t", canceller)
    later = bus.subscribe("t", lambda m: got.append("later:" + m))
    bus.publish("t", "1")
    bus.publish("t", "2")
    assert got == ["canceller:1", "canceller:2"]
    assert bus.unsubscribe(later) is False
    assert [s.pattern for s in bus.subscriptions()] == ["t"]


def test_subscription_checks() -> None:
    bus = MessageBus()
    got: list[object] = []
    bus.subscribe("t", got.append)
    with pytest.raises(ConflictError):
        bus.subscribe("t", got.append)
    bus.subscribe("t", got.append, message_type=int)  # a different filter is a different subscription
    with pytest.raises(ValidationError):
        bus.subscribe("", got.append)
    with pytest.raises(ValidationError):
        bus.subscribe("t", "not callable")  # type: ignore[call-overload]
    with pytest.raises(ValidationError) as wildcard:
        bus.publish("t.*", 1)
    assert wildcard.value.field == "topic"
    assert bus.has_subscribers("t") and not bus.has_subscribers("u")
    assert len(bus.subscriptions("t")) == 2


@given(
    st.lists(st.sampled_from(["a.*", "a.b", "*", "a.?", "b.*"]), max_size=6),
    st.lists(st.sampled_from(["a.b", "a.c", "b.b", "a.bc"]), max_size=20),
)
def test_each_subscriber_sees_exactly_its_matching_messages_in_order(patterns: list[str], topics: list[str]) -> None:
    import fnmatch

    bus = MessageBus()
    received: list[list[tuple[str, int]]] = []
    for index, pattern in enumerate(patterns):
        sink: list[tuple[str, int]] = []
        received.append(sink)
        if index % 2:
            bus.subscribe(pattern, sink.append, message_type=tuple)
        else:
            bus.subscribe(pattern, sink.append)
    for n, topic in enumerate(topics):
        bus.publish(topic, (topic, n))
    for pattern, sink in zip(patterns, received, strict=True):
        assert sink == [(t, n) for n, t in enumerate(topics) if fnmatch.fnmatchcase(t, pattern)]
