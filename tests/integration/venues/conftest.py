"""One fake exchange process for all these tests (starting one costs seconds); each test trades on its own account
and sets the price it needs; the fault tests clear the faults around each test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alphintra.venues.fake.testing import FakeHandle, running_fake


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeHandle]:
    with running_fake(walk_ms=0) as handle:
        yield handle


@pytest.fixture
def account(fake: FakeHandle) -> Callable[..., dict[str, Any]]:
    """Make a fresh funded account: ``account(USDT="1000", BTC="1")`` -> {"api_key", "api_secret"}."""

    def make(**funds: str) -> dict[str, Any]:
        return dict(fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": funds}))

    return make


@pytest.fixture
def clean_faults(fake: FakeHandle) -> Iterator[None]:
    """No fault of another test is left on the fake, and none of this one's stays (``usefixtures``)."""
    fake.admin("DELETE", "faults")
    yield
    fake.admin("DELETE", "faults")
