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


def test_defaults_live_under_the_data_home(isolated_home: Path) -> None:
    settings = load_settings()
    assert settings.home == isolated_home
    assert settings.effective_database_url == f"sqlite:///{isolated_home / 'state.db'}"
    assert settings.default_account == "main"
    assert settings.account().starting_cash == Decimal("100000")


def test_file_then_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config('base_currency = "EUR"\n[backtest]\nseed = 5\nfee_rate = 0.002\n')
    assert load_settings().base_currency == "EUR"
    assert load_settings().backtest.fee_rate == Decimal("0.002")
    monkeypatch.setenv("ALPHINTRA_BASE_CURRENCY", "GBP")
    monkeypatch.setenv("ALPHINTRA_BACKTEST__SEED", "7")
    settings = load_settings()
    assert (settings.base_currency, settings.backtest.seed) == ("GBP", 7)
    assert settings.backtest.fee_rate == Decimal("0.002")  # untouched keys still come from the file
    assert load_settings(base_currency="CHF").base_currency == "CHF"


def test_bad_value_in_file_names_key_value_rule_and_source() -> None:
    path = write_config("[backtest]\nfee_rate = 2\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.field == "backtest.fee_rate"
    assert err.value.value == 2
    assert "less than 1" in err.value.message
    assert str(path) in err.value.message


def test_unknown_key_is_rejected() -> None:
    write_config("[engine]\nconfirm_notionall = 5\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.field == "engine.confirm_notionall"
    assert "unknown setting" in err.value.message


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHINTRA_ENGINE__TCP", "localhost")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.field == "engine.tcp"
    assert "ALPHINTRA_ENGINE__TCP" in err.value.message
    assert "HOST:PORT" in err.value.message


def test_broken_toml_names_the_file() -> None:
    path = write_config("[backtest\ncash = 1\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.field == str(path)
    assert "not valid TOML" in err.value.message


def test_instrument_list_is_typed() -> None:
    write_config('[[instruments]]\nsymbol = "BTC/USDT"\ntick_size = "0.01"\nlot_size = "0.0001"\n')
    (inst,) = load_settings().instruments
    assert inst.tick_size == Decimal("0.01")
    write_config('[[instruments]]\nsymbol = "BTC/USDT"\ntick_size = 0\nlot_size = 1\n')
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.field == "instruments.0.tick_size"
