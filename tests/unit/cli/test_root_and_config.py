from __future__ import annotations

import json
from pathlib import Path

from alphintra import __version__
from alphintra.config.paths import config_file


def test_version(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"alphintra {__version__}"


def test_help_lists_every_command_group(run_cli) -> None:  # type: ignore[no-untyped-def]
    from alphintra.cli.main import app

    result = run_cli("--help")
    assert result.code == 0
    groups = [g.name for g in app.registered_groups]
    assert {"config", "completions"} <= set(groups)
    for name in groups:
        assert name is not None and name in result.out


def test_config_init_then_show_json(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("config", "init").code == 0
    assert config_file().read_text().startswith("# Alphintra configuration.")
    result = run_cli("config", "show", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["home"] == str(isolated_home)
    assert data["accounts"]["main"] == {
        "venue": "sim",
        "mode": "margin",
        "leverage": "1",
        "starting_cash": "100000",
        "currency": None,
    }
    assert data["venues"]["sim"]["kind"] == "simulated"
    assert data["engine"]["journal_fsync"] == "every"


def test_config_init_refuses_to_overwrite(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("config", "init").code == 0
    config_file().write_text("# mine\n")
    result = run_cli("config", "init")
    assert result.code == 1
    assert "already exists" in result.err and "--force" in result.err
    assert config_file().read_text() == "# mine\n"
    assert run_cli("config", "init", "--force").code == 0
    assert config_file().read_text().startswith("# Alphintra configuration.")


def test_bad_setting_exits_2_and_names_the_key(run_cli) -> None:  # type: ignore[no-untyped-def]
    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text('[engine]\njournal_fsync = "sometimes"\n')
    result = run_cli("config", "show")
    assert result.code == 2
    assert "engine.journal_fsync" in result.err
    assert "sometimes" in result.err
    assert "Traceback" not in result.err + result.out


def test_home_flag_beats_environment(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "elsewhere"
    result = run_cli("--home", str(other), "config", "path", "--json")
    assert result.code == 0
    assert json.loads(result.out)["home"] == str(other)


def test_usage_error_exits_2(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("config", "no-such-command")
    assert result.code == 2


def test_a_missing_config_file_named_by_flag_or_environment_exits_2(run_cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.toml"
    result = run_cli("--config", str(missing), "config", "show")
    assert (result.code, result.out) == (2, "")
    assert " ".join(result.err.split()) == (
        f"error: --config / ALPHINTRA_CONFIG: names a file that does not exist (got '{missing}')"
    )
    monkeypatch.setenv("ALPHINTRA_CONFIG", str(missing))
    assert run_cli("config", "show").code == 2
    assert run_cli("config", "init").code == 0  # creating it is what the name is for
    assert run_cli("config", "show").code == 0


def test_an_unknown_environment_variable_exits_2_naming_it(run_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ALPHINTRA_BACKTEST__CASHH", "5")
    result = run_cli("config", "show")
    assert result.code == 2
    assert " ".join(result.err.split()) == (
        "error: ALPHINTRA_BACKTEST__CASHH: unknown setting in the environment (check the spelling; "
        "`alphintra config show` lists them)"
    )
    monkeypatch.delenv("ALPHINTRA_BACKTEST__CASHH")
    monkeypatch.setenv("ALPHINTRA_LOGLEVEL", "DEBUG")
    assert "ALPHINTRA_LOGLEVEL" in run_cli("config", "show").err
    monkeypatch.delenv("ALPHINTRA_LOGLEVEL")
    # Settings, their sections and the documented non-setting variables are all known.
    for name, value in (
        ("ALPHINTRA_BACKTEST__SEED", "5"),
        ("ALPHINTRA_ACCOUNTS__MAIN__STARTING_CASH", "5"),
        ("ALPHINTRA_TOKEN", "t"),
        ("ALPHINTRA_ENGINE_BARE", "0"),
    ):
        monkeypatch.setenv(name, value)
    assert run_cli("config", "show").code == 0


def test_quiet_hides_result_tables_but_not_json(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample", "--json").code == 0
    shown = run_cli("data", "list")
    assert shown.code == 0 and "GOOG" in shown.out
    quiet = run_cli("-q", "data", "list")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    as_json = run_cli("-q", "data", "list", "--json")
    assert {row["symbol"] for row in json.loads(as_json.out)} == {"GOOG", "EUR/USD", "BTC/USD"}
    assert "GOOG" in run_cli("data", "list").out  # the next command is not quiet


def test_venue_key_variables_and_the_passphrase_are_not_unknown_settings() -> None:
    import pytest

    from alphintra.config.settings import check_environment
    from alphintra.errors import ConfigError

    check_environment(
        {"ALPHINTRA_VENUE_FAKE_1_API_KEY": "k", "ALPHINTRA_VENUE_FAKE_1_API_SECRET": "s", "ALPHINTRA_PASSPHRASE": "p"}
    )
    with pytest.raises(ConfigError):
        check_environment({"ALPHINTRA_VENUE_FAKE_1_API_TOKEN": "t"})
