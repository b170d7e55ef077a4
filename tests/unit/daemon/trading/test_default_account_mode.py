"""Backtest and paper share one account model: by default both trade a margin account with leverage 1 (so a strategy
that goes short does so in both), and a configured spot account is spot in both."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from trading_support import Engine

from alphintra.config.paths import config_file
from alphintra.config.settings import reset_settings_cache
from alphintra.engine.core.ledger import AccountMode


def paper_account(monkeypatch: pytest.MonkeyPatch) -> tuple[AccountMode, Decimal, dict[str, Decimal]]:
    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()
    engine = Engine()
    try:
        node = engine.host.node
        assert node is not None
        cash = {a: b.total for a, b in node.ledger.balances("main").items()}
        return node.ledger.account_mode("main"), node.ledger.account_leverage("main"), cash
    finally:
        engine.close()


def backtest_account(run_cli: Any) -> tuple[str, str]:
    assert run_cli("data", "sample").code == 0
    ran = run_cli("backtest", "run", "sma_cross", "-s", "GOOG", "-p", "fast=10", "-p", "slow=20", "--json")
    assert ran.code == 0, ran.err
    extra = json.loads(ran.out)["extra"]
    return extra["account_mode"], extra["cash"]


def test_backtest_and_paper_default_to_the_same_margin_account(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    assert paper_account(monkeypatch) == (AccountMode.MARGIN, Decimal(1), {"USD": Decimal(100000)})
    assert backtest_account(run_cli) == ("margin", "100000")


def test_a_configured_spot_account_is_spot_in_both(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text('[accounts.main]\nmode = "spot"\nstarting_cash = 2500\n', encoding="utf-8")
    assert paper_account(monkeypatch) == (AccountMode.SPOT, Decimal(1), {"USD": Decimal(2500)})
    reset_settings_cache()
    assert backtest_account(run_cli) == ("spot", "2500")
