"""Every write to the trading state, bound to one session (one transaction).

:class:`StateWriter` is what ``StateStore.batch()`` yields: a daemon projecting a burst of journal events calls
its methods many times and everything commits (or nothing does) when the block ends. The single-call methods of
``StateStore`` open a one-operation batch, so there is one code path for every write.

Projection rules, so that replaying the journal is always safe:
- mutable rows (orders, positions, balances) ignore a payload whose ``journal_seq`` is not newer than theirs;
- a trade id is recorded once; recording it again with the same values is a no-op, with other values a conflict;
- an order's account, symbol and side never change once projected.

Orders, trades, positions and balances, the rows the projector writes for every order, are not ORM objects
here but plain rows (:mod:`~alphintra.storage.state.rows`): read with a SELECT per burst, kept in this writer,
and written by :meth:`StateWriter.flush` as a few executemany statements (ORM rows such as accounts first, then
parents before children). ``StateStore.batch()`` flushes before it commits, inside the transaction, so a failed
batch leaves nothing of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, TypeVar

from sqlalchemy import func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from alphintra.errors import ConflictError, NotFoundError, ValidationError
from alphintra.storage.state.models import (
    FINISHED_EXECUTION_STATUSES,
    RISK_SCOPES,
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
from alphintra.storage.state.payload import as_mapping, clean, require
from alphintra.storage.state.rows import BALANCES, ORDERS, POSITIONS, TRADES, Row, Spec, write
from alphintra.storage.state.types import WIDE, to_decimal, to_utc

Payload = Mapping[str, Any] | object
T = TypeVar("T")
StrategyKey = int | str

_LIMIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_STRATEGY_FIELDS = {"name", "description", "strategy_type", "config", "status", "performance"}
_POSITION_FIELDS = set(Position.__table__.columns.keys()) - {"id"}  # type: ignore[attr-defined]
_BALANCE_FIELDS = set(AccountBalance.__table__.columns.keys()) - {"id"}  # type: ignore[attr-defined]
_JOB_FIELDS = {"id", "name", "schedule", "command", "args", "enabled", "created_at", "updated_at", "next_run_at"}


def _stale(stored: int | None, incoming: int | None) -> bool:
    return stored is not None and incoming is not None and incoming <= stored


class StateWriter:
    """Writes inside one open session; see the module docstring for the projection rules."""

    def __init__(self, session: Session, now: Callable[[], datetime]) -> None:
        self.session = session
        self._now = now
        # Rows this transaction has looked up or written, by key; None marks a key known to be absent. A burst of
        # events then costs a few bulk SELECTs (see prefetch) instead of one SELECT (and autoflush) per event.
        self._rows: dict[type[Any], dict[Any, Any]] = {}
        # (account_id, client_order_id) -> order id, and the client ids whose stored owners are all in that map.
        self._client_ids: dict[tuple[str, str], str] = {}
        self._client_ids_loaded: set[str] = set()
        # Plain rows not yet inserted, in the order they came (see the module docstring).
        self._new: dict[Spec, list[Row]] = {ORDERS: [], TRADES: [], POSITIONS: [], BALANCES: []}
        self._accounts_seen: set[str] = set()

    # -- dispatch -----------------------------------------------------------------------------------------------

    def apply(self, kind: str, payload: Payload) -> object:
        """Apply one projected event: ``kind`` is account, order, trade, position, balance or alert."""
        handler: Callable[[Payload], object] | None = {
            "account": self.upsert_account,
            "order": self._upsert_order,
            "trade": self._record_trade,
            "position": self._upsert_position,
            "balance": self._upsert_balance,
            "alert": self.add_alert,
        }.get(kind)
        if handler is None:
            raise ValidationError("kind", "must be one of account, order, trade, position, balance, alert", kind)
        return handler(payload)

    def apply_all(self, ops: Iterable[tuple[str, Payload]]) -> int:
        items = [(kind, as_mapping(payload, kind)) for kind, payload in ops]
        self.prefetch(items)
        for kind, payload in items:
            self.apply(kind, payload)
        return len(items)

    def prefetch(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Load, in bulk, every stored row the given events will touch (best effort: odd payloads are skipped
        here and rejected with a precise error when applied)."""
        order_ids: set[str] = set()
        trade_ids: set[str] = set()
        client_ids: set[str] = set()
        positions: set[tuple[str, str]] = set()
        balances: set[tuple[str, str]] = set()
        for kind, data in items:
            if kind == "order":
                order_ids |= _strings(data.get("id"))
                client_ids |= _strings(data.get("client_order_id"))
            elif kind == "trade":
                trade_ids |= _strings(data.get("id"))
                order_ids |= _strings(data.get("order_id"))
            elif kind in ("position", "balance"):
                account, item = data.get("account_id"), data.get("symbol" if kind == "position" else "asset")
                if isinstance(account, str) and isinstance(item, str):
                    (positions if kind == "position" else balances).add(
                        (account.strip(), item.strip() if kind == "position" else item.strip().upper())
                    )
        with self.session.no_autoflush:
            self._load_rows(ORDERS, order_ids)
            self._load_rows(TRADES, trade_ids)
            self._load_pairs(POSITIONS, positions)
            self._load_pairs(BALANCES, balances)
            for chunk in _chunks(client_ids - self._client_ids_loaded):
                query = select(Order.id, Order.account_id, Order.client_order_id).where(
                    col(Order.client_order_id).in_(chunk)
                )
                for oid, account, client_id in self.session.exec(query):
                    if client_id is not None:
                        self._client_ids.setdefault((account, client_id), oid)
                self._client_ids_loaded.update(chunk)

    def _load_rows(self, spec: Spec, keys: set[str]) -> None:
        """Stored rows by id, as plain rows (columns, not ORM entities)."""
        cache = self._rows.setdefault(spec.model, {})
        wanted = [k for k in keys if k not in cache]
        if not wanted:
            return
        conn = self.session.connection()
        for chunk in _chunks(wanted):
            for row in spec.load(conn, sa_select(spec.table).where(spec.table.c.id.in_(chunk))):
                cache[row.id] = row
        for key in wanted:
            cache.setdefault(key, None)

    def _load_pairs(self, spec: Spec, keys: set[tuple[str, str]]) -> None:
        """Stored rows by (account, item), as plain rows."""
        cache = self._rows.setdefault(spec.model, {})
        wanted = [k for k in keys if k not in cache]
        if not wanted:
            return
        conn = self.session.connection()
        account_col, item_col = (spec.table.c[k] for k in spec.keys)
        accounts = sorted({a for a, _ in wanted})
        for chunk in _chunks(sorted({i for _, i in wanted})):
            query = sa_select(spec.table).where(account_col.in_(accounts), item_col.in_(chunk))
            for row in spec.load(conn, query):
                cache.setdefault(spec.key_of(row), row)
        for key in wanted:
            cache.setdefault(key, None)

    def _get_row(self, spec: Spec, key: Any) -> Row | None:
        def load() -> Row | None:
            return next(iter(spec.load(self.session.connection(), spec.select_one(key))), None)

        return self._find(spec.model, key, load)

    def _add(self, spec: Spec, values: Mapping[str, Any]) -> Row:
        row = spec.new(values)
        self._new[spec].append(row)
        self._remember(spec.model, spec.key_of(row), row)
        return row

    def _find(self, model: type[T], key: Any, load: Callable[[], T | None]) -> T | None:
        cache = self._rows.setdefault(model, {})
        if key in cache:
            found: T | None = cache[key]
            return found
        row = load()
        cache[key] = row
        return row

    def _remember(self, model: type[Any], key: Any, row: Any) -> None:
        self._rows.setdefault(model, {})[key] = row

    # -- accounts -----------------------------------------------------------------------------------------------

    def upsert_account(self, data: Payload) -> TradingAccount:
        values = clean(TradingAccount, as_mapping(data, "account"))
        require(TradingAccount, values, ("id",))
        account = self._find(TradingAccount, values["id"], lambda: self.session.get(TradingAccount, values["id"]))
        if account is None:
            values.setdefault("created_at", self._now())
            account = TradingAccount(**values)
            self.session.add(account)
            self._remember(TradingAccount, account.id, account)
            return account
        for key, value in values.items():
            setattr(account, key, value)
        return account

    def _account(self, account_id: str) -> None:
        """Refuse a row of an account that does not exist (an existence check: no ORM object is built for it)."""
        if self._rows.get(TradingAccount, {}).get(account_id) is not None or account_id in self._accounts_seen:
            return
        if self.session.new:
            self.session.flush()  # as the ORM's autoflush did: an account another write added is there to see
        table = TradingAccount.__table__  # type: ignore[attr-defined]
        query = sa_select(table.c.id).where(table.c.id == account_id)
        if self.session.connection().execute(query).first() is None:
            raise NotFoundError(
                f"account {account_id!r} does not exist", detail="project the account (upsert_account) first"
            )
        self._accounts_seen.add(account_id)

    # -- orders -------------------------------------------------------------------------------------------------

    def upsert_order(self, data: Payload) -> Order:
        """Insert a new order (all of its fields) or apply the changed fields of a known one."""
        order: Order = ORDERS.model_of(self._upsert_order(data))
        return order

    def _upsert_order(self, data: Payload) -> Row:
        values = clean(Order, as_mapping(data, "order"))
        require(Order, values, ("id",))
        order = self._order(values["id"])
        if order is None:
            require(Order, values, ("account_id", "symbol", "side", "order_type", "quantity"))
            self._account(values["account_id"])
            values.setdefault("created_at", self._now())
            values.setdefault("updated_at", values["created_at"])
            _check_order(values)
            self._claim_client_id(values["account_id"], values.get("client_order_id"), values["id"])
            return self._add(ORDERS, values)
        if _stale(order.journal_seq, values.get("journal_seq")):
            return order
        for key in ("account_id", "symbol", "side"):
            if key in values and values[key] != getattr(order, key):
                raise ConflictError(
                    f"order {order.id}: {key} cannot change ({getattr(order, key)!r} -> {values[key]!r})"
                )
        _check_order({f: values.get(f, getattr(order, f)) for f in _ORDER_AMOUNTS})
        if values.get("client_order_id") is not None and values["client_order_id"] != order.client_order_id:
            self._claim_client_id(order.account_id, values["client_order_id"], order.id)
            if order.client_order_id is not None:
                self._client_ids.pop((order.account_id, order.client_order_id), None)
        values.setdefault("updated_at", self._now())
        order.set(values)
        return order

    def _order(self, order_id: str) -> Row | None:
        return self._get_row(ORDERS, order_id)

    def _claim_client_id(self, account_id: str, client_id: str | None, order_id: str) -> None:
        """client_order_id is unique per account: refuse one that another order (stored or in this batch) holds."""
        if client_id is None:
            return
        pair = (account_id, client_id)
        other = self._client_ids.get(pair)
        if other is None and client_id not in self._client_ids_loaded:
            with self.session.no_autoflush:
                other = self.session.exec(
                    select(Order.id).where(Order.account_id == account_id, Order.client_order_id == client_id)
                ).first()
        if other is not None and other != order_id:
            raise ConflictError(
                f"client_order_id {client_id!r} is already used by order {other} in account {account_id!r}"
            )
        self._client_ids[pair] = order_id

    # -- trades -------------------------------------------------------------------------------------------------

    def record_trade(self, data: Payload) -> Trade:
        """Record one fill; account, symbol, side and strategy default to the order's."""
        trade: Trade = TRADES.model_of(self._record_trade(data))
        return trade

    def _record_trade(self, data: Payload) -> Row:
        values = clean(Trade, as_mapping(data, "trade"))
        require(Trade, values, ("id", "order_id", "quantity", "price"))
        existing = self.find_trade(values["id"])
        if existing is not None:
            changed = sorted(
                k for k, v in values.items() if k not in {"journal_seq", "timestamp"} and getattr(existing, k) != v
            )
            if "timestamp" in values and existing.timestamp != values["timestamp"]:
                changed.append("timestamp")
            if changed:
                raise ConflictError(f"trade {existing.id} is already recorded with other {', '.join(changed)}")
            return existing
        order = self._order(values["order_id"])
        if order is None:
            raise NotFoundError(f"order {values['order_id']!r} of trade {values['id']!r} does not exist")
        for key in ("account_id", "symbol", "side"):
            if key in values and values[key] != getattr(order, key):
                rule = f"must match the order's {key} {getattr(order, key)!r}"
                raise ValidationError(f"trades.{key}", rule, values[key])
            values[key] = getattr(order, key)
        values.setdefault("strategy", order.strategy)
        values.setdefault("timestamp", self._now())
        if values["quantity"] <= 0:
            raise ValidationError("trades.quantity", "must be greater than 0", values["quantity"])
        if values["price"] <= 0:
            raise ValidationError("trades.price", "must be greater than 0", values["price"])
        return self._add(TRADES, values)

    def find_trade(self, trade_id: str) -> Row | None:
        """The stored (or in this transaction written) trade with this id, as a plain row."""
        return self._get_row(TRADES, trade_id)

    # -- writing what is pending --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything pending so far (``StateStore.batch`` calls it before commit): the session's ORM rows
        (accounts ...) first, then the plain rows' changes and inserts (:func:`~alphintra.storage.state.rows.write`)."""
        self.session.flush()
        if any(self._new.values()) or any(
            row is not None and row._changed
            for spec in (ORDERS, POSITIONS, BALANCES)
            for row in self._rows.get(spec.model, {}).values()
        ):
            write(self.session.connection(), self._rows, self._new)

    # -- the projection's own bookkeeping ---------------------------------------------------------------------

    def projection_meta(self, source: str = "journal") -> ProjectionMeta | None:
        return self.session.get(ProjectionMeta, source, populate_existing=True)  # set_projection_meta is Core

    def set_projection_meta(
        self, journal_id: str, applied_seq: int, applied_digest: str, source: str = "journal"
    ) -> None:
        """Record the journal position the rows of this transaction bring the projection to (commits with them)."""
        # Once per projected piece of the journal: one UPDATE (an INSERT the first time), no ORM object.
        table = ProjectionMeta.__table__  # type: ignore[attr-defined]
        values = {
            "journal_id": journal_id,
            "applied_seq": applied_seq,
            "applied_digest": applied_digest,
            "updated_at": self._now(),
        }
        conn = self.session.connection()
        if not conn.execute(update(table).where(table.c.id == source).values(values)).rowcount:
            conn.execute(insert(table).values(id=source, **values))

    def clear(self, models: Sequence[type[Any]]) -> None:
        """Delete every row of ``models`` (children first) and the projection's position: a rebuild starts here."""
        from sqlmodel import delete

        self.flush()
        for model in models:
            self.session.exec(delete(model))
        self.session.exec(delete(ProjectionMeta))
        self._rows.clear()
        self._client_ids.clear()
        self._client_ids_loaded.clear()
        self._accounts_seen.clear()

    # -- positions and balances ---------------------------------------------------------------------------------

    def upsert_position(self, data: Payload) -> Position:
        """Insert or update one position (the returned copy of a new one has no id before the batch commits)."""
        position: Position = POSITIONS.model_of(self._upsert_position(data))
        return position

    def _upsert_position(self, data: Payload) -> Row:
        values = clean(Position, as_mapping(data, "position"), allowed=_POSITION_FIELDS)
        require(Position, values, ("account_id", "symbol"))
        position = self._get_row(POSITIONS, (values["account_id"], values["symbol"]))
        if position is None:
            require(Position, values, ("quantity", "average_price"))
            self._account(values["account_id"])
            values.setdefault("updated_at", self._now())
            return self._add(POSITIONS, values)
        if _stale(position.journal_seq, values.get("journal_seq")):
            return position
        values.setdefault("updated_at", self._now())
        position.set(values)
        return position

    def upsert_balance(self, data: Payload) -> AccountBalance:
        """``available = total - locked`` always holds; give any two of the three (or all three, consistent). The
        returned copy of a new balance has no id before the batch commits."""
        balance: AccountBalance = BALANCES.model_of(self._upsert_balance(data))
        return balance

    def _upsert_balance(self, data: Payload) -> Row:
        values = clean(
            AccountBalance,
            as_mapping(data, "balance"),
            allowed=_BALANCE_FIELDS,
        )
        require(AccountBalance, values, ("account_id", "asset"))
        values["asset"] = values["asset"].upper()
        balance = self._get_row(BALANCES, (values["account_id"], values["asset"]))
        if balance is not None and _stale(balance.journal_seq, values.get("journal_seq")):
            return balance
        with localcontext(WIDE):  # 38-digit operands: the default 28-digit context would round
            total, available, locked = _complete_balance(
                values.get("total_balance"), values.get("available_balance"), values.get("locked_balance"), balance
            )
            consistent = available == total - locked
        if not consistent:
            raise ValidationError(
                "account_balances.available_balance",
                f"must equal total_balance - locked_balance ({total} - {locked})",
                available,
            )
        if locked < 0:
            raise ValidationError("account_balances.locked_balance", "must not be negative", locked)
        values.update(total_balance=total, available_balance=available, locked_balance=locked)
        values.setdefault("updated_at", self._now())
        if balance is None:
            self._account(values["account_id"])
            return self._add(BALANCES, values)
        balance.set(values)
        return balance

    # -- strategies and executions ------------------------------------------------------------------------------

    def create_strategy(self, data: Payload) -> TradingStrategy:
        values = clean(TradingStrategy, as_mapping(data, "strategy"), allowed=_STRATEGY_FIELDS | {"created_at"})
        require(TradingStrategy, values, ("name", "strategy_type"))
        if self._strategy_by_name(values["name"]) is not None:
            raise ConflictError(f"a strategy named {values['name']!r} already exists")
        values.setdefault("config", {})
        values.setdefault("created_at", self._now())
        values["updated_at"] = values["created_at"]
        strategy = TradingStrategy(**values)
        self.session.add(strategy)
        self.session.flush()  # assigns the id the caller will use
        return strategy

    def update_strategy(self, key: StrategyKey, changes: Payload) -> TradingStrategy:
        values = clean(TradingStrategy, as_mapping(changes, "changes"), allowed=_STRATEGY_FIELDS | {"updated_at"})
        strategy = self.strategy(key)
        if "name" in values and values["name"] != strategy.name:
            other = self._strategy_by_name(values["name"])
            if other is not None:
                raise ConflictError(f"a strategy named {values['name']!r} already exists")
        values.setdefault("updated_at", self._now())
        for name, value in values.items():
            setattr(strategy, name, value)
        return strategy

    def delete_strategy(self, key: StrategyKey, *, with_executions: bool = False) -> int:
        """Delete a strategy; its executions go too only when asked. Returns how many executions were deleted."""
        strategy = self.strategy(key)
        query = select(StrategyExecution).where(StrategyExecution.strategy_id == strategy.id)
        executions = list(self.session.exec(query))
        if executions and not with_executions:
            raise ConflictError(
                f"strategy {strategy.name!r} has {len(executions)} execution(s)",
                detail="delete them too with with_executions=True (CLI: --with-executions)",
            )
        for execution in executions:
            self.session.delete(execution)
        self.session.flush()
        self.session.delete(strategy)
        return len(executions)

    def strategy(self, key: StrategyKey) -> TradingStrategy:
        found = self.session.get(TradingStrategy, key) if isinstance(key, int) else self._strategy_by_name(key)
        if found is None:
            raise NotFoundError(f"strategy {key!r} does not exist")
        return found

    def _strategy_by_name(self, name: str) -> TradingStrategy | None:
        return self.session.exec(select(TradingStrategy).where(TradingStrategy.name == name)).first()

    def start_execution(
        self,
        strategy: StrategyKey,
        execution_type: str,
        *,
        config: Mapping[str, Any] | None = None,
        at: datetime | int | None = None,
    ) -> StrategyExecution:
        started = self._at(at, "strategy_executions.started_at")
        values = clean(
            StrategyExecution,
            {"execution_type": execution_type, "config": None if config is None else dict(config)},
        )
        execution = StrategyExecution(
            strategy_id=self._strategy_id(strategy),
            status="RUNNING",
            started_at=started,
            created_at=started,
            **values,
        )
        self.session.add(execution)
        self.session.flush()
        return execution

    def finish_execution(
        self,
        execution_id: int,
        *,
        status: str = "COMPLETED",
        results: Mapping[str, Any] | None = None,
        error: str | None = None,
        at: datetime | int | None = None,
    ) -> StrategyExecution:
        execution = self.session.get(StrategyExecution, execution_id)
        if execution is None:
            raise NotFoundError(f"execution {execution_id} does not exist")
        if execution.status in FINISHED_EXECUTION_STATUSES:
            raise ConflictError(f"execution {execution_id} already finished ({execution.status})")
        values = self._finish_values(status, results, error)
        completed = self._at(at, "strategy_executions.completed_at")
        if execution.started_at is not None and completed < execution.started_at:
            raise ValidationError("strategy_executions.completed_at", "must not be before started_at", completed)
        for key, value in values.items():
            setattr(execution, key, value)
        execution.completed_at = completed
        return execution

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
        """Record a run that has already finished (a backtest, an optimisation) in one call."""
        execution = self.start_execution(strategy, execution_type, config=config, at=started_at or completed_at)
        return self.finish_execution(execution.id or 0, status=status, results=results, error=error, at=completed_at)

    def _finish_values(self, status: str, results: Mapping[str, Any] | None, error: str | None) -> dict[str, Any]:
        values = clean(
            StrategyExecution,
            {"status": status, "results": None if results is None else dict(results), "error": error},
        )
        if values["status"] not in FINISHED_EXECUTION_STATUSES:
            raise ValidationError(
                "strategy_executions.status", f"must be one of {', '.join(sorted(FINISHED_EXECUTION_STATUSES))}", status
            )
        return values

    def _strategy_id(self, key: StrategyKey) -> int:
        strategy = self.strategy(key)
        assert strategy.id is not None
        return strategy.id

    # -- risk limits and alerts ---------------------------------------------------------------------------------

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
        """Create, change or (``value=None``) remove a limit, recording who, when, old and new.

        Setting a limit to its current value changes nothing and records nothing. Returns the limit (None when
        removed).
        """
        scope, scope_id = _check_scope(scope, scope_id)
        if not _LIMIT_NAME.match(name):
            raise ValidationError("risk_limits.name", "must be lower_snake_case, at most 64 characters", name)
        who = changed_by.strip() if isinstance(changed_by, str) else ""
        if not who:
            raise ValidationError("risk_limit_changes.changed_by", "must name who made the change", changed_by)
        new = None if value is None else to_decimal(value, "risk_limits.value")
        if new is not None and new < 0:
            raise ValidationError("risk_limits.value", "must not be negative", value)
        when = self._at(at, "risk_limit_changes.changed_at")
        limit = self.session.exec(
            select(RiskLimit).where(RiskLimit.scope == scope, RiskLimit.scope_id == scope_id, RiskLimit.name == name)
        ).first()
        old = None if limit is None else limit.value
        if limit is None and new is None:
            raise NotFoundError(f"risk limit {name!r} ({scope} {scope_id}) is not set")
        if old is not None and new is not None and old == new:
            return limit
        self.session.add(
            RiskLimitChange(
                name=name,
                scope=scope,
                scope_id=scope_id,
                old_value=old,
                new_value=new,
                changed_by=who,
                changed_at=when,
                reason=reason,
            )
        )
        if new is None:
            assert limit is not None
            self.session.delete(limit)
            return None
        if limit is None:
            limit = RiskLimit(name=name, scope=scope, scope_id=scope_id, value=new, updated_at=when, updated_by=who)
            self.session.add(limit)
        else:
            limit.value = new
            limit.updated_at = when
            limit.updated_by = who
        return limit

    def add_alert(self, data: Payload) -> RiskAlert:
        values = clean(
            RiskAlert,
            as_mapping(data, "alert"),
            allowed={"time", "severity", "rule", "message", "account_id", "strategy", "symbol", "value", "threshold"},
        )
        require(RiskAlert, values, ("severity", "rule", "message"))
        values.setdefault("time", self._now())
        alert = RiskAlert(**values)
        self.session.add(alert)
        self.session.flush()
        return alert

    def acknowledge_alert(self, alert_id: int, *, by: str, at: datetime | int | None = None) -> RiskAlert:
        """Mark an alert seen; acknowledging it again keeps the first acknowledgement."""
        alert = self.session.get(RiskAlert, alert_id)
        if alert is None:
            raise NotFoundError(f"alert {alert_id} does not exist")
        if not alert.acknowledged:
            who = clean(RiskAlert, {"acknowledged_by": by})["acknowledged_by"]
            alert.acknowledged = True
            alert.acknowledged_by = who
            alert.acknowledged_at = self._at(at, "risk_alerts.acknowledged_at")
        return alert

    # -- scheduled jobs -----------------------------------------------------------------------------------------

    def upsert_job(self, data: Payload) -> ScheduledJob:
        values = clean(ScheduledJob, as_mapping(data, "job"), allowed=_JOB_FIELDS)
        require(ScheduledJob, values, ("id",))
        job = self.session.get(ScheduledJob, values["id"])
        if job is None:
            require(ScheduledJob, values, ("schedule", "command"))
            values.setdefault("name", values["id"])
            values.setdefault("created_at", self._now())
            values.setdefault("updated_at", values["created_at"])
            job = ScheduledJob(**values)
            self.session.add(job)
            return job
        values.setdefault("updated_at", self._now())
        for key, value in values.items():
            setattr(job, key, value)
        return job

    def record_job_run(
        self,
        job_id: str,
        *,
        status: str,
        at: datetime | int | None = None,
        error: str | None = None,
        next_run_at: datetime | int | None = None,
    ) -> ScheduledJob:
        job = self.session.get(ScheduledJob, job_id)
        if job is None:
            raise NotFoundError(f"scheduled job {job_id!r} does not exist")
        values = clean(ScheduledJob, {"last_status": status.upper(), "last_error": error, "next_run_at": next_run_at})
        job.last_run_at = self._at(at, "scheduled_jobs.last_run_at")
        job.last_status = values["last_status"]
        job.last_error = values["last_error"]
        if next_run_at is not None:
            job.next_run_at = values["next_run_at"]
        job.run_count += 1
        return job

    def delete_job(self, job_id: str) -> None:
        job = self.session.get(ScheduledJob, job_id)
        if job is None:
            raise NotFoundError(f"scheduled job {job_id!r} does not exist")
        self.session.delete(job)

    # -- helpers ------------------------------------------------------------------------------------------------

    def _at(self, at: datetime | int | None, field: str) -> datetime:
        return self._now() if at is None else to_utc(at, field)

    def count(self, model: type[Any]) -> int:
        self.flush()
        return int(self.session.exec(select(func.count()).select_from(model)).one())


_ORDER_AMOUNTS = ("quantity", "filled_quantity", "price", "stop_price", "average_price")


def _check_order(values: Mapping[str, Any]) -> None:
    """Amount rules of an order, checked on the merged values before anything is changed."""
    quantity = values["quantity"]
    filled = values.get("filled_quantity") or Decimal(0)
    if quantity <= 0:
        raise ValidationError("orders.quantity", "must be greater than 0", quantity)
    if filled < 0 or filled > quantity:
        raise ValidationError("orders.filled_quantity", f"must be between 0 and the quantity {quantity}", filled)
    for field in ("price", "stop_price", "average_price"):
        value = values.get(field)
        if value is not None and value <= 0:
            raise ValidationError(f"orders.{field}", "must be greater than 0", value)


def _strings(value: object) -> set[str]:
    return {value.strip()} if isinstance(value, str) and value.strip() else set()


def _chunks(values: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    # Bounded IN lists: SQLite allows at most 32766 bound parameters per statement.
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _complete_balance(
    total: Decimal | None, available: Decimal | None, locked: Decimal | None, stored: Row | None
) -> tuple[Decimal, Decimal, Decimal]:
    """Fill what a payload left out: from ``available = total - locked`` when two are given, else keep the stored
    ``locked`` (or, when only ``locked`` changes, the stored ``total``)."""
    given = sum(v is not None for v in (total, available, locked))
    if given < 2:
        if stored is None:
            raise ValidationError("account_balances.total_balance", "two of total, available and locked are required")
        if locked is None:
            locked = stored.locked_balance
        if total is None and available is None:
            total = stored.total_balance
    if total is None:
        assert available is not None and locked is not None
        total = available + locked
    if locked is None:
        assert available is not None
        locked = total - available
    if available is None:
        available = total - locked
    return total, available, locked


def _check_scope(scope: str, scope_id: str) -> tuple[str, str]:
    scope = scope.strip().lower()
    if scope not in RISK_SCOPES:
        raise ValidationError("risk_limits.scope", f"must be one of {', '.join(sorted(RISK_SCOPES))}", scope)
    scope_id = scope_id.strip()
    if scope == "global" and scope_id != "*":
        raise ValidationError("risk_limits.scope_id", "must be * for the global scope", scope_id)
    if not scope_id:
        raise ValidationError("risk_limits.scope_id", "must name the account, strategy or symbol", scope_id)
    return scope, scope_id


__all__ = ["Payload", "StateWriter", "StrategyKey"]
