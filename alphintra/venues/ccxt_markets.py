"""What a ccxt venue's markets mean to the engine: instruments, and the client order ids the exchange accepts.

ccxt describes a market's precision in one of two modes (the client's ``precisionMode``): ``TICK_SIZE`` gives the
step itself (``0.01``), ``DECIMAL_PLACES`` the number of decimals (``2``). Both become the instrument's tick and
lot; the minimum quantity and notional come from the market's limits (absent: one lot, nothing).

The node's order keys are ``<order id>`` or ``<order id>/<n>`` (an iceberg's slices); Binance accepts client order
ids of ``[a-zA-Z0-9-_.]{1,36}`` only. :func:`encode_key` maps a key onto that alphabet reversibly ('/' becomes '.',
and the two characters used as escapes are escaped), so an id read back from the exchange names the node's key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alphintra.engine.core.instrument import Instrument
from alphintra.errors import ValidationError

TICK_SIZE = 4  # ccxt.TICK_SIZE
DECIMAL_PLACES = 2  # ccxt.DECIMAL_PLACES
SIGNIFICANT_DIGITS = 3  # ccxt.SIGNIFICANT_DIGITS
MAX_CLIENT_ID = 36
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def number(value: object) -> Decimal | None:
    """A ccxt number (a float parsed from the exchange's decimal string, or a string) as the exact Decimal."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return Decimal(repr(value))  # repr gives back the shortest string that parses to the same float
    return Decimal(str(value))


def _step(value: object, mode: int, what: str, symbol: str) -> Decimal:
    raw = number(value)
    if raw is None or raw <= 0:
        raise ValidationError(f"market {symbol}", f"has no {what} precision at the venue", str(value))
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(raw))
    if mode == TICK_SIZE:
        return raw.normalize()
    raise ValidationError(f"market {symbol}", f"uses ccxt precision mode {mode}, which Alphintra does not map")


def instrument_from_market(market: dict[str, Any], precision_mode: int) -> Instrument:
    """The instrument of one ccxt market (``load_markets()[symbol]``)."""
    symbol = str(market["symbol"])
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = _step(precision.get("price"), precision_mode, "price", symbol)
    lot = _step(precision.get("amount"), precision_mode, "amount", symbol)
    min_qty = number((limits.get("amount") or {}).get("min"))
    min_notional = number((limits.get("cost") or {}).get("min")) or Decimal(0)
    return Instrument.create(
        symbol,
        tick_size=tick,
        lot_size=lot,
        min_qty=max(min_qty, lot) if min_qty is not None else None,
        min_notional=min_notional,
        maker_fee=number(market.get("maker")) or Decimal(0),
        taker_fee=number(market.get("taker")) or Decimal(0),
        base=str(market["base"]),
        quote=str(market["quote"]),
        asset_class="crypto",
    )


def encode_key(key: str) -> str:
    """The client order id the exchange gets for the node's ``key`` (reversible; see the module)."""
    out = []
    for ch in key:
        if ch in _PLAIN:
            out.append(ch)
        elif ch == "/":
            out.append(".")
        elif ch == ".":
            out.append("_d")
        elif ch == "_":
            out.append("_u")
        else:
            raise ValidationError("client order id", "may hold letters, digits, '-', '_', '.' and '/' only", key)
    encoded = "".join(out)
    if len(encoded) > MAX_CLIENT_ID:
        raise ValidationError("client order id", f"must be at most {MAX_CLIENT_ID} characters at the venue", key)
    return encoded


def decode_key(client_id: str) -> str | None:
    """The node's key of an exchange client order id, or None when the id is not one :func:`encode_key` makes."""
    out = []
    chars = iter(client_id)
    for ch in chars:
        if ch in _PLAIN:
            out.append(ch)
        elif ch == ".":
            out.append("/")
        elif ch == "_":
            nxt = next(chars, "")
            if nxt == "d":
                out.append(".")
            elif nxt == "u":
                out.append("_")
            else:
                return None
        else:
            return None
    return "".join(out)


__all__ = ["decode_key", "encode_key", "instrument_from_market", "number"]
