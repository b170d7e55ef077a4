"""CcxtOhlcvSource with the real ccxt client: retryable failures are retried with growing, jittered backoff and
then reported in one message; nothing else is retried."""

from __future__ import annotations

import random
import socket

import pytest

from alphintra.errors import OperationFailed
from alphintra.venues.ccxt_client import create_client
from alphintra.venues.ohlcv import CcxtOhlcvSource
from alphintra.venues.registry import build_definition


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_venue_is_retried_with_backoff_then_named() -> None:
    port = closed_port()
    client = create_client(build_definition("down", "binance", url=f"http://127.0.0.1:{port}", rate_limit_ms=0))
    slept: list[float] = []
    source = CcxtOhlcvSource(client, "down", retries=3, backoff_s=0.25, sleep=slept.append, rng=random.Random(1))
    with pytest.raises(OperationFailed) as err:
        source.fetch_ohlcv("BTC/USDT", "1m", 1_704_067_200_000, 1000)
    assert err.value.message.startswith(
        f"venue 'down': cannot reach http://127.0.0.1:{port} while trying to fetch BTC/USDT 1m bars"
    )
    assert len(slept) == 3
    for attempt, delay in enumerate(slept):  # base * 2**attempt plus up to as much again of jitter
        assert 0.25 * 2**attempt <= delay <= 0.5 * 2**attempt
    assert source.page_limit == 1000  # binance serves at most 1000 bars a page (ccxt's features)


def test_the_client_runs_within_ccxts_rate_limiter() -> None:
    client = create_client(build_definition("x", "binance", url="http://127.0.0.1:1"))
    assert client.enableRateLimit is True and client.rateLimit == 50
    assert client.urls["api"]["public"] == "http://127.0.0.1:1/api/v3"
    assert client.options["fetchMarkets"]["types"] == ["spot"] and client.options["adjustForTimeDifference"]
