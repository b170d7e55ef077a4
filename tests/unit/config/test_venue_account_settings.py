"""[venues.NAME] and [accounts.NAME]: one account model, one home for venue definitions, bad settings named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alphintra.config.paths import config_file
from alphintra.config.settings import load_settings
from alphintra.errors import ConfigError


def write_config(text: str) -> Path:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refused(text: str) -> ConfigError:
    write_config(text)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.exit_code == 2
    return err.value


def test_the_default_is_one_margin_account_with_leverage_1_on_a_simulated_venue(isolated_home: Path) -> None:
    settings = load_settings()
    assert list(settings.venues) == ["sim"] and settings.venues["sim"].kind == "simulated"
    ((name, account),) = settings.accounts.items()
    assert (name, account.venue, account.mode, account.leverage) == ("main", "sim", "margin", Decimal(1))
    assert (settings.default_account, account.starting_cash) == ("main", Decimal("100000"))


def test_venues_and_accounts_from_the_file_the_first_account_is_the_default(isolated_home: Path) -> None:
    write_config(
        '[venues.stocks]\nkind = "simulated"\nmaker_fee = "0.0005"\n'
        '[venues.crypto]\nkind = "simulated"\n'
        '[accounts.broker]\nvenue = "stocks"\nmode = "spot"\nstarting_cash = 2500\n'
        '[accounts.desk]\nvenue = "crypto"\nleverage = "3"\ncurrency = "USDT"\n'
        '[[instruments]]\nsymbol = "BTC/USDT"\ntick_size = "0.01"\nlot_size = "0.001"\nvenue = "crypto"\n'
    )
    settings = load_settings()
    assert settings.default_account == "broker"
    assert settings.account("desk").leverage == Decimal(3) and settings.account_currency("desk") == "USDT"
    assert settings.account_currency() == "USD" and settings.account().starting_cash == Decimal(2500)
    assert settings.instrument_venue(settings.instruments[0]) == "crypto"
    assert settings.venues["stocks"].maker_fee == Decimal("0.0005")
    # the venue's default fee for an instrument that sets none; the instrument's own default otherwise
    assert (settings.instruments[0].maker_fee, settings.instruments[0].taker_fee) == (Decimal("0.001"),) * 2
    write_config(
        '[venues.sim]\nmaker_fee = "0.0002"\n[[instruments]]\nsymbol = "GOOG"\ntick_size = "0.01"\nlot_size = "1"\n'
        'taker_fee = "0.003"\n'
    )
    (goog,) = load_settings().instruments
    assert (goog.maker_fee, goog.taker_fee) == (Decimal("0.0002"), Decimal("0.003"))


def test_accounts_in_the_environment(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHINTRA_ACCOUNTS__MAIN__MODE", "spot")
    assert load_settings().account().mode == "spot"
    monkeypatch.setenv("ALPHINTRA_ACCOUNTS__MAIN__COLOUR", "red")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.field == "ALPHINTRA_ACCOUNTS__MAIN__COLOUR"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[accounts.main]\nvenue = "x"\n', "accounts.main.venue: no venue named 'x' (configured: sim)"),
        ('[accounts.main]\nmode = "cash"\n', "accounts.main.mode: Input should be 'spot' or 'margin'"),
        ('[accounts.main]\nmode = "spot"\nleverage = 2\n', "accounts.main.leverage: must be 1 for a spot account"),
        ("[accounts.main]\nleverage = 0\n", "accounts.main.leverage: Input should be greater than or equal to 1"),
        ("[accounts.main]\nstarting_cash = -1\n", "accounts.main.starting_cash: Input should be greater than"),
        ("[accounts.main]\nbalance = 5\n", "accounts.main.balance: unknown setting"),
        ("accounts = {}\n", "accounts: needs at least one [accounts.NAME] table"),
        ('[venues.sim]\nkind = "dark-pool"\n', "venues.sim.kind: Input should be 'simulated' or 'ccxt'"),
        ('[venues.x]\nkind = "ccxt"\n', "venues.x.exchange: is required for a ccxt venue"),
        ('[venues.sim]\nkind = "simulated"\nsandbox = true\n', "venues.sim.sandbox: applies only to a ccxt venue"),
        ('[venues.Big]\nkind = "simulated"\n', "venues.Big: a venue name starts with a lowercase letter"),
        (
            '[venues.sim]\n[venues.bin]\nexchange = "binance"\n[accounts.main]\n[accounts.live]\nvenue = "bin"\n'
            "starting_cash = 5\n",
            "accounts.live.starting_cash: applies only to an account on a simulated venue ('bin' is ccxt",
        ),
        (
            '[[instruments]]\nsymbol = "X"\ntick_size = 1\nlot_size = 1\nvenue = "nope"\n',
            "instruments.0.venue: no venue named 'nope' for X (configured: sim)",
        ),
    ],
)
def test_bad_venue_and_account_settings_name_the_key_and_the_rule(isolated_home: Path, text: str, message: str) -> None:
    assert refused(text).message.startswith(message)


@pytest.mark.parametrize(
    ("text", "key", "new"),
    [
        ("[engine]\nstarting_cash = 5\n", "engine.starting_cash", "accounts.NAME.starting_cash"),
        ('[engine]\naccount = "x"\n', "engine.account", "accounts (the first [accounts.NAME] table"),
        ('[paper]\naccount_mode = "margin"\n', "paper.account_mode", "accounts.NAME.mode"),
        ("[backtest]\ncash = 5\n", "backtest.cash", "accounts.NAME.starting_cash"),
        ('exchange = "SIM"\n', "exchange", "venues"),
    ],
)
def test_a_setting_that_folded_into_accounts_is_refused_naming_where_it_went(
    isolated_home: Path, text: str, key: str, new: str
) -> None:
    err = refused(text)
    assert err.field == key
    assert err.message.startswith(f"{key}: this setting moved: use {new}")


def test_the_old_environment_variables_say_where_they_went(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHINTRA_PAPER__ACCOUNT_MODE", "spot")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.message == "ALPHINTRA_PAPER__ACCOUNT_MODE: this setting moved: use accounts.NAME.mode"


def test_venue_add_s_file_is_part_of_the_settings_venues(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "venues.toml").write_text('[venues.fakebin]\nkind = "ccxt"\nexchange = "binance"\n')
    write_config('[accounts.main]\n[accounts.live]\nvenue = "fakebin"\n')
    settings = load_settings()
    assert list(settings.venues) == ["sim", "fakebin"]
    assert settings.venues["fakebin"].exchange == "binance" and settings.account("live").venue == "fakebin"
    err = refused('[venues.sim]\n[venues.fakebin]\nkind = "simulated"\n')
    assert err.field == "venues.fakebin"
    assert (
        "is defined twice, in config file" in err.message
        and "venues.toml (written by `alphintra venue add`)" in err.message
    )
    (isolated_home / "venues.toml").write_text('[venues.fakebin]\nexchange = "binance"\nmaker_fee = 2\n')
    err = refused("")
    assert err.message.startswith("venues.fakebin.maker_fee: Input should be less than 1 (from ")
