"""The pre-trade risk gate and the circuit breakers it drives: every order of the node passes :meth:`RiskEngine.check`.

The node calls ``check(node, init, instrument)`` for every order it creates (CLI, API, strategies, algorithm child
orders and bracket legs alike) before anything is recorded; a refusal raises :class:`RiskLimitError` (reason
``RISK_LIMIT`` or ``HALTED``) naming the rule, the limit, where it was set and the attempted value. The limits are
described in ``limits.py``; halts in ``breakers.py``.

Keeping the check cheap (a few microseconds with every limit on): the limits that apply to an
``(account, strategy, symbol)`` are resolved once (``limits.ResolvedLimits``); account figures (equity, session
PnL, drawdown, position values, gross/net/tag exposure, the volatility sum) are recomputed from the ledger only
after a fill or new prices (:meth:`RiskEngine.on_bar` / :meth:`on_price`), and the check adds the order's own
effect to them. Money limits compare exactly in ``Decimal``; volatility and correlation are float statistics.

What the checks measure (``px`` is the order's limit price, else its stop price, else the reference price):

* position limits use the worst case: the position plus every working order of the same side plus this one;
  orders that would take the measure over its limit are refused unless they reduce it (``|after| <= |before|``);
* account limits (exposure, leverage, concentration, correlation, volatility) use filled positions valued at the
  latest marks, the order's symbol valued at ``px``, plus this order; reducing orders always pass;
* the daily loss (realised + unrealised - fees since the session start, sessions being UTC days shifted by
  ``session_offset_ns``) and the drawdown from peak equity refuse every order but reducing ones once past their
  limit, and halt the account (the breaker); so does a reject/error rate and, for one symbol, a market move;
* statistics (volatility, correlation, average daily volume) come from :meth:`RiskEngine.set_stats` or from the
  bars the engine sees; a symbol without statistics is not constrained by the rules that need them.

A bracket's exit legs (its take-profit and stop-loss) only ever reduce their entry's position, so position and
account measures do not apply to them; order size, price band, rates and counts do. TWAP/VWAP child orders are
entries like any other and pass every check.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from alphintra.engine.core.enums import ContingencyType, OrderSide, OrderType, RejectReason
from alphintra.engine.core.events import (
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderRejected,
    OrderSubmitted,
)
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.orders import Order
from alphintra.engine.risk.breakers import CircuitBreakers, Halt, HaltBook, check_halt_scope
from alphintra.engine.risk.limits import (
    NS_PER_MINUTE,
    NS_PER_SECOND,
    Limit,
    LimitSet,
    ResolvedLimits,
    Scope,
    instrument_tags,
)
from alphintra.engine.risk.rejections import RiskLimitError, halted, over, position_over, unpriced
from alphintra.engine.risk.stats import NS_PER_DAY, MarketStats, StatsTracker
from alphintra.engine.risk.venues import VenueRisk

if TYPE_CHECKING:
    from alphintra.engine.data import Bar, QuoteTick
    from alphintra.engine.node import TradingNode
    from alphintra.engine.node_api import RiskControl

_log = logging.getLogger("alphintra.engine.risk")

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_INF = Decimal("Infinity")
_BUY = OrderSide.BUY
_BRACKET = ContingencyType.BRACKET
_SYSTEM = "risk-engine"


# -- per-account state ---------------------------------------------------------------------------------------


class _Account:
    """Figures of one account as of the last refresh, plus working-order tallies kept by the listener."""

    __slots__ = (
        "corr_other",
        "dirty",
        "drawdown_pct",
        "equity",
        "gen",
        "gross",
        "loss",
        "net",
        "open_buy",
        "open_sell",
        "peak",
        "pnl",
        "qty",
        "session",
        "session_base",
        "tag_gross",
        "values",
        "vol_sum",
    )

    def __init__(self) -> None:
        self.dirty = True
        self.gen = 0
        self.corr_other: dict[tuple[str, float], Decimal] = {}
        self.equity = _ZERO
        self.peak = _ZERO
        self.pnl: Decimal | None = None
        self.session: int | None = None
        self.session_base = _ZERO
        self.loss = _ZERO
        self.drawdown_pct = _ZERO
        self.qty: dict[str, Decimal] = {}
        self.values: dict[str, Decimal] = {}
        self.gross = _ZERO
        self.net = _ZERO
        self.tag_gross: dict[str, Decimal] = {}
        self.vol_sum = _ZERO
        self.open_buy: dict[str, Decimal] = {}
        self.open_sell: dict[str, Decimal] = {}


@dataclass(slots=True)
class _Working:
    account: str
    strategy: str | None
    symbol: str
    buy: bool
    leaves: Decimal
    tallied: bool  # counted in the position tallies (contingent exit legs are not)
    count_keys: tuple[tuple[Scope, str], ...]


# -- the engine ----------------------------------------------------------------------------------------------


# The events of every order's way to the venue: its tallies stay as OrderInitialized left them.
_KEEP_LEAVES = frozenset({OrderSubmitted, OrderAccepted})


class RiskEngine:
    """Pre-trade checks, live account figures and circuit breakers for one :class:`TradingNode`.

    Wiring: pass it as ``TradingNode(risk=...)``; it attaches itself (an order listener) on the first check, or
    call :meth:`attach` up front. Feed it prices with :meth:`on_bar` (after the node processed the bar),
    :meth:`on_price` and :meth:`on_quote`; strategy failures with :meth:`record_strategy_error`.
    ``on_halt(halt)`` / ``on_resume(halt, by, reason)`` let the daemon persist halts (``breakers.store_halt``).
    """

    def __init__(
        self,
        limits: LimitSet | None = None,
        *,
        halts: Iterable[Halt] = (),
        stats: MarketStats | None = None,
        price_reference: Literal["last", "mid"] = "last",
        session_offset_ns: int = 0,
        stats_window: int = 60,
        adv_days: int = 20,
        stats_every_ns: int = NS_PER_DAY,
        on_halt: Callable[[Halt], None] | None = None,
        on_resume: Callable[[Halt, str, str], None] | None = None,
    ) -> None:
        if price_reference not in ("last", "mid"):
            raise ValueError("price_reference must be last or mid")
        self.limits = limits or LimitSet()
        self.breakers = CircuitBreakers(self.limits, halts, on_halt=on_halt, on_resume=on_resume)
        self._book = self.breakers.book
        self._use_mid = price_reference == "mid"
        self.session_offset_ns = session_offset_ns
        self.stats = stats or MarketStats()
        self.tracker = StatsTracker(window=stats_window, adv_days=adv_days)
        self.stats_every_ns = stats_every_ns
        self._external_stats = stats is not None
        self._stats_due = 0
        self._node: TradingNode | None = None
        self._rules: dict[tuple[str, str | None, str], ResolvedLimits] = {}
        self._accounts: dict[str, _Account] = {}
        self._strategy_qty: dict[tuple[str, str, str], Decimal] = {}
        self._strategy_open: dict[tuple[str, str, str, bool], Decimal] = {}
        self._working: dict[str, _Working] = {}
        self._open_count: dict[tuple[Scope, str], int] = {}
        self._rate: dict[tuple[Scope, str, int], deque[int]] = {}
        self._mids: dict[str, Decimal] = {}
        self._corr_cache: dict[tuple[str, float], tuple[str, ...]] = {}
        self._venues = VenueRisk()  # per-venue and cross-venue limits (venues.py)
        self._refreshes = 0  # account refreshes so far: the venue sums are rebuilt when it moved
        self.breakers.strategy_positions = self._strategy_qty

    # -- configuration ---------------------------------------------------------------------------------------

    @property
    def price_reference(self) -> Literal["last", "mid"]:
        """What the price band is measured from: the last price, or the mid of the last quote (``on_quote``)."""
        return "mid" if self._use_mid else "last"

    @price_reference.setter
    def price_reference(self, value: Literal["last", "mid"]) -> None:
        if value not in ("last", "mid"):
            raise ValueError("price_reference must be last or mid")
        self._use_mid = value == "mid"

    def set_limits(self, limits: LimitSet) -> None:
        """Replace the limits (the daemon calls this after ``risk limits set``); takes effect on the next order."""
        self.limits = limits
        self.breakers.limits = limits
        self._rules.clear()

    def set_stats(self, stats: MarketStats) -> None:
        """Use these statistics (e.g. computed from stored market data) instead of the ones built from bars."""
        self.stats = stats
        self._external_stats = True
        self._stats_changed()

    def _stats_changed(self) -> None:
        self._corr_cache.clear()
        self._rules.clear()
        for acct in self._accounts.values():
            acct.dirty = True

    # -- wiring ----------------------------------------------------------------------------------------------

    def attach(self, node: TradingNode) -> None:
        """Listen to ``node``'s order events and take over its current state (working orders, strategy positions).

        Idempotent; called by the first :meth:`check` if not before. After a journal replay, call it again.
        """
        if self._node is not node:
            self._node = node
            node.listeners.append(self.on_order_event)
        self._venues.clear()
        self._rules.clear()
        self._working.clear()
        self._open_count.clear()
        self._strategy_qty.clear()
        self._strategy_open.clear()
        self._accounts.clear()
        for order in node.orders.values():
            if order.strategy is not None and order.filled_quantity:
                key = (order.account, order.strategy, order.symbol)
                signed = order.filled_quantity if order.side is _BUY else -order.filled_quantity
                self._strategy_qty[key] = self._strategy_qty.get(key, _ZERO) + signed
            if not order.is_terminal:
                self._add_working(order)
        for account in node.ledger.accounts():
            self._refresh(node, account)

    def on_order_event(self, order: Order, event: OrderEvent) -> None:
        """The node's listener: tallies of working orders, order rates, strategy positions and reject rates."""
        kind = type(event)
        if kind is OrderInitialized:
            now = event.ts
            w = self._add_working(order)
            for sc, sid in w.count_keys:  # the scopes of its rates are those of its open count: worked out once
                for window in (NS_PER_SECOND, NS_PER_MINUTE):
                    dq = self._rate.get((sc, sid, window))
                    if dq is None:
                        dq = self._rate[(sc, sid, window)] = deque()
                    dq.append(now)
                    while dq[0] <= now - window:
                        dq.popleft()
            key = (Scope.STRATEGY, order.strategy) if order.strategy is not None else (Scope.ACCOUNT, order.account)
            self.breakers.rejects.record(key, now, attempt=True, reject=False)
            return
        if kind in _KEEP_LEAVES:
            return  # on its way or working: neither ends the order nor changes what it still has to fill
        if kind is OrderFilled:
            assert isinstance(event, OrderFilled)
            acct = self._accounts.get(order.account)
            if acct is not None:
                acct.dirty = True
            if order.strategy is not None:
                skey = (order.account, order.strategy, order.symbol)
                signed = event.last_qty if order.side is _BUY else -event.last_qty
                self._strategy_qty[skey] = self._strategy_qty.get(skey, _ZERO) + signed
        elif kind is OrderRejected:
            key = (Scope.STRATEGY, order.strategy) if order.strategy is not None else (Scope.ACCOUNT, order.account)
            self.breakers.rejects.record(key, event.ts, attempt=False, reject=True)
            node = self._node
            if node is not None:
                rules = self._rules_for(order.account, order.strategy, order.symbol, None)
                self._reject_rate(node, rules, event.ts)
        self._sync_working(order)

    def _add_working(self, order: Order) -> _Working:
        known = self._working.get(order.id)
        if known is not None:
            return known
        w = _Working(
            order.account,
            order.strategy,
            order.symbol,
            order.side is _BUY,
            _ZERO,
            not _exit_leg(order),
            self._count_keys(order),
        )
        self._working[order.id] = w
        counts = self._open_count
        for key in w.count_keys:
            counts[key] = counts.get(key, 0) + 1
        self._move_leaves(w, order.leaves_quantity)
        return w

    def _count_keys(self, order: Order) -> tuple[tuple[Scope, str], ...]:
        """The scopes whose order counters (rates, open orders) count ``order``: its venue's among them."""
        keys = [(Scope.GLOBAL, "*"), (Scope.ACCOUNT, order.account), (Scope.SYMBOL, order.symbol)]
        if order.strategy is not None:
            keys.append((Scope.STRATEGY, order.strategy))
        if self._node is not None:
            keys.append((Scope.VENUE, self._venues.venue_of(self._node, order.symbol)))
        return tuple(keys)

    def _sync_working(self, order: Order) -> None:
        w = self._working.get(order.id)
        if w is None:
            return
        if order.is_terminal:
            self._move_leaves(w, _ZERO)
            del self._working[order.id]
            counts = self._open_count
            for key in w.count_keys:
                counts[key] -= 1
        elif order.leaves_quantity != w.leaves:
            self._move_leaves(w, order.leaves_quantity)

    def _move_leaves(self, w: _Working, leaves: Decimal) -> None:
        delta = leaves - w.leaves
        w.leaves = leaves
        if not w.tallied or not delta:
            return
        for book in (self._account(w.account), self._venues):  # the account's tallies, and every account's
            tally = book.open_buy if w.buy else book.open_sell
            tally[w.symbol] = tally.get(w.symbol, _ZERO) + delta
        if w.strategy is not None:
            key = (w.account, w.strategy, w.symbol, w.buy)
            self._strategy_open[key] = self._strategy_open.get(key, _ZERO) + delta

    def _account(self, account: str) -> _Account:
        acct = self._accounts.get(account)
        if acct is None:
            acct = self._accounts[account] = _Account()
        return acct

    def _rules_for(self, account: str, strategy: str | None, symbol: str, inst: Instrument | None) -> ResolvedLimits:
        key = (account, strategy, symbol)
        rules = self._rules.get(key)
        if rules is None:
            if inst is None and self._node is not None:
                inst = self._node.instruments.find(symbol)
            tags = instrument_tags(inst.tags) if inst is not None else ()
            node = self._node
            venue = None if node is None else self._venues.venue_of(node, symbol)
            rules = self._rules[key] = ResolvedLimits(self.limits, account, strategy, symbol, tags, venue)
            if node is not None:
                rules.venue = self._venues.resolve(self.limits, node, symbol)
                rules.account_level = rules.account_level or (rules.venue is not None and rules.venue.exposure)
            if rules.band_ticks is not None and inst is not None:
                rules.tick_dist = rules.band_ticks.value * inst.tick_size
            adv = self.stats.adv.get(symbol)
            if rules.adv is not None and adv is not None:
                rules.adv_cap = rules.adv.value * adv / _HUNDRED
            sigma = self.stats.volatility.get(symbol)
            if rules.vol is not None and sigma is not None:
                rules.sigma = Decimal(repr(sigma))
        return rules

    # -- the check -------------------------------------------------------------------------------------------

    def check(self, node: TradingNode, order: OrderInitialized, instrument: Instrument) -> None:
        """Refuse ``order`` (raise :class:`RiskLimitError`) if it breaks a halt or any limit; otherwise return."""
        if self._node is not node:
            if self.breakers.flattening:
                return
            self.attach(node)
        elif self.breakers.flattening:
            return
        account, strategy, symbol = order.account, order.strategy, order.symbol
        if self._book.any and not order.reduce_only:
            halt = self._book.covering(account, strategy, symbol)
            if halt is not None:
                self._refuse(node, None, order, halted(halt))
        rules = self._rules.get((account, strategy, symbol)) or self._rules_for(account, strategy, symbol, instrument)
        qty = order.quantity
        buy = order.side is _BUY
        price = order.price
        ref = self._mids.get(symbol) if self._use_mid else None
        if ref is None:
            ref = node.last_prices.get(symbol)
        px = price if price is not None else (order.stop_price or ref)

        # Order rate and count: each scope with a limit counts its own orders.
        if rules.rates:
            now = node.clock.now_ns()
            for key, cap, window in rules.rates:
                dq = self._rate.get(key)
                n = 1
                if dq is not None:
                    start = now - window
                    while dq and dq[0] <= start:
                        dq.popleft()
                    n += len(dq)
                if n > cap.value:
                    self._refuse(node, rules, order, over("rate", cap, Decimal(n)))
        for ckey, cap in rules.open_counts:
            n = self._open_count.get(ckey, 0) + 1
            if n > cap.value:
                self._refuse(node, rules, order, over("open_orders", cap, Decimal(n)))

        # The order itself.
        lim: Limit | None = rules.order_qty
        if lim is not None and qty > lim.value:
            self._refuse(node, rules, order, over("quantity", lim, qty))
        lim = rules.order_notional
        if lim is not None:
            if px is None:
                self._refuse(node, rules, order, unpriced(lim, symbol))
            if qty * px > lim.value:
                self._refuse(node, rules, order, over("notional", lim, qty * px))
        kind = order.order_type
        # Identity, not set membership: hashing an enum member runs Python code.
        if price is not None and ref is not None and (kind is OrderType.LIMIT or kind is OrderType.ICEBERG):
            dev = abs(price - ref)
            frac = rules.band_frac
            if frac is not None and dev > frac * ref:
                self._refuse(node, rules, order, over("price", rules.band_pct, dev * _HUNDRED / ref))  # type: ignore[arg-type]
            dist = rules.tick_dist
            if dist is not None and dev > dist:
                self._refuse(node, rules, order, over("price", rules.band_ticks, dev / instrument.tick_size))  # type: ignore[arg-type]
        cap_qty = rules.adv_cap
        if cap_qty is not None and qty > cap_qty:
            adv = self.stats.adv[symbol]
            self._refuse(node, rules, order, over("quantity", rules.adv, qty * _HUNDRED / adv if adv else _INF))  # type: ignore[arg-type]

        if order.parent_order_id is not None and order.contingency_type is _BRACKET:
            return  # a bracket's exit leg: it can only reduce its parent's position
        venue = rules.venue
        if venue is not None:  # sums over several accounts: every account must be fresh
            for name, fig in self._accounts.items():
                if fig.dirty:
                    self._refresh(node, name)
            error = self._venues.positions(node, self._accounts, order, venue, px, self._refreshes)
            if error is not None:
                self._refuse(node, rules, order, error)
        account_level = rules.account_level
        if not account_level and not rules.positions:
            return
        acct = self._accounts.get(account)
        if acct is None or acct.dirty:
            acct = self._refresh(node, account)
        q0 = acct.qty.get(symbol, _ZERO)
        signed = qty if buy else -qty

        # Position limits, worst case: the position plus every working order of the same side plus this one.
        if rules.pos_qty is not None or rules.pos_notional is not None:
            before = q0 + acct.open_buy.get(symbol, _ZERO) if buy else q0 - acct.open_sell.get(symbol, _ZERO)
            self._position(node, rules, order, rules.pos_qty, rules.pos_notional, before, before + signed, px)
        if strategy is not None and (rules.st_pos_qty is not None or rules.st_pos_notional is not None):
            sq = self._strategy_qty.get((account, strategy, symbol), _ZERO)
            open_same = self._strategy_open.get((account, strategy, symbol, buy), _ZERO)
            before = sq + open_same if buy else sq - open_same
            self._position(node, rules, order, rules.st_pos_qty, rules.st_pos_notional, before, before + signed, px)
        if not account_level:
            return

        reducing = order.reduce_only or (q0 != 0 and (q0 > 0) is not buy and qty <= abs(q0))
        lim = rules.daily_loss
        if lim is not None and acct.loss > lim.value and not reducing:
            self.breakers.trip(node, Scope.ACCOUNT, account, lim, acct.loss, "daily loss limit reached", _now(node))
            self._refuse(node, rules, order, over("pnl", lim, acct.loss))
        lim = rules.drawdown
        if lim is not None and acct.drawdown_pct > lim.value and not reducing:
            dd = acct.drawdown_pct
            self.breakers.trip(node, Scope.ACCOUNT, account, lim, dd, "drawdown limit reached", _now(node))
            self._refuse(node, rules, order, over("equity", lim, dd))
        if px is None or reducing:
            return  # reducing orders only lower what follows; an unpriced order is refused by the node if a buy
        v1 = (q0 + signed) * px
        va = abs(v1)
        if va <= abs(q0 * px):
            return
        if rules.caps_gen != acct.gen:
            self._caps(rules, acct)
        held_value = acct.values.get(symbol, _ZERO)
        held = abs(held_value)
        grow = va - held
        if venue is not None and venue.exposure:
            error = self._venues.exposure(venue, grow, held_value, v1, q0 * px)
            if error is not None:
                self._refuse(node, rules, order, error)
        lim = rules.gross
        gross_a = acct.gross + grow
        if lim is not None and gross_a > lim.value:
            self._refuse(node, rules, order, over("exposure", lim, gross_a))
        lim = rules.net
        if lim is not None:
            rest = acct.net - held_value
            net_a = abs(rest + v1)
            if net_a > lim.value and net_a > abs(rest + q0 * px):
                self._refuse(node, rules, order, over("exposure", lim, net_a))
        lim = rules.leverage
        if lim is not None and gross_a > rules.lev_cap:
            equity = acct.equity
            self._refuse(node, rules, order, over("leverage", lim, gross_a / equity if equity > 0 else _INF))
        lim = rules.concentration
        if lim is not None and va > rules.conc_cap:
            self._refuse(node, rules, order, over("concentration", lim, _pct(va, acct.equity)))
        for tag, cap, cap_value in rules.tag_caps:
            tagged = acct.tag_gross.get(tag, _ZERO) + grow
            if tagged > cap_value:
                self._refuse(node, rules, order, over("concentration", cap, _pct(tagged, acct.equity), tag))
        lim = rules.correlated
        if lim is not None:
            others = acct.corr_other.get((symbol, rules.corr_threshold))
            if others is None:
                others = self._corr_others(acct, symbol, rules.corr_threshold)
            if va + others > lim.value:
                group = ",".join((symbol, *self._correlated(symbol, rules.corr_threshold)))
                self._refuse(node, rules, order, over("exposure", lim, va + others, group))
        sigma = rules.sigma
        if sigma is not None:
            vol_a = acct.vol_sum + grow * sigma
            if vol_a > rules.vol_cap:
                attempted = _pct(vol_a, acct.equity)
                self._refuse(node, rules, order, over("volatility", rules.vol, attempted))  # type: ignore[arg-type]

    def _caps(self, rules: ResolvedLimits, acct: _Account) -> None:
        """Equity-relative thresholds of ``rules`` for the account's current equity (recomputed per refresh)."""
        equity = acct.equity
        if rules.leverage is not None:
            rules.lev_cap = rules.leverage.value * equity
        if rules.concentration is not None:
            rules.conc_cap = rules.concentration.value * equity / _HUNDRED
        if rules.vol is not None:
            rules.vol_cap = rules.vol.value * equity / _HUNDRED
        rules.tag_caps = tuple((tag, cap, cap.value * equity / _HUNDRED) for tag, cap in rules.tags)
        rules.caps_gen = acct.gen

    def _corr_others(self, acct: _Account, symbol: str, threshold: float) -> Decimal:
        total = _ZERO
        for other in self._correlated(symbol, threshold):
            total += abs(acct.values.get(other, _ZERO))
        acct.corr_other[(symbol, threshold)] = total
        return total

    def _position(
        self,
        node: TradingNode,
        rules: ResolvedLimits,
        order: OrderInitialized,
        qty_lim: Limit | None,
        notional_lim: Limit | None,
        before: Decimal,
        after: Decimal,
        px: Decimal | None,
    ) -> None:
        error = position_over(order.symbol, qty_lim, notional_lim, before, after, px)
        if error is not None:
            self._refuse(node, rules, order, error)

    def _correlated(self, symbol: str, threshold: float) -> tuple[str, ...]:
        key = (symbol, threshold)
        group = self._corr_cache.get(key)
        if group is None:
            universe = {s for pair in self.stats.correlation for s in pair}
            group = self._corr_cache[key] = self.stats.correlated(symbol, threshold, universe)
        return group

    def _refuse(
        self, node: TradingNode, rules: ResolvedLimits | None, order: OrderInitialized, error: RiskLimitError
    ) -> NoReturn:
        """Count the rejection towards the reject-rate breaker, then raise it."""
        if rules is None:
            rules = self._rules_for(order.account, order.strategy, order.symbol, None)
        now = node.clock.now_ns()
        self.breakers.rejects.record(rules.reject_key, now, attempt=True, reject=True)
        if error.reason != RejectReason.HALTED:
            self._reject_rate(node, rules, now)
        raise error

    # -- account figures -------------------------------------------------------------------------------------

    def _refresh(self, node: TradingNode, account: str) -> _Account:
        """Recompute the account's figures from the ledger and the latest prices (after fills or new prices)."""
        acct = self._account(account)
        ledger = node.ledger
        valuation = ledger.valuation(account)
        positions = ledger.positions(account)
        fees = sum((p.fees_paid for p in positions.values()), _ZERO)
        pnl = valuation.realised_pnl + valuation.unrealised_pnl - fees
        session = (node.clock.now_ns() - self.session_offset_ns) // NS_PER_DAY
        if acct.session is None:
            acct.session_base = pnl
        elif session != acct.session:
            # The previous refresh's PnL is the closest figure to the end of the last session.
            acct.session_base = acct.pnl if acct.pnl is not None else pnl
        acct.session = session
        acct.pnl = pnl
        acct.loss = acct.session_base - pnl
        equity = valuation.equity
        acct.equity = equity
        if equity > acct.peak:
            acct.peak = equity
        acct.drawdown_pct = (acct.peak - equity) * _HUNDRED / acct.peak if acct.peak > 0 else _ZERO
        last = node.last_prices
        qty: dict[str, Decimal] = {}
        values: dict[str, Decimal] = {}
        tag_gross: dict[str, Decimal] = {}
        gross = net = vol_sum = _ZERO
        vols = self.stats.volatility
        for symbol, pos in positions.items():
            if pos.quantity == 0:
                continue
            qty[symbol] = pos.quantity
            mark = last.get(symbol) or pos.mark
            if mark is None:
                continue
            value = pos.quantity * mark
            values[symbol] = value
            size = abs(value)
            gross += size
            net += value
            sigma = vols.get(symbol)
            if sigma is not None:
                vol_sum += size * Decimal(repr(sigma))
            inst = node.instruments.find(symbol)
            for tag in instrument_tags(inst.tags) if inst is not None else ():
                tag_gross[tag] = tag_gross.get(tag, _ZERO) + size
        acct.qty, acct.values, acct.tag_gross = qty, values, tag_gross
        acct.gross, acct.net, acct.vol_sum = gross, net, vol_sum
        acct.corr_other = {}
        acct.gen += 1
        self._refreshes += 1
        acct.dirty = False
        return acct

    def figures(self, node: TradingNode, account: str) -> dict[str, Any]:
        """The account's live risk figures (for the CLI/API, and to feed a ``ThresholdMonitor``)."""
        acct = self._refresh(node, account)
        equity = acct.equity
        return {
            "account": account,
            "equity": equity,
            "session_pnl": (acct.pnl or _ZERO) - acct.session_base,
            "daily_loss": acct.loss,
            "peak_equity": acct.peak,
            "drawdown_pct": acct.drawdown_pct,
            "gross_exposure": acct.gross,
            "net_exposure": acct.net,
            "leverage": acct.gross / equity if equity > 0 else None,
            "volatility_pct": _pct(acct.vol_sum, equity) if equity > 0 else None,
            "positions": dict(acct.qty),
            "open_orders": self._open_count.get((Scope.ACCOUNT, account), 0),
            "halted": [h.to_dict() for h in self.halts],
        }

    # -- market data and breakers ----------------------------------------------------------------------------

    def on_bar(self, node: TradingNode, bar: Bar) -> list[Halt]:
        """After the node processed ``bar``: statistics, market-move breaker, account figures and loss breakers."""
        if self._node is not node:
            self.attach(node)
        self.tracker.observe(bar)
        end = bar.close_ts or bar.ts
        if not self._external_stats and end >= self._stats_due:
            self.stats = self.tracker.stats()
            self._stats_changed()
            self._stats_due = end + self.stats_every_ns
        tripped: list[Halt] = []
        path = bar.path()
        for i, price in enumerate(path):
            halt = self.breakers.market_move(node, bar.symbol, price, bar.ts if i < len(path) - 1 else end)
            if halt is not None:
                tripped.append(halt)
        tripped.extend(self._evaluate_accounts(node, end))
        return tripped

    def on_price(self, node: TradingNode, symbol: str, price: Decimal, ts_ns: int) -> list[Halt]:
        """After a trade tick or a new mark: market-move breaker, account figures and loss breakers."""
        if self._node is not node:
            self.attach(node)
        tripped = []
        halt = self.breakers.market_move(node, symbol, price, ts_ns)
        if halt is not None:
            tripped.append(halt)
        tripped.extend(self._evaluate_accounts(node, ts_ns))
        return tripped

    def on_quote(self, node: TradingNode, quote: QuoteTick) -> list[Halt]:
        """A quote: its mid is the price-band reference when ``price_reference="mid"``."""
        mid = quote.mid
        self._mids[quote.symbol] = mid
        return self.on_price(node, quote.symbol, mid, quote.ts)

    def record_strategy_error(self, node: TradingNode, strategy: str, ts_ns: int | None = None) -> Halt | None:
        """A strategy raised: counts as a rejected attempt towards its reject/error-rate breaker."""
        now = node.clock.now_ns() if ts_ns is None else ts_ns
        key = (Scope.STRATEGY, strategy)
        self.breakers.rejects.record(key, now, attempt=True, reject=True)
        limits, account = self.limits, node.default_account
        window = int(limits.setting_or_default("reject_rate_window_s", account, strategy, "")) * NS_PER_SECOND
        minimum = int(limits.setting_or_default("reject_rate_min_orders", account, strategy, ""))
        pct = limits.setting("max_reject_rate_pct", account, strategy, "")
        return self.breakers.reject_rate(node, key, pct, window, minimum, now)

    def _reject_rate(self, node: TradingNode, rules: ResolvedLimits, now: int) -> None:
        if rules.reject_pct is not None:
            self.breakers.reject_rate(
                node, rules.reject_key, rules.reject_pct, rules.reject_window, rules.reject_min, now
            )

    def _evaluate_accounts(self, node: TradingNode, now: int) -> list[Halt]:
        tripped: list[Halt] = []
        limits = self.limits
        for account in node.ledger.accounts():
            loss_lim = limits.tightest("max_daily_loss", account, None, "")
            dd_lim = limits.tightest("max_drawdown_pct", account, None, "")
            acct = self._accounts.get(account)
            if loss_lim is None and dd_lim is None:
                if acct is not None:
                    acct.dirty = True  # recomputed lazily by the next check that needs it
                continue
            acct = self._refresh(node, account)
            if loss_lim is not None and acct.loss > loss_lim.value:
                halt = self.breakers.trip(
                    node, Scope.ACCOUNT, account, loss_lim, acct.loss, "daily loss limit reached", now
                )
                if halt is not None:
                    tripped.append(halt)
            if dd_lim is not None and acct.drawdown_pct > dd_lim.value:
                halt = self.breakers.trip(
                    node, Scope.ACCOUNT, account, dd_lim, acct.drawdown_pct, "drawdown limit reached", now
                )
                if halt is not None:
                    tripped.append(halt)
        return tripped

    # -- halts ---------------------------------------------------------------------------------------------

    @property
    def halts(self) -> HaltBook:
        return self.breakers.book

    def halt(
        self,
        node: TradingNode,
        scope: Scope | str = Scope.GLOBAL,
        scope_id: str = "*",
        *,
        by: str,
        reason: str,
        cancel_orders: bool = False,
        flatten: bool = False,
    ) -> Halt | None:
        """The kill switch: halt by hand (rule ``manual``); None when that scope was already halted."""
        sc, sid = check_halt_scope(scope, scope_id)
        halt = Halt(sc, sid, "manual", reason, by, node.clock.now_ns())
        return self.breakers.apply(node, halt, cancel_orders=cancel_orders, flatten=flatten)

    def resume(
        self, node: TradingNode, scope: Scope | str = Scope.GLOBAL, scope_id: str = "*", *, by: str, reason: str = ""
    ) -> Halt:
        """Lift a halt: the only way trading resumes after one."""
        return self.breakers.resume(node, scope, scope_id, by=by, reason=reason)


def _exit_leg(order: Order) -> bool:
    """A bracket's take-profit or stop-loss (an algorithm's child orders also have a parent, but are entries)."""
    return order.parent_order_id is not None and order.contingency_type is _BRACKET


def _now(node: TradingNode) -> int:
    return node.clock.now_ns()


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return part * _HUNDRED / whole if whole > 0 else _INF


if TYPE_CHECKING:

    def _declared(engine: RiskEngine) -> RiskControl:
        return engine  # mypy checks here that the risk engine implements every declared hook


# MarketStats and StatsTracker live in ``stats.py``; re-exported because callers import them from here.
__all__ = ["MarketStats", "RiskEngine", "RiskLimitError", "StatsTracker"]
