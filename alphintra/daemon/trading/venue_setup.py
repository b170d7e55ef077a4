"""The host's venues and accounts, built from the settings' ``[venues]`` and ``[accounts]``.

Each venue an account or an instrument names is built (a simulated venue with its own driver; an exchange venue is
refused for now: the daemon cannot drive one yet), each configured account is opened on a first start with its
starting cash, and each instrument trades on its venue (``[[instruments]] venue``, else the default account's).
An order that names no account goes to the first account configured on its instrument's venue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.sim_driver import SimDriver, SimDrivers
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.errors import OperationFailed, ValidationError

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.engine.clock import Clock
    from alphintra.engine.node import TradingNode


@dataclass
class HostVenues:
    """The venues of a host: ``default`` (the default account's), the ``others``, and where each symbol trades."""

    default: SimulatedVenue
    others: list[SimulatedVenue] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # symbol -> venue name, for symbols off the default venue
    symbols: dict[str, str] = field(default_factory=dict)  # every symbol -> its venue name

    @property
    def all(self) -> list[SimulatedVenue]:
        return [self.default, *self.others]


def symbol_venues(settings: Settings, instruments: InstrumentRegistry) -> dict[str, str]:
    """Each instrument's venue: its configured one, else the default account's."""
    configured = {item.symbol: settings.instrument_venue(item) for item in settings.instruments}
    default = settings.account().venue
    return {inst.symbol: configured.get(inst.symbol, default) for inst in instruments}


def build_venues(settings: Settings, instruments: InstrumentRegistry, clock: Clock) -> HostVenues:
    """The venues the accounts and instruments name (each simulated venue sees only its own instruments)."""
    symbols = symbol_venues(settings, instruments)
    default = settings.account().venue
    wanted = [default] + [a.venue for a in settings.accounts.values()] + list(symbols.values())
    built: dict[str, SimulatedVenue] = {}
    for name in dict.fromkeys(wanted):
        venue = settings.venues[name]
        if venue.kind != "simulated":
            raise OperationFailed(
                f"venue {name!r} is a {venue.kind} venue: trading it is not yet supported in the daemon "
                "(only simulated venues are); remove the accounts and instruments that use it"
            )
        own = InstrumentRegistry([inst for inst in instruments if symbols[inst.symbol] == name])
        built[name] = SimulatedVenue(own, FillModel(mode="book"), name=name, now=clock.now_ns)
    routes = {s: v for s, v in symbols.items() if v != default}
    return HostVenues(built[default], [v for n, v in built.items() if n != default], routes, symbols)


def drive(settings: Settings, node: TradingNode, venues: HostVenues) -> SimDrivers:
    """Each simulated venue's driver (the paper market's liquidity), behind one market driver of the node."""
    paper = settings.paper
    liquidity = LiquidityModel(paper.liquidity_levels, paper.liquidity_spread_bps, paper.liquidity_level_notional)
    return SimDrivers(node, {v.name: SimDriver(node, v, liquidity) for v in venues.all})


def open_accounts(settings: Settings, node: TradingNode) -> bool:
    """A first start opens each configured account (mode, leverage, starting cash); True when one was opened.
    An account already in the journal keeps what the journal says."""
    opened = False
    for name, account in settings.accounts.items():
        if name in node.ledger.accounts():
            continue
        currency = settings.account_currency(name)
        cash = account.starting_cash if settings.venues[account.venue].kind == "simulated" else None
        node.open_account(
            name,
            cash=None if not cash else {currency: cash},
            mode=account.mode.upper(),
            currency=currency,
            leverage=account.leverage,
        )
        opened = True
    return opened


def account_for(settings: Settings, venues: HostVenues, symbol: str, account: str | None = None) -> str:
    """The account an order of ``symbol`` trades in: ``account`` when it is on the symbol's venue, else (none
    named) the first account configured on that venue."""
    venue = venues.symbols.get(symbol)
    if venue is None:
        return account or settings.default_account  # an unknown symbol: the order's own checks refuse it
    if account is not None:
        held = settings.accounts.get(account)
        if held is not None and held.venue != venue:
            raise ValidationError(
                "account", f"is on venue {held.venue!r} but {symbol} trades on venue {venue!r}", account
            )
        return account
    for name, item in settings.accounts.items():
        if item.venue == venue:
            return name
    raise ValidationError("symbol", f"trades on venue {venue!r}, where no account is configured", symbol)


__all__ = ["HostVenues", "account_for", "build_venues", "drive", "open_accounts", "symbol_venues"]
