"""Export to the real PostgreSQL server: bulk COPY, idempotent merges, exact values, one transaction per unit.

Every test exports into its own schema (``search_path`` in the URL) and drops it afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pytest
from typer.testing import CliRunner

from alphintra.errors import OperationFailed, ValidationError
from alphintra.storage.export import count_market_rows, export_to_postgres, state_row_count
from alphintra.storage.market.store import MarketStore
from alphintra.storage.state import StateStore
from tests.pg_support import scratch_schema

pytestmark = pytest.mark.postgres

START = datetime(2023, 12, 31, 23, 0, tzinfo=UTC)  # the bars cross a year boundary: two part files per dataset
T0 = 1_700_000_000_000_000_000


@pytest.fixture
def target(pg_url: str) -> Iterator[str]:
    with scratch_schema("t_export", pg_url) as url:
        yield url


def bars(n: int, start: datetime = START, close: float = 100.2, step: timedelta = timedelta(minutes=1)) -> pl.DataFrame:
    times = [start + i * step for i in range(n)]
    return pl.DataFrame(
        {
            "time": times,
            "open": [100.1] * n,
            "high": [101.0] * n,
            "low": [99.0] * n,
            "close": [close] * n,
            "volume": [0.3] * n,
            "quote_volume": [30.06] * n,
            "trades_count": list(range(n)),
        }
    )


@pytest.fixture
def market_root(tmp_path: Path) -> Path:
    root = tmp_path / "market"
    with MarketStore(root, catalog=False) as store:
        store.write_bars(bars(120), timeframe="1m", symbol="BTC/USDT", exchange="SIM")
        store.write_bars(bars(30, step=timedelta(hours=1)), timeframe="1h", symbol="ETH/USDT", exchange="SIM")
    return root


@pytest.fixture
def state_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url, clock=lambda: T0)
    store.create_all()
    store.upsert_account({"id": "main"})
    store.upsert_order(
        {
            "id": "O-1",
            "client_order_id": "c-1",
            "account_id": "main",
            "symbol": "BTC/USDT",
            "side": "BUY",
            "order_type": "LIMIT",
            "quantity": Decimal("0.1") + Decimal("0.2"),
            "price": Decimal("12345678901234.123456789012345678"),
            "params": {"trail": Decimal("0.5")},
        }
    )
    store.record_trade({"id": "T-1", "order_id": "O-1", "quantity": "0.1", "price": "100.5", "fee": "0.01"})
    store.create_strategy({"name": "ema", "strategy_type": "trend", "config": {"fast": 10}})
    store.create_strategy({"name": "rsi", "strategy_type": "mean_reversion"})
    store.record_execution("ema", "backtest", results={"sharpe": Decimal("1.5")})
    store.set_risk_limit("max_order_notional", "10000", changed_by="alice")
    store.close()
    yield url


def counts(url: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: int((conn.execute(f"SELECT count(*) FROM {t}").fetchone() or (0,))[0]) for t in tables}


def test_export_copies_everything_exactly_and_twice_changes_nothing(
    target: str, market_root: Path, state_url: str
) -> None:
    advanced: list[int] = []
    first = export_to_postgres(target, market_root=market_root, state_url=state_url, advance=advanced.append)
    assert sum(advanced) == count_market_rows(market_root) + state_row_count(state_url) == 150 + 8
    market = first.table("market_data")
    assert (market.rows, market.inserted, market.updated) == (150, 150, 0)
    assert market.rows_per_second > 0
    assert {t.table: t.inserted for t in first.tables if t.table != "market_data"} == {
        "trading_accounts": 1,
        "orders": 1,
        "trades": 1,
        "positions": 0,
        "account_balances": 0,
        "trading_strategies": 2,
        "strategy_executions": 1,
        "risk_limits": 1,
        "risk_limit_changes": 1,
        "risk_alerts": 0,
        "scheduled_jobs": 0,
    }
    tables = ["market_data", "orders", "trades", "trading_strategies", "risk_limit_changes"]
    after_first = counts(target, tables)
    assert after_first == {
        "market_data": 150,
        "orders": 1,
        "trades": 1,
        "trading_strategies": 2,
        "risk_limit_changes": 1,
    }

    second = export_to_postgres(target, market_root=market_root, state_url=state_url)
    assert counts(target, tables) == after_first
    assert all(t.inserted == 0 and t.updated == 0 for t in second.tables)
    assert second.table("market_data").unchanged == 150

    with psycopg.connect(target) as conn:
        row = conn.execute(
            "SELECT time, open_price, close_price, volume, quote_volume, trades_count FROM market_data "
            "WHERE symbol = 'BTC/USDT' AND timeframe = '1m' ORDER BY time DESC LIMIT 1"
        ).fetchone()
        order = conn.execute("SELECT quantity, price, params, created_at FROM orders").fetchone()
        results = conn.execute("SELECT results FROM strategy_executions").fetchone()
    assert row == (
        START + timedelta(minutes=119),
        Decimal("100.1"),
        Decimal("100.2"),
        Decimal("0.3"),
        Decimal("30.06"),
        119,
    )
    assert order is not None and results is not None
    assert order[:3] == (Decimal("0.3"), Decimal("12345678901234.123456789012345678"), {"trail": "0.5"})
    assert order[3] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert results[0] == {"sharpe": "1.5"}


def test_new_and_changed_rows_are_merged(target: str, market_root: Path, state_url: str) -> None:
    export_to_postgres(target, market_root=market_root, state_url=state_url)
    with MarketStore(market_root, catalog=False) as store:
        # 10 corrected bars (new close) and 5 new ones after them
        store.write_bars(
            bars(15, START + timedelta(minutes=110), close=100.25), timeframe="1m", symbol="BTC/USDT", exchange="SIM"
        )
    source = StateStore(state_url, clock=lambda: T0 + 10**9)
    source.upsert_order({"id": "O-1", "status": "FILLED", "filled_quantity": "0.3"})
    source.close()
    third = export_to_postgres(target, market_root=market_root, state_url=state_url)
    market = third.table("market_data")
    assert (market.rows, market.inserted, market.updated, market.unchanged) == (155, 5, 10, 140)
    orders = third.table("orders")
    assert (orders.inserted, orders.updated) == (0, 1)
    with psycopg.connect(target) as conn:
        status = conn.execute("SELECT status, filled_quantity FROM orders WHERE id = 'O-1'").fetchone()
        closes = conn.execute(
            "SELECT close_price, count(*) FROM market_data WHERE timeframe = '1m' GROUP BY close_price ORDER BY 1"
        ).fetchall()
    assert status == ("FILLED", Decimal("0.3"))
    assert closes == [(Decimal("100.2"), 110), (Decimal("100.25"), 15)]


def test_exported_state_is_a_usable_store_and_its_sequences_moved_on(target: str, state_url: str) -> None:
    export_to_postgres(target, state_url=state_url, include_market=False)
    with psycopg.connect(target) as conn:
        exists = conn.execute("SELECT to_regclass('market_data')").fetchone()
    assert exists == (None,)
    store = StateStore(target, clock=lambda: T0)
    created = store.create_strategy({"name": "macd", "strategy_type": "trend"})
    assert created.id == 3
    assert [s.name for s in store.list_strategies()] == ["ema", "macd", "rsi"]
    assert store.get_order("O-1").price == Decimal("12345678901234.123456789012345678")
    store.close()


def test_state_export_is_one_transaction(target: str, state_url: str) -> None:
    # The target already holds another order with the same client_order_id: the merge of orders must fail, and
    # nothing of the state export may stay behind.
    other = StateStore(target, clock=lambda: T0)
    other.create_all()
    other.upsert_account({"id": "main"})
    other.upsert_order(
        {
            "id": "X-1",
            "client_order_id": "c-1",
            "account_id": "main",
            "symbol": "BTC/USDT",
            "side": "SELL",
            "order_type": "MARKET",
            "quantity": "1",
        }
    )
    other.close()
    with pytest.raises(OperationFailed) as err:
        export_to_postgres(target, state_url=state_url, include_market=False)
    assert "uq_orders_account_client_order_id" in (err.value.detail or "")
    assert counts(target, ["orders", "trading_strategies", "risk_limits"]) == {
        "orders": 1,
        "trading_strategies": 0,
        "risk_limits": 0,
    }


def test_without_timescaledb_market_data_is_a_plain_table(target: str, market_root: Path, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    assert installed is None and available is None, "this server has TimescaleDB: test the hypertable path instead"
    report = export_to_postgres(target, market_root=market_root, include_state=False)
    assert report.timescaledb is False and report.hypertables == []
    assert report.notes == ["TimescaleDB is not available on this server: market_data is a plain table"]
    with psycopg.connect(target) as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'market_data'::regclass").fetchone()
        pk = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'market_data'::regclass "
            "AND contype = 'p'"
        ).fetchone()
    assert kind == ("r",)
    assert pk == ('PRIMARY KEY ("time", symbol, exchange, timeframe)',)


def test_missing_sources_are_reported_not_invented(target: str, tmp_path: Path) -> None:
    report = export_to_postgres(target, market_root=tmp_path / "none", state_url=f"sqlite:///{tmp_path / 'none.db'}")
    assert report.tables == []
    assert report.notes == [
        f"no market data under {tmp_path / 'none'}",
        f"no trading state database at {tmp_path / 'none.db'}",
    ]
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(ValidationError) as err:
        export_to_postgres(target, include_market=False, include_state=False)
    assert err.value.field == "--market/--state"
    with pytest.raises(ValidationError) as err:
        export_to_postgres("sqlite:///x.db")
    assert err.value.field == "url"


def test_unreachable_server_is_an_operation_failure() -> None:
    with pytest.raises(OperationFailed, match="cannot connect to PostgreSQL"):
        export_to_postgres("postgresql://nobody@127.0.0.1:1/none", include_market=False)


def test_cli_exports_and_prints_json(
    target: str, market_root: Path, state_url: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from alphintra.cli.export import app as export_app
    from alphintra.config.settings import reset_settings_cache

    # Mounted the way the root CLI mounts its groups, so that "postgres" stays a sub-command.
    app = typer.Typer()
    app.add_typer(export_app, name="export")

    monkeypatch.setenv("ALPHINTRA_DATABASE_URL", state_url)
    isolated_home.mkdir(parents=True, exist_ok=True)
    market_root.rename(isolated_home / "market")
    reset_settings_cache()
    runner = CliRunner()
    result = runner.invoke(app, ["export", "postgres", "--url", target, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["rows"] == 158 and data["timescaledb"] is False
    assert {t["table"]: t["inserted"] for t in data["tables"]}["market_data"] == 150
    again = json.loads(runner.invoke(app, ["export", "postgres", "--url", target, "--json", "--no-state"]).stdout)
    assert [(t["table"], t["inserted"], t["unchanged"]) for t in again["tables"]] == [("market_data", 0, 150)]
    table = runner.invoke(app, ["export", "postgres", "--url", target, "--no-market"])
    assert table.exit_code == 0 and "trading_strategies" in table.stdout


def test_tables_and_since_narrow_the_export_and_stay_idempotent(target: str, market_root: Path, state_url: str) -> None:
    later = T0 + 86_400 * 10**9
    store = StateStore(state_url, clock=lambda: later)
    store.upsert_order(
        {"id": "O-2", "account_id": "main", "symbol": "BTC/USDT", "side": "SELL", "order_type": "MARKET",
         "quantity": "0.1"}
    )  # fmt: skip
    store.record_trade({"id": "T-2", "order_id": "O-2", "quantity": "0.1", "price": "101"})
    store.close()
    since = datetime.fromtimestamp(later // 10**9, UTC)

    only = export_to_postgres(target, state_url=state_url, tables=frozenset({"orders", "trading_accounts"}))
    assert [(t.table, t.rows, t.inserted) for t in only.tables] == [("trading_accounts", 1, 1), ("orders", 2, 2)]
    assert counts(target, ["orders", "trades", "trading_strategies"]) == {
        "orders": 2,
        "trades": 0,
        "trading_strategies": 0,
    }

    bars_since = datetime(2024, 1, 1, tzinfo=UTC)
    first = export_to_postgres(target, market_root=market_root, tables=frozenset({"market_data"}), since=bars_since)
    assert [(t.table, t.rows, t.inserted) for t in first.tables] == [("market_data", 89, 89)]  # 60 1m + 29 1h
    again = export_to_postgres(target, market_root=market_root, tables=frozenset({"market_data"}), since=bars_since)
    assert [(t.table, t.rows, t.inserted, t.updated) for t in again.tables] == [("market_data", 89, 0, 0)]
    with psycopg.connect(target) as conn:
        oldest = conn.execute("SELECT min(time) FROM market_data").fetchone()
    assert oldest == (bars_since,)

    recent = export_to_postgres(target, state_url=state_url, include_market=False, since=since)
    assert recent.to_dict()["since"] == "2023-11-15T22:13:20Z"
    by_table = {t.table: (t.rows, t.inserted) for t in recent.tables}
    # Accounts and strategies go whole (other rows point at them); the rest only from `since` on: the later order
    # and its trade.
    assert by_table["trading_accounts"] == (1, 0)
    assert by_table["trading_strategies"] == (2, 2)
    assert (by_table["orders"], by_table["trades"], by_table["risk_limits"]) == ((1, 0), (1, 1), (0, 0))
    assert counts(target, ["trades", "risk_limits"]) == {"trades": 1, "risk_limits": 0}


def test_plain_tables_carry_the_plans_indexes(target: str, market_root: Path, state_url: str) -> None:
    export_to_postgres(target, market_root=market_root, state_url=state_url)
    with psycopg.connect(target) as conn:
        found = {
            (row[0], row[1])
            for row in conn.execute(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            ).fetchall()
        }
    defs = {d.split(" USING btree ")[1] for t, d in found if t in {"market_data", "orders", "trades"}}
    # §6.3 (without user_id: one user per home), market data newest first per symbol and per exchange.
    for wanted in (
        '(symbol, "time" DESC)',
        '(exchange, "time" DESC)',
        "(symbol)",
        "(status)",
        "(created_at)",
        "(order_id)",
        '("timestamp")',
    ):
        assert wanted in defs, (wanted, sorted(defs))


def test_cli_names_a_bad_table_or_time(target: str, isolated_home: Path) -> None:
    import typer

    from alphintra.cli.export import app as export_app

    app = typer.Typer()
    app.add_typer(export_app, name="export")
    runner = CliRunner()
    bad = runner.invoke(app, ["export", "postgres", "--url", target, "--tables", "orders,ledger"])
    assert isinstance(bad.exception, ValidationError)
    assert str(bad.exception) == (
        "--tables: must name tables among market_data, trading_accounts, orders, trades, positions, "
        "account_balances, trading_strategies, strategy_executions, risk_limits, risk_limit_changes, risk_alerts, "
        "scheduled_jobs (got 'ledger')"
    )
    when = runner.invoke(app, ["export", "postgres", "--url", target, "--since", "yesterday"])
    assert isinstance(when.exception, ValidationError) and when.exception.field == "--since"
