"""Orders, trades, positions and balances as the writer handles them: plain rows, not ORM objects.

They are the rows the daemon's projector writes for every order, on a thread that shares the GIL with the order
path; building, tracking and flushing an ORM object per row cost more there than the SQL itself. A
:class:`Row` holds a row's column values as attributes (every column present) and remembers which of them a
stored row had changed; :func:`write` sends what a transaction has pending as a few executemany statements.
The column types (exact NUMERIC money, UTC times, JSON) apply exactly as through the ORM: Core statements bind
the same ``Table`` columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select, Update

from alphintra.storage.state.models import AccountBalance, Order, Position, Trade


class Row:
    """One row of this transaction: its column values as attributes, every column present.

    ``_stored`` is False until the row is inserted; ``_changed`` names the columns of a stored row to UPDATE.
    """

    def __init__(self, values: Mapping[str, Any], *, stored: bool) -> None:
        self.__dict__.update(values)
        self._stored = stored
        self._changed: set[str] = set()

    def __getattr__(self, name: str) -> Any:  # only reached for a name that is not a column: typed access for mypy
        raise AttributeError(name)

    def values(self, columns: Sequence[str]) -> dict[str, Any]:
        data = self.__dict__
        return {c: data[c] for c in columns}

    def set(self, values: Mapping[str, Any]) -> None:
        data = self.__dict__
        if not self._stored:
            data.update(values)
            return
        for key, value in values.items():
            # As the ORM decided: a value equal to the stored one (Decimal("1.0") == 1) is not written again.
            if data[key] != value:
                data[key] = value
                self._changed.add(key)


@dataclass(frozen=True, eq=False)  # one per table: compared and hashed by identity
class Spec:
    """How the rows of one table are keyed, loaded, inserted and updated."""

    model: type[Any]
    keys: tuple[str, ...]  # the row's identity in the writer's cache and in an UPDATE's WHERE (never changed)
    table: Any = field(init=False)
    columns: tuple[str, ...] = field(init=False)
    insert_columns: tuple[str, ...] = field(init=False)  # without an autoincrement id: the database assigns it
    defaults: dict[str, Any] = field(init=False)
    update: Update = field(init=False)

    def __post_init__(self) -> None:
        table = self.model.__table__
        columns = tuple(table.columns.keys())
        autoincrement = {c.key for c in table.primary_key.columns if c.key not in self.keys}
        where = and_(*(table.c[k] == bindparam(f"_key_{k}") for k in self.keys))
        set_ = object.__setattr__
        set_(self, "table", table)
        set_(self, "columns", columns)
        set_(self, "insert_columns", tuple(c for c in columns if c not in autoincrement))
        set_(self, "defaults", _defaults(self.model))
        set_(self, "update", update(table).where(where))

    def key_of(self, row: Any) -> Any:
        return getattr(row, self.keys[0]) if len(self.keys) == 1 else tuple(getattr(row, k) for k in self.keys)

    def new(self, values: Mapping[str, Any]) -> Row:
        return Row(self.defaults | dict(values), stored=False)

    def model_of(self, row: Row) -> Any:
        """The row as a detached model instance (what the writer's public methods return)."""
        return self.model(**row.values(self.columns))

    def select_one(self, key: Any) -> Select[Any]:
        values = (key,) if len(self.keys) == 1 else key
        return sa_select(self.table).where(
            and_(*(self.table.c[k] == v for k, v in zip(self.keys, values, strict=True)))
        )

    def load(self, conn: Connection, query: Select[Any]) -> Iterable[Row]:
        for found in conn.execute(query):
            yield Row(found._asdict(), stored=True)


def _defaults(model: type[Any]) -> dict[str, Any]:
    """The model's field defaults: an inserted row names every column, as the ORM's INSERT did."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            raise TypeError(f"{model.__name__}.{name}: a default factory is not supported for plain rows")
        if not info.is_required():
            out[name] = info.default
    return out


ORDERS = Spec(Order, ("id",))
TRADES = Spec(Trade, ("id",))
POSITIONS = Spec(Position, ("account_id", "symbol"))
BALANCES = Spec(AccountBalance, ("account_id", "asset"))
# Parents before children (trades refer to orders; every table to its account, an ORM row flushed before these).
SPECS: tuple[Spec, ...] = (ORDERS, TRADES, POSITIONS, BALANCES)


def write(conn: Connection, rows: Mapping[type[Any], Mapping[Any, Row | None]], new: Mapping[Spec, list[Row]]) -> None:
    """Send the changes of stored rows, then the new rows, each kind as one executemany: UPDATEs first so that a
    client order id an update gives up is free before an inserted order takes it."""
    for spec in SPECS:
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows.get(spec.model, {}).values():
            if row is not None and row._changed:
                columns = tuple(sorted(row._changed))
                params = {f"_key_{k}": getattr(row, k) for k in spec.keys}
                params.update(row.values(columns))
                groups.setdefault(columns, []).append(params)
                row._changed = set()
        for params_list in groups.values():
            conn.execute(spec.update, params_list)
    for spec in SPECS:
        pending = new.get(spec)
        if pending:
            conn.execute(insert(spec.table), [row.values(spec.insert_columns) for row in pending])
            for row in pending:
                row._stored = True
            pending.clear()


__all__ = ["BALANCES", "ORDERS", "POSITIONS", "SPECS", "TRADES", "Row", "Spec", "write"]
