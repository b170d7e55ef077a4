"""The one place that builds a trading host's collaborators and wires them together.

:func:`build` runs inside ``TradingHost.start`` (before the engine thread exists): the journal and its snapshots,
the accounts' venues (``venue_setup``), the node with its risk engine and keeper, the replay of the journal
into them, the paper market, the SQL projection, and -- for a daemon, not a one-shot CLI host -- the services
(:func:`start_services`: strategies, schedules, the risk watch). Everything it builds is handed to the host
through its public attributes; the host itself only runs the engine thread.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from alphintra.config.logs import get_logger
from alphintra.daemon.trading import host_storage, live_venues, venue_setup
from alphintra.daemon.trading.durability import BatchJournal, EncodedOrders, SnapshotPart, Snapshots
from alphintra.daemon.trading.instruments import paper_instruments
from alphintra.engine._node_snapshot import capture as capture_node
from alphintra.engine.clock import LiveClock
from alphintra.engine.node import TradingNode

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.daemon.trading.ports import Host

log = get_logger("daemon.trading")
# A start scans the newest segment and the one a snapshot falls in: smaller segments bound that work.
JOURNAL_SEGMENT_BYTES = 16 * 1024 * 1024


def build_journal(settings: Settings) -> BatchJournal:
    """The host writes and fsyncs once per batch of commands itself (engine.journal_fsync, group_commit_ms), before
    answering any caller of the batch; the journal's own time and count bounds are set out of its way."""
    from alphintra.storage.journal import Journal

    return BatchJournal(
        Journal(
            settings.paths.journal,
            fsync="group",
            group_records=1_000_000,
            group_interval_ms=60_000,
            segment_bytes=JOURNAL_SEGMENT_BYTES,
        )
    )


def build_risk(host: Host) -> Any:
    """The pre-trade gate and circuit breakers, and the keeper that folds their limits and halts from the journal
    (``riskstate.RiskKeeper.start``)."""
    from alphintra.daemon.trading.riskstate import RiskKeeper
    from alphintra.engine.risk import RiskEngine

    keeper = host.risk_keeper = RiskKeeper(host, host.state_db.store())
    return RiskEngine(on_halt=keeper.on_halt, on_resume=keeper.on_resume)


def build(host: Host, *, on_event: Any) -> Any:
    """Build and recover everything the host runs; returns the projector (the host tells it the durable end).

    ``on_event`` becomes a node listener (the host's streams and metrics)."""
    from alphintra.daemon.trading.feed import PaperFeed
    from alphintra.daemon.trading.projector_process import ProjectorProcess

    settings = host.settings
    paths = settings.paths
    paths.root.mkdir(parents=True, exist_ok=True)
    paper, prices = paper_instruments(settings)
    clock = LiveClock()
    # Exchange venues connect first (markets, credentials): a wrong key or URL stops the start here, nothing built.
    exchanges = live_venues.connect(settings, host.post)
    try:
        instruments, symbols, listings = venue_setup.with_exchange_instruments(settings, paper, exchanges)
        venues = host.venues = venue_setup.build_venues(settings, instruments, clock, exchanges, symbols)
        venues.listings = listings
    except BaseException:
        for exchange in exchanges.values():
            exchange.close()
        raise
    journal = host.journal = build_journal(settings)
    snapshots = host.snapshots = Snapshots(journal, settings.engine.snapshot_every)
    node = TradingNode(
        instruments=instruments,
        venue=venues.default,
        venues=venues.others,
        routes=venues.routes,
        clock=clock,
        default_account=host.account,
        risk=build_risk(host),
    )
    node.listings = venues.listings
    host.driver = venue_setup.drive(settings, node, venues)
    for market in venues.markets.values():
        market.on_bar = host.trade_bar
        market.on_book_change = host.publish_book
    node.account_venues = {name: account.venue for name, account in settings.accounts.items()}
    orders = EncodedOrders()
    snapshots.register(
        "node", SnapshotPart(capture=orders.part(lambda: capture_node(node)), restore=node.restore_state)
    )
    snapshot, records = journal.replay()
    keeper = host.risk_keeper
    snapshots.register("risk", SnapshotPart(capture=keeper.capture, restore=keeper.reset))
    if snapshot is not None:
        snapshots.restore(snapshot.seq, snapshot.state)
    count = node.replay(keeper.fold(host_storage.retaining(host, node, (rec.record for rec in records))))
    node.journal = journal
    keeper.start(node)  # limits, halts, alerts, schedules, strategies: from the journal
    if venue_setup.open_accounts(settings, node, exchanges):
        journal.sync()
    prices = {s: p for s, p in prices.items() if symbols.get(s) not in exchanges}
    for symbol, price in prices.items():
        node.last_prices.setdefault(symbol, price)
    simulated = [inst for inst in instruments if symbols[inst.symbol] not in exchanges]
    feed = host.feed = PaperFeed(
        simulated, {s: node.last_prices.get(s, p) for s, p in prices.items()}, seed=settings.paper.seed
    )
    for symbol, sf in feed.symbols.items():
        node.last_prices[symbol] = sf.price
        host.driver.post_liquidity(symbol, sf.price)
    node.resume()  # an exchange venue is asked first what it holds (reconciliation): nothing is sent twice
    for name, exchange in exchanges.items():
        exchange.venue.on_reconnect = functools.partial(reconcile_after_reconnect, node, name)
    live_venues.start_feeds(settings, exchanges, venues.markets, host.post)
    attach = getattr(node.risk, "attach", None)
    if attach is not None:
        attach(node)  # the replayed orders and positions are what risk counts from now on
    journal.sync()
    node.listeners.append(on_event)
    host.node = node
    host.start_equity = host.equity()
    # The projection reads the journal itself, from where the store says it stands (catching up, or rebuilding
    # a missing or foreign store); from here on the engine thread only tells it how far the journal is durable.
    # It runs in a process of its own, on the store's URL; the tables exist before it starts (one creator).
    host.state_db.store().close()
    projector = ProjectorProcess(
        host.state_db.url,
        paths.journal,
        instruments,
        durable_seq=journal.durable_seq,
        risk_from=keeper.projected_from,
    )
    keeper.projection = projector
    log.info("journal replayed", extra={"records": count, "snapshot": snapshot is not None})
    if host.services:
        start_services(host)
        journal.sync()
    return projector


def reconcile_after_reconnect(node: TradingNode, venue: str) -> None:
    """Engine thread: a private stream of ``venue`` came back; what it missed is settled with the exchange."""
    try:
        report = node.reconcile(venue)
    except Exception as exc:  # the exchange did not answer: its own poller catches up, the next reconnect asks
        log.warning("venue %s: reconciliation after a reconnect failed (%s)", venue, type(exc).__name__)
        return
    log.info(
        "venue reconciled after a reconnect",
        extra={"venue": venue, "fills": len(report.fills_booked), "closed": len(report.closed)},
    )


def start_services(host: Host) -> None:
    """Before the engine thread runs: the strategy manager with the ACTIVE strategies resumed, the risk watch, and
    the scheduler loaded but paused until the engine runs."""
    from alphintra.daemon.trading.risk_routes import RiskWatch
    from alphintra.daemon.trading.scheduler import Scheduler
    from alphintra.daemon.trading.strategies import StrategyManager

    manager = StrategyManager(host, host.state_db.store())
    host.strategies = manager
    keeper = host.risk_keeper
    host.risk_watch = RiskWatch(host, manager.store, None if keeper is None else keeper.state.limits)
    resumed = manager.restore()
    scheduler = Scheduler(host, manager)
    host.scheduler = scheduler
    jobs = scheduler.load()
    log.info("strategies and schedules loaded", extra={"resumed": len(resumed), "schedules": jobs})


__all__ = [
    "JOURNAL_SEGMENT_BYTES",
    "build",
    "build_journal",
    "build_risk",
    "reconcile_after_reconnect",
    "start_services",
]
