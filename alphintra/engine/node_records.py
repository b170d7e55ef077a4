"""The trading node's own journal records: the facts an order event cannot carry.

Account funding (``AccountOpened``, ``Deposited``, ``Withdrawn``), ledger locks (``Reserved``, ``Released``: their
price depends on the market at the time), the emulator's links (``EmulatorLink``), the execution algorithms'
progress (``Algo*``), margin calls (``MarginCall``) and venue halts (``VenueHalted``, ``VenueResumed``). They are
typed and versioned like the order events and share their codec (:mod:`alphintra.engine.core.codec`):
``{"type": <class name>, "v": <version>, ...fields}`` with the same keys and value forms the node wrote before
they were typed.

Version 0 is what the node journaled before these types existed: the same dicts without ``"v"``. Their upgraders
turn them into version 1; only ``AlgoStarted`` changed (journals older still lack its ``created_ns`` and
``start_ns``: the first slice's time stands in for both).

Fields keep the journal's key names (``slice``, ``a``/``b``, ``tp``/``sl``) so that the dicts stay what they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from alphintra.engine.core.codec import RecordCodec
from alphintra.engine.core.enums import OrderSide

NODE_RECORD_VERSION = 1

Plan = tuple[tuple[int, Decimal], ...]  # an algorithm's slices: (due time ns, quantity)


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """Base of the node's own records (each type carries the time it needs, if any)."""

    def to_dict(self) -> dict[str, Any]:
        return CODEC.to_dict(self)


@dataclass(frozen=True, slots=True)
class AccountOpened(NodeRecord):
    account: str
    mode: str
    currency: str
    leverage: Decimal


@dataclass(frozen=True, slots=True)
class Deposited(NodeRecord):
    account: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Withdrawn(NodeRecord):
    account: str
    asset: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Reserved(NodeRecord):
    """An order's lock: ``quantity`` still to fill at ``price`` (None: a sell, which locks the base quantity)."""

    order_id: str
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class Released(NodeRecord):
    order_id: str


@dataclass(frozen=True, slots=True)
class EmulatorLink(NodeRecord):
    """``kind`` "oco": orders ``a`` and ``b`` cancel each other; "bracket": ``entry`` with exits ``tp`` and ``sl``."""

    kind: str
    a: str | None = None
    b: str | None = None
    entry: str | None = None
    tp: str | None = None
    sl: str | None = None


@dataclass(frozen=True, slots=True)
class AlgoStarted(NodeRecord):
    """An execution algorithm with its whole plan (so a replay never re-draws it)."""

    algo_id: str
    kind: str
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    plan: Plan
    end_ns: int
    limit_price: Decimal | None
    guard: str
    strategy: str | None
    tags: tuple[str, ...]
    created_ns: int
    start_ns: int


@dataclass(frozen=True, slots=True)
class AlgoSlice(NodeRecord):
    """Slice ``slice`` sent child ``order_id``, or (None) sent nothing because of ``note``; ``missed``: it was due
    while the engine was not running or trading was halted (the next slice sent respreads)."""

    algo_id: str
    slice: int
    order_id: str | None
    note: str | None = None
    missed: bool = False


@dataclass(frozen=True, slots=True)
class AlgoRespread(NodeRecord):
    """From slice ``slice`` on, the plan splits what was left to trade (the total less ``base``)."""

    algo_id: str
    slice: int
    base: Decimal
    plan: Plan


@dataclass(frozen=True, slots=True)
class AlgoCanceled(NodeRecord):
    algo_id: str
    reason: str | None
    ts: int | None


@dataclass(frozen=True, slots=True)
class AlgoCompleted(NodeRecord):
    algo_id: str
    reason: str | None
    ts: int | None


@dataclass(frozen=True, slots=True)
class MarginCall(NodeRecord):
    """The account's equity fell below its maintenance margin: its orders are canceled, its positions closed."""

    account: str
    equity: Decimal
    requirement: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class VenueHalted(NodeRecord):
    """A reconciliation found differences no fill explains: new orders on ``venue`` are refused."""

    venue: str
    differences: tuple[str, ...]
    reason: str = ""  # why, as shown to the operator (older records: built from the differences)


@dataclass(frozen=True, slots=True)
class VenueResumed(NodeRecord):
    """An operator cleared a venue's halt (``alphintra venue resume``): orders on it are accepted again."""

    venue: str
    reason: str = ""


CODEC: RecordCodec[NodeRecord] = RecordCodec(
    "node record", version=NODE_RECORD_VERSION, unversioned=0, decimal_ints=True
)
NODE_RECORD_TYPES: Mapping[str, type[NodeRecord]] = CODEC.types
is_node_record: Callable[[Mapping[str, Any]], bool] = CODEC.knows
node_record_from_dict: Callable[[Mapping[str, Any]], NodeRecord] = CODEC.from_dict


def _v0_algo_started(data: dict[str, Any]) -> dict[str, Any]:
    plan = data.get("plan") or []
    start = data.get("start_ns") or (plan[0][0] if plan else 0)
    return {**data, "start_ns": start, "created_ns": data.get("created_ns") or start}


for _cls in (
    AccountOpened,
    Deposited,
    Withdrawn,
    Reserved,
    Released,
    EmulatorLink,
    AlgoStarted,
    AlgoSlice,
    AlgoRespread,
    AlgoCanceled,
    AlgoCompleted,
    MarginCall,
    VenueHalted,
    VenueResumed,
):
    CODEC.register(_cls)
CODEC.register_upgrader("AlgoStarted", 0, _v0_algo_started)

__all__ = [
    "CODEC",
    "NODE_RECORD_TYPES",
    "NODE_RECORD_VERSION",
    "AccountOpened",
    "AlgoCanceled",
    "AlgoCompleted",
    "AlgoRespread",
    "AlgoSlice",
    "AlgoStarted",
    "Deposited",
    "EmulatorLink",
    "MarginCall",
    "NodeRecord",
    "Plan",
    "Released",
    "Reserved",
    "VenueHalted",
    "VenueResumed",
    "Withdrawn",
    "is_node_record",
    "node_record_from_dict",
]
