"""The instruments a paper host trades and the prices its market starts from: the configured instruments (or a
small demo set on a fresh home), priced from the market store when it has them."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING

from alphintra.engine.core.instrument import Instrument, InstrumentRegistry

if TYPE_CHECKING:
    from alphintra.config.settings import Settings

# Instruments of a fresh paper session when neither the config nor the market store names any.
DEMO_INSTRUMENTS = (
    ("BTC/USD", "0.01", "0.0001", "10", Decimal("60000")),
    ("ETH/USD", "0.01", "0.001", "10", Decimal("3000")),
    ("GOOG", "0.01", "1", "0", Decimal("800")),
)


def paper_instruments(settings: Settings) -> tuple[InstrumentRegistry, dict[str, Decimal]]:
    """The instruments and each one's starting price (stored last price, else the demo price, else 100)."""
    prices: dict[str, Decimal] = {}
    insts: list[Instrument] = [item.to_instrument(settings.base_currency) for item in settings.instruments]
    stored = stored_prices(settings)
    if not insts:
        for symbol, tick, lot, min_notional, _ in DEMO_INSTRUMENTS:
            insts.append(
                Instrument.create(
                    symbol,
                    tick_size=tick,
                    lot_size=lot,
                    min_notional=min_notional,
                    maker_fee="0.001",
                    taker_fee="0.001",
                    default_quote=settings.base_currency,
                )
            )
    defaults = {s: p for s, *_, p in DEMO_INSTRUMENTS}
    for inst in insts:
        price = stored.get(inst.symbol) or defaults.get(inst.symbol) or Decimal(100)
        prices[inst.symbol] = inst.round_price(price)
    return InstrumentRegistry(insts), prices


def stored_prices(settings: Settings) -> dict[str, Decimal]:
    """The market store's last price per symbol; nothing when there is no store or it cannot be read."""
    try:
        from alphintra.storage.market import MarketData

        market = MarketData(settings.paths.market)
        out = {}
        for symbol in market.symbols():
            with contextlib.suppress(Exception):
                out[symbol] = Decimal(repr(market.last_price(symbol).price))
        return out
    except Exception:
        return {}


__all__ = ["DEMO_INSTRUMENTS", "paper_instruments", "stored_prices"]
