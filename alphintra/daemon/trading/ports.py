"""The trading host as its collaborators see it.

Routes, the strategy manager, the scheduler, the risk keeper and watch, and the builder that wires them take a
:class:`Host`, never the concrete :class:`~alphintra.daemon.trading.host.TradingHost`: they depend on this module
only, so no module of the package imports the host back (the import graph of ``daemon/trading`` has no cycle,
checked by ``tests/unit/daemon/trading/test_trading_imports.py``). :class:`EngineThreadHost` adds what the host's
own engine-thread steps (:mod:`~alphintra.daemon.trading.host_storage`) need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from fastapi import FastAPI

    from alphintra.config.settings import Settings
    from alphintra.daemon.lifecycle import HostState
    from alphintra.daemon.trading.archive import Archive
    from alphintra.daemon.trading.durability import BatchAudit, Snapshots, StorageGuard
    from alphintra.daemon.trading.feed import PaperFeed
    from alphintra.daemon.trading.statedb import StateDatabase
    from alphintra.daemon.trading.venue_setup import HostVenues
    from alphintra.daemon.trading.waiters import Outcome
    from alphintra.engine.node import TradingNode
    from alphintra.engine.venue.sim_driver import SimDrivers

T = TypeVar("T")


class Host(Protocol):
    settings: Settings
    services: bool
    state: HostState
    node: TradingNode | None
    driver: SimDrivers | None
    venues: HostVenues | None
    feed: PaperFeed | None
    journal: Any  # a BatchJournal once started
    app: FastAPI | None
    guard: StorageGuard
    audit_batch: BatchAudit
    archive: Archive
    snapshots: Snapshots | None
    state_db: StateDatabase
    risk_keeper: Any
    strategies: Any
    scheduler: Any
    risk_watch: Any
    start_equity: Decimal | None

    @property
    def ready(self) -> bool: ...

    @property
    def account(self) -> str: ...

    def account_for(self, symbol: str, account: str | None = None) -> str: ...

    def order_target(self, body: Any) -> tuple[Any, str]: ...

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T: ...

    async def acall(self, fn: Callable[[], T], timeout: float = 30.0) -> T: ...

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]: ...

    def post(self, fn: Callable[[], object]) -> None: ...

    def trade_bar(self, bar: Any) -> None: ...

    def publish_book(self, symbol: str) -> None: ...

    def flush(self) -> None: ...

    def status(self) -> Mapping[str, object]: ...

    def event(self, level: str, message: str) -> None: ...

    def equity(self, account: str | None = None) -> Decimal: ...

    def hub(self) -> Any: ...

    def metrics(self) -> Any: ...

    def ticker(self, symbol: str) -> dict[str, Any]: ...

    def book(self, symbol: str, depth: int = 20) -> dict[str, Any]: ...

    def move_price(self, symbol: str, price: Decimal) -> dict[str, Any]: ...

    def projection_caught_up(self, timeout: float) -> bool: ...


class EngineThreadHost(Host, Protocol):
    """The host's engine-thread steps: answering callers, streaming after a durable batch, the market clock."""

    def answer(self, results: list[Outcome]) -> None: ...

    def tell(self) -> None: ...

    def drop_unpublished(self) -> None: ...

    def post_liquidity(self, symbol: str, price: Decimal) -> None: ...

    def restart_market_clock(self) -> None: ...

    def halt_engine(self) -> None: ...


__all__ = ["EngineThreadHost", "Host"]
