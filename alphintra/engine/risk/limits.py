"""Risk limits: the catalogue of names, a typed limit set keyed by scope, and how an order's limits are resolved.

A limit is ``(name, scope, scope_id) -> value`` with an exact non-negative ``Decimal`` value, e.g.
``max_order_notional`` for ``scope=symbol, scope_id=BTC/USDT``. Scopes are ``global`` (``scope_id = "*"``),
``account``, ``strategy``, ``symbol``, ``tag`` (a tag of the instrument: ``sector=tech`` for the
instrument tag ``{"sector": "tech"}``, or a plain tag such as ``crypto``) and ``venue`` (the venue's name: the
limit covers what trades there, see below). Each name lists the scopes it may be set in (:data:`LIMITS`).

How scopes combine depends on what a limit measures (:class:`Measure`):

* ``ORDER`` / ``ACCOUNT``: a ceiling; every matching scope applies, so the tightest one binds and a rejection names
  the scope it came from. A global cap therefore cannot be loosened per symbol: set per-symbol caps instead.
* ``POSITION``: ``global``/``account``/``symbol`` limits cap the account's position in the order's symbol; a
  ``strategy`` limit caps that strategy's own position in the symbol (positions are always per symbol).
* ``COUNTER`` (order rates, open orders): each scope counts its own orders (all orders, the account's, the
  strategy's, the symbol's, the venue's) against its own limit.
* ``TAG``: ``global``/``account`` limits apply to every tag group; a ``tag`` limit to its own group.
* ``SETTING`` (parameters of another rule, e.g. ``correlation_threshold``): the most specific scope wins
  (symbol, then strategy, then account, then global).
* ``TOTAL`` (``max_total_*``): the same underlying symbol on every venue counts as one. A ``symbol`` limit names the
  *native* symbol (``BTC/USDT``, never a venue's key ``BTC/USDT@a``) and caps the position summed over every
  venue's key of it and over every account, counting working orders of the same side as position limits do; a
  ``global`` one applies to each symbol alike. ``max_total_gross_exposure`` (global) is the sum of |position
  values| over every account on every venue, plus this order's effect; reducing orders always pass.

A ``venue`` limit (``scope_id`` = the venue's name, as in ``node.venue_for(key).name``) covers the orders whose
instrument trades on that venue, whichever account sends them (a symbol listed on several venues trades under one
key per venue, see ``engine/listings.py``):

* ``ORDER`` measures (order size and value, price bands, ``max_adv_pct``): a ceiling like the other scopes, for
  every order on the venue;
* ``COUNTER`` measures count every order on the venue, of all accounts, against the limit: what keeps the node
  inside a venue's own rate limit;
* ``POSITION`` measures cap the position in the order's instrument key (which trades only there) summed over the
  accounts on the venue, working orders of the same side included;
* ``ACCOUNT`` exposure measures (``max_gross_exposure``, ``max_net_exposure``) sum the positions held on the
  venue (its accounts') at the latest marks, in quote value, plus this order's effect; reducing orders pass.

Every comparison is "value > limit is refused": an order taking a measure exactly to its limit passes.

Halts are stored beside the limits under the reserved name :data:`HALT_NAME` (value 1), so that the limit history
(who, when, why) records halts and resumptions too; see ``breakers.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from alphintra.engine.core.errors import UnknownNameError, ValidationError
from alphintra.engine.listings import SEP

if TYPE_CHECKING:
    from alphintra.engine.risk.venues import VenueRules


class Scope(StrEnum):
    GLOBAL = "global"
    ACCOUNT = "account"
    STRATEGY = "strategy"
    SYMBOL = "symbol"
    TAG = "tag"
    VENUE = "venue"


class Measure(StrEnum):
    ORDER = "order"
    POSITION = "position"
    ACCOUNT = "account"
    COUNTER = "counter"
    TAG = "tag"
    SETTING = "setting"
    TOTAL = "total"


G, A, ST, SY, T, V = Scope.GLOBAL, Scope.ACCOUNT, Scope.STRATEGY, Scope.SYMBOL, Scope.TAG, Scope.VENUE
_ORDER_SCOPES = frozenset({G, A, ST, SY})
_VENUE_ORDER_SCOPES = _ORDER_SCOPES | {V}
_ACCOUNT_SCOPES = frozenset({G, A})
_TOTAL_SCOPES = frozenset({G, SY})


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One limit name: what it measures, its unit, the scopes it may be set in and whether it must be whole."""

    name: str
    measure: Measure
    unit: str
    scopes: frozenset[Scope]
    description: str
    integer: bool = False
    maximum: Decimal | None = None


def _spec(
    name: str,
    measure: Measure,
    unit: str,
    scopes: Iterable[Scope],
    description: str,
    *,
    integer: bool = False,
    maximum: str | None = None,
) -> LimitSpec:
    return LimitSpec(
        name, measure, unit, frozenset(scopes), description, integer, None if maximum is None else Decimal(maximum)
    )


_SPECS = (
    _spec("max_order_qty", Measure.ORDER, "quantity", _VENUE_ORDER_SCOPES, "largest order quantity"),
    _spec("max_order_notional", Measure.ORDER, "quote", _VENUE_ORDER_SCOPES, "largest order value (quantity x price)"),
    _spec("price_band_pct", Measure.ORDER, "%", _VENUE_ORDER_SCOPES, "limit price at most this % from the reference"),
    _spec(
        "price_band_ticks",
        Measure.ORDER,
        "ticks",
        _VENUE_ORDER_SCOPES,
        "limit price at most this many ticks away",
        integer=True,
    ),
    _spec(
        "max_position_qty",
        Measure.POSITION,
        "quantity",
        _VENUE_ORDER_SCOPES,
        "largest position in a symbol, counting working orders of the same side",
    ),
    _spec(
        "max_position_notional",
        Measure.POSITION,
        "quote",
        _VENUE_ORDER_SCOPES,
        "largest position value in a symbol, counting working orders of the same side",
    ),
    _spec("max_gross_exposure", Measure.ACCOUNT, "quote", _ACCOUNT_SCOPES | {V}, "sum of |position values|"),
    _spec("max_net_exposure", Measure.ACCOUNT, "quote", _ACCOUNT_SCOPES | {V}, "|sum of position values|"),
    _spec("max_leverage", Measure.ACCOUNT, "x", _ACCOUNT_SCOPES, "gross exposure / equity"),
    _spec(
        "max_daily_loss",
        Measure.ACCOUNT,
        "quote",
        _ACCOUNT_SCOPES,
        "loss since the session start (realised + unrealised - fees); a breach halts the account",
    ),
    _spec(
        "max_drawdown_pct",
        Measure.ACCOUNT,
        "%",
        _ACCOUNT_SCOPES,
        "fall of equity from its peak; a breach halts the account",
    ),
    _spec(
        "max_concentration_pct",
        Measure.ACCOUNT,
        "%",
        frozenset({G, A, SY}),
        "largest |position value| in one symbol as % of equity",
    ),
    _spec(
        "max_tag_concentration_pct",
        Measure.TAG,
        "%",
        frozenset({G, A, T}),
        "|position values| of the symbols sharing a tag, as % of equity",
    ),
    _spec(
        "max_correlated_exposure",
        Measure.ACCOUNT,
        "quote",
        _ACCOUNT_SCOPES,
        "sum of |position values| of the symbol and those correlated with it above correlation_threshold",
    ),
    _spec(
        "correlation_threshold",
        Measure.SETTING,
        "rho",
        _ACCOUNT_SCOPES,
        "correlation above which symbols count as one (default 0.7)",
        maximum="1",
    ),
    _spec(
        "max_volatility_pct",
        Measure.ACCOUNT,
        "%",
        _ACCOUNT_SCOPES,
        "position-weighted volatility: sum |value| x annualised vol / equity",
    ),
    _spec("max_adv_pct", Measure.ORDER, "%", _VENUE_ORDER_SCOPES, "order quantity as % of the average daily volume"),
    _spec(
        "max_orders_per_second",
        Measure.COUNTER,
        "orders",
        _VENUE_ORDER_SCOPES,
        "orders created per second",
        integer=True,
    ),
    _spec(
        "max_orders_per_minute",
        Measure.COUNTER,
        "orders",
        _VENUE_ORDER_SCOPES,
        "orders created per minute",
        integer=True,
    ),
    _spec("max_open_orders", Measure.COUNTER, "orders", _VENUE_ORDER_SCOPES, "working orders at a time", integer=True),
    _spec(
        "max_reject_rate_pct",
        Measure.SETTING,
        "%",
        _ORDER_SCOPES,
        "rejects and errors as % of orders in the window; a breach halts the strategy (or account)",
    ),
    _spec("reject_rate_window_s", Measure.SETTING, "s", _ORDER_SCOPES, "reject-rate window (default 60)", integer=True),
    _spec(
        "reject_rate_min_orders",
        Measure.SETTING,
        "orders",
        _ORDER_SCOPES,
        "orders needed in the window before the rate counts (default 10)",
        integer=True,
    ),
    _spec(
        "market_move_pct",
        Measure.SETTING,
        "%",
        frozenset({G, SY}),
        "a price move larger than this within market_move_minutes halts the symbol",
    ),
    _spec(
        "market_move_minutes",
        Measure.SETTING,
        "min",
        frozenset({G, SY}),
        "window of the market-move breaker (default 5)",
        integer=True,
    ),
    _spec(
        "halt_cancel_orders",
        Measure.SETTING,
        "flag",
        _ACCOUNT_SCOPES,
        "1: a breaker halt also cancels the working orders it covers",
        integer=True,
        maximum="1",
    ),
    _spec(
        "max_total_position_qty",
        Measure.TOTAL,
        "quantity",
        _TOTAL_SCOPES,
        "largest position in a symbol summed over every venue and account, counting working orders of the same side",
    ),
    _spec(
        "max_total_position_notional",
        Measure.TOTAL,
        "quote",
        _TOTAL_SCOPES,
        "largest position value in a symbol summed over every venue and account, counting working orders",
    ),
    _spec(
        "max_total_gross_exposure",
        Measure.TOTAL,
        "quote",
        frozenset({G}),
        "sum of |position values| over every account on every venue",
    ),
    _spec(
        "halt_flatten",
        Measure.SETTING,
        "flag",
        _ACCOUNT_SCOPES,
        "1: a breaker halt also closes the positions it covers",
        integer=True,
        maximum="1",
    ),
)

LIMITS: Mapping[str, LimitSpec] = MappingProxyType({s.name: s for s in _SPECS})
HALT_NAME = "trading_halt"
"""The reserved limit name under which halts are stored (value 1 while halted)."""

DEFAULTS: Mapping[str, Decimal] = MappingProxyType(
    {
        "correlation_threshold": Decimal("0.7"),
        "reject_rate_window_s": Decimal(60),
        "reject_rate_min_orders": Decimal(10),
        "market_move_minutes": Decimal(5),
        "halt_cancel_orders": Decimal(0),
        "halt_flatten": Decimal(0),
    }
)

# Most specific first: the order in which a SETTING is looked up, and how a tie between equal ceilings is named.
_SPECIFICITY = (SY, T, ST, A, V, G)
_TAG_RE = re.compile(r"^\S+$")


def spec(name: str) -> LimitSpec:
    found = LIMITS.get(name)
    if found is None:
        raise UnknownNameError(f"no risk limit named {name!r}", detail="known: " + ", ".join(sorted(LIMITS)))
    return found


def parse_value(name: str, value: object) -> Decimal:
    """A limit value typed by a person (text, int or Decimal; not float) checked against the name's rules."""
    s = spec(name)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise ValidationError(name, "must be a decimal number", value) from None
    else:
        raise ValidationError(name, "must be a decimal number (text, int or Decimal)", value)
    if not number.is_finite() or number < 0:
        raise ValidationError(name, "must be a finite number >= 0", value)
    if s.integer and number != number.to_integral_value():
        raise ValidationError(name, "must be a whole number", value)
    if s.maximum is not None and number > s.maximum:
        raise ValidationError(name, f"must be <= {s.maximum}", value)
    return number


def check_scope(name: str, scope: Scope | str, scope_id: str) -> tuple[Scope, str]:
    """Validate where a limit is set: the scope must be allowed for the name and the id must fit the scope."""
    try:
        sc = Scope(str(scope).strip().lower())
    except ValueError:
        raise ValidationError("scope", f"must be one of {', '.join(s.value for s in Scope)}", scope) from None
    allowed = spec(name).scopes
    if sc not in allowed:
        where = ", ".join(s.value for s in Scope if s in allowed)
        raise ValidationError("scope", f"{name} can be set for: {where}", sc.value)
    sid = scope_id.strip() if isinstance(scope_id, str) else ""
    if sc is G:
        if sid not in ("", "*"):
            raise ValidationError("scope_id", "must be * for the global scope", scope_id)
        return sc, "*"
    if not sid or sid == "*":
        raise ValidationError("scope_id", f"must name the {sc.value}", scope_id)
    if sc is T and not _TAG_RE.match(sid):
        raise ValidationError("scope_id", "a tag has no spaces, e.g. tech or sector=tech", scope_id)
    if sc is V and SEP in sid:
        raise ValidationError("scope_id", f"a venue's name holds no {SEP!r}", scope_id)
    if sc is SY and SEP in sid and spec(name).measure is Measure.TOTAL:
        native = sid.rpartition(SEP)[0]
        raise ValidationError("scope_id", f"{name} counts every venue: name the native symbol ({native})", scope_id)
    return sc, sid


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    value: Decimal
    scope: Scope = G
    scope_id: str = "*"

    @property
    def where(self) -> str:
        return "global" if self.scope is G else f"{self.scope.value} {self.scope_id}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scope": self.scope.value, "scope_id": self.scope_id, "value": str(self.value)}


class LimitSet:
    """An immutable set of limits keyed by ``(name, scope, scope_id)``; ``with_limit``/``without`` copy."""

    __slots__ = ("_items",)

    def __init__(self, limits: Iterable[Limit] = ()) -> None:
        items: dict[tuple[str, Scope, str], Limit] = {}
        for lim in limits:
            sc, sid = check_scope(lim.name, lim.scope, lim.scope_id)
            value = parse_value(lim.name, lim.value)
            items[(lim.name, sc, sid)] = Limit(lim.name, value, sc, sid)
        self._items = items

    @classmethod
    def of(cls, **global_limits: Decimal | int | str) -> LimitSet:
        """Global limits by keyword: ``LimitSet.of(max_order_qty=10, price_band_pct="5")``."""
        return cls(Limit(name, parse_value(name, value)) for name, value in global_limits.items())

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> LimitSet:
        """From stored rows (anything with ``name``, ``scope``, ``scope_id`` and ``value``); halts are skipped."""
        return cls(Limit(r.name, Decimal(r.value), Scope(r.scope), r.scope_id) for r in rows if r.name != HALT_NAME)

    def with_limit(
        self, name: str, value: Decimal | int | str | None, scope: Scope | str = G, scope_id: str = "*"
    ) -> LimitSet:
        """A copy with the limit set (or removed, when ``value`` is None)."""
        sc, sid = check_scope(name, scope, scope_id)
        items = [lim for key, lim in self._items.items() if key != (name, sc, sid)]
        if value is not None:
            items.append(Limit(name, parse_value(name, value), sc, sid))
        return LimitSet(items)

    def get(self, name: str, scope: Scope | str = G, scope_id: str = "*") -> Decimal | None:
        sc, sid = check_scope(name, scope, scope_id)
        lim = self._items.get((name, sc, sid))
        return None if lim is None else lim.value

    def __iter__(self) -> Iterator[Limit]:
        return iter(sorted(self._items.values(), key=lambda x: (x.scope.value, x.scope_id, x.name)))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LimitSet) and self._items == other._items

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"LimitSet({list(self)!r})"

    def names(self) -> frozenset[str]:
        return frozenset(key[0] for key in self._items)

    def to_list(self) -> list[dict[str, Any]]:
        return [lim.to_dict() for lim in self]

    # -- resolution --------------------------------------------------------------------------------------------

    def matching(
        self, name: str, account: str, strategy: str | None, symbol: str, venue: str | None = None
    ) -> list[Limit]:
        """Every limit of ``name`` that applies to an order of ``account``/``strategy``/``symbol`` (tags aside),
        and of ``venue`` when given."""
        items = self._items
        keys = [(name, G, "*"), (name, A, account), (name, SY, symbol)]
        if strategy is not None:
            keys.append((name, ST, strategy))
        if venue is not None:
            keys.append((name, V, venue))
        return [items[k] for k in keys if k in items]

    def tightest(
        self, name: str, account: str, strategy: str | None, symbol: str, venue: str | None = None
    ) -> Limit | None:
        """The binding ceiling: the smallest matching value (the most specific scope on a tie)."""
        found = self.matching(name, account, strategy, symbol, venue)
        if not found:
            return None
        rank = {sc: i for i, sc in enumerate(_SPECIFICITY)}
        return min(found, key=lambda lim: (lim.value, rank[lim.scope]))

    def setting(self, name: str, account: str, strategy: str | None, symbol: str) -> Decimal | None:
        """A SETTING: the most specific scope's value, else the default (None when neither exists)."""
        items = self._items
        for sc, sid in ((SY, symbol), (ST, strategy), (A, account), (G, "*")):
            if sid is None:
                continue
            lim = items.get((name, sc, sid))
            if lim is not None:
                return lim.value
        return DEFAULTS.get(name)

    def setting_or_default(self, name: str, account: str, strategy: str | None, symbol: str) -> Decimal:
        """A SETTING that has a default (``DEFAULTS``): never None."""
        value = self.setting(name, account, strategy, symbol)
        return DEFAULTS[name] if value is None else value

    def by_tag(self, name: str) -> dict[str, Limit]:
        """Tag-scoped limits of ``name`` by tag (``key=value``)."""
        return {k[2]: lim for k, lim in self._items.items() if k[0] == name and k[1] is T}


def fmt(value: Decimal | None) -> str:
    """A limit or measured value for a message: no exponent, no trailing zeros; None as "-"."""
    if value is None:
        return "-"
    if not value.is_finite():
        return "unbounded"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND


def longest_reject_window_ns(limits: LimitSet) -> int:
    """The longest reject-rate window any scope of ``limits`` measures (its default when none is set longer)."""
    longest = DEFAULTS["reject_rate_window_s"]
    for lim in limits:
        if lim.name == "reject_rate_window_s" and lim.value > longest:
            longest = lim.value
    return int(longest) * NS_PER_SECOND


RateKey = tuple[Scope, str, int]
CountKey = tuple[Scope, str]


class ResolvedLimits:
    """The limits that apply to one ``(account, strategy, symbol)`` (with the symbol's tags), resolved once so
    that the pre-trade check only reads attributes; ``None`` means the rule is off."""

    __slots__ = (
        "account_level",
        "adv",
        "adv_cap",
        "band_frac",
        "band_pct",
        "band_ticks",
        "caps_gen",
        "conc_cap",
        "concentration",
        "corr_threshold",
        "correlated",
        "daily_loss",
        "drawdown",
        "gross",
        "lev_cap",
        "leverage",
        "net",
        "open_counts",
        "order_notional",
        "order_qty",
        "pos_notional",
        "pos_qty",
        "positions",
        "rates",
        "reject_key",
        "reject_min",
        "reject_pct",
        "reject_window",
        "sigma",
        "st_pos_notional",
        "st_pos_qty",
        "tag_caps",
        "tags",
        "tick_dist",
        "venue",
        "vol",
        "vol_cap",
    )

    def __init__(
        self,
        limits: LimitSet,
        account: str,
        strategy: str | None,
        symbol: str,
        tags: Iterable[str] = (),
        venue: str | None = None,
    ) -> None:
        def t(name: str, sym: str = "", strat: str | None = None, ven: str | None = None) -> Limit | None:
            return limits.tightest(name, account, strat, sym, ven)

        def own(name: str) -> Limit | None:
            found = [x for x in limits.matching(name, account, strategy, symbol) if x.scope is ST]
            return found[0] if found else None

        self.order_qty = t("max_order_qty", symbol, strategy, venue)
        self.order_notional = t("max_order_notional", symbol, strategy, venue)
        self.band_pct = t("price_band_pct", symbol, strategy, venue)
        self.band_ticks = t("price_band_ticks", symbol, strategy, venue)
        # Thresholds in the order's own units, filled in by the engine (they depend on the instrument, the market
        # statistics and the account's equity): a check then compares instead of computing.
        self.band_frac = None if self.band_pct is None else self.band_pct.value / 100
        self.tick_dist: Decimal | None = None
        self.adv_cap: Decimal | None = None
        self.caps_gen = -1
        self.lev_cap = self.conc_cap = Decimal(0)
        self.vol_cap = Decimal(0)
        self.sigma: Decimal | None = None
        self.tag_caps: tuple[tuple[str, Limit, Decimal], ...] = ()
        self.adv = t("max_adv_pct", symbol, strategy, venue)
        # Position limits: the account's position (global/account/symbol) and the strategy's own (strategy).
        self.pos_qty = t("max_position_qty", symbol)
        self.pos_notional = t("max_position_notional", symbol)
        self.st_pos_qty = own("max_position_qty")
        self.st_pos_notional = own("max_position_notional")
        self.positions = any(
            x is not None for x in (self.pos_qty, self.pos_notional, self.st_pos_qty, self.st_pos_notional)
        )
        self.gross = t("max_gross_exposure")
        self.net = t("max_net_exposure")
        self.leverage = t("max_leverage")
        self.daily_loss = t("max_daily_loss")
        self.drawdown = t("max_drawdown_pct")
        self.concentration = t("max_concentration_pct", symbol)
        self.correlated = t("max_correlated_exposure")
        self.corr_threshold = float(limits.setting_or_default("correlation_threshold", account, None, ""))
        self.vol = t("max_volatility_pct")
        general = t("max_tag_concentration_pct")
        by_tag = limits.by_tag("max_tag_concentration_pct")
        tag_limits: list[tuple[str, Limit]] = []
        for tag in tags:
            candidates = [x for x in (general, by_tag.get(tag)) if x is not None]
            if candidates:
                tag_limits.append((tag, min(candidates, key=lambda x: x.value)))
        self.tags = tuple(tag_limits)
        account_rules = (self.gross, self.net, self.leverage, self.concentration, self.correlated, self.vol)
        self.account_level = (
            any(x is not None for x in account_rules)
            or bool(self.tags)
            or self.daily_loss is not None
            or self.drawdown is not None
        )
        rates: list[tuple[RateKey, Limit, int]] = []
        for name, window in (("max_orders_per_second", NS_PER_SECOND), ("max_orders_per_minute", NS_PER_MINUTE)):
            for lim in limits.matching(name, account, strategy, symbol, venue):
                rates.append(((lim.scope, lim.scope_id, window), lim, window))
        self.rates = tuple(rates)
        self.open_counts: tuple[tuple[CountKey, Limit], ...] = tuple(
            ((lim.scope, lim.scope_id), lim)
            for lim in limits.matching("max_open_orders", account, strategy, symbol, venue)
        )
        self.reject_key: CountKey = (ST, strategy) if strategy is not None else (A, account)
        self.reject_pct = limits.setting("max_reject_rate_pct", account, strategy, symbol)
        window_s = limits.setting_or_default("reject_rate_window_s", account, strategy, symbol)
        self.reject_window = int(window_s) * NS_PER_SECOND
        self.reject_min = int(limits.setting_or_default("reject_rate_min_orders", account, strategy, symbol))
        # The venue's position and exposure limits and the totals across venues (``venues.VenueRules``), or None.
        self.venue: VenueRules | None = None


class RiskLimitStore(Protocol):
    """What is used of the trading state store (``alphintra.storage.state.StateStore`` fits)."""

    def list_risk_limits(self, *, scope: str | None = None, scope_id: str | None = None) -> list[Any]: ...

    def set_risk_limit(
        self,
        name: str,
        value: Decimal | int | str | None,
        *,
        changed_by: str,
        scope: str = "global",
        scope_id: str = "*",
        reason: str | None = None,
        at: Any = None,
    ) -> Any: ...


def load_limits(store: RiskLimitStore) -> LimitSet:
    """The stored limits (the engine reads them at start; names the catalogue no longer knows are skipped)."""
    rows = [r for r in store.list_risk_limits() if r.name in LIMITS]
    return LimitSet.from_rows(rows)


def set_limit(
    store: RiskLimitStore,
    name: str,
    value: Decimal | int | str | None,
    *,
    changed_by: str,
    scope: Scope | str = G,
    scope_id: str = "*",
    reason: str | None = None,
    at: int | None = None,
) -> Limit | None:
    """Validate and store one limit (None removes it); the store keeps the history of who changed what, when."""
    sc, sid = check_scope(name, scope, scope_id)
    parsed = None if value is None else parse_value(name, value)
    store.set_risk_limit(name, parsed, changed_by=changed_by, scope=sc.value, scope_id=sid, reason=reason, at=at)
    return None if parsed is None else Limit(name, parsed, sc, sid)


def save_limits(
    store: RiskLimitStore, limits: LimitSet, *, changed_by: str, reason: str | None = None, at: int | None = None
) -> int:
    """Make the store hold exactly ``limits`` (halts untouched); returns how many limits changed."""
    stored = load_limits(store)
    wanted = {(lim.name, lim.scope, lim.scope_id): lim.value for lim in limits}
    have = {(lim.name, lim.scope, lim.scope_id): lim.value for lim in stored}
    changes = 0
    for key in sorted(set(wanted) | set(have), key=lambda k: (k[1].value, k[2], k[0])):
        if wanted.get(key) == have.get(key):
            continue
        name, sc, sid = key
        set_limit(store, name, wanted.get(key), changed_by=changed_by, scope=sc, scope_id=sid, reason=reason, at=at)
        changes += 1
    return changes


def instrument_tags(tags: Mapping[str, str] | Iterable[str] | None) -> tuple[str, ...]:
    """An instrument's tags as group names (the ids of tag-scoped limits): ``{"sector": "tech"}`` gives
    ``sector=tech``, an entry with an empty value or a plain list entry gives the tag itself (``tech``)."""
    if tags is None:
        return ()
    if isinstance(tags, Mapping):
        return tuple(sorted(f"{k}={v}" if v else str(k) for k, v in tags.items()))
    return tuple(sorted(str(t) for t in tags))


__all__ = [
    "DEFAULTS",
    "HALT_NAME",
    "LIMITS",
    "NS_PER_MINUTE",
    "NS_PER_SECOND",
    "Limit",
    "LimitSet",
    "LimitSpec",
    "Measure",
    "ResolvedLimits",
    "RiskLimitStore",
    "Scope",
    "check_scope",
    "fmt",
    "instrument_tags",
    "load_limits",
    "parse_value",
    "save_limits",
    "set_limit",
    "spec",
]
