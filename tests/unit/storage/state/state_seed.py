"""A row in every table of the state database, written through the store API, and the check that finds them all.

The same seeding ran under the code from before migrations to make ``data/state_before_migrations.sql`` (see
that file's header), so an upgrade test can prove that a home made by that code keeps every row.
"""

from __future__ import annotations

from decimal import Decimal

from alphintra.storage.state import StateStore

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
BIG = Decimal("12345678901234.123456789012345678")
EXPECTED_COUNTS = {
    "trading_accounts": 2,
    "orders": 3,
    "trades": 2,
    "positions": 1,
    "account_balances": 2,
    "trading_strategies": 1,
    "strategy_executions": 1,
    "risk_limits": 1,
    "risk_limit_changes": 2,
    "risk_alerts": 1,
    "scheduled_jobs": 1,
}


def seed_every_table(store: StateStore) -> None:
    with store.batch() as w:
        w.upsert_account({"id": "main", "exchange": "SIM", "account_type": "spot", "base_currency": "USDT"})
        w.upsert_account({"id": "alt", "exchange": "binance", "account_type": "margin"})
        w.upsert_order(
            {
                "id": "O-1",
                "client_order_id": "c-1",
                "account_id": "main",
                "strategy": "sma",
                "symbol": "BTC/USDT",
                "side": "BUY",
                "order_type": "LIMIT",
                "quantity": Decimal("0.3"),
                "price": BIG,
                "status": "FILLED",
                "filled_quantity": Decimal("0.3"),
                "params": {"display": "0.1"},
                "journal_seq": 7,
            }
        )
        w.upsert_order(
            {
                "id": "O-2",
                "account_id": "main",
                "symbol": "ETH/USDT",
                "side": "SELL",
                "order_type": "STOP",
                "quantity": Decimal("2"),
                "stop_price": Decimal("1500.5"),
                "status": "ACCEPTED",
            }
        )
        w.upsert_order(
            {
                "id": "O-3",
                "account_id": "alt",
                "symbol": "BTC/USDT",
                "side": "BUY",
                "order_type": "MARKET",
                "quantity": Decimal("1"),
                "status": "REJECTED",
                "reason": "insufficient funds",
            }
        )
        w.record_trade(
            {
                "id": "T-1",
                "order_id": "O-1",
                "quantity": Decimal("0.1"),
                "price": Decimal("100"),
                "fee": Decimal("0.000000000000000001"),
                "fee_currency": "USDT",
                "trade_type": "MAKER",
            }
        )
        w.record_trade(
            {
                "id": "T-2",
                "order_id": "O-1",
                "quantity": Decimal("0.2"),
                "price": Decimal("101"),
                "realized_pnl": Decimal("-3.25"),
            }
        )
        w.upsert_position(
            {
                "account_id": "main",
                "symbol": "BTC/USDT",
                "quantity": Decimal("0.3"),
                "average_price": Decimal("100.666666666666666667"),
            }
        )
        w.upsert_balance(
            {"account_id": "main", "asset": "USDT", "total_balance": BIG, "locked_balance": Decimal("1E-18")}
        )
        w.upsert_balance(
            {"account_id": "main", "asset": "BTC", "total_balance": Decimal("0.3"), "locked_balance": Decimal("0")}
        )
        w.create_strategy({"name": "sma", "strategy_type": "sma_cross", "config": {"fast": 10, "slow": 20}})
        w.record_execution("sma", "backtest", results={"pnl": "12.5"}, started_at=T0, completed_at=T0 + 10**9)
        w.set_risk_limit("max_daily_loss", Decimal("500"), changed_by="ann", reason="desk rule")
        w.set_risk_limit("max_daily_loss", Decimal("400"), changed_by="bob")
        w.add_alert(
            {
                "severity": "WARNING",
                "rule": "max_daily_loss",
                "message": "80% used",
                "value": Decimal("320"),
                "threshold": Decimal("400"),
            }
        )
        w.upsert_job({"id": "nightly", "schedule": "0 2 * * *", "command": "backtest", "args": {"symbol": "BTC"}})
        w.set_projection_meta("journal-1", 42, "d" * 64)


def assert_every_row(store: StateStore) -> None:
    """Every seeded row, field by field where it matters: money to the last digit, times, documents."""
    assert {k: v for k, v in store.counts().items() if k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert {a.id for a in store.list_accounts()} == {"main", "alt"}
    o1 = store.get_order("O-1")
    assert (o1.price, o1.quantity, o1.status, o1.params, o1.journal_seq) == (
        BIG,
        Decimal("0.3"),
        "FILLED",
        {"display": "0.1"},
        7,
    )
    assert store.get_order_by_client_id("main", "c-1").id == "O-1"
    assert store.get_order("O-2").stop_price == Decimal("1500.5")
    assert store.get_order("O-3").reason == "insufficient funds"
    trades = {t.id: t for t in store.list_trades()}
    assert trades["T-1"].fee == Decimal("1E-18") and trades["T-1"].timestamp.timestamp() == T0 / 1e9
    assert trades["T-2"].realized_pnl == Decimal("-3.25") and trades["T-2"].strategy == "sma"
    assert store.get_position("main", "BTC/USDT").average_price == Decimal("100.666666666666666667")
    balances = {b.asset: b for b in store.list_balances(account="main")}
    assert balances["USDT"].available_balance == Decimal("12345678901234.123456789012345677")
    assert store.get_strategy("sma").config == {"fast": 10, "slow": 20}
    (execution,) = store.list_executions()
    assert execution.results == {"pnl": "12.5"}
    limit = store.get_risk_limit("max_daily_loss")
    assert limit is not None and (limit.value, limit.updated_by) == (Decimal("400"), "bob")
    history = store.risk_limit_history()
    assert [(h.old_value, h.new_value, h.changed_by) for h in history] in (
        [(None, Decimal("500"), "ann"), (Decimal("500"), Decimal("400"), "bob")],
        [(Decimal("500"), Decimal("400"), "bob"), (None, Decimal("500"), "ann")],
    )
    (alert,) = store.list_alerts()
    assert (alert.value, alert.threshold, alert.message) == (Decimal("320"), Decimal("400"), "80% used")
    assert store.get_job("nightly").args == {"symbol": "BTC"}
    meta = store.projection_meta()
    assert meta is not None and (meta.journal_id, meta.applied_seq) == ("journal-1", 42)
