"""``StateStore``: the trading state's one entry point for the daemon (writes) and the CLI/API (reads).

Rows come back as detached model instances (they stay readable after their session closes). Writes go through
:class:`~alphintra.storage.state.writer.StateWriter`; ``batch()`` gives one transaction for many of them.
Timestamps are stamped by the injected clock (int ns), never by a hidden wall-clock read, so a backtest or a
test sees exactly the times it set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, TypeVar

from sqlalchemy import Select as SaSelect
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from alphintra.errors import ConflictError, NotFoundError, RetryableError, ValidationError
from alphintra.storage.state.db import make_engine, normalise_url
from alphintra.storage.state.models import (
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    TABLES_IN_ORDER,
    AccountBalance,
    Order,
    Position,
    ProjectionMeta,
    RiskAlert,
    RiskLimit,
    RiskLimitChange,
    ScheduledJob,
    StrategyExecution,
    Trade,
    TradingAccount,
    TradingStrategy,
)
from alphintra.storage.state.types import WIDE, canonical_decimal, to_utc
from alphintra.storage.state.writer import Payload, StateWriter, StrategyKey

T = TypeVar("T")
Q = TypeVar("Q", SelectOfScalar[Any], SaSelect[Any])
MAX_LIMIT = 100_000
Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class TradeSummary:
    """Fills of one symbol: volume is base quantity, notional is quantity x price, both exact."""

    symbol: str
    count: int
    buy_count: int
    sell_count: int
    volume: Decimal
    buy_volume: Decimal
    sell_volume: Decimal
    notional: Decimal
    fees: Decimal
    realized_pnl: Decimal
    first_at: datetime
    last_at: datetime

    @property
    def average_price(self) -> Decimal:
        return self.notional / self.volume

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be an integer between 1 and {MAX_LIMIT}", limit)
    return limit


def _statuses(status: str | Iterable[str]) -> list[str]:
    wanted = [status] if isinstance(status, str) else list(status)
    out = []
    for value in wanted:
        upper = str(getattr(value, "value", value)).strip().upper()
        if upper not in ORDER_STATUSES:
            raise ValidationError("status", f"must be one of {', '.join(sorted(ORDER_STATUSES))}", value)
        out.append(upper)
    return out


class StateStore:
    """Trading state in SQLite (default ``$ALPHINTRA_HOME/state.db``) or PostgreSQL (``postgresql://`` URL)."""

    def __init__(
        self, url: str | None = None, *, clock: Clock | None = None, echo: bool = False, engine: Engine | None = None
    ) -> None:
        self.engine: Engine = make_engine(url, echo=echo) if engine is None else engine
        # A store given an engine shares it (and its connection pool) with its owner, who alone disposes of it.
        self._owns_engine = engine is None
        self._clock: Clock = clock or time.time_ns

    def share(self) -> StateStore:
        """Another store on this store's engine: one connection pool per database in a process. Closing it leaves
        the engine to this store."""
        return StateStore(engine=self.engine, clock=self._clock)

    def _sessions(self) -> Session:
        # Rows stay readable after commit and close: callers get detached, fully loaded instances.
        return Session(self.engine, expire_on_commit=False)

    # -- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def create_all(self) -> None:
        """Create an empty database at the schema's head revision, or check an existing one is at head.

        Raises :class:`~alphintra.storage.state.schema.SchemaVersionError` (exit 2) naming ``alphintra db upgrade``
        when the database is older than this code, and refuses one a newer alphintra wrote.
        """
        from alphintra.storage.state.schema import prepare

        prepare(self.engine)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def now(self) -> datetime:
        return to_utc(self._clock(), "clock")

    # -- writes -------------------------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[StateWriter]:
        """One transaction: everything written through the yielded writer commits together, or nothing does."""
        with self._sessions() as session:
            writer = StateWriter(session, self.now)
            try:
                yield writer
                writer.flush()  # orders and trades wait in the writer until here: inside the transaction
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise ConflictError("the write conflicts with stored state", detail=str(exc.orig)) from exc
            except OperationalError as exc:
                session.rollback()
                if "locked" in str(exc.orig).lower():
                    raise RetryableError("the state database is busy", detail=str(exc.orig)) from exc
                raise
            except BaseException:
                session.rollback()
                raise

    def apply_batch(self, ops: Iterable[tuple[str, Payload]]) -> int:
        """Project many events in one transaction: ``ops`` yields (kind, payload), kind as in ``StateWriter.apply``."""
        with self.batch() as writer:
            return writer.apply_all(ops)

    def upsert_account(self, data: Payload) -> TradingAccount:
        with self.batch() as w:
            return w.upsert_account(data)

    def upsert_order(self, data: Payload) -> Order:
        with self.batch() as w:
            return w.upsert_order(data)

    def record_trade(self, data: Payload) -> Trade:
        with self.batch() as w:
            return w.record_trade(data)

    def upsert_position(self, data: Payload) -> Position:
        with self.batch() as w:
            return w.upsert_position(data)

    def upsert_balance(self, data: Payload) -> AccountBalance:
        with self.batch() as w:
            return w.upsert_balance(data)

    def create_strategy(self, data: Payload) -> TradingStrategy:
        with self.batch() as w:
            return w.create_strategy(data)

    def update_strategy(self, key: StrategyKey, changes: Payload) -> TradingStrategy:
        with self.batch() as w:
            return w.update_strategy(key, changes)

    def delete_strategy(self, key: StrategyKey, *, with_executions: bool = False) -> int:
        with self.batch() as w:
            return w.delete_strategy(key, with_executions=with_executions)

    def start_execution(
        self,
        strategy: StrategyKey,
        execution_type: str,
        *,
        config: Mapping[str, Any] | None = None,
        at: datetime | int | None = None,
    ) -> StrategyExecution:
        with self.batch() as w:
            return w.start_execution(strategy, execution_type, config=config, at=at)

    def finish_execution(
        self,
        execution_id: int,
        *,
        status: str = "COMPLETED",
        results: Mapping[str, Any] | None = None,
        error: str | None = None,
        at: datetime | int | None = None,
    ) -> StrategyExecution:
        with self.batch() as w:
            return w.finish_execution(execution_id, status=status, results=results, error=error, at=at)

    def record_execution(
        self,
        strategy: StrategyKey,
        execution_type: str,
        *,
        status: str = "COMPLETED",
        config: Mapping[str, Any] | None = None,
        results: Mapping[str, Any] | None = None,
        error: str | None = None,
        started_at: datetime | int | None = None,
        completed_at: datetime | int | None = None,
    ) -> StrategyExecution:
        with self.batch() as w:
            return w.record_execution(
                strategy,
                execution_type,
                status=status,
                config=config,
                results=results,
                error=error,
                started_at=started_at,
                completed_at=completed_at,
            )

    def set_risk_limit(
        self,
        name: str,
        value: Decimal | int | str | None,
        *,
        changed_by: str,
        scope: str = "global",
        scope_id: str = "*",
        reason: str | None = None,
        at: datetime | int | None = None,
    ) -> RiskLimit | None:
        with self.batch() as w:
            return w.set_risk_limit(
                name, value, changed_by=changed_by, scope=scope, scope_id=scope_id, reason=reason, at=at
            )

    def add_alert(self, data: Payload) -> RiskAlert:
        with self.batch() as w:
            return w.add_alert(data)

    def acknowledge_alert(self, alert_id: int, *, by: str, at: datetime | int | None = None) -> RiskAlert:
        with self.batch() as w:
            return w.acknowledge_alert(alert_id, by=by, at=at)

    def upsert_job(self, data: Payload) -> ScheduledJob:
        with self.batch() as w:
            return w.upsert_job(data)

    def record_job_run(
        self,
        job_id: str,
        *,
        status: str,
        at: datetime | int | None = None,
        error: str | None = None,
        next_run_at: datetime | int | None = None,
    ) -> ScheduledJob:
        with self.batch() as w:
            return w.record_job_run(job_id, status=status, at=at, error=error, next_run_at=next_run_at)

    def delete_job(self, job_id: str) -> None:
        with self.batch() as w:
            w.delete_job(job_id)

    # -- reads --------------------------------------------------------------------------------------------------

    def _all(self, query: SelectOfScalar[T]) -> list[T]:
        with self._sessions() as session:
            return list(session.exec(query))

    def _get(self, model: type[T], key: Any, what: str) -> T:
        with self._sessions() as session:
            found = session.get(model, key)
        if found is None:
            raise NotFoundError(f"{what} {key!r} does not exist")
        return found

    def get_account(self, account_id: str) -> TradingAccount:
        return self._get(TradingAccount, account_id, "account")

    def list_accounts(self) -> list[TradingAccount]:
        return self._all(select(TradingAccount).order_by(col(TradingAccount.id)))

    def get_order(self, order_id: str) -> Order:
        return self._get(Order, order_id, "order")

    def get_order_by_client_id(self, account_id: str, client_order_id: str) -> Order:
        query = select(Order).where(Order.account_id == account_id, Order.client_order_id == client_order_id)
        found = self._all(query)
        if not found:
            raise NotFoundError(f"no order with client_order_id {client_order_id!r} in account {account_id!r}")
        return found[0]

    def list_orders(
        self,
        *,
        status: str | Iterable[str] | None = None,
        open_only: bool = False,
        symbol: str | None = None,
        strategy: str | None = None,
        account: str | None = None,
        since: datetime | int | None = None,
        until: datetime | int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Order]:
        """Newest first. ``since``/``until`` bound ``created_at`` (inclusive, exclusive)."""
        query = select(Order)
        if status is not None:
            query = query.where(col(Order.status).in_(_statuses(status)))
        if open_only:
            query = query.where(col(Order.status).in_(sorted(OPEN_ORDER_STATUSES)))
        if symbol is not None:
            query = query.where(Order.symbol == symbol)
        if strategy is not None:
            query = query.where(Order.strategy == strategy)
        if account is not None:
            query = query.where(Order.account_id == account)
        if since is not None:
            query = query.where(col(Order.created_at) >= to_utc(since, "since"))
        if until is not None:
            query = query.where(col(Order.created_at) < to_utc(until, "until"))
        query = query.order_by(col(Order.created_at).desc(), col(Order.id).desc())
        return self._all(query.offset(_offset(offset)).limit(_limit(limit)))

    def get_trade(self, trade_id: str) -> Trade:
        return self._get(Trade, trade_id, "trade")

    def _trade_filters(
        self,
        query: Q,
        symbol: str | None,
        strategy: str | None,
        account: str | None,
        order_id: str | None,
        since: datetime | int | None,
        until: datetime | int | None,
    ) -> Q:
        if symbol is not None:
            query = query.where(col(Trade.symbol) == symbol)
        if strategy is not None:
            query = query.where(col(Trade.strategy) == strategy)
        if account is not None:
            query = query.where(col(Trade.account_id) == account)
        if order_id is not None:
            query = query.where(col(Trade.order_id) == order_id)
        if since is not None:
            query = query.where(col(Trade.timestamp) >= to_utc(since, "since"))
        if until is not None:
            query = query.where(col(Trade.timestamp) < to_utc(until, "until"))
        return query

    def fill_rows(self, *, symbol: str | None = None, account: str | None = None) -> Iterator[tuple[Any, ...]]:
        """``(symbol, side, quantity, price, fee, fee_currency)`` of every trade, for totals over a whole history
        (columns, not entities: a long history must not build ORM objects)."""
        t = Trade.__table__.c  # type: ignore[attr-defined]
        query = self._trade_filters(
            sa_select(t.symbol, t.side, t.quantity, t.price, t.fee, t.fee_currency),
            symbol,
            None,
            account,
            None,
            None,
            None,
        )
        with self._sessions() as session:
            for row in session.execute(query.execution_options(yield_per=2_000)):
                yield tuple(row)

    def list_trades(
        self,
        *,
        symbol: str | None = None,
        strategy: str | None = None,
        account: str | None = None,
        order_id: str | None = None,
        since: datetime | int | None = None,
        until: datetime | int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Trade]:
        """Newest first; ``since``/``until`` bound the fill time (inclusive, exclusive)."""
        query = self._trade_filters(select(Trade), symbol, strategy, account, order_id, since, until)
        query = query.order_by(col(Trade.timestamp).desc(), col(Trade.id).desc())
        return self._all(query.offset(_offset(offset)).limit(_limit(limit)))

    def trade_summary(
        self,
        *,
        symbol: str | None = None,
        strategy: str | None = None,
        account: str | None = None,
        since: datetime | int | None = None,
        until: datetime | int | None = None,
    ) -> list[TradeSummary]:
        """Per-symbol totals, summed in Python with Decimal: SQLite has no exact SUM over decimal text."""
        # Columns, not entities: building ORM objects would dominate the cost of a long history.
        t = Trade.__table__.c  # type: ignore[attr-defined]
        columns = sa_select(t.symbol, t.side, t.quantity, t.price, t.fee, t.realized_pnl, t.timestamp)
        query = self._trade_filters(columns, symbol, strategy, account, None, since, until)
        acc: dict[str, dict[str, Any]] = {}
        with self._sessions() as session, localcontext(WIDE):
            for trade in session.execute(query.execution_options(yield_per=2_000)):
                s = acc.get(trade.symbol)
                if s is None:
                    zero = Decimal(0)
                    s = acc[trade.symbol] = {
                        "count": 0,
                        "buy_count": 0,
                        "sell_count": 0,
                        "buy_volume": zero,
                        "sell_volume": zero,
                        "notional": zero,
                        "fees": zero,
                        "realized_pnl": zero,
                        "first_at": trade.timestamp,
                        "last_at": trade.timestamp,
                    }
                s["count"] += 1
                side = "buy" if trade.side == "BUY" else "sell"
                s[f"{side}_count"] += 1
                s[f"{side}_volume"] += trade.quantity
                s["notional"] += trade.quantity * trade.price
                s["fees"] += trade.fee
                s["realized_pnl"] += trade.realized_pnl
                s["first_at"] = min(s["first_at"], trade.timestamp)
                s["last_at"] = max(s["last_at"], trade.timestamp)
        out = []
        for sym, s in sorted(acc.items()):
            s["volume"] = s["buy_volume"] + s["sell_volume"]
            exact: dict[str, Any] = {k: canonical_decimal(v) if isinstance(v, Decimal) else v for k, v in s.items()}
            out.append(TradeSummary(symbol=sym, **exact))
        return out

    def get_position(self, account_id: str, symbol: str) -> Position:
        query = select(Position).where(Position.account_id == account_id, Position.symbol == symbol)
        found = self._all(query)
        if not found:
            raise NotFoundError(f"no position in {symbol!r} for account {account_id!r}")
        return found[0]

    def list_positions(self, *, account: str | None = None, include_flat: bool = False) -> list[Position]:
        query = select(Position)
        if account is not None:
            query = query.where(Position.account_id == account)
        rows = self._all(query.order_by(col(Position.account_id), col(Position.symbol)))
        # Quantity is decimal text on SQLite, so "is it flat" is decided here rather than in SQL.
        return rows if include_flat else [p for p in rows if p.quantity != 0]

    def list_balances(self, *, account: str | None = None) -> list[AccountBalance]:
        query = select(AccountBalance)
        if account is not None:
            query = query.where(AccountBalance.account_id == account)
        return self._all(query.order_by(col(AccountBalance.account_id), col(AccountBalance.asset)))

    def get_strategy(self, key: StrategyKey) -> TradingStrategy:
        with self._sessions() as session:
            return StateWriter(session, self.now).strategy(key)

    def list_strategies(self, *, status: str | None = None) -> list[TradingStrategy]:
        query = select(TradingStrategy)
        if status is not None:
            query = query.where(TradingStrategy.status == status.strip().upper())
        return self._all(query.order_by(col(TradingStrategy.name)))

    def get_execution(self, execution_id: int) -> StrategyExecution:
        return self._get(StrategyExecution, execution_id, "execution")

    def list_executions(
        self,
        *,
        strategy: StrategyKey | None = None,
        execution_type: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[StrategyExecution]:
        """Newest first."""
        query = select(StrategyExecution)
        if strategy is not None:
            query = query.where(StrategyExecution.strategy_id == self.get_strategy(strategy).id)
        if execution_type is not None:
            query = query.where(StrategyExecution.execution_type == execution_type.strip().lower())
        if status is not None:
            query = query.where(StrategyExecution.status == status.strip().upper())
        query = query.order_by(col(StrategyExecution.created_at).desc(), col(StrategyExecution.id).desc())
        return self._all(query.limit(_limit(limit)))

    def get_risk_limit(self, name: str, *, scope: str = "global", scope_id: str = "*") -> RiskLimit | None:
        query = select(RiskLimit).where(
            RiskLimit.name == name, RiskLimit.scope == scope.strip().lower(), RiskLimit.scope_id == scope_id
        )
        found = self._all(query)
        return found[0] if found else None

    def list_risk_limits(self, *, scope: str | None = None, scope_id: str | None = None) -> list[RiskLimit]:
        query = select(RiskLimit)
        if scope is not None:
            query = query.where(RiskLimit.scope == scope.strip().lower())
        if scope_id is not None:
            query = query.where(RiskLimit.scope_id == scope_id)
        return self._all(query.order_by(col(RiskLimit.scope), col(RiskLimit.scope_id), col(RiskLimit.name)))

    def risk_limit_history(
        self, *, name: str | None = None, scope: str | None = None, scope_id: str | None = None, limit: int = 100
    ) -> list[RiskLimitChange]:
        """Newest first."""
        query = select(RiskLimitChange)
        if name is not None:
            query = query.where(RiskLimitChange.name == name)
        if scope is not None:
            query = query.where(RiskLimitChange.scope == scope.strip().lower())
        if scope_id is not None:
            query = query.where(RiskLimitChange.scope_id == scope_id)
        query = query.order_by(col(RiskLimitChange.changed_at).desc(), col(RiskLimitChange.id).desc())
        return self._all(query.limit(_limit(limit)))

    def list_alerts(
        self,
        *,
        severity: str | None = None,
        since: datetime | int | None = None,
        unacknowledged: bool = False,
        limit: int = 100,
        accounts: frozenset[str] | None = None,
    ) -> list[RiskAlert]:
        """Newest first; with ``accounts``, only theirs and those of no account (engine-wide)."""
        query = select(RiskAlert)
        if accounts is not None:
            query = query.where(or_(col(RiskAlert.account_id).is_(None), col(RiskAlert.account_id).in_(accounts)))
        if severity is not None:
            query = query.where(RiskAlert.severity == severity.strip().upper())
        if since is not None:
            query = query.where(col(RiskAlert.time) >= to_utc(since, "since"))
        if unacknowledged:
            query = query.where(col(RiskAlert.acknowledged).is_(False))
        query = query.order_by(col(RiskAlert.time).desc(), col(RiskAlert.id).desc())
        return self._all(query.limit(_limit(limit)))

    def get_job(self, job_id: str) -> ScheduledJob:
        return self._get(ScheduledJob, job_id, "scheduled job")

    def list_jobs(self, *, enabled: bool | None = None) -> list[ScheduledJob]:
        query = select(ScheduledJob)
        if enabled is not None:
            query = query.where(col(ScheduledJob.enabled).is_(enabled))
        return self._all(query.order_by(col(ScheduledJob.id)))

    def projection_meta(self, source: str = "journal") -> ProjectionMeta | None:
        """Where the projection of the journal stands (None: nothing projected, or a store older than it)."""
        with self._sessions() as session:
            return session.get(ProjectionMeta, source)

    def counts(self) -> dict[str, int]:
        """Rows per table, parents first."""
        out: dict[str, int] = {}
        with self._sessions() as session:
            for model in TABLES_IN_ORDER:
                table = model.__table__  # type: ignore[attr-defined]
                out[table.name] = int(session.exec(select(func.count()).select_from(table)).one())
        return out


def _offset(offset: int) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("offset", "must be an integer >= 0", offset)
    return offset


def is_postgres_url(url: str) -> bool:
    return normalise_url(url).get_backend_name() == "postgresql"


__all__ = ["MAX_LIMIT", "Clock", "StateStore", "TradeSummary", "is_postgres_url"]
