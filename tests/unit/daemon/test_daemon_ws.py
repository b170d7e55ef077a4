"""The WebSocket hub: per-topic sequence numbers, thread-safe publishing, slow consumers cut off."""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from alphintra.daemon.app import ListenerApp, create_app
from alphintra.daemon.lifecycle import LifecycleHost
from alphintra.daemon.metrics import EngineMetrics
from alphintra.daemon.ws import (
    GOING_AWAY_CODE,
    SLOW_CONSUMER_CODE,
    UNKNOWN_TOPIC_CODE,
    WebSocketHub,
)
from alphintra.errors import ValidationError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


class Ticks:
    """A clock that advances 1 ns per read, so every ``ts`` is predictable."""

    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


@pytest.fixture
def hub() -> WebSocketHub:
    return WebSocketHub(clock=Ticks(), metrics=EngineMetrics(process=False))


@pytest.fixture
def client(hub: WebSocketHub) -> Iterator[TestClient]:
    app = create_app(LifecycleHost(), hub=hub)
    with TestClient(ListenerApp(app, "unix")) as test_client:
        yield test_client


def test_messages_carry_type_topic_seq_ts_and_data(client: TestClient, hub: WebSocketHub) -> None:
    with client.websocket_connect("/ws/orders/updates") as ws:
        hello = ws.receive_json()
        assert hello == {"type": "subscribed", "topic": "orders/updates", "seq": 0, "ts": 1001, "data": {}}
        assert hub.publish("orders/updates", "order.accepted", {"id": "o-1", "qty": "0.5"}) == 1
        assert hub.publish("orders/updates", "order.filled", {"id": "o-1"}) == 2
        assert ws.receive_json() == {
            "type": "order.accepted",
            "topic": "orders/updates",
            "seq": 1,
            "ts": 1002,
            "data": {"id": "o-1", "qty": "0.5"},
        }
        assert ws.receive_json()["seq"] == 2


def test_sequences_are_per_topic_and_announced_on_subscribe(client: TestClient, hub: WebSocketHub) -> None:
    for _ in range(3):
        hub.publish("market-data/ticker/BTCUSD", "ticker", {"last": "1"})
    hub.publish("market-data/ticker/ETHUSD", "ticker", {"last": "2"})
    with client.websocket_connect("/ws/market-data/ticker/BTCUSD") as btc:
        assert btc.receive_json()["seq"] == 3
        hub.publish("market-data/ticker/ETHUSD", "ticker", {"last": "3"})
        hub.publish("market-data/ticker/BTCUSD", "ticker", {"last": "4"})
        message = btc.receive_json()
        assert (message["topic"], message["seq"], message["data"]) == ("market-data/ticker/BTCUSD", 4, {"last": "4"})
    assert hub.last_seq("market-data/ticker/ETHUSD") == 2


def test_publishing_from_other_threads_keeps_order(client: TestClient, hub: WebSocketHub) -> None:
    with client.websocket_connect("/ws/trades/updates") as ws:
        ws.receive_json()

        def engine() -> None:
            for i in range(200):
                hub.publish("trades/updates", "trade", {"i": i})

        workers = [threading.Thread(target=engine) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seqs = [ws.receive_json()["seq"] for _ in range(600)]
    assert seqs == list(range(1, 601))


def test_unknown_topic_is_closed_with_reason(client: TestClient) -> None:
    with client.websocket_connect("/ws/orders/everything") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (UNKNOWN_TOPIC_CODE, "unknown topic: orders/everything")


def test_added_topics_are_accepted(client: TestClient, hub: WebSocketHub) -> None:
    hub.add_topic("fills/{account}")
    assert hub.is_known("fills/main") and not hub.is_known("fills/main/extra")
    with client.websocket_connect("/ws/fills/main") as ws:
        assert ws.receive_json()["topic"] == "fills/main"
    with pytest.raises(ValidationError):
        hub.add_topic("/")


def test_client_count_follows_connections(client: TestClient, hub: WebSocketHub) -> None:
    with client.websocket_connect("/ws/portfolio/updates") as first:
        first.receive_json()
        with client.websocket_connect("/ws/portfolio/updates") as second:
            second.receive_json()
            assert hub.subscriber_count("portfolio/updates") == 2
    assert hub.subscriber_count() == 0


# --- back-pressure, driven exactly with a fake socket ---------------------------------------------------------


class StuckSocket:
    """A client that never reads: the first send blocks until released."""

    def __init__(self, *, stuck: bool) -> None:
        self.stuck = stuck
        self.sent: list[dict[str, Any]] = []
        self.send_started = asyncio.Event()
        self.release = asyncio.Event()
        self.closed: tuple[int, str | None] | None = None
        self.gone = asyncio.Event()

    async def send_text(self, data: str) -> None:
        self.send_started.set()
        if self.stuck:
            await self.release.wait()
        self.sent.append(json.loads(data))

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)


def test_slow_consumer_is_disconnected_without_blocking_publishers() -> None:
    metrics = EngineMetrics(process=False)
    hub = WebSocketHub(queue_size=2, clock=Ticks(), metrics=metrics)
    socket = StuckSocket(stuck=True)

    async def scenario() -> None:
        serving = asyncio.ensure_future(hub.serve(socket, "orders/updates"))
        await socket.send_started.wait()  # the hello is in flight and stuck; the queue is empty
        assert metrics.registry.get_sample_value("alphintra_websocket_clients") == 1
        # Publishing never waits: 2 messages fill the queue, the third overflows it.
        assert [hub.publish("orders/updates", "order", {"n": n}) for n in range(3)] == [1, 2, 3]
        await asyncio.wait_for(serving, 5)

    asyncio.run(scenario())
    assert socket.closed == (SLOW_CONSUMER_CODE, "slow consumer")
    assert hub.slow_consumers == 1
    assert hub.subscriber_count() == 0
    assert metrics.registry.get_sample_value("alphintra_websocket_clients") == 0
    assert hub.publish("orders/updates", "order", {}) == 4  # the topic lives on for others


def test_consumer_that_keeps_up_is_not_disconnected() -> None:
    hub = WebSocketHub(queue_size=2, clock=Ticks())
    socket = StuckSocket(stuck=False)

    async def scenario() -> None:
        serving = asyncio.ensure_future(hub.serve(socket, "orders/updates"))
        await socket.send_started.wait()
        for n in range(10):
            hub.publish("orders/updates", "order", {"n": n})
            while len(socket.sent) < n + 2:  # the hello plus n + 1 messages delivered
                await asyncio.sleep(0)
        socket.gone.set()
        await asyncio.wait_for(serving, 5)

    asyncio.run(scenario())
    assert socket.closed is None  # the client left by itself
    assert [m["seq"] for m in socket.sent] == [0, *range(1, 11)]


def test_close_all_ends_streams_with_going_away() -> None:
    hub = WebSocketHub(clock=Ticks())
    socket = StuckSocket(stuck=False)

    async def scenario() -> None:
        serving = asyncio.ensure_future(hub.serve(socket, "portfolio/updates"))
        await socket.send_started.wait()
        assert await hub.drain(timeout=0) is False
        hub.close_all(reason="engine stopping")
        assert await hub.drain(timeout=5) is True
        assert serving.done()

    asyncio.run(scenario())
    assert socket.closed == (GOING_AWAY_CODE, "engine stopping")


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValidationError) as err:
        WebSocketHub(queue_size=0)
    assert err.value.field == "queue_size"


@given(st.lists(st.sampled_from(["orders/updates", "trades/updates", "risk/alerts"]), max_size=60))
def test_sequence_numbers_are_contiguous_per_topic(topics: list[str]) -> None:
    hub = WebSocketHub()
    seen: dict[str, list[int]] = {}
    for topic in topics:
        seen.setdefault(topic, []).append(hub.publish(topic, "x"))
    for topic, seqs in seen.items():
        assert seqs == list(range(1, len(seqs) + 1))
        assert hub.last_seq(topic) == len(seqs)


def test_app_uses_the_given_hub(hub: WebSocketHub) -> None:
    app: FastAPI = create_app(LifecycleHost(), hub=hub)
    assert app.state.hub is hub
