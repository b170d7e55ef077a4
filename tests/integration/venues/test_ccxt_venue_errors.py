"""Bad input to a :class:`CcxtVenue`, each with one clear message naming the thing and the rule (and never the
secret): a symbol the venue does not list, a quantity below its minimum, bad credentials (-1022, -2015) and an
unreachable URL."""

from __future__ import annotations

import queue
import random
import socket
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from ccxt_venue_kit import Waits, live_node

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType, RejectReason
from alphintra.engine.core.errors import OrderRejectedError
from alphintra.engine.venue.base import VenueOrder
from alphintra.errors import OperationFailed, ValidationError
from alphintra.venues.ccxt_retry import RetryPolicy
from alphintra.venues.ccxt_venue import CcxtVenue
from alphintra.venues.fake.testing import FakeHandle

D = Decimal


def venue(config: dict[str, Any], inbox: queue.Queue[Callable[[], None]] | None = None, **options: Any) -> CcxtVenue:
    return CcxtVenue(
        "acme",
        config,
        post=(inbox or queue.Queue()).put,
        retry=RetryPolicy(rng=random.Random(1), sleep=Waits()),
        query_timeout_s=5,
        **options,
    )


def test_a_symbol_the_venue_does_not_list_is_named(fake: FakeHandle) -> None:
    v = venue(fake.ccxt_config(), symbols=["BTC/USDT", "DOGE/USDT"])
    with pytest.raises(ValidationError) as info:
        v.start()
    assert info.value.message == f"symbol: is not listed by venue 'acme' ({fake.base_url}) (got 'DOGE/USDT')"


@pytest.mark.parametrize(
    ("change", "code"),
    [({"secret": "0" * 64}, -1022), ({"apiKey": "unknown-key"}, -2015)],
)
def test_bad_credentials_are_named_without_the_secret(fake: FakeHandle, change: dict[str, str], code: int) -> None:
    config = fake.ccxt_config()
    config.update(change)
    with pytest.raises(ValidationError) as info:
        venue(config).start()
    message = info.value.message
    assert message.startswith(f"credentials of venue 'acme': were refused by {fake.base_url} (exchange code {code})")
    assert fake.api_secret not in message and "0" * 64 not in message and "signature" not in message


def test_an_unreachable_url_is_named_and_retried_with_backoff_first(fake: FakeHandle) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{port}/api/v3"
        config = fake.ccxt_config(urls={"api": {"public": url, "private": url}})
        v = venue(config)
        with pytest.raises(OperationFailed) as info:
            v.start()
    assert info.value.message == (
        f"venue 'acme': cannot reach http://127.0.0.1:{port} while trying to load its markets (connection failed): "
        "check the URL with `alphintra venue show` and that the exchange is up"
    )
    assert len(v.retry.sleep.delays) == v.retry.attempts - 1  # type: ignore[attr-defined]


def test_a_quantity_below_the_minimum_is_refused_by_the_node_and_by_the_exchange(fake: FakeHandle) -> None:
    with live_node(fake) as lv:
        inst = lv.node.instruments.get("BTC/USDT")
        with pytest.raises(OrderRejectedError) as info:
            lv.node.submit(OrderRequest("BTC/USDT", OrderSide.BUY, D("0.000001"), OrderType.LIMIT, price=D("29000")))
        assert info.value.reason == RejectReason.QTY_BELOW_MIN
        assert info.value.field == "quantity" and str(inst.min_qty) in info.value.message
        assert lv.order_log() == []

        # Sent past the node (as another client of the account might): the exchange's filter answers.
        class Heard:
            def __init__(self) -> None:
                self.rejected: list[tuple[str, RejectReason, str]] = []

            def venue_rejected(self, key: str, reason: RejectReason, message: str, ts: int) -> None:
                self.rejected.append((key, reason, message))

        heard = Heard()
        lv.venue.bind(heard)
        lv.venue.submit(VenueOrder("X-1", "main", "BTC/USDT", OrderSide.BUY, D("0.00001"), D("29000")))
        lv.pump(lambda: bool(heard.rejected), what="the exchange's refusal")
        assert heard.rejected == [
            (
                "X-1",
                RejectReason.NOTIONAL_BELOW_MIN,
                "venue fake refused the order: Filter failure: NOTIONAL (exchange code -1013)",
            )
        ]
