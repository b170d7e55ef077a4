"""Helpers of the fake-exchange tests (a module of its own: a test file cannot import a conftest)."""

from __future__ import annotations

from decimal import Decimal

from alphintra.venues.fake.testing import FakeHandle


def balances(handle: FakeHandle, api_key: str) -> dict[str, tuple[Decimal, Decimal]]:
    """(free, locked) per asset, exactly as the fake keeps them."""
    raw = handle.admin("GET", f"balances?api_key={api_key}")
    return {a: (Decimal(v["free"]), Decimal(v["locked"])) for a, v in raw.items()}


def at_price(fake: FakeHandle, symbol: str = "BTC/USDT", price: str = "30000") -> None:
    """Put the mid at ``price`` and rebuild the background quotes around it (a known ladder for hand sums)."""
    fake.admin("POST", "price", {"symbol": symbol, "price": price})
