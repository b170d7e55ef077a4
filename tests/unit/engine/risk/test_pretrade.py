"""Pre-trade limits through the real node, in backtest mode (bar fills) and paper mode (book + liquidity model).

For every limit: the order one unit under (or at) the limit passes and the order one unit over is refused with
reason RISK_LIMIT, the rule, the limit and the attempted value; a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from alphintra.engine.clock import NS_PER_SECOND, TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType, RejectReason
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar, TradeTick
from alphintra.engine.node import TradingNode
from alphintra.engine.risk import LimitSet, MarketStats, RiskEngine, RiskLimitError, StatsTracker
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.sim_driver import simulated_node

BUY, SELL = OrderSide.BUY, OrderSide.SELL
MODES = ("bar", "book")


class Harness:
    """A node in one mode with a risk engine, three zero-fee instruments and 10,000 USD."""

    def __init__(self, mode: str, *, stats: MarketStats | None = None, cash: str = "10000") -> None:
        self.mode = mode
        insts = [
            Instrument.create("GOOG", tick_size="0.01", lot_size="1", tags={"sector": "tech"}),
            Instrument.create("MSFT", tick_size="0.01", lot_size="1", tags={"sector": "tech"}),
            Instrument.create("XOM", tick_size="0.01", lot_size="1", tags={"sector": "energy"}),
        ]
        self.reg = InstrumentRegistry(insts)
        self.clock = TestClock(1_000 * NS_PER_SECOND)
        self.risk = RiskEngine(stats=stats)
        self.node = simulated_node(
            self.reg,
            self.clock,
            FillModel(mode=mode),  # type: ignore[arg-type]
            risk=self.risk,
            liquidity=LiquidityModel() if mode == "book" else None,
        )
        self.node.open_account("main", cash={"USD": D(cash)})
        for symbol in ("GOOG", "MSFT", "XOM"):
            self.price(symbol, "100")

    def price(self, symbol: str, price: str) -> None:
        """New market price, processed by the node and then by the risk engine (as the node will wire it)."""
        px = D(price)
        now = self.clock.now_ns()
        if self.mode == "bar":
            bar = Bar(symbol, now + 1, px, px, px, px, D(1_000_000), now + 2)
            self.node.process_bar(bar)
            self.risk.on_bar(self.node, bar)
        else:
            self.clock.advance_to(now + 1)
            self.node.process_trade(TradeTick(symbol, now + 1, px, D(0)))
            self.risk.on_price(self.node, symbol, px, now + 1)

    def hold(self, symbol: str, qty: int, strategy: str | None = None) -> None:
        """Buy ``qty`` at market and mark the symbol back at 100."""
        self.node.submit(OrderRequest(symbol, BUY, D(qty), strategy=strategy))
        self.price(symbol, "100")
        pos = self.node.ledger.position("main", symbol)
        assert pos is not None and pos.quantity >= qty

    def limits(self, **values: object) -> None:
        self.risk.set_limits(LimitSet.of(**values))  # type: ignore[arg-type]

    def equity(self) -> D:
        return self.node.ledger.valuation("main").equity

    def value(self, symbol: str) -> D:
        pos = self.node.ledger.position("main", symbol)
        return D(0) if pos is None else abs(pos.quantity) * self.node.last_prices[symbol]


def limit(symbol: str, side: OrderSide, qty: int | D, price: str = "100", **kw: object) -> OrderRequest:
    return OrderRequest(symbol, side, D(qty), OrderType.LIMIT, price=D(price), **kw)  # type: ignore[arg-type]


def refused(h: Harness, request: OrderRequest) -> RiskLimitError:
    before = len(h.node.orders)
    with pytest.raises(RiskLimitError) as info:
        h.node.submit(request)
    assert len(h.node.orders) == before  # a refusal records nothing
    return info.value


@dataclass
class Case:
    rule: str
    setup: Callable[[Harness], tuple[OrderRequest, OrderRequest, D, D]]
    """Sets the state and the limit; returns (under, over, limit, attempted value of ``over``)."""


def _order_qty(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(max_order_qty=10)
    return limit("GOOG", BUY, 10, "99"), limit("GOOG", BUY, 11, "99"), D(10), D(11)


def _order_notional(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(max_order_notional=1000)
    return limit("GOOG", BUY, 10, "99.99"), limit("GOOG", BUY, 11, "99.99"), D(1000), D("1099.89")


def _band_pct(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(price_band_pct=5)
    return limit("GOOG", BUY, 1, "95.00"), limit("GOOG", BUY, 1, "94.99"), D(5), D("5.01")


def _band_ticks(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(price_band_ticks=50)
    return limit("GOOG", BUY, 1, "99.50"), limit("GOOG", BUY, 1, "99.49"), D(50), D(51)


def _position_qty(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 4)
    h.node.submit(limit("GOOG", BUY, 3, "90"))  # a working buy counts towards the worst case
    h.limits(max_position_qty=12)
    return limit("GOOG", BUY, 5, "95"), limit("GOOG", BUY, 6, "95"), D(12), D(13)


def _position_notional(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 4)
    h.limits(max_position_notional=1000)
    return limit("GOOG", BUY, 6, "100"), limit("GOOG", BUY, 7, "100"), D(1000), D(1100)


def _strategy_position(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 20, strategy="other")  # the account's position is not the strategy's
    h.hold("GOOG", 2, strategy="s1")
    h.risk.set_limits(LimitSet().with_limit("max_position_qty", 5, "strategy", "s1"))
    return (
        limit("GOOG", BUY, 3, "99", strategy="s1"),
        limit("GOOG", BUY, 4, "99", strategy="s1"),
        D(5),
        D(6),
    )


def _gross(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 10)
    cap = h.value("GOOG") + 1000
    h.limits(max_gross_exposure=cap)
    return limit("MSFT", BUY, 10, "100"), limit("MSFT", BUY, 11, "100"), cap, cap + 100


def _net(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 10)
    cap = h.value("GOOG") + 500
    h.limits(max_net_exposure=cap)
    return limit("XOM", BUY, 5, "100"), limit("XOM", BUY, 6, "100"), cap, cap + 100


def _leverage(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 10)
    equity, held = h.equity(), h.value("GOOG")
    cap = (held + 1000) / equity
    h.limits(max_leverage=cap)
    return limit("MSFT", BUY, 10, "100"), limit("MSFT", BUY, 11, "100"), cap, (held + 1100) / equity


def _concentration(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(max_concentration_pct=20)  # equity 10,000: 20 shares at 100 is 20 %
    return limit("GOOG", BUY, 20, "100"), limit("GOOG", BUY, 21, "100"), D(20), D(21)


def _tag_concentration(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.hold("GOOG", 10)
    equity = h.equity()
    cap = (h.value("GOOG") + 2000) * 100 / equity
    h.risk.set_limits(LimitSet().with_limit("max_tag_concentration_pct", cap, "tag", "sector=tech"))
    under, over = limit("MSFT", BUY, 20, "100"), limit("MSFT", BUY, 21, "100")
    h.node.submit(limit("XOM", BUY, 30, "100"))  # another sector is not counted
    return under, over, cap, (h.value("GOOG") + 2100) * 100 / equity


def _correlated(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.risk.set_stats(MarketStats(correlation={("GOOG", "MSFT"): 0.9, ("GOOG", "XOM"): 0.1, ("MSFT", "XOM"): 0.2}))
    h.hold("GOOG", 10)
    h.hold("XOM", 10)  # weakly correlated: not part of GOOG's group
    cap = h.value("GOOG") + 1500
    h.limits(max_correlated_exposure=cap, correlation_threshold="0.8")
    return limit("MSFT", BUY, 15, "100"), limit("MSFT", BUY, 16, "100"), cap, cap + 100


def _volatility(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.risk.set_stats(MarketStats(volatility={"GOOG": 0.5}))
    h.limits(max_volatility_pct=10)  # 20 shares x 100 x 0.5 / 10,000 = 10 %
    return limit("GOOG", BUY, 20, "100"), limit("GOOG", BUY, 21, "100"), D(10), D("10.5")


def _adv(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.risk.set_stats(MarketStats(adv={"GOOG": D(1000)}))
    h.limits(max_adv_pct=10)
    return limit("GOOG", BUY, 100, "99"), limit("GOOG", BUY, 101, "99"), D(10), D("10.1")


def _rate_second(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(max_orders_per_second=3)
    for _ in range(2):
        h.node.submit(limit("GOOG", BUY, 1, "90"))
    return limit("GOOG", BUY, 1, "90"), limit("GOOG", BUY, 1, "90"), D(3), D(4)


def _rate_minute(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(max_orders_per_minute=5)
    for _ in range(4):
        h.node.submit(limit("GOOG", BUY, 1, "90"))
        h.clock.advance_to(h.clock.now_ns() + 5 * NS_PER_SECOND)  # spread over the minute, past the 1 s window
    return limit("GOOG", BUY, 1, "90"), limit("GOOG", BUY, 1, "90"), D(5), D(6)


def _open_orders(h: Harness) -> tuple[OrderRequest, OrderRequest, D, D]:
    h.limits(max_open_orders=3)
    for _ in range(2):
        h.node.submit(limit("GOOG", BUY, 1, "90"))
    return limit("XOM", BUY, 1, "90"), limit("MSFT", BUY, 1, "90"), D(3), D(4)


CASES = [
    Case("max_order_qty", _order_qty),
    Case("max_order_notional", _order_notional),
    Case("price_band_pct", _band_pct),
    Case("price_band_ticks", _band_ticks),
    Case("max_position_qty", _position_qty),
    Case("max_position_notional", _position_notional),
    Case("max_position_qty", _strategy_position),
    Case("max_gross_exposure", _gross),
    Case("max_net_exposure", _net),
    Case("max_leverage", _leverage),
    Case("max_concentration_pct", _concentration),
    Case("max_tag_concentration_pct", _tag_concentration),
    Case("max_correlated_exposure", _correlated),
    Case("max_volatility_pct", _volatility),
    Case("max_adv_pct", _adv),
    Case("max_orders_per_second", _rate_second),
    Case("max_orders_per_minute", _rate_minute),
    Case("max_open_orders", _open_orders),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{c.setup.__name__[1:]}" for c in CASES])
def test_one_unit_under_passes_one_unit_over_is_refused(mode: str, case: Case) -> None:
    h = Harness(mode)
    under, over, lim, attempted = case.setup(h)
    if case.rule in ("max_orders_per_second", "max_orders_per_minute", "max_open_orders"):
        # Counters: the order that reaches the limit passes, the next one is over it.
        h.node.submit(under)
        err = refused(h, over)
    else:
        err = refused(h, over)
        order = h.node.submit(under)
        assert order.id in h.node.orders
    assert err.reason == RejectReason.RISK_LIMIT
    assert err.rule == case.rule
    assert err.limit == lim
    assert err.attempted == attempted
    assert case.rule in err.message and "would make it" in err.message


def test_daily_loss_at_the_limit_passes_past_it_refuses_and_halts_the_account() -> None:
    h = Harness("bar")
    h.hold("GOOG", 10)  # bought at 100
    h.price("GOOG", "95")  # 10 x -5 = 50 lost
    h.limits(max_daily_loss=50)
    h.node.submit(limit("XOM", BUY, 1, "99"))  # loss == limit: not over it
    h.limits(max_daily_loss="49.99")
    err = refused(h, limit("XOM", BUY, 1, "99"))
    assert (err.rule, err.limit, err.attempted, err.reason) == ("max_daily_loss", D("49.99"), D(50), "RISK_LIMIT")
    halt = h.risk.halts.get("account", "main")
    assert halt is not None and halt.rule == "max_daily_loss" and halt.value == D(50)
    err = refused(h, limit("MSFT", BUY, 1, "99"))
    assert err.reason == RejectReason.HALTED
    # Closing the position is still allowed.
    h.node.submit(OrderRequest("GOOG", SELL, D(10), reduce_only=True))


@pytest.mark.parametrize("mode", MODES)
def test_drawdown_at_the_limit_passes_past_it_refuses(mode: str) -> None:
    h = Harness(mode)
    h.hold("GOOG", 20)
    peak = max(D(10000), h.equity())  # in paper mode the spread paid lowers equity below the starting 10,000
    h.price("GOOG", "90")  # 20 x -10 below the peak equity
    dd = (peak - h.equity()) * 100 / peak
    h.limits(max_drawdown_pct=dd)
    h.node.submit(limit("XOM", BUY, 1, "99"))
    h.limits(max_drawdown_pct=dd - D("0.01"))
    err = refused(h, limit("XOM", BUY, 1, "99"))
    assert (err.rule, err.attempted) == ("max_drawdown_pct", dd)


def test_tightest_scope_binds_and_the_message_names_it() -> None:
    h = Harness("bar")
    limits = (
        LimitSet()
        .with_limit("max_order_qty", 100)
        .with_limit("max_order_qty", 20, "symbol", "GOOG")
        .with_limit("max_order_qty", 7, "strategy", "s1")
        .with_limit("max_order_qty", 50, "account", "main")
    )
    h.risk.set_limits(limits)
    err = refused(h, limit("GOOG", BUY, 21, "99"))
    assert (err.limit, err.where) == (D(20), "symbol GOOG")
    assert "max_order_qty (symbol GOOG) is 20; this order would make it 21" in err.message
    err = refused(h, limit("GOOG", BUY, 8, "99", strategy="s1"))
    assert (err.limit, err.where) == (D(7), "strategy s1")
    h.node.submit(limit("MSFT", BUY, 50, "99"))  # the GOOG limit does not apply to MSFT
    err = refused(h, limit("MSFT", BUY, 51, "99"))
    assert err.where == "account main"


def test_reducing_orders_pass_limits_they_would_otherwise_break() -> None:
    h = Harness("bar")
    h.hold("GOOG", 30)
    h.limits(max_position_qty=10, max_concentration_pct=5, max_gross_exposure=100)
    refused(h, limit("GOOG", BUY, 1, "99"))
    h.node.submit(limit("GOOG", SELL, 5, "101"))  # still over every limit, but smaller


def test_a_canceled_working_order_stops_counting() -> None:
    h = Harness("bar")
    h.limits(max_position_qty=10, max_open_orders=1)
    first = h.node.submit(limit("GOOG", BUY, 10, "90"))
    err = refused(h, limit("GOOG", BUY, 1, "90"))
    assert err.rule == "max_open_orders"
    h.node.cancel(first.id)
    h.node.submit(limit("GOOG", BUY, 10, "90"))


def test_bracket_exit_legs_are_not_refused_by_position_limits() -> None:
    from alphintra.engine.commands import BracketRequest

    h = Harness("bar")
    h.limits(max_position_qty=5)
    entry, tp, sl = h.node.submit_bracket(BracketRequest(limit("GOOG", BUY, 5, "99"), D("110"), D("90")))
    assert {o.id for o in (entry, tp, sl)} <= set(h.node.orders)


def test_reference_price_can_be_the_quote_mid() -> None:
    from alphintra.engine.data import QuoteTick

    h = Harness("book")
    h.risk.price_reference = "mid"
    h.limits(price_band_pct=1)
    quote = QuoteTick("GOOG", h.clock.now_ns(), D("199"), D("201"))
    h.risk.on_quote(h.node, quote)  # the band is measured from 200, not from the last trade at 100
    h.node.submit(limit("GOOG", BUY, 1, "198"))
    err = refused(h, limit("GOOG", BUY, 1, "197.99"))
    assert err.attempted == D("1.005")


def test_statistics_are_built_from_bars() -> None:
    h = Harness("bar")
    h.risk.tracker = StatsTracker(window=10, adv_days=3)  # only the bars below
    day = 86_400 * NS_PER_SECOND
    start = h.clock.now_ns() + day
    closes = ["100", "101", "99", "102", "100", "103"]
    for i, close in enumerate(closes):
        for symbol, vol in (("GOOG", 1000), ("MSFT", 3000)):
            px = D(close) if symbol == "GOOG" else D(close) * 2
            bar = Bar(symbol, start + i * day, px, px, px, px, D(vol), start + i * day + 1)
            h.node.process_bar(bar)  # hands the bar to risk.on_bar
    stats = h.risk.tracker.stats()
    assert stats.adv["GOOG"] == D(1000) and stats.adv["MSFT"] == D(3000)
    assert stats.corr("GOOG", "MSFT") == pytest.approx(1.0)
    assert stats.volatility["GOOG"] == pytest.approx(stats.volatility["MSFT"])
    assert stats.volatility["GOOG"] > 0


def test_engine_rebuilds_working_orders_after_a_journal_replay() -> None:
    journal: list[dict[str, object]] = []

    class Sink:
        def append(self, record: dict[str, object]) -> int:
            journal.append(record)
            return len(journal)

    h = Harness("bar")
    h.node.journal = Sink()
    h.node.submit(limit("GOOG", BUY, 8, "90"))
    fresh = Harness("bar")
    replayed = TradingNode(
        instruments=fresh.reg,
        venue=fresh.node.venue,
        clock=fresh.clock,
        risk=RiskEngine(LimitSet.of(max_position_qty=10)),
    )
    replayed.replay([r for r in journal if str(r.get("type", "")).startswith("Order")])
    replayed.open_account("main", cash={"USD": D(10000)})
    replayed.last_prices["GOOG"] = D(100)
    with pytest.raises(RiskLimitError) as info:
        replayed.submit(limit("GOOG", BUY, 3, "90"))
    assert info.value.attempted == D(11)


def test_twap_child_orders_pass_the_same_checks() -> None:
    from alphintra.engine.algos import TwapRequest

    h = Harness("bar")
    h.limits(max_position_qty=10)
    minute = 60 * NS_PER_SECOND
    progress = h.node.submit_twap(TwapRequest("GOOG", BUY, D(23), duration_ns=5 * minute, slices=5))
    start = h.clock.now_ns()
    for i in range(1, 7):
        ts = start + i * minute
        bar = Bar("GOOG", ts, D(100), D(100), D(100), D(100), D(1_000_000), ts + 1)
        h.node.process_bar(bar)
        h.risk.on_bar(h.node, bar)
    children = h.node.algos.children(progress.algo_id)
    assert sum(c.filled_quantity for c in children) == D(8)  # the third slice (5) would have made the position 13
    pos = h.node.ledger.position("main", "GOOG")
    assert pos is not None and pos.quantity == D(8)
    done = h.node.algos.progress(progress.algo_id)
    assert (done.filled, done.slices_sent) == (D(8), 2)
