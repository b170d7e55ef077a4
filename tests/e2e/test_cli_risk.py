"""`alphintra risk ...` through the real entry point, against a real state store and market store in a temp home."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest

Run = Callable[..., Any]


@pytest.fixture
def cli(run_cli: Run) -> Run:
    """The real ``main``; the risk group is added when the root app does not register it (yet)."""
    from alphintra.cli import main as root
    from alphintra.cli import risk

    names = {group.name for group in root.app.registered_groups}
    if "risk" not in names:
        root.app.add_typer(risk.app, name="risk")
    return run_cli


def _state() -> Any:
    from alphintra.config.settings import get_settings
    from alphintra.storage.state import StateStore

    store = StateStore(get_settings().effective_database_url)
    store.create_all()
    return store


def test_limits_set_show_remove_and_history(cli: Run) -> None:
    r = cli(
        "risk",
        "limits",
        "set",
        "max_order_notional",
        "25000",
        "--symbol",
        "BTC/USDT",
        "--by",
        "alice",
        "--reason",
        "desk cap",
        "--json",
    )
    assert r.code == 0, r.err
    assert r.json() == {
        "name": "max_order_notional",
        "scope": "symbol",
        "scope_id": "BTC/USDT",
        "old_value": None,
        "new_value": "25000",
    }
    assert cli("risk", "limits", "set", "max_order_qty", "3", "--strategy", "mr", "--by", "bob").code == 0
    shown = cli("risk", "limits", "show", "--json").json()
    assert [(x["name"], x["scope"], x["scope_id"], x["value"], x["updated_by"]) for x in shown["limits"]] == [
        ("max_order_qty", "strategy", "mr", "3", "bob"),
        ("max_order_notional", "symbol", "BTC/USDT", "25000", "alice"),
    ]
    assert shown["halts"] == []
    assert cli("risk", "limits", "set", "max_order_qty", "none", "--strategy", "mr", "--by", "carol").code == 0
    history = cli("risk", "limits", "show", "--history", "--json").json()
    assert [(h["name"], h["old_value"], h["new_value"], h["changed_by"], h["reason"]) for h in history] == [
        ("max_order_qty", "3", None, "carol", None),
        ("max_order_qty", None, "3", "bob", None),
        ("max_order_notional", None, "25000", "alice", "desk cap"),
    ]
    table = cli("risk", "limits", "show")
    assert table.code == 0 and "BTC/USDT" in table.out and "25,000" in table.out and "mr" not in table.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--", "max_order_qty", "-1"), "must be a finite number >= 0"),
        (("max_order_qty", "ten"), "must be a decimal number"),
        (("price_band_ticks", "2.5"), "must be a whole number"),
        (("max_daily_loss", "100", "--symbol", "X"), "max_daily_loss can be set for: global, account"),
        (("no_such_limit", "1"), "no risk limit named 'no_such_limit'"),
        (("max_order_qty", "1", "--symbol", "X", "--strategy", "s"), "give at most one of"),
    ],
)
def test_limits_set_refuses_bad_input_with_exit_code_2_or_1(cli: Run, args: tuple[str, ...], message: str) -> None:
    r = cli("risk", "limits", "set", *args)
    assert r.code in (1, 2) and message in r.err
    assert cli("risk", "limits", "show", "--json").json()["limits"] == []


def test_venue_limits_set_show_and_remove(cli: Run) -> None:
    r = cli("risk", "limits", "set", "max_open_orders", "50", "--venue", "binance", "--by", "alice", "--json")
    assert r.code == 0, r.err
    assert r.json() == {
        "name": "max_open_orders",
        "scope": "venue",
        "scope_id": "binance",
        "old_value": None,
        "new_value": "50",
    }
    text = cli("risk", "limits", "set", "max_gross_exposure", "250000", "--venue", "binance", "--by", "alice")
    assert text.code == 0 and text.err.strip() == "max_gross_exposure (venue binance): unset -> 250000"
    total = cli("risk", "limits", "set", "max_total_position_qty", "3", "--symbol", "BTC/USDT", "--by", "bob")
    assert total.code == 0, total.err
    shown = cli("risk", "limits", "show", "--json").json()["limits"]
    assert [(x["name"], x["scope"], x["scope_id"], x["value"]) for x in shown] == [
        ("max_total_position_qty", "symbol", "BTC/USDT", "3"),
        ("max_gross_exposure", "venue", "binance", "250000"),
        ("max_open_orders", "venue", "binance", "50"),
    ]
    assert "venue" in cli("risk", "limits", "show").out
    assert cli("risk", "limits", "set", "max_open_orders", "none", "--venue", "binance", "--by", "carol").code == 0
    history = cli("risk", "limits", "show", "--history", "--name", "max_open_orders", "--json").json()
    assert [(h["scope"], h["scope_id"], h["old_value"], h["new_value"], h["changed_by"]) for h in history] == [
        ("venue", "binance", "50", None, "carol"),
        ("venue", "binance", None, "50", "alice"),
    ]
    # The limits the engine loads at its start: the venue scope among them.
    from alphintra.engine.risk import load_limits

    assert load_limits(_state()).get("max_gross_exposure", "venue", "binance") == D(250000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("max_leverage", "2", "--venue", "a"), "error: scope: max_leverage can be set for: global, account"),
        (
            ("max_total_position_qty", "1", "--symbol", "BTC/USDT@a"),
            "error: scope_id: max_total_position_qty counts every venue: name the native symbol (BTC/USDT)",
        ),
        (
            ("max_order_qty", "1", "--venue", "a", "--account", "x"),
            "error: scope: give at most one of --account, --venue",
        ),
    ],
)
def test_a_limit_in_a_scope_it_has_not_is_a_usage_error_exit_2(cli: Run, args: tuple[str, ...], message: str) -> None:
    r = cli("risk", "limits", "set", *args)
    assert r.code == 2
    assert " ".join(r.err.split()).startswith(message), r.err  # the message may wrap
    assert cli("risk", "limits", "show", "--json").json()["limits"] == []


def test_an_unknown_limit_is_a_usage_error_exit_2(cli: Run) -> None:
    r = cli("risk", "limits", "set", "no_such_limit", "1")
    assert r.code == 2
    assert r.err.splitlines()[0] == "error: no risk limit named 'no_such_limit'"


def test_catalogue_lists_every_limit(cli: Run) -> None:
    from alphintra.engine.risk import LIMITS

    rows = cli("risk", "limits", "show", "--catalogue", "--json").json()
    assert [r["name"] for r in rows] == list(LIMITS)


def test_halt_and_resume_without_a_daemon_record_who_and_why(cli: Run) -> None:
    r = cli("risk", "halt", "--strategy", "momentum", "--reason", "bad fills", "--by", "alice", "--json")
    assert r.code == 0 and r.json()["halted"] is True
    again = cli("risk", "halt", "--strategy", "momentum", "--json")
    assert again.json()["halted"] is False
    halts = cli("risk", "limits", "show", "--json").json()["halts"]
    assert [(h["scope"], h["scope_id"], h["rule"], h["by"], h["reason"]) for h in halts] == [
        ("strategy", "momentum", "manual", "alice", "bad fills")
    ]
    alerts = cli("risk", "alerts", "--json").json()
    assert [(a["severity"], a["rule"], a["strategy"]) for a in alerts] == [("CRITICAL", "manual", "momentum")]
    assert alerts[0]["message"] == "halted strategy momentum: bad fills (by alice)"
    # The daemon reads the same state: the engine refuses the strategy's orders from it.
    from alphintra.engine.risk import RiskEngine, load_halts

    engine = RiskEngine(halts=load_halts(_state()))
    assert engine.halts.covering("main", "momentum", "X") is not None
    assert cli("risk", "resume", "--strategy", "momentum", "--by", "bob", "--reason", "fixed").code == 0
    assert cli("risk", "limits", "show", "--json").json()["halts"] == []
    missing = cli("risk", "resume", "--strategy", "momentum")
    assert missing.code == 1 and "strategy momentum is not halted" in missing.err
    history = cli("risk", "limits", "show", "--history", "--name", "trading_halt", "--json").json()
    assert [(h["changed_by"], h["new_value"], h["reason"]) for h in history] == [
        ("bob", None, "fixed"),
        ("alice", "1", "[manual] bad fills"),
    ]
    # The resumption is an alert too, like the halt.
    alerts = cli("risk", "alerts", "--json").json()
    assert [(a["id"], a["severity"], a["rule"], a["strategy"], a["message"]) for a in alerts] == [
        (2, "INFO", "manual", "momentum", "resumed strategy momentum (by bob): fixed"),
        (1, "CRITICAL", "manual", "momentum", "halted strategy momentum: bad fills (by alice)"),
    ]
    acked = cli("risk", "alerts", "--ack", "1", "--by", "carol", "--json").json()
    assert [(a["id"], a["acknowledged"]) for a in acked] == [(2, False), (1, True)]
    assert [a["id"] for a in cli("risk", "alerts", "--unacknowledged", "--json").json()] == [2]
    missing_alert = cli("risk", "alerts", "--ack", "99")
    assert missing_alert.code == 1 and "alert 99 does not exist" in missing_alert.err


def test_halt_flags_need_a_running_engine_and_are_in_the_json(cli: Run) -> None:
    refused = cli("risk", "halt", "--cancel-orders")
    assert refused.code == 2 and "--cancel-orders" in refused.err and "needs a running engine" in refused.err
    refused = cli("risk", "halt", "--flatten")
    assert refused.code == 2 and "--flatten" in refused.err
    assert cli("risk", "limits", "show", "--json").json()["halts"] == []  # nothing half-applied
    r = cli("risk", "halt", "--symbol", "GOOG", "--reason", "news", "--by", "al", "--json").json()
    assert {k: r[k] for k in ("halted", "scope", "scope_id", "rule", "reason", "by", "cancel_orders", "flatten")} == {
        "halted": True,
        "scope": "symbol",
        "scope_id": "GOOG",
        "rule": "manual",
        "reason": "news",
        "by": "al",
        "cancel_orders": False,
        "flatten": False,
    }
    text = cli("risk", "resume", "--symbol", "GOOG", "--by", "al")
    assert text.code == 0 and text.err.strip() == "resumed symbol GOOG (al)"


def test_global_halt(cli: Run) -> None:
    r = cli("risk", "halt", "--json")
    assert r.code == 0 and (r.json()["scope"], r.json()["scope_id"]) == ("global", "*")
    assert cli("risk", "resume").code == 0


def _book() -> None:
    """An account with 10,000 USD cash and 20 SYN00 + 10 SYN01, and 300 daily bars of both in the market store."""
    from alphintra.storage.market import MarketStore, generate_bars

    store = _state()
    store.upsert_account({"id": "main", "base_currency": "USD"})
    store.upsert_balance(
        {
            "account_id": "main",
            "asset": "USD",
            "total_balance": D(10000),
            "available_balance": D(10000),
            "locked_balance": D(0),
        }
    )
    bars = generate_bars(["SYN00", "SYN01"], periods=300, timeframe="1d", seed=3)
    with MarketStore() as market:
        market.write_bars(bars, timeframe="1d")
    for symbol, qty in (("SYN00", 20), ("SYN01", 10)):
        store.upsert_position({"account_id": "main", "symbol": symbol, "quantity": D(qty), "average_price": D(100)})


def test_metrics_value_the_stored_positions_with_stored_prices(cli: Run) -> None:
    _book()
    r = cli("risk", "metrics", "--window", "100", "--json")
    assert r.code == 0, r.err
    report = r.json()
    assert report["symbols"] == ["SYN00", "SYN01"] and report["observations"] == 100
    gross = D(report["exposure"]["gross"])
    assert D(report["equity"]) == D(10000) + gross
    assert {e["method"] for e in report["estimates"]} == {"historical", "parametric", "monte_carlo"}
    assert all(e["var"] > 0 for e in report["estimates"])
    assert cli("risk", "metrics", "--window", "100").code == 0


def test_stress_reports_pnl_and_breaches_of_stored_limits(cli: Run) -> None:
    _book()
    snapshot = cli("risk", "metrics", "--window", "50", "--json").json()
    gross = D(snapshot["exposure"]["gross"])
    cli("risk", "limits", "set", "max_daily_loss", str((gross * D("0.1")).quantize(D(1)) - 1))
    r = cli("risk", "stress", "--scenario", "market-crash-10", "--window", "50", "--json")
    assert r.code == 0, r.err
    (result,) = r.json()
    assert D(result["pnl"]) == -gross * D("0.1")
    assert [b["limit"] for b in result["breaches"]] == ["daily_loss"]
    everything = cli("risk", "stress", "--window", "50", "--json").json()
    assert len(everything) == 13 and all("skipped" not in x for x in everything)
    unknown = cli("risk", "stress", "--scenario", "meteor")
    assert unknown.code == 1 and "no stress scenario named 'meteor'" in unknown.err


def test_crypto_crash_hits_a_book_that_is_all_btc(cli: Run) -> None:
    """BTC/USD has no [[instruments]] entry: its asset class (crypto) comes from the symbol."""
    store = _state()
    store.upsert_account({"id": "main", "base_currency": "USD"})
    store.upsert_position({"account_id": "main", "symbol": "BTC/USD", "quantity": D("0.5"), "average_price": D(60000)})
    r = cli("risk", "stress", "--scenario", "crypto-crash-50", "--json")
    assert r.code == 0, r.err
    (result,) = r.json()
    assert (D(result["pnl"]), D(result["pnl_pct"]), D(result["equity_after"])) == (D(-15000), D(-50), D(15000))
    assert result["details"]["shocks"] == {"BTC/USD": "-0.50"}


def _all_btc() -> None:
    store = _state()
    store.upsert_account({"id": "main", "base_currency": "USD"})
    store.upsert_position({"account_id": "main", "symbol": "BTC/USD", "quantity": D("0.5"), "average_price": D(60000)})


def test_monthly_returns_are_labelled_and_annualised_as_months(cli: Run) -> None:
    import math
    import statistics

    from alphintra.storage.market import MarketData

    assert cli("data", "sample").code == 0
    _all_btc()
    r = cli("risk", "metrics", "--timeframe", "1M", "--json")
    assert r.code == 0, r.err
    report = r.json()
    assert (report["horizon"], report["periods_per_year"]) == ("1 month", 12.0)
    closes = MarketData().close_returns(("BTC/USD",), "1M", window=250)
    monthly = [x for x in closes["BTC/USD"].to_list() if x is not None]
    assert report["observations"] == len(monthly)
    # A book that is all BTC (no cash): its returns are BTC's, annualised with sqrt(12), not sqrt(252).
    assert math.isclose(report["volatility_annualised"], statistics.stdev(monthly) * math.sqrt(12), rel_tol=1e-9)
    text = cli("risk", "metrics", "--timeframe", "1M")
    assert "Value at risk, 1 month (" in " ".join(text.out.split())


def test_metrics_without_daily_bars_degrade_to_the_book_and_say_why(cli: Run) -> None:
    assert cli("data", "sample").code == 0  # BTC/USD is stored monthly only
    _all_btc()
    r = cli("risk", "metrics", "--json")
    assert r.code == 0, r.err
    report = r.json()
    # Valued at the last stored (monthly) close, the book is all BTC: leverage 1.
    assert (report["estimates"], report["symbols"], D(report["leverage"])) == ([], ["BTC/USD"], 1)
    assert D(report["exposure"]["gross"]) == D(report["equity"]) > 0
    assert report["var_detail"].startswith("no 1d return history: ")
    text = cli("risk", "metrics")
    assert text.code == 0 and "VaR not computed: no 1d return history" in " ".join(text.err.split())
