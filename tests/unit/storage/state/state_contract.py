"""Behaviour every StateStore backend must show. SQLite (unit) and PostgreSQL (integration) tests subclass
:class:`StoreContract` and provide the ``store`` and ``clock`` fixtures; the bodies are shared so that both
backends are held to exactly the same outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from alphintra.errors import ConflictError, NotFoundError, ValidationError
from alphintra.storage.state import Order, StateStore

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
T0_DT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
BIG = Decimal("12345678901234.123456789012345678")


class FakeClock:
    def __init__(self, start_ns: int = T0) -> None:
        self.ns = start_ns

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: int) -> None:
        self.ns += seconds * 1_000_000_000


def seed_account(store: StateStore, account_id: str = "main") -> None:
    store.upsert_account({"id": account_id, "exchange": "SIM", "account_type": "spot", "base_currency": "USDT"})


def order(order_id: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": order_id,
        "account_id": "main",
        "symbol": "BTC/USDT",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": Decimal("1"),
        "price": Decimal("100"),
    }
    data.update(extra)
    return data


def _ids(found: list[Order]) -> list[str]:
    return [o.id for o in found]


class StoreContract:
    """Subclasses provide fixtures ``store`` (created tables, clock injected) and ``clock`` (a FakeClock)."""

    # -- exact money and time -----------------------------------------------------------------------------------

    def test_decimals_round_trip_exactly(self, store: StateStore) -> None:
        seed_account(store)
        store.upsert_order(order("O-1", quantity=Decimal("0.1") + Decimal("0.2"), price=BIG))
        store.upsert_balance(
            {
                "account_id": "main",
                "asset": "usdt",
                "total_balance": BIG,
                "locked_balance": Decimal("0.000000000000000001"),
            }
        )
        got = store.get_order("O-1")
        assert got.quantity == Decimal("0.3") and str(got.quantity) == "0.3"
        assert got.price == BIG and str(got.price) == "12345678901234.123456789012345678"
        (balance,) = store.list_balances(account="main")
        assert balance.asset == "USDT"
        assert balance.locked_balance == Decimal("1E-18")
        assert balance.available_balance == Decimal("12345678901234.123456789012345677")

    def test_money_refuses_float_and_digits_that_would_be_lost(self, store: StateStore) -> None:
        seed_account(store)
        with pytest.raises(ValidationError) as err:
            store.upsert_order(order("O-1", quantity=0.3))
        assert err.value.field == "orders.quantity" and "not float" in err.value.rule
        with pytest.raises(ValidationError) as err:
            store.upsert_order(order("O-1", price=Decimal("1.0000000000000000001")))
        assert err.value.field == "orders.price" and "18 decimal places" in err.value.rule
        with pytest.raises(ValidationError) as err:
            store.upsert_order(order("O-1", price=Decimal("123456789012345678901")))
        assert err.value.field == "orders.price" and "20 digits" in err.value.rule
        with pytest.raises(NotFoundError):
            store.get_order("O-1")

    def test_timestamps_are_aware_utc_from_ns_or_any_offset(self, store: StateStore, clock: FakeClock) -> None:
        seed_account(store)
        plus2 = timezone(timedelta(hours=2))
        store.upsert_order(order("O-1", created_at=datetime(2024, 1, 1, 14, 0, tzinfo=plus2)))
        store.upsert_order(order("O-2", created_at=T0 + 123_456_789))
        first, second = store.get_order("O-1"), store.get_order("O-2")
        assert first.created_at == datetime(2024, 1, 1, 12, 0, tzinfo=UTC) and first.created_at.tzinfo is UTC
        assert second.created_at == T0_DT + timedelta(microseconds=123_456)
        assert second.updated_at == second.created_at
        with pytest.raises(ValidationError) as err:
            store.upsert_order(order("O-3", created_at=datetime(2024, 1, 1)))
        assert err.value.field == "orders.created_at" and "timezone-aware" in err.value.rule

    # -- orders -------------------------------------------------------------------------------------------------

    def test_order_insert_then_partial_updates_stamped_by_the_clock(self, store: StateStore, clock: FakeClock) -> None:
        seed_account(store)
        created = store.upsert_order(
            order("O-1", side="buy", order_type="limit", client_order_id="c-1", strategy="ema")
        )
        assert (created.side, created.order_type, created.status, created.time_in_force) == (
            "BUY",
            "LIMIT",
            "NEW",
            "GTC",
        )
        assert created.created_at == T0_DT and created.filled_quantity == 0
        clock.advance(5)
        store.upsert_order(
            {"id": "O-1", "status": "PARTIALLY_FILLED", "filled_quantity": "0.4", "average_price": "99.5"}
        )
        got = store.get_order("O-1")
        assert got.status == "PARTIALLY_FILLED"
        assert got.filled_quantity == Decimal("0.4") and got.average_price == Decimal("99.5")
        assert got.created_at == T0_DT and got.updated_at == T0_DT + timedelta(seconds=5)
        assert got.strategy == "ema" and got.client_order_id == "c-1"
        assert store.get_order_by_client_id("main", "c-1").id == "O-1"

    def test_replayed_events_never_roll_an_order_back(self, store: StateStore) -> None:
        seed_account(store)
        store.upsert_order(order("O-1", journal_seq=10))
        store.upsert_order({"id": "O-1", "status": "FILLED", "filled_quantity": "1", "journal_seq": 12})
        store.upsert_order({"id": "O-1", "status": "ACCEPTED", "filled_quantity": "0", "journal_seq": 11})
        store.upsert_order({"id": "O-1", "status": "ACCEPTED", "journal_seq": 12})
        got = store.get_order("O-1")
        assert (got.status, got.filled_quantity, got.journal_seq) == ("FILLED", Decimal(1), 12)

    def test_order_rules(self, store: StateStore) -> None:
        seed_account(store)
        seed_account(store, "other")
        with pytest.raises(NotFoundError, match="account 'nope'"):
            store.upsert_order(order("O-0", account_id="nope"))
        store.upsert_order(order("O-1", client_order_id="dup"))
        with pytest.raises(ConflictError, match="client_order_id 'dup' is already used by order O-1"):
            store.upsert_order(order("O-2", client_order_id="dup"))
        store.upsert_order(order("O-3", account_id="other", client_order_id="dup"))  # unique per account only
        with pytest.raises(ConflictError, match="side cannot change"):
            store.upsert_order({"id": "O-1", "side": "SELL"})
        with pytest.raises(ValidationError) as err:
            store.upsert_order({"id": "O-1", "filled_quantity": "2"})
        assert err.value.field == "orders.filled_quantity"
        with pytest.raises(ValidationError) as err:
            store.upsert_order({"id": "O-1", "status": "DONE"})
        assert err.value.field == "orders.status" and "PARTIALLY_FILLED" in err.value.rule
        with pytest.raises(ValidationError) as err:
            store.upsert_order({"id": "O-1", "colour": "red"})
        assert err.value.field == "orders.colour" and err.value.rule == "is not a known field"
        with pytest.raises(ValidationError) as err:
            store.upsert_order(order("O-4", quantity="0"))
        assert err.value.field == "orders.quantity"
        with pytest.raises(ValidationError) as err:
            store.upsert_order({"id": "O-5", "account_id": "main"})
        assert err.value.field == "orders.symbol" and err.value.rule == "is required"
        assert store.get_order("O-1").status == "NEW"  # nothing half-applied

    def test_list_orders_filters_and_order(self, store: StateStore, clock: FakeClock) -> None:
        seed_account(store)
        seed_account(store, "alt")
        rows = [
            ("O-1", "BTC/USDT", "ema", "main", "FILLED"),
            ("O-2", "ETH/USDT", "ema", "main", "ACCEPTED"),
            ("O-3", "BTC/USDT", "rsi", "alt", "PARTIALLY_FILLED"),
            ("O-4", "BTC/USDT", None, "main", "CANCELED"),
        ]
        for oid, symbol, strategy, account, status in rows:
            store.upsert_order(order(oid, symbol=symbol, strategy=strategy, account_id=account, status=status))
            clock.advance(60)
        assert _ids(store.list_orders()) == ["O-4", "O-3", "O-2", "O-1"]
        assert _ids(store.list_orders(open_only=True)) == ["O-3", "O-2"]
        assert _ids(store.list_orders(status="filled")) == ["O-1"]
        assert _ids(store.list_orders(status=["FILLED", "CANCELED"])) == ["O-4", "O-1"]
        assert _ids(store.list_orders(symbol="BTC/USDT", account="main")) == ["O-4", "O-1"]
        assert _ids(store.list_orders(strategy="ema")) == ["O-2", "O-1"]
        assert _ids(store.list_orders(since=T0 + 60 * 10**9, until=T0_DT + timedelta(seconds=180))) == ["O-3", "O-2"]
        assert _ids(store.list_orders(limit=2, offset=1)) == ["O-3", "O-2"]
        with pytest.raises(ValidationError) as err:
            store.list_orders(limit=0)
        assert err.value.field == "limit"
        with pytest.raises(ValidationError):
            store.list_orders(status="SOMETIMES")

    # -- trades -------------------------------------------------------------------------------------------------

    def test_trades_take_order_fields_and_are_recorded_once(self, store: StateStore, clock: FakeClock) -> None:
        seed_account(store)
        store.upsert_order(order("O-1", strategy="ema", side="SELL"))
        fill = {
            "id": "T-1",
            "order_id": "O-1",
            "quantity": "0.25",
            "price": "101.5",
            "fee": "0.0253",
            "trade_type": "maker",
        }
        trade = store.record_trade(fill)
        assert (trade.account_id, trade.symbol, trade.side, trade.strategy) == ("main", "BTC/USDT", "SELL", "ema")
        assert trade.trade_type == "MAKER" and trade.timestamp == T0_DT and trade.realized_pnl == 0
        clock.advance(1)
        again = store.record_trade(fill)  # a replayed event: no-op
        assert again.timestamp == T0_DT
        assert store.counts()["trades"] == 1
        with pytest.raises(ConflictError, match="T-1 is already recorded with other price"):
            store.record_trade({**fill, "price": "102"})
        with pytest.raises(NotFoundError, match="order 'O-9'"):
            store.record_trade({**fill, "id": "T-2", "order_id": "O-9"})
        with pytest.raises(ValidationError) as err:
            store.record_trade({**fill, "id": "T-3", "symbol": "ETH/USDT"})
        assert err.value.field == "trades.symbol"
        with pytest.raises(ValidationError) as err:
            store.record_trade({**fill, "id": "T-4", "price": "-1"})
        assert err.value.field == "trades.price"

    def _fills(self, store: StateStore) -> None:
        seed_account(store)
        store.upsert_order(order("B-1", quantity="3", strategy="ema"))
        store.upsert_order(order("S-1", side="SELL", quantity="3", strategy="ema"))
        store.upsert_order(order("E-1", symbol="ETH/USDT", quantity="10", strategy="rsi"))
        fills = [
            ("T1", "B-1", "1", "100.1", "0.1001", "0", T0),
            ("T2", "B-1", "2", "100.2", "0.2004", "0", T0 + 10**9),
            ("T3", "S-1", "1.5", "110.3", "0.16545", "14.85", T0 + 2 * 10**9),
            ("T4", "E-1", "0.1", "0.2", "0.00002", "0", T0 + 3 * 10**9),
            ("T5", "E-1", "0.2", "0.1", "0.00002", "0", T0 + 4 * 10**9),
        ]
        for tid, oid, qty, price, fee, pnl, ts in fills:
            store.record_trade(
                {
                    "id": tid,
                    "order_id": oid,
                    "quantity": qty,
                    "price": price,
                    "fee": fee,
                    "realized_pnl": pnl,
                    "timestamp": ts,
                }
            )

    def test_trade_summary_is_exact(self, store: StateStore) -> None:
        self._fills(store)
        btc, eth = store.trade_summary()
        assert btc.symbol == "BTC/USDT"
        assert (btc.count, btc.buy_count, btc.sell_count) == (3, 2, 1)
        assert (btc.volume, btc.buy_volume, btc.sell_volume) == (Decimal("4.5"), Decimal("3"), Decimal("1.5"))
        assert btc.notional == Decimal("465.95")  # 100.1 + 200.4 + 165.45
        assert btc.fees == Decimal("0.46595") and btc.realized_pnl == Decimal("14.85")
        assert (btc.first_at, btc.last_at) == (T0_DT, T0_DT + timedelta(seconds=2))
        # 0.1 x 0.2 + 0.2 x 0.1 is 0.04 exactly, where floats give 0.04000000000000001
        assert eth.notional == Decimal("0.04") and str(eth.notional) == "0.04"
        assert eth.volume == Decimal("0.3") and eth.fees == Decimal("0.00004")
        (only,) = store.trade_summary(since=T0 + 10**9, until=T0 + 3 * 10**9)
        assert (only.symbol, only.count, only.notional) == ("BTC/USDT", 2, Decimal("365.85"))
        assert [s.symbol for s in store.trade_summary(strategy="rsi")] == ["ETH/USDT"]
        assert store.trade_summary(account="nobody") == []

    def test_list_trades_filters(self, store: StateStore) -> None:
        self._fills(store)
        assert [t.id for t in store.list_trades()] == ["T5", "T4", "T3", "T2", "T1"]
        assert [t.id for t in store.list_trades(order_id="B-1")] == ["T2", "T1"]
        assert [t.id for t in store.list_trades(symbol="ETH/USDT", limit=1)] == ["T5"]
        assert [t.id for t in store.list_trades(strategy="ema", since=T0 + 10**9)] == ["T3", "T2"]
        assert store.get_trade("T3").realized_pnl == Decimal("14.85")
        with pytest.raises(NotFoundError):
            store.get_trade("T9")

    # -- positions and balances ---------------------------------------------------------------------------------

    def test_positions(self, store: StateStore, clock: FakeClock) -> None:
        seed_account(store)
        store.upsert_position({"account_id": "main", "symbol": "BTC/USDT", "quantity": "0.5", "average_price": "100"})
        store.upsert_position({"account_id": "main", "symbol": "ETH/USDT", "quantity": "-2", "average_price": "10"})
        clock.advance(3)
        store.upsert_position(
            {"account_id": "main", "symbol": "BTC/USDT", "quantity": "0", "realized_pnl": "5.25", "journal_seq": 4}
        )
        store.upsert_position({"account_id": "main", "symbol": "BTC/USDT", "quantity": "9", "journal_seq": 3})
        assert [(p.symbol, p.quantity) for p in store.list_positions()] == [("ETH/USDT", Decimal(-2))]
        flat = store.get_position("main", "BTC/USDT")
        assert (flat.quantity, flat.average_price, flat.realized_pnl) == (Decimal(0), Decimal(100), Decimal("5.25"))
        assert flat.updated_at == T0_DT + timedelta(seconds=3)
        assert len(store.list_positions(include_flat=True)) == 2
        with pytest.raises(NotFoundError):
            store.get_position("main", "XRP/USDT")
        with pytest.raises(ValidationError) as err:
            store.upsert_position({"account_id": "main", "symbol": "SOL/USDT", "quantity": "1"})
        assert err.value.field == "positions.average_price"

    def test_balances_keep_available_equal_total_minus_locked(self, store: StateStore) -> None:
        seed_account(store)
        store.upsert_balance(
            {"account_id": "main", "asset": "USDT", "total_balance": "1000", "available_balance": "900"}
        )
        (usdt,) = store.list_balances()
        assert (usdt.total_balance, usdt.available_balance, usdt.locked_balance) == (
            Decimal(1000),
            Decimal(900),
            Decimal(100),
        )
        store.upsert_balance({"account_id": "main", "asset": "USDT", "total_balance": "1200"})  # locked stays
        (usdt,) = store.list_balances()
        assert (usdt.total_balance, usdt.available_balance, usdt.locked_balance) == (
            Decimal(1200),
            Decimal(1100),
            Decimal(100),
        )
        store.upsert_balance({"account_id": "main", "asset": "USDT", "locked_balance": "0"})  # total stays
        (usdt,) = store.list_balances()
        assert (usdt.total_balance, usdt.available_balance, usdt.locked_balance) == (
            Decimal(1200),
            Decimal(1200),
            Decimal(0),
        )
        with pytest.raises(ValidationError) as err:
            store.upsert_balance(
                {
                    "account_id": "main",
                    "asset": "USDT",
                    "total_balance": "10",
                    "available_balance": "5",
                    "locked_balance": "4",
                }
            )
        assert err.value.field == "account_balances.available_balance"
        with pytest.raises(ValidationError):
            store.upsert_balance({"account_id": "main", "asset": "BTC", "total_balance": "1"})
        # margin: a negative total is a loan
        store.upsert_balance({"account_id": "main", "asset": "BTC", "total_balance": "-0.5", "locked_balance": "0"})
        assert store.list_balances(account="main")[0].available_balance == Decimal("-0.5")

    # -- strategies and executions ------------------------------------------------------------------------------

    def test_strategy_crud(self, store: StateStore, clock: FakeClock) -> None:
        created = store.create_strategy(
            {"name": "ema-cross", "strategy_type": "trend", "config": {"fast": 10, "slow": 30}, "description": "EMA"}
        )
        assert created.id is not None and created.status == "INACTIVE" and created.created_at == T0_DT
        with pytest.raises(ConflictError, match="ema-cross"):
            store.create_strategy({"name": "ema-cross", "strategy_type": "trend"})
        store.create_strategy({"name": "rsi", "strategy_type": "mean_reversion", "status": "active"})
        clock.advance(7)
        updated = store.update_strategy("ema-cross", {"status": "ACTIVE", "config": {"fast": 12, "slow": 30}})
        assert updated.updated_at == T0_DT + timedelta(seconds=7)
        got = store.get_strategy(created.id)
        assert (got.name, got.status, got.config) == ("ema-cross", "ACTIVE", {"fast": 12, "slow": 30})
        assert [s.name for s in store.list_strategies(status="active")] == ["ema-cross", "rsi"]
        with pytest.raises(ConflictError):
            store.update_strategy("rsi", {"name": "ema-cross"})
        with pytest.raises(ValidationError) as err:
            store.update_strategy("rsi", {"id": 99})
        assert err.value.field == "trading_strategies.id"
        store.delete_strategy("rsi")
        with pytest.raises(NotFoundError):
            store.get_strategy("rsi")

    def test_executions_lifecycle(self, store: StateStore, clock: FakeClock) -> None:
        strategy = store.create_strategy({"name": "ema", "strategy_type": "trend"})
        running = store.start_execution("ema", "paper", config={"symbols": ["BTC/USDT"]})
        assert (running.status, running.started_at, running.completed_at) == ("RUNNING", T0_DT, None)
        clock.advance(60)
        done = store.finish_execution(running.id or 0, results={"sharpe": Decimal("1.25"), "trades": 4})
        assert done.status == "COMPLETED" and done.completed_at == T0_DT + timedelta(seconds=60)
        assert store.get_execution(running.id or 0).results == {"sharpe": "1.25", "trades": 4}
        with pytest.raises(ConflictError, match="already finished"):
            store.finish_execution(running.id or 0, status="FAILED")
        backtest = store.record_execution(
            strategy.id or 0,
            "backtest",
            status="failed",
            error="no data",
            started_at=T0 + 10**9,
            completed_at=T0 + 2 * 10**9,
        )
        assert (backtest.status, backtest.error) == ("FAILED", "no data")
        assert [e.execution_type for e in store.list_executions(strategy="ema")] == ["backtest", "paper"]
        assert [e.id for e in store.list_executions(status="COMPLETED")] == [running.id]
        with pytest.raises(ValidationError) as err:
            store.start_execution("ema", "dream")
        assert err.value.field == "strategy_executions.execution_type"
        with pytest.raises(ValidationError):
            store.record_execution("ema", "backtest", started_at=T0 + 10**9, completed_at=T0)
        with pytest.raises(ConflictError, match="has 2 execution"):
            store.delete_strategy("ema")
        assert store.delete_strategy("ema", with_executions=True) == 2
        assert store.counts()["strategy_executions"] == 0

    # -- risk ---------------------------------------------------------------------------------------------------

    def test_risk_limits_keep_who_when_old_new(self, store: StateStore, clock: FakeClock) -> None:
        store.set_risk_limit("max_order_notional", "10000", changed_by="alice", reason="initial")
        clock.advance(10)
        store.set_risk_limit("max_order_notional", "10000", changed_by="bob")  # same value: no history
        store.set_risk_limit("max_order_notional", Decimal("2500.50"), changed_by="bob")
        store.set_risk_limit("max_position", "2", scope="symbol", scope_id="BTC/USDT", changed_by="alice")
        clock.advance(10)
        assert (
            store.set_risk_limit("max_position", None, scope="symbol", scope_id="BTC/USDT", changed_by="carol") is None
        )
        limit = store.get_risk_limit("max_order_notional")
        assert limit is not None and limit.value == Decimal("2500.5") and limit.updated_by == "bob"
        assert store.get_risk_limit("max_position", scope="symbol", scope_id="BTC/USDT") is None
        assert [(r.name, r.value) for r in store.list_risk_limits()] == [("max_order_notional", Decimal("2500.5"))]
        history = [(c.name, c.old_value, c.new_value, c.changed_by, c.changed_at) for c in store.risk_limit_history()]
        t10, t20 = T0_DT + timedelta(seconds=10), T0_DT + timedelta(seconds=20)
        assert history == [
            ("max_position", Decimal(2), None, "carol", t20),
            ("max_position", None, Decimal(2), "alice", t10),
            ("max_order_notional", Decimal(10000), Decimal("2500.5"), "bob", t10),
            ("max_order_notional", None, Decimal(10000), "alice", T0_DT),
        ]
        assert store.risk_limit_history(name="max_order_notional")[-1].reason == "initial"
        with pytest.raises(NotFoundError):
            store.set_risk_limit("daily_loss", None, changed_by="x")
        with pytest.raises(ValidationError) as err:
            store.set_risk_limit("daily_loss", "5", scope="global", scope_id="main", changed_by="x")
        assert err.value.field == "risk_limits.scope_id"
        with pytest.raises(ValidationError) as err:
            store.set_risk_limit("Daily Loss", "5", changed_by="x")
        assert err.value.field == "risk_limits.name"
        with pytest.raises(ValidationError) as err:
            store.set_risk_limit("daily_loss", "-5", changed_by="x")
        assert err.value.field == "risk_limits.value"
        with pytest.raises(ValidationError) as err:
            store.set_risk_limit("daily_loss", "5", changed_by=" ")
        assert err.value.field == "risk_limit_changes.changed_by"

    def test_alerts(self, store: StateStore, clock: FakeClock) -> None:
        first = store.add_alert(
            {
                "severity": "warning",
                "rule": "daily_loss",
                "message": "80% of the daily loss limit",
                "value": "800",
                "threshold": "1000",
            }
        )
        clock.advance(1)
        store.add_alert(
            {"severity": "CRITICAL", "rule": "max_drawdown", "message": "trading halted", "account_id": "main"}
        )
        assert [a.rule for a in store.list_alerts()] == ["max_drawdown", "daily_loss"]
        assert [a.rule for a in store.list_alerts(severity="warning")] == ["daily_loss"]
        clock.advance(1)
        acked = store.acknowledge_alert(first.id or 0, by="alice")
        assert acked.acknowledged and acked.acknowledged_at == T0_DT + timedelta(seconds=2)
        clock.advance(1)
        assert store.acknowledge_alert(first.id or 0, by="bob").acknowledged_by == "alice"
        assert [a.rule for a in store.list_alerts(unacknowledged=True)] == ["max_drawdown"]
        assert [a.rule for a in store.list_alerts(since=T0 + 10**9)] == ["max_drawdown"]
        assert store.list_alerts()[1].value == Decimal(800)
        with pytest.raises(ValidationError) as err:
            store.add_alert({"severity": "PANIC", "rule": "x", "message": "y"})
        assert err.value.field == "risk_alerts.severity"
        with pytest.raises(NotFoundError):
            store.acknowledge_alert(999, by="alice")

    # -- schedules, batches -------------------------------------------------------------------------------------

    def test_scheduled_jobs(self, store: StateStore, clock: FakeClock) -> None:
        store.upsert_job({"id": "nightly-data", "schedule": "0 2 * * *", "command": "data update --all"})
        store.upsert_job({"id": "weekly", "schedule": "0 3 * * 1", "command": "report", "enabled": False})
        clock.advance(30)
        run = store.record_job_run("nightly-data", status="ok", next_run_at=T0 + 86_400 * 10**9)
        assert (run.last_status, run.run_count, run.name) == ("OK", 1, "nightly-data")
        assert run.last_run_at == T0_DT + timedelta(seconds=30)
        store.record_job_run("nightly-data", status="failed", error="exchange timeout")
        job = store.get_job("nightly-data")
        assert (job.run_count, job.last_status, job.last_error) == (2, "FAILED", "exchange timeout")
        assert job.next_run_at == T0_DT + timedelta(days=1)
        assert [j.id for j in store.list_jobs(enabled=True)] == ["nightly-data"]
        store.delete_job("weekly")
        with pytest.raises(NotFoundError):
            store.get_job("weekly")
        with pytest.raises(NotFoundError):
            store.record_job_run("weekly", status="ok")

    def test_batch_is_one_transaction(self, store: StateStore) -> None:
        seed_account(store)
        ops: list[tuple[str, Any]] = [
            ("order", order("O-1")),
            ("trade", {"id": "T-1", "order_id": "O-1", "quantity": "1", "price": "100"}),
            ("order", {"id": "O-1", "status": "FILLED", "filled_quantity": "1"}),
            ("position", {"account_id": "main", "symbol": "BTC/USDT", "quantity": "1", "average_price": "100"}),
            ("balance", {"account_id": "main", "asset": "USDT", "total_balance": "-100", "locked_balance": "0"}),
        ]
        assert store.apply_batch(ops) == 5
        assert store.get_order("O-1").status == "FILLED"
        bad = [("order", order("O-2")), ("trade", {"id": "T-2", "order_id": "O-2", "quantity": "x", "price": "1"})]
        with pytest.raises(ValidationError) as err:
            store.apply_batch(bad)
        assert err.value.field == "trades.quantity"
        with pytest.raises(NotFoundError):
            store.get_order("O-2")  # the first op of the failed batch was rolled back
        with pytest.raises(ValidationError) as err:
            store.apply_batch([("signal", {})])
        assert err.value.field == "kind"
        counts = store.counts()
        assert (counts["orders"], counts["trades"], counts["positions"], counts["account_balances"]) == (1, 1, 1, 1)

    def test_a_batch_sees_stored_rows_and_its_own_writes(self, store: StateStore) -> None:
        seed_account(store)
        store.upsert_order(order("O-1", client_order_id="a", journal_seq=1))
        store.upsert_position({"account_id": "main", "symbol": "BTC/USDT", "quantity": "1", "average_price": "90"})
        fill = {"id": "T-1", "order_id": "O-1", "quantity": "1", "price": "100"}
        store.apply_batch(
            [
                ("order", {"id": "O-1", "status": "ACCEPTED", "journal_seq": 2}),
                ("trade", fill),
                ("order", {"id": "O-1", "status": "FILLED", "filled_quantity": "1", "journal_seq": 3}),
                ("order", {"id": "O-1", "status": "CANCELED", "journal_seq": 2}),  # stale: ignored
                ("trade", fill),  # replayed: no-op
                ("position", {"account_id": "main", "symbol": "BTC/USDT", "quantity": "2", "average_price": "95"}),
                ("balance", {"account_id": "main", "asset": "usdt", "total_balance": "500", "locked_balance": "0"}),
                ("balance", {"account_id": "main", "asset": "USDT", "total_balance": "400"}),
            ]
        )
        got = store.get_order("O-1")
        assert (got.status, got.filled_quantity, got.journal_seq) == ("FILLED", Decimal(1), 3)
        assert store.counts()["trades"] == 1
        position = store.get_position("main", "BTC/USDT")
        assert (position.quantity, position.average_price) == (Decimal(2), Decimal(95))
        (usdt,) = store.list_balances()
        assert (usdt.total_balance, usdt.available_balance) == (Decimal(400), Decimal(400))
        with pytest.raises(ConflictError, match="'a' is already used by order O-1"):
            store.apply_batch([("order", order("O-2", client_order_id="a"))])
        with pytest.raises(ConflictError, match="'b' is already used by order O-3"):
            store.apply_batch(
                [("order", order("O-3", client_order_id="b")), ("order", order("O-4", client_order_id="b"))]
            )
        store.apply_batch(
            [("order", {"id": "O-1", "client_order_id": "c"}), ("order", order("O-5", client_order_id="a"))]
        )
        assert store.get_order_by_client_id("main", "a").id == "O-5"
        assert store.get_order_by_client_id("main", "c").id == "O-1"

    def test_rows_written_and_changed_within_one_batch_end_as_one_row_each(self, store: StateStore) -> None:
        seed_account(store)
        fill = {"id": "T-1", "order_id": "O-1", "quantity": "0.4", "price": "99.5", "journal_seq": 3}
        with store.batch() as w:
            w.apply("order", order("O-1", client_order_id="a", journal_seq=1))
            w.apply("order", {"id": "O-1", "status": "ACCEPTED", "client_order_id": "b", "journal_seq": 2})
            w.apply("trade", fill)  # the order is not in the database yet: the trade takes its fields all the same
            w.apply("trade", fill)  # the same fill again: a no-op
            with pytest.raises(ConflictError, match="T-1 is already recorded with other price"):
                w.apply("trade", {**fill, "price": "99"})
            w.flush()  # written mid-batch: later changes are UPDATEs of these rows, in the same transaction
            w.apply("order", {"id": "O-1", "status": "FILLED", "filled_quantity": "1", "journal_seq": 4})
            w.apply("order", {"id": "O-1", "status": "CANCELED", "journal_seq": 3})  # stale: ignored
            w.apply("position", {"account_id": "main", "symbol": "BTC/USDT", "quantity": "1", "average_price": "9"})
            w.apply("balance", {"account_id": "main", "asset": "USDT", "total_balance": "5", "locked_balance": "1"})
            w.flush()
            w.apply("position", {"account_id": "main", "symbol": "BTC/USDT", "quantity": "2", "average_price": "95"})
            w.apply("balance", {"account_id": "main", "asset": "usdt", "locked_balance": "0"})
            w.apply("order", order("O-2", client_order_id="a"))  # "a" was given up by O-1 in this batch
        (got,) = [o for o in store.list_orders() if o.id == "O-1"]
        assert (got.status, got.filled_quantity, got.client_order_id, got.journal_seq) == ("FILLED", 1, "b", 4)
        assert (got.symbol, got.side, got.created_at) == ("BTC/USDT", "BUY", T0_DT)
        assert store.get_order_by_client_id("main", "a").id == "O-2"
        (trade,) = store.list_trades()
        assert (trade.account_id, trade.symbol, trade.side, trade.price) == ("main", "BTC/USDT", "BUY", Decimal("99.5"))
        position = store.get_position("main", "BTC/USDT")
        assert (position.quantity, position.average_price, position.id) == (Decimal(2), Decimal(95), 1)
        (usdt,) = store.list_balances()
        assert (usdt.total_balance, usdt.available_balance, usdt.locked_balance) == (5, 5, 0)
        counts = store.counts()
        assert (counts["orders"], counts["trades"], counts["positions"], counts["account_balances"]) == (2, 1, 1, 1)
        # Across batches: the stored trade is the reference.
        assert store.record_trade(fill).price == Decimal("99.5")
        with pytest.raises(ConflictError, match="T-1 is already recorded with other quantity"):
            store.record_trade({**fill, "quantity": "0.5"})

    def test_an_aborted_batch_leaves_nothing_even_what_it_flushed(self, store: StateStore) -> None:
        seed_account(store)
        store.upsert_order(order("O-1", journal_seq=1))
        with pytest.raises(RuntimeError, match="boom"), store.batch() as w:
            w.apply("order", {"id": "O-1", "status": "ACCEPTED", "journal_seq": 2})
            w.apply("order", order("O-2"))
            w.apply("trade", {"id": "T-1", "order_id": "O-2", "quantity": "1", "price": "100"})
            w.apply("position", {"account_id": "main", "symbol": "BTC/USDT", "quantity": "1", "average_price": "1"})
            w.flush()
            assert w.count(Order) == 2  # in the database, inside the transaction
            w.apply("order", {"id": "O-2", "status": "ACCEPTED"})
            raise RuntimeError("boom")
        with pytest.raises(ConflictError), store.batch() as w:  # refused by the database when the batch ends
            w.apply("order", order("O-3"))
            w.apply("order", order("O-4"))
            # Another writer's O-4 in the same transaction: the pending insert of O-4 fails at the final flush.
            stray = Order(**order("O-4"), created_at=T0_DT, updated_at=T0_DT).model_dump()
            w.session.connection().execute(insert(Order.__table__), [stray])  # type: ignore[attr-defined]
        assert [o.id for o in store.list_orders()] == ["O-1"]
        assert (store.get_order("O-1").status, store.get_order("O-1").journal_seq) == ("NEW", 1)
        counts = store.counts()
        assert (counts["orders"], counts["trades"], counts["positions"]) == (1, 0, 0)
