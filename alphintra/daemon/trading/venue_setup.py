"""The venues of a trading host and the account trading on each (built by ``builder.build_venues``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alphintra.engine.venue.sim_driver import SimDriver
from alphintra.engine.venue.simulated import SimulatedVenue


@dataclass
class VenueSetup:
    """One venue of the host and the account that trades on it."""

    venue: SimulatedVenue
    driver: SimDriver | None  # moves a simulated venue's market; None for a venue with its own market
    account: str


def post_liquidity(setups: list[VenueSetup], symbol: str, price: Decimal) -> None:
    """Rest each simulated venue's book around ``price``."""
    for setup in setups:
        if setup.driver is not None:
            setup.driver.post_liquidity(symbol, price)


__all__ = ["VenueSetup", "post_liquidity"]
