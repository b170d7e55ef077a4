"""The host's venues and accounts, built from the settings' ``[venues]`` and ``[accounts]``.

Each venue an account or an instrument names is built (a simulated venue with its own driver; an exchange venue is
the connected :class:`~alphintra.daemon.trading.live_venues.Exchange`, driven by the market its feeds show), each
configured account is opened on a first start with its starting cash (on an exchange: what the exchange holds),
and each instrument trades on its venue (``[[instruments]] venue``, else the default account's; an exchange's
instruments are its markets).
An order that names no account goes to the first account configured on its instrument's venue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from alphintra.daemon.trading.live_venues import Exchange, LiveMarket, opening_cash
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.listings import Listings
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.listed import ListedVenue
from alphintra.engine.venue.sim_driver import SimDriver, SimDrivers
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.errors import OperationFailed, ValidationError

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.engine.clock import Clock
    from alphintra.engine.node import TradingNode
    from alphintra.engine.venue.base import Venue


@dataclass
class HostVenues:
    """The venues of a host: ``default`` (the default account's), the ``others``, and where each symbol trades."""

    default: Venue
    others: list[Venue] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # symbol -> venue name, for symbols off the default venue
    symbols: dict[str, str] = field(default_factory=dict)  # every symbol -> its venue name
    exchanges: dict[str, Exchange] = field(default_factory=dict)  # the exchange venues, connected
    markets: dict[str, LiveMarket] = field(default_factory=dict)  # each exchange venue's market (see drive)
    listings: Listings = field(default_factory=Listings)  # symbols listed on several venues (engine.listings)

    @property
    def all(self) -> list[Venue]:
        return [self.default, *self.others]


def symbol_venues(settings: Settings, instruments: InstrumentRegistry) -> dict[str, str]:
    """Each instrument's venue: its configured one, else the default account's."""
    configured = {item.symbol: settings.instrument_venue(item) for item in settings.instruments}
    default = settings.account().venue
    return {inst.symbol: configured.get(inst.symbol, default) for inst in instruments}


def with_exchange_instruments(
    settings: Settings, paper: InstrumentRegistry, exchanges: dict[str, Exchange]
) -> tuple[InstrumentRegistry, dict[str, str], Listings]:
    """The host's instruments: the paper ones on simulated venues, and each exchange's markets; with each one's
    venue (by instrument key) and the listings. A symbol listed on several exchanges trades under one key per
    venue (``BTC/USDT@a``, see :mod:`alphintra.engine.listings`); each such exchange is bound to the node under
    those keys (``Exchange.port``). A paper instrument that would trade on an exchange (the demo set, when an
    exchange account is the default) is replaced by what the exchange lists."""
    on = symbol_venues(settings, paper)
    kept = [inst for inst in paper if on[inst.symbol] not in exchanges]
    listed: dict[str, list[str]] = {}
    for inst in kept:
        listed.setdefault(on[inst.symbol], []).append(inst.symbol)
    for name, exchange in exchanges.items():
        listed.setdefault(name, []).extend(inst.symbol for inst in exchange.venue.instruments())
    listings = Listings.build(listed)
    for symbol, on_venues in listings.by_symbol.items():
        paper_venue = next((v for v in on_venues if v not in exchanges), None)
        if paper_venue is not None and len(on_venues) > 1:  # only exchanges share a symbol (ListedVenue renames)
            other = next(v for v in on_venues if v != paper_venue)
            raise OperationFailed(
                f"symbol {symbol} is traded on two venues ({paper_venue!r} and {other!r}); "
                "give one of them its own [[instruments]] venue"
            )
    symbols = {inst.symbol: on[inst.symbol] for inst in kept}
    insts = list(kept)
    for name, exchange in exchanges.items():
        keys = {s: k for s, k in listings.keys_on(name).items() if s != k}
        if keys:
            exchange.port = ListedVenue(cast("Venue", exchange.venue), listings.keys_on(name))
        for inst in cast("Any", exchange.node_venue).instruments():
            symbols[inst.symbol] = name
            insts.append(inst)
    return InstrumentRegistry(insts), symbols, listings


def build_venues(
    settings: Settings,
    instruments: InstrumentRegistry,
    clock: Clock,
    exchanges: dict[str, Exchange] | None = None,
    symbols: dict[str, str] | None = None,
) -> HostVenues:
    """The venues the accounts and instruments name (each simulated venue sees only its own instruments; an
    exchange venue is the connected one of ``exchanges``)."""
    exchanges = exchanges or {}
    symbols = symbols or symbol_venues(settings, instruments)
    default = settings.account().venue
    wanted = [default] + [a.venue for a in settings.accounts.values()] + list(symbols.values())
    built: dict[str, Venue] = {}
    for name in dict.fromkeys(wanted):
        venue = settings.venues[name]
        if name in exchanges:
            built[name] = cast("Venue", exchanges[name].node_venue)
            continue
        if venue.kind != "simulated":
            lives = [a for a, item in settings.accounts.items() if item.venue == name]
            raise OperationFailed(
                f"venue {name!r} is a {venue.kind} venue that is not connected"
                + (
                    f" (account {lives[0]!r} lives on it)"
                    if lives
                    else ": no account lives on it; give it an [accounts.NAME] table or move its instruments"
                )
            )
        own = InstrumentRegistry([inst for inst in instruments if symbols[inst.symbol] == name])
        built[name] = SimulatedVenue(own, FillModel(mode="book"), name=name, now=clock.now_ns)
    routes = {s: v for s, v in symbols.items() if v != default}
    others = [v for n, v in built.items() if n != default]
    return HostVenues(built[default], others, routes, symbols, exchanges)


def drive(settings: Settings, node: TradingNode, venues: HostVenues) -> SimDrivers:
    """Each venue's market driver behind one market driver of the node: a simulated venue's (the paper market's
    liquidity), an exchange's :class:`LiveMarket` (the prices and book its feeds show)."""
    paper = settings.paper
    liquidity = LiquidityModel(paper.liquidity_levels, paper.liquidity_spread_bps, paper.liquidity_level_notional)
    drivers: dict[str, Any] = {}
    for v in venues.all:
        if v.name in venues.exchanges:
            keys = {s: k for s, k in venues.listings.keys_on(v.name).items() if s != k}
            market = venues.markets[v.name] = LiveMarket(node, v, keys)
            drivers[v.name] = market
        else:
            drivers[v.name] = SimDriver(node, cast("SimulatedVenue", v), liquidity)
    return SimDrivers(node, drivers)


def open_accounts(settings: Settings, node: TradingNode, exchanges: dict[str, Exchange] | None = None) -> bool:
    """A first start opens each configured account (mode, leverage, starting cash); True when one was opened.
    An account already in the journal keeps what the journal says."""
    opened = False
    for name, account in settings.accounts.items():
        if name in node.ledger.accounts():
            continue
        currency = settings.account_currency(name)
        exchange = (exchanges or {}).get(account.venue)
        if exchange is not None:
            # an exchange account starts with what the exchange holds (a reconciliation books later differences)
            cash: dict[str, Decimal] | None = opening_cash(exchange, name) or None
            mode = "SPOT"
            if account.currency is None:  # valued in what its markets are quoted in most (USDT), not the base USD
                quotes = Counter(inst.quote for inst in exchange.venue.instruments())
                currency = quotes.most_common(1)[0][0] if quotes else currency
        else:
            start = account.starting_cash if settings.venues[account.venue].kind == "simulated" else None
            cash = None if not start else {currency: start}
            mode = account.mode.upper()
        node.open_account(
            name,
            cash=cash,
            mode=mode,
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
        if held is None:
            raise ValidationError(
                "account", f"names no configured account (configured: {', '.join(settings.accounts)})", account
            )
        if held.venue != venue:
            raise ValidationError(
                "account", f"is on venue {held.venue!r} but {symbol} trades on venue {venue!r}", account
            )
        return account
    for name, item in settings.accounts.items():
        if item.venue == venue:
            return name
    raise ValidationError("symbol", f"trades on venue {venue!r}, where no account is configured", symbol)


def strategy_account(settings: Settings, venues: HostVenues, symbols: list[str], account: str | None) -> str:
    """The account a strategy trading ``symbols`` runs in: ``account`` when each symbol trades on its venue, else
    (none named) the first account configured on the first symbol's venue. A named account whose venue does not
    list a symbol is refused naming the venue and what it lists, so a strategy never starts half-routed."""
    if account is None:
        return account_for(settings, venues, symbols[0]) if symbols else settings.default_account
    held = settings.accounts.get(account)
    if held is None:
        raise ValidationError(
            "account", f"names no configured account (configured: {', '.join(settings.accounts)})", account
        )
    listed = sorted(s for s, v in venues.symbols.items() if v == held.venue)
    for symbol in symbols:
        # a symbol listed on several venues is the account's venue's listing of it (its key)
        venue = venues.symbols.get(venues.listings.by_symbol.get(symbol, {}).get(held.venue, symbol))
        if venue == held.venue:
            continue
        where = f"{symbol} trades on venue {venue!r}" if venue is not None else f"{symbol} is listed on no venue"
        shown = ", ".join(listed[:20]) + (", ..." if len(listed) > 20 else "")
        raise ValidationError(
            "account",
            f"lives on venue {held.venue!r}, which does not list {symbol} ({where}; {held.venue!r} lists: {shown})",
            account,
        )
    return account


def order_target(
    settings: Settings, venues: HostVenues, symbol: str, account: str | None = None, venue: str | None = None
) -> tuple[str, str]:
    """The instrument key and the account of an order of ``symbol`` (a symbol listed on several venues is picked
    by ``venue``, else by the venue ``account`` lives on)."""
    held = settings.accounts.get(account) if account is not None else None
    key = venues.listings.resolve(symbol, venue or (held.venue if held is not None else None))
    return key, account_for(settings, venues, key, account)


__all__ = [
    "HostVenues",
    "account_for",
    "build_venues",
    "drive",
    "open_accounts",
    "order_target",
    "strategy_account",
    "symbol_venues",
    "with_exchange_instruments",
]
