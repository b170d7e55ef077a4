"""Instruments: the one home for tick and lot rounding and for Decimal <-> integer conversion.

Prices and quantities cross the boundary of the engine as ``Decimal``; inside the book they are integers counted
in ticks (``price / tick_size``) and lots (``qty / lot_size``). Every conversion goes through an ``Instrument``
so that no other module multiplies by a tick size on its own.

Rates (``maker_fee``, ``taker_fee``) are fractions of the notional: ``Decimal("0.001")`` is 10 bps; a negative
maker fee is a rebate.

Every instrument has an ``asset_class`` (``crypto``, ``fx``, ``equity`` or ``other``, or any word a config sets):
given, or derived from the symbol by ``derive_asset_class``. Stress scenarios shock by it (``crypto-crash-50``) and
the metrics pick their calendar from it (crypto and FX trade around the clock, equities on trading days).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from types import MappingProxyType
from typing import Any, Literal

from alphintra.engine.core.enums import LiquiditySide
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError

# Wide enough that a quotient of two prices of any real instrument is exact; errors trap instead of rounding.
_CTX = Context(prec=64, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_ZERO = Decimal(0)
_ONE = Decimal(1)
DEFAULT_QUOTE = "USD"

Rounding = Literal["down", "up", "nearest"]
_ROUNDING = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_EVEN}


def to_decimal(field_name: str, value: object) -> Decimal:
    """An exact ``Decimal`` from a Decimal, an int or a numeric string; floats are refused (they are not exact)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(field_name, "must be a decimal number", value) from None
    elif isinstance(value, float):
        raise ValidationError(field_name, "must be exact (Decimal, int or numeric string), not float", value)
    else:
        raise ValidationError(field_name, "must be a decimal number", value)
    if not result.is_finite():
        raise ValidationError(field_name, "must be finite", value)
    return result


def _precision(step: Decimal) -> int:
    """Decimal places needed to write multiples of ``step`` (0.010 -> 2, 5 -> 0, 1E+1 -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimals have an int exponent
    return max(0, -exponent)


# Well-known coins and stablecoins, and ISO currencies: enough to classify the usual symbols without a config.
_CRYPTO = frozenset(
    {"BTC", "XBT", "ETH", "SOL", "XRP", "ADA", "DOGE", "DOT", "LTC", "BNB", "AVAX", "MATIC", "LINK", "TRX", "BCH"}
    | {"XLM", "ATOM", "UNI", "ETC", "XMR", "SHIB", "USDT", "USDC", "DAI", "BUSD", "TUSD"}
)
_FIAT = frozenset(
    {"USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "SEK", "NOK", "DKK", "HKD", "SGD", "CNH", "CNY"}
    | {"MXN", "ZAR", "TRY", "PLN", "HUF", "CZK", "ILS", "INR", "KRW", "BRL"}
)
ASSET_CLASSES = ("crypto", "fx", "equity", "other")


def derive_asset_class(symbol: str, base: str, quote: str) -> str:
    """``crypto`` when either side is a known coin (``BTC/USD``, ``ETH/USDT``), ``fx`` for two ISO currencies
    (``EUR/USD``), ``equity`` for a plain ticker (``GOOG``), else ``other``. A config entry may say otherwise."""
    if base.upper() in _CRYPTO or quote.upper() in _CRYPTO:
        return "crypto"
    if "/" in symbol:
        return "fx" if base.upper() in _FIAT and quote.upper() in _FIAT else "other"
    return "equity"


def split_symbol(symbol: str, default_quote: str = DEFAULT_QUOTE) -> tuple[str, str]:
    """``BTC/USDT`` -> (BTC, USDT); ``BTC/USDT:USDT`` (a ccxt swap) -> (BTC, USDT); ``GOOG`` -> (GOOG, USD)."""
    if not isinstance(symbol, str) or not symbol or any(ch.isspace() for ch in symbol):
        raise ValidationError("symbol", "must be a non-empty name without spaces", symbol)
    pair = symbol.split(":", 1)[0]
    if "/" not in pair:
        return pair, default_quote
    base, _, quote = pair.partition("/")
    if not base or not quote or "/" in quote:
        raise ValidationError("symbol", "must look like BASE/QUOTE or a plain ticker", symbol)
    return base, quote


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol and its trading rules. Build one with ``Instrument.create`` (accepts strings and ints)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    min_notional: Decimal = _ZERO
    maker_fee: Decimal = _ZERO
    taker_fee: Decimal = _ZERO
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    asset_class: str = ""  # "" derives it from the symbol (derive_asset_class)
    price_precision: int = field(init=False, compare=False)
    size_precision: int = field(init=False, compare=False)
    _price_quantum: Decimal = field(init=False, repr=False, compare=False)
    _size_quantum: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        split_symbol(self.symbol)
        for name in ("base", "quote"):
            text = getattr(self, name)
            if not isinstance(text, str) or not text or any(ch.isspace() for ch in text):
                raise ValidationError(name, "must be a non-empty asset code without spaces", text)
        for name in ("tick_size", "lot_size", "min_qty", "min_notional", "maker_fee", "taker_fee"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise ValidationError(name, "must be a finite Decimal", value)
        if self.tick_size <= 0:
            raise ValidationError("tick_size", "must be > 0", self.tick_size)
        if self.lot_size <= 0:
            raise ValidationError("lot_size", "must be > 0", self.lot_size)
        if self.min_qty < 0:
            raise ValidationError("min_qty", "must be >= 0", self.min_qty)
        if self.min_notional < 0:
            raise ValidationError("min_notional", "must be >= 0", self.min_notional)
        for name in ("maker_fee", "taker_fee"):
            rate = getattr(self, name)
            if not -_ONE < rate < _ONE:
                raise ValidationError(name, "must be a rate between -1 and 1 (0.001 = 10 bps)", rate)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()):
            raise ValidationError("tags", "keys and values must be strings", dict(self.tags))
        if not isinstance(self.asset_class, str) or any(ch.isspace() for ch in self.asset_class):
            raise ValidationError("asset_class", "must be one word (crypto, fx, equity, ...)", self.asset_class)
        if not self.asset_class:
            object.__setattr__(self, "asset_class", derive_asset_class(self.symbol, self.base, self.quote))
        price_precision = _precision(self.tick_size)
        size_precision = _precision(self.lot_size)
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))
        object.__setattr__(self, "price_precision", price_precision)
        object.__setattr__(self, "size_precision", size_precision)
        object.__setattr__(self, "_price_quantum", _ONE.scaleb(-price_precision))
        object.__setattr__(self, "_size_quantum", _ONE.scaleb(-size_precision))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Its rules travel to another process (the state projection's) as the constructor's arguments: the
        # read-only tags view cannot be pickled, and the derived fields are derived again there.
        return (
            Instrument,
            (
                self.symbol,
                self.base,
                self.quote,
                self.tick_size,
                self.lot_size,
                self.min_qty,
                self.min_notional,
                self.maker_fee,
                self.taker_fee,
                dict(self.tags),
                self.asset_class,
            ),
        )

    @classmethod
    def create(
        cls,
        symbol: str,
        *,
        tick_size: Decimal | int | str = "0.01",
        lot_size: Decimal | int | str = "1",
        min_qty: Decimal | int | str | None = None,
        min_notional: Decimal | int | str = "0",
        maker_fee: Decimal | int | str = "0",
        taker_fee: Decimal | int | str = "0",
        base: str | None = None,
        quote: str | None = None,
        default_quote: str = DEFAULT_QUOTE,
        tags: Mapping[str, str] | None = None,
        asset_class: str | None = None,
    ) -> Instrument:
        """Build an instrument, deriving base, quote and asset class from the symbol; ``min_qty`` defaults to one
        lot."""
        derived_base, derived_quote = split_symbol(symbol, default_quote)
        lot = to_decimal("lot_size", lot_size)
        return cls(
            symbol=symbol,
            base=base or derived_base,
            quote=quote or derived_quote,
            tick_size=to_decimal("tick_size", tick_size),
            lot_size=lot,
            min_qty=lot if min_qty is None else to_decimal("min_qty", min_qty),
            min_notional=to_decimal("min_notional", min_notional),
            maker_fee=to_decimal("maker_fee", maker_fee),
            taker_fee=to_decimal("taker_fee", taker_fee),
            tags=dict(tags or {}),
            asset_class=asset_class or "",
        )

    # -- prices --------------------------------------------------------------------------------------------

    def make_price(self, value: object, field_name: str = "price") -> Decimal:
        """``value`` as an exact price of this instrument; raises ``ValidationError`` if it is off the tick grid."""
        self.price_to_ticks(value, field_name)
        return to_decimal(field_name, value).quantize(self._price_quantum, context=_CTX)

    def price_to_ticks(self, value: object, field_name: str = "price") -> int:
        price = to_decimal(field_name, value)
        ticks = _CTX.divide(price, self.tick_size)
        if ticks != ticks.to_integral_value():
            raise ValidationError(
                field_name, f"must be a multiple of tick_size {self.tick_size}", value, reason="PRICE_OFF_TICK"
            )
        return int(ticks)

    def ticks_to_price(self, ticks: int) -> Decimal:
        return _CTX.multiply(self.tick_size, Decimal(ticks)).quantize(self._price_quantum, context=_CTX)

    def round_price(self, value: object, rounding: Rounding = "nearest", field_name: str = "price") -> Decimal:
        """Snap a computed price (a trailing stop, a slippage model) onto the tick grid."""
        ticks = _CTX.divide(to_decimal(field_name, value), self.tick_size)
        return self.ticks_to_price(int(ticks.to_integral_value(rounding=_ROUNDING[rounding])))

    # -- quantities ----------------------------------------------------------------------------------------

    def make_qty(self, value: object, field_name: str = "quantity") -> Decimal:
        """``value`` as an exact quantity of this instrument; raises ``ValidationError`` unless a lot multiple."""
        self.qty_to_lots(value, field_name)
        return to_decimal(field_name, value).quantize(self._size_quantum, context=_CTX)

    def qty_to_lots(self, value: object, field_name: str = "quantity") -> int:
        qty = to_decimal(field_name, value)
        lots = _CTX.divide(qty, self.lot_size)
        if lots != lots.to_integral_value():
            raise ValidationError(
                field_name, f"must be a multiple of lot_size {self.lot_size}", value, reason="QTY_NOT_LOT_MULTIPLE"
            )
        return int(lots)

    def lots_to_qty(self, lots: int) -> Decimal:
        return _CTX.multiply(self.lot_size, Decimal(lots)).quantize(self._size_quantum, context=_CTX)

    def round_qty(self, value: object, rounding: Rounding = "down", field_name: str = "quantity") -> Decimal:
        """Snap a computed size (``cash / price``) onto the lot grid; rounds down by default so it stays affordable."""
        lots = _CTX.divide(to_decimal(field_name, value), self.lot_size)
        return self.lots_to_qty(int(lots.to_integral_value(rounding=_ROUNDING[rounding])))

    # -- money ---------------------------------------------------------------------------------------------

    def notional(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Quantity x price in the quote asset, exact."""
        return _CTX.multiply(quantity, price)

    def fee_rate(self, liquidity: LiquiditySide) -> Decimal:
        return self.maker_fee if liquidity is LiquiditySide.MAKER else self.taker_fee

    def fee(self, quantity: Decimal, price: Decimal, liquidity: LiquiditySide) -> Decimal:
        """The fee of a fill in the quote asset, exact (negative for a maker rebate)."""
        return _CTX.multiply(self.notional(quantity, price), self.fee_rate(liquidity))

    # -- (de)serialisation ---------------------------------------------------------------------------------

    def to_mapping(self) -> dict[str, object]:
        """Plain data (Decimals as strings) that ``Instrument.from_mapping`` reads back into an equal instrument."""
        return {
            "symbol": self.symbol,
            "base": self.base,
            "quote": self.quote,
            "tick_size": str(self.tick_size),
            "lot_size": str(self.lot_size),
            "min_qty": str(self.min_qty),
            "min_notional": str(self.min_notional),
            "maker_fee": str(self.maker_fee),
            "taker_fee": str(self.taker_fee),
            "tags": dict(self.tags),
            "asset_class": self.asset_class,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], where: str = "instrument") -> Instrument:
        """Read a config or catalog entry; unknown keys are refused so that a typo never passes silently."""
        unknown = sorted(set(data) - _MAPPING_KEYS)
        if unknown:
            raise ValidationError(f"{where}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(_MAPPING_KEYS))})")
        symbol = data.get("symbol")
        if not isinstance(symbol, str):
            raise ValidationError(f"{where}.symbol", "is required and must be a string", symbol)
        tags = data.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise ValidationError(f"{where}.tags", "must be a table of strings", tags)
        kwargs: dict[str, object] = {}
        for key in ("tick_size", "lot_size", "min_qty", "min_notional", "maker_fee", "taker_fee"):
            if data.get(key) is not None:
                kwargs[key] = to_decimal(f"{where}.{key}", data[key])
        for key in ("base", "quote"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{where}.{key}", "must be a string", value)
        base = data.get("base")
        quote = data.get("quote")
        asset_class = data.get("asset_class")
        if asset_class is not None and not isinstance(asset_class, str):
            raise ValidationError(f"{where}.asset_class", "must be a string", asset_class)
        return cls.create(
            symbol,
            base=base if isinstance(base, str) else None,
            quote=quote if isinstance(quote, str) else None,
            tags={str(k): str(v) for k, v in tags.items()},
            asset_class=asset_class,
            **kwargs,  # type: ignore[arg-type]
        )


_MAPPING_KEYS = frozenset(
    {"symbol", "base", "quote", "tick_size", "lot_size", "min_qty", "min_notional", "maker_fee", "taker_fee", "tags"}
    | {"asset_class"}
)


class InstrumentRegistry:
    """The instruments a node knows, by symbol."""

    __slots__ = ("_by_symbol",)

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
        self._by_symbol: dict[str, Instrument] = {}
        for instrument in instruments:
            self.add(instrument)

    def add(self, instrument: Instrument, *, replace: bool = False) -> Instrument:
        """Register ``instrument``; adding an equal one again is a no-op, a different one needs ``replace=True``."""
        current = self._by_symbol.get(instrument.symbol)
        if current is not None and current != instrument and not replace:
            raise ConflictError(
                f"instrument {instrument.symbol!r} is already registered with different rules",
                detail="pass replace=True to redefine it",
            )
        self._by_symbol[instrument.symbol] = instrument
        return instrument

    def get(self, symbol: str) -> Instrument:
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise NotFoundError(f"unknown symbol {symbol!r}") from None

    def find(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def list(self) -> list[Instrument]:
        return [self._by_symbol[s] for s in sorted(self._by_symbol)]

    def symbols(self) -> builtins.list[str]:
        return sorted(self._by_symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self.list())

    @classmethod
    def from_mappings(cls, items: Iterable[Mapping[str, object]]) -> InstrumentRegistry:
        """Load ``[{symbol = "BTC/USDT", tick_size = "0.01", ...}, ...]`` from config or the data catalog."""
        registry = cls()
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ValidationError(f"instruments[{index}]", "must be a table", item)
            instrument = Instrument.from_mapping(item, where=f"instruments[{index}]")
            if instrument.symbol in registry:
                raise ValidationError(f"instruments[{index}].symbol", "is listed twice", instrument.symbol)
            registry.add(instrument)
        return registry


__all__ = [
    "ASSET_CLASSES",
    "DEFAULT_QUOTE",
    "Instrument",
    "InstrumentRegistry",
    "Rounding",
    "derive_asset_class",
    "split_symbol",
    "to_decimal",
]
