"""What the TUI shows, parsed once from the daemon's JSON into frozen records with exact decimals.

The daemon sends money as decimal strings (docs/api.md); these records keep it as ``Decimal`` so that the order form's
checks and the PnL columns never round through float. Parsing is lenient about missing optional fields (an older
daemon may not send them) but strict about the ones a panel cannot do without: those raise ``ValidationError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from alphintra.errors import ValidationError
from alphintra.formatting import ns_from_iso

OPEN_STATUSES = frozenset({"NEW", "PENDING_SUBMIT", "ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL", "TRIGGERED"})


def dec(value: Any, name: str = "value") -> Decimal:
    """A required decimal; the daemon sends strings, recorded data may hold ints."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValidationError(name, "must be a decimal", value)
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(name, "must be a decimal", value) from None
    if not out.is_finite():
        raise ValidationError(name, "must be finite", value)
    return out


def opt_dec(value: Any, name: str = "value") -> Decimal | None:
    return None if value is None or value == "" else dec(value, name)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(key, "must be a non-empty string", value)
    return value


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(key, "must be an integer", value)
    return int(value)


def _time(data: Mapping[str, Any], key: str) -> int:
    """An API time (ISO-8601 UTC text, docs/api.md) as engine nanoseconds; 0 when absent."""
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(key, "must be an ISO-8601 time", value)
    try:
        return ns_from_iso(value) or 0
    except ValueError:
        raise ValidationError(key, "must be an ISO-8601 time", value) from None


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    maker_fee: Decimal
    taker_fee: Decimal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Instrument:
        return cls(
            symbol=_text(data, "symbol"),
            base=str(data.get("base") or ""),
            quote=str(data.get("quote") or ""),
            tick_size=dec(data.get("tick_size"), "tick_size"),
            lot_size=dec(data.get("lot_size"), "lot_size"),
            min_qty=dec(data.get("min_qty") or data.get("lot_size"), "min_qty"),
            min_notional=dec(data.get("min_notional") or 0, "min_notional"),
            maker_fee=dec(data.get("maker_fee") or 0, "maker_fee"),
            taker_fee=dec(data.get("taker_fee") or 0, "taker_fee"),
        )


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    last: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    change_pct: float
    volume: Decimal
    ts: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Ticker:
        change = data.get("change_pct") or 0.0
        return cls(
            symbol=_text(data, "symbol"),
            last=opt_dec(data.get("last"), "last"),
            bid=opt_dec(data.get("bid"), "bid"),
            ask=opt_dec(data.get("ask"), "ask"),
            change_pct=float(change),
            volume=opt_dec(data.get("volume"), "volume") or Decimal(0),
            ts=_time(data, "ts"),
        )


Level = tuple[Decimal, Decimal, int]


def _levels(raw: Any, name: str) -> tuple[Level, ...]:
    if not isinstance(raw, Sequence):
        raise ValidationError(name, "must be a list of [price, quantity, orders]", raw)
    out = []
    for item in raw:
        if not isinstance(item, Sequence) or len(item) < 2:
            raise ValidationError(name, "must be a list of [price, quantity, orders]", item)
        orders = int(item[2]) if len(item) > 2 and item[2] is not None else 0
        out.append((dec(item[0], name), dec(item[1], name), orders))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Book:
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: int
    venue: str | None = None  # where the symbol trades (an exchange's book is its own, streamed by its feed)

    # A consolidated book (several venues' books merged): each level's venue; its price is the all-in price.
    bid_venues: tuple[str, ...] = ()
    ask_venues: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Book:
        if "venues" in data:
            return cls.from_consolidated(data)
        venue = data.get("venue")
        return cls(
            symbol=_text(data, "symbol"),
            bids=_levels(data.get("bids", []), "bids"),
            asks=_levels(data.get("asks", []), "asks"),
            ts=_time(data, "ts"),
            venue=None if venue is None else str(venue),
        )

    @classmethod
    def from_consolidated(cls, data: Mapping[str, Any]) -> Book:
        """``GET /market-data/consolidated``: levels of {venue, price, quantity, all_in}, shown at the all-in price."""
        sides: dict[str, list[Mapping[str, Any]]] = {}
        for name in ("bids", "asks"):
            raw = data.get(name, [])
            if not isinstance(raw, Sequence) or not all(isinstance(x, Mapping) for x in raw):
                raise ValidationError(name, "must be a list of {venue, price, quantity, all_in}", raw)
            sides[name] = list(raw)
        return cls(
            symbol=_text(data, "symbol"),
            bids=tuple((dec(x["all_in"], "bids"), dec(x["quantity"], "bids"), 0) for x in sides["bids"]),
            asks=tuple((dec(x["all_in"], "asks"), dec(x["quantity"], "asks"), 0) for x in sides["asks"]),
            ts=_time(data, "ts"),
            bid_venues=tuple(str(x["venue"]) for x in sides["bids"]),
            ask_venues=tuple(str(x["venue"]) for x in sides["asks"]),
        )

    @property
    def spread(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return self.asks[0][0] - self.bids[0][0]


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    status: str
    filled_quantity: Decimal
    average_price: Decimal | None
    created_at: int
    updated_at: int
    strategy: str | None = None
    reject_reason: str | None = None
    linked_order_ids: tuple[str, ...] = ()
    venue: str | None = None  # the venue the order's instrument trades on (several venues in one engine)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Order:
        return cls(
            id=_text(data, "id"),
            symbol=_text(data, "symbol"),
            side=_text(data, "side"),
            order_type=str(data.get("order_type") or data.get("type") or "MARKET"),
            quantity=dec(data.get("quantity"), "quantity"),
            price=opt_dec(data.get("price"), "price"),
            stop_price=opt_dec(data.get("stop_price"), "stop_price"),
            time_in_force=str(data.get("time_in_force") or "GTC"),
            status=_text(data, "status"),
            filled_quantity=opt_dec(data.get("filled_quantity"), "filled_quantity") or Decimal(0),
            average_price=opt_dec(data.get("average_price"), "average_price"),
            created_at=_time(data, "created_at"),
            updated_at=_time(data, "updated_at"),
            strategy=data.get("strategy"),
            reject_reason=data.get("reject_reason"),
            linked_order_ids=tuple(data.get("linked_order_ids") or ()),
            venue=data.get("venue"),
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class Fill:
    id: str
    order_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    timestamp: int
    strategy: str | None = None
    liquidity: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Fill:
        return cls(
            id=_text(data, "id"),
            order_id=str(data.get("order_id") or ""),
            symbol=_text(data, "symbol"),
            side=_text(data, "side"),
            quantity=dec(data.get("quantity"), "quantity"),
            price=dec(data.get("price"), "price"),
            fee=opt_dec(data.get("fee"), "fee") or Decimal(0),
            fee_asset=str(data.get("fee_asset") or ""),
            timestamp=_time(data, "timestamp"),
            strategy=data.get("strategy"),
            liquidity=str(data.get("trade_type") or ""),
        )


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    quantity: Decimal
    average_price: Decimal | None
    mark: Decimal | None
    market_value: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Position:
        return cls(
            symbol=_text(data, "symbol"),
            quantity=dec(data.get("quantity"), "quantity"),
            average_price=opt_dec(data.get("average_price"), "average_price"),
            mark=opt_dec(data.get("mark"), "mark"),
            market_value=opt_dec(data.get("market_value"), "market_value") or Decimal(0),
            unrealised_pnl=opt_dec(data.get("unrealised_pnl"), "unrealised_pnl") or Decimal(0),
            realised_pnl=opt_dec(data.get("realised_pnl"), "realised_pnl") or Decimal(0),
        )


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    total: Decimal
    available: Decimal
    locked: Decimal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Balance:
        return cls(
            asset=_text(data, "asset"),
            total=dec(data.get("total"), "total"),
            available=dec(data.get("available"), "available"),
            locked=opt_dec(data.get("locked"), "locked") or Decimal(0),
        )


@dataclass(frozen=True, slots=True)
class Portfolio:
    currency: str
    cash: Decimal
    equity: Decimal
    positions_value: Decimal
    exposure: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Portfolio:
        zero = Decimal(0)
        return cls(
            currency=str(data.get("currency") or ""),
            cash=opt_dec(data.get("cash"), "cash") or zero,
            equity=opt_dec(data.get("equity"), "equity") or zero,
            positions_value=opt_dec(data.get("positions_value"), "positions_value") or zero,
            exposure=opt_dec(data.get("exposure"), "exposure") or zero,
            unrealised_pnl=opt_dec(data.get("unrealised_pnl"), "unrealised_pnl") or zero,
            realised_pnl=opt_dec(data.get("realised_pnl"), "realised_pnl") or zero,
        )


@dataclass(frozen=True, slots=True)
class Strategy:
    id: int
    name: str
    strategy: str
    symbols: tuple[str, ...]
    params: Mapping[str, Any]
    status: str
    running: bool
    error: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Strategy:
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValidationError("params", "must be an object", params)
        return cls(
            id=_int(data, "id"),
            name=_text(data, "name"),
            strategy=str(data.get("strategy") or data.get("strategy_type") or ""),
            symbols=tuple(data.get("symbols") or ()),
            params=dict(params),
            status=str(data.get("status") or ""),
            running=bool(data.get("running")),
            error=data.get("error"),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    time: int
    severity: str
    rule: str
    message: str
    acknowledged: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Alert:
        return cls(
            id=_int(data, "id"),
            time=_time(data, "time"),
            severity=str(data.get("severity") or "INFO"),
            rule=str(data.get("rule") or ""),
            message=str(data.get("message") or ""),
            acknowledged=bool(data.get("acknowledged")),
        )


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """One watched risk figure against its breach level (the risk screen's usage bars)."""

    metric: str
    value: Decimal
    breach: Decimal
    warning: Decimal | None

    @property
    def fraction(self) -> float:
        if self.breach <= 0:
            return 0.0
        return float(self.value / self.breach)


@dataclass(frozen=True, slots=True)
class Risk:
    metrics: Mapping[str, Any]
    usage: tuple[LimitUsage, ...]
    halted: tuple[str, ...]
    levels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Risk:
        usage = []
        for item in data.get("thresholds") or ():
            metric = str(item.get("metric") or "")
            breach = opt_dec(item.get("breach"), "breach")
            raw = data.get(metric)
            if not metric or breach is None or raw is None:
                continue
            usage.append(LimitUsage(metric, abs(dec(raw, metric)), breach, opt_dec(item.get("warning"), "warning")))
        halted = tuple(str(h) if not isinstance(h, Mapping) else _halt_label(h) for h in data.get("halted") or ())
        skip = {"thresholds", "halted", "alert_levels", "positions"}
        return cls(
            metrics={k: v for k, v in data.items() if k not in skip},
            usage=tuple(usage),
            halted=halted,
            levels=dict(data.get("alert_levels") or {}),
        )


def _halt_label(halt: Mapping[str, Any]) -> str:
    scope = halt.get("scope") or "global"
    scope_id = halt.get("scope_id")
    return f"{scope}:{scope_id}" if scope_id not in (None, "*") else str(scope)


@dataclass(frozen=True, slots=True)
class Candle:
    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Candle:
        return cls(
            time=_time(data, "time"),
            open=dec(data.get("open"), "open"),
            high=dec(data.get("high"), "high"),
            low=dec(data.get("low"), "low"),
            close=dec(data.get("close"), "close"),
            volume=opt_dec(data.get("volume"), "volume") or Decimal(0),
        )


@dataclass(frozen=True, slots=True)
class BacktestRun:
    id: str
    strategy: str
    symbols: str
    timeframe: str
    total_return: float | None
    sharpe: float | None
    max_drawdown: float | None
    trades: int | None
    completed_at: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BacktestRun:
        symbols = data.get("symbols") or ""
        return cls(
            id=_text(data, "id"),
            strategy=str(data.get("strategy") or ""),
            symbols=",".join(symbols) if isinstance(symbols, list) else str(symbols),
            timeframe=str(data.get("timeframe") or ""),
            total_return=_opt_float(data.get("total_return")),
            sharpe=_opt_float(data.get("sharpe")),
            max_drawdown=_opt_float(data.get("max_drawdown")),
            trades=None if data.get("trades") is None else int(data["trades"]),
            completed_at=str(data.get("completed_at") or ""),
        )


@dataclass(frozen=True, slots=True)
class BacktestDetail:
    run_id: str
    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    currency: str
    metrics: Mapping[str, Any]
    equity: tuple[tuple[int, Decimal], ...]
    trades: int

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BacktestDetail:
        equity = tuple((ns_from_iso(ts) or 0, dec(v, "equity")) for ts, v in data.get("equity") or ())
        return cls(
            run_id=_text(data, "run_id"),
            strategy=str(data.get("strategy") or ""),
            symbols=tuple(data.get("symbols") or ()),
            timeframe=str(data.get("timeframe") or ""),
            currency=str(data.get("currency") or ""),
            metrics=dict(data.get("metrics") or {}),
            equity=equity,
            trades=len(data.get("trades") or ()),
        )


def _opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


@dataclass(frozen=True, slots=True)
class Connection:
    connected: bool
    detail: str = ""
    attempt: int = 0
    # Why the engine is read-only (its journal cannot be written, e.g. a full disk); "" when it takes orders.
    read_only: str = ""
    # Live exchange venues that are not connected, e.g. "binance1 reconnecting"; "" when all are (or none is live).
    venues: str = ""
    # Every live exchange venue's connection state, e.g. (("binance1", "connected"),): the ladder shows its venue's.
    venue_states: tuple[tuple[str, str], ...] = ()

    def venue_state(self, venue: str | None) -> str | None:
        return next((state for name, state in self.venue_states if name == venue), None)


@dataclass(frozen=True, slots=True)
class LogLine:
    ts: int
    level: str
    text: str


__all__ = [
    "OPEN_STATUSES",
    "Alert",
    "BacktestDetail",
    "BacktestRun",
    "Balance",
    "Book",
    "Candle",
    "Connection",
    "Fill",
    "Instrument",
    "Level",
    "LimitUsage",
    "LogLine",
    "Order",
    "Portfolio",
    "Position",
    "Risk",
    "Strategy",
    "Ticker",
    "dec",
    "opt_dec",
]
