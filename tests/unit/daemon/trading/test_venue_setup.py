"""The host's venues from the settings: each venue an account or instrument uses is built; an exchange venue that
only `venue add` recorded does not stop the daemon; one an account trades on is built from its connection only,
and its markets replace the paper instruments that would trade there."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphintra.config.paths import config_file
from alphintra.config.settings import load_settings
from alphintra.daemon.trading.live_venues import Exchange
from alphintra.daemon.trading.venue_setup import (
    account_for,
    build_venues,
    order_target,
    strategy_account,
    with_exchange_instruments,
)
from alphintra.engine.clock import TestClock
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.venue.base import VenueCapabilities
from alphintra.errors import OperationFailed, ValidationError

GOOG = Instrument.create("GOOG", tick_size="0.01", lot_size="1")
BTC = Instrument.create("BTC/USD", tick_size="0.01", lot_size="0.0001")


def configure(text: str) -> None:
    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text(text, encoding="utf-8")


def test_each_used_venue_is_built_with_its_own_instruments(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "venues.toml").write_text('[venues.fakebin]\nexchange = "binance"\n')  # used by nothing
    configure(
        '[venues.sim]\n[venues.crypto]\n[accounts.main]\n[accounts.desk]\nvenue = "crypto"\n'
        '[[instruments]]\nsymbol = "BTC/USD"\ntick_size = "0.01"\nlot_size = "0.0001"\nvenue = "crypto"\n'
    )
    settings = load_settings()
    venues = build_venues(settings, InstrumentRegistry([GOOG, BTC]), TestClock())
    assert [v.name for v in venues.all] == ["sim", "crypto"]
    assert (venues.routes, venues.symbols) == ({"BTC/USD": "crypto"}, {"GOOG": "sim", "BTC/USD": "crypto"})
    assert venues.others[0].instruments.symbols() == ["BTC/USD"] and venues.default.instruments.symbols() == ["GOOG"]
    assert account_for(settings, venues, "BTC/USD") == "desk" and account_for(settings, venues, "GOOG") == "main"
    with pytest.raises(ValidationError, match="account: is on venue 'sim' but BTC/USD trades on venue 'crypto'"):
        account_for(settings, venues, "BTC/USD", "main")


def test_a_strategys_account_lists_every_symbol_it_trades(isolated_home: Path) -> None:
    configure(
        '[venues.sim]\n[venues.crypto]\n[accounts.main]\n[accounts.desk]\nvenue = "crypto"\n'
        '[[instruments]]\nsymbol = "BTC/USD"\ntick_size = "0.01"\nlot_size = "0.0001"\nvenue = "crypto"\n'
    )
    settings = load_settings()
    venues = build_venues(settings, InstrumentRegistry([GOOG, BTC]), TestClock())
    assert strategy_account(settings, venues, ["BTC/USD"], None) == "desk"
    assert strategy_account(settings, venues, ["BTC/USD"], "desk") == "desk"
    with pytest.raises(ValidationError) as unknown:
        strategy_account(settings, venues, ["BTC/USD"], "nobody")
    assert unknown.value.message == "account: names no configured account (configured: main, desk) (got 'nobody')"
    with pytest.raises(ValidationError) as elsewhere:
        strategy_account(settings, venues, ["BTC/USD", "GOOG"], "desk")
    assert elsewhere.value.message == (
        "account: lives on venue 'crypto', which does not list GOOG (GOOG trades on venue 'sim'; 'crypto' lists: "
        "BTC/USD) (got 'desk')"
    )
    with pytest.raises(ValidationError, match="does not list ETH/USD \\(ETH/USD is listed on no venue"):
        strategy_account(settings, venues, ["ETH/USD"], "desk")


def test_an_exchange_venue_is_built_only_from_its_connection(isolated_home: Path) -> None:
    configure('[venues.sim]\n[venues.bin]\nexchange = "binance"\n[accounts.live]\nvenue = "bin"\n')
    with pytest.raises(OperationFailed) as err:
        build_venues(load_settings(), InstrumentRegistry([GOOG]), TestClock())
    assert err.value.message == "venue 'bin' is a ccxt venue that is not connected (account 'live' lives on it)"


class Listed:
    """A connected exchange venue as the host sees it (its name and markets); the real one is CcxtVenue, exercised
    against the fake exchange by tests/e2e/live."""

    capabilities = VenueCapabilities()

    def __init__(self, name: str, *instruments: Instrument) -> None:
        self.name = name
        self._instruments = list(instruments)

    def instruments(self) -> list[Instrument]:
        return self._instruments


def test_an_exchange_s_markets_replace_the_paper_instruments_that_would_trade_on_it(isolated_home: Path) -> None:
    configure('[venues.sim]\n[venues.bin]\nexchange = "binance"\n[accounts.live]\nvenue = "bin"\n[accounts.main]\n')
    settings = load_settings()
    usdt = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.00001")
    exchanges = {"bin": Exchange(Listed("bin", usdt))}  # type: ignore[arg-type]
    # the demo set (GOOG, BTC/USD) would trade on the default account's venue, the exchange: it is replaced
    instruments, symbols, _ = with_exchange_instruments(settings, InstrumentRegistry([GOOG, BTC]), exchanges)
    assert (instruments.symbols(), symbols) == (["BTC/USDT"], {"BTC/USDT": "bin"})
    venues = build_venues(settings, instruments, TestClock(), exchanges, symbols)
    assert venues.default is exchanges["bin"].venue and [v.name for v in venues.others] == ["sim"]
    assert account_for(settings, venues, "BTC/USDT") == "live"


def test_a_symbol_on_a_paper_venue_and_an_exchange_is_refused(isolated_home: Path) -> None:
    configure(
        '[venues.sim]\n[venues.bin]\nexchange = "binance"\n[accounts.main]\n[accounts.live]\nvenue = "bin"\n'
        '[[instruments]]\nsymbol = "GOOG"\ntick_size = "0.01"\nlot_size = "1"\nvenue = "sim"\n'
    )
    exchanges = {"bin": Exchange(Listed("bin", GOOG))}  # type: ignore[arg-type]
    with pytest.raises(OperationFailed) as err:
        with_exchange_instruments(load_settings(), InstrumentRegistry([GOOG]), exchanges)
    assert err.value.message == (
        "symbol GOOG is traded on two venues ('sim' and 'bin'); give one of them its own [[instruments]] venue"
    )


def test_two_exchanges_listing_one_symbol_trade_it_under_one_key_each(isolated_home: Path) -> None:
    configure(
        '[venues.a]\nexchange = "binance"\n[venues.b]\nexchange = "binance"\n'
        '[accounts.acct_a]\nvenue = "a"\n[accounts.acct_b]\nvenue = "b"\n'
    )
    settings = load_settings()
    usdt = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.00001")
    eth = Instrument.create("ETH/USDT", tick_size="0.01", lot_size="0.0001")
    exchanges = {"a": Exchange(Listed("a", usdt, eth)), "b": Exchange(Listed("b", usdt))}  # type: ignore[arg-type]
    instruments, symbols, listings = with_exchange_instruments(settings, InstrumentRegistry([GOOG]), exchanges)
    assert symbols == {"BTC/USDT@a": "a", "ETH/USDT": "a", "BTC/USDT@b": "b"}
    assert instruments.get("BTC/USDT@b").base == "BTC" and exchanges["b"].node_venue.natives == {
        "BTC/USDT@b": "BTC/USDT"
    }
    venues = build_venues(settings, instruments, TestClock(), exchanges, symbols)
    venues.listings = listings
    assert order_target(settings, venues, "BTC/USDT", "acct_b") == ("BTC/USDT@b", "acct_b")
    assert order_target(settings, venues, "BTC/USDT", venue="a") == ("BTC/USDT@a", "acct_a")
    assert order_target(settings, venues, "ETH/USDT") == ("ETH/USDT", "acct_a")
    with pytest.raises(ValidationError, match="listed on several venues"):
        order_target(settings, venues, "BTC/USDT")
    with pytest.raises(ValidationError, match="is on venue 'a' but BTC/USDT@b trades on venue 'b'"):
        order_target(settings, venues, "BTC/USDT", "acct_a", "b")
