"""ccxt markets as instruments (both precision modes), the client order id mapping, and the retry rules, on real
ccxt exception classes and market structures as ccxt builds them (no network)."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.errors import ValidationError
from alphintra.venues.ccxt_markets import DECIMAL_PLACES, TICK_SIZE, decode_key, encode_key, instrument_from_market
from alphintra.venues.ccxt_retry import RetryPolicy, classify, retry_after, with_retries
from alphintra.venues.ccxt_venue import reject_reason

D = Decimal


def market(price: object, amount: object, **limits: Any) -> dict[str, Any]:
    return {
        "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "maker": 0.001, "taker": 0.001,
        "precision": {"price": price, "amount": amount},
        "limits": {"amount": {"min": limits.get("min_qty")}, "cost": {"min": limits.get("min_cost")}},
    }  # fmt: skip


def test_tick_size_mode_takes_the_steps_and_limits_as_given() -> None:
    inst = instrument_from_market(market(0.01, 1e-05, min_qty=1e-05, min_cost=5.0), TICK_SIZE)
    assert (inst.tick_size, inst.lot_size, inst.min_qty, inst.min_notional) == (
        D("0.01"), D("0.00001"), D("0.00001"), D("5.0")
    )  # fmt: skip
    assert (inst.base, inst.quote, inst.maker_fee) == ("BTC", "USDT", D("0.001"))


def test_decimal_places_mode_turns_digits_into_steps() -> None:
    inst = instrument_from_market(market(2, 5, min_qty=None, min_cost=10), DECIMAL_PLACES)
    assert (inst.tick_size, inst.lot_size, inst.min_qty, inst.min_notional) == (
        D("0.01"), D("0.00001"), D("0.00001"), D(10)
    )  # fmt: skip


def test_a_market_without_precision_or_in_an_unmapped_mode_is_refused_clearly() -> None:
    with pytest.raises(ValidationError, match="market BTC/USDT: has no price precision at the venue"):
        instrument_from_market(market(None, 1e-05), TICK_SIZE)
    with pytest.raises(ValidationError, match="precision mode 3, which Alphintra does not map"):
        instrument_from_market(market(2, 5), 3)


def test_a_slice_key_maps_to_an_id_the_exchange_accepts_and_back() -> None:
    assert encode_key("O-00000012/3") == "O-00000012.3"
    assert decode_key("O-00000012.3") == "O-00000012/3"
    assert encode_key("a_b.c/1") == "a_ub_dc.1"
    assert decode_key("fake0a1b2c") == "fake0a1b2c"  # an id the exchange made up stays itself
    assert decode_key("x_z") is None
    with pytest.raises(ValidationError, match="must be at most 36 characters at the venue"):
        encode_key("O-" + "9" * 40)
    with pytest.raises(ValidationError, match="may hold letters, digits"):
        encode_key("O 1")


@given(st.text(alphabet="abcXYZ019-_./", min_size=1, max_size=12))
def test_the_client_id_mapping_is_reversible_and_inside_binances_alphabet(key: str) -> None:
    encoded = encode_key(key)
    assert set(encoded) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert decode_key(encoded) == key


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ccxt.DDoSProtection('binance 429 Too Many Requests {"code":-1003,"msg":"Too many requests"}'), "rate"),
        (ccxt.RateLimitExceeded("binance rate limit"), "rate"),
        (ccxt.InvalidNonce('binance {"code":-1021,"msg":"Timestamp for this request is outside"}'), "clock"),
        (ccxt.ExchangeError('binance {"code":-1021,"msg":"Timestamp ahead"}'), "clock"),  # mapped by its code
        (ccxt.RequestTimeout("binance GET timed out"), "unknown"),
        (ccxt.ExchangeNotAvailable("binance 503 Service Unavailable"), "unknown"),
        (ccxt.NetworkError("binance connection reset"), "unknown"),
        (ccxt.ExchangeError('binance {"code":-1007,"msg":"Timeout waiting for response"}'), "unknown"),
        (ccxt.InvalidOrder('binance {"code":-1013,"msg":"Filter failure: LOT_SIZE"}'), "refused"),
        (ccxt.InsufficientFunds('binance {"code":-2010,"msg":"Account has insufficient balance"}'), "refused"),
        (ccxt.AuthenticationError('binance {"code":-2015,"msg":"Invalid API-key"}'), "refused"),
        # ccxt calls a 5xx-ish answer with a code of its own a network error: the exchange's code decides
        (ccxt.NetworkError('binance {"code":-2010,"msg":"Duplicate order sent."}'), "refused"),
    ],
)
def test_only_rate_limits_clock_errors_and_unanswered_calls_are_retryable(exc: Exception, kind: str) -> None:
    assert classify(exc) == kind


def test_backoff_doubles_with_jitter_and_never_undercuts_retry_after() -> None:
    policy = RetryPolicy(base_s=0.2, cap_s=1.0, rng=random.Random(3))
    waits = [policy.delay(n) for n in range(1, 6)]
    for n, wait in enumerate(waits, start=1):
        full = min(1.0, 0.2 * 2 ** (n - 1))
        assert full / 2 <= wait <= full
    assert policy.delay(1, after=3.0) == 3.0
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({}) is None and retry_after({"Retry-After": "x"}) is None


class Calls:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.count = 0
        self.resyncs = 0
        self.slept: list[float] = []

    async def call(self) -> str:
        self.count += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"

    async def resync(self) -> None:
        self.resyncs += 1

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def run(calls: Calls, *, query: bool, headers: Any = None) -> Any:
    policy = RetryPolicy(attempts=4, rng=random.Random(1), sleep=calls.sleep)
    return asyncio.run(
        with_retries(calls.call, policy, headers=lambda: headers, resync=calls.resync, retry_unknown=query)
    )


def test_a_rate_limit_waits_retry_after_and_a_clock_error_resyncs_once() -> None:
    calls = Calls(ccxt.DDoSProtection("429"), ccxt.InvalidNonce("-1021"))
    assert run(calls, query=False, headers={"Retry-After": "2"}) == "ok"
    assert (calls.count, calls.resyncs, calls.slept) == (3, 1, [2.0])
    twice = Calls(ccxt.InvalidNonce("-1021"), ccxt.InvalidNonce("-1021"))
    with pytest.raises(ccxt.InvalidNonce):
        run(twice, query=False)
    assert (twice.count, twice.resyncs) == (2, 1)


def test_a_command_without_an_answer_is_never_retried_a_query_is() -> None:
    command = Calls(ccxt.RequestTimeout("timeout"))
    with pytest.raises(ccxt.RequestTimeout):
        run(command, query=False)
    assert command.count == 1
    query = Calls(ccxt.RequestTimeout("timeout"), ccxt.ExchangeNotAvailable("503"))
    assert run(query, query=True) == "ok" and query.count == 3 and len(query.slept) == 2


@pytest.mark.parametrize(
    "exc", [ccxt.InvalidOrder('{"code":-1013,"msg":"Filter failure: LOT_SIZE"}'), ccxt.InsufficientFunds("no")]
)
def test_a_refusal_is_never_retried(exc: Exception) -> None:
    calls = Calls(exc)
    with pytest.raises(type(exc)):
        run(calls, query=True)
    assert calls.count == 1 and calls.slept == []


def test_refusals_map_to_the_nodes_reject_reasons() -> None:
    from alphintra.engine.core.enums import RejectReason as R

    assert reject_reason(ccxt.OrderImmediatelyFillable("binance Order would immediately match and take.")) is (
        R.POST_ONLY_WOULD_TRADE
    )
    assert reject_reason(ccxt.InsufficientFunds("binance Account has insufficient balance")) is R.INSUFFICIENT_BALANCE
    assert reject_reason(ccxt.InvalidOrder('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}')) is (
        R.NOTIONAL_BELOW_MIN
    )
    assert reject_reason(ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}')) is R.UNKNOWN_SYMBOL
