"""The SQL state (SQLModel store: SQLite by default, PostgreSQL by URL) as a true projection of the journal.

The journal is the source of truth; these rows are for other readers (`alphintra order list` without a daemon,
exports, dashboards). The projection reads the journal's records itself, in order, folds them into rows and
writes each piece in one transaction **together with the journal position it brings the rows to**
(``projection_meta``): whatever the moment of a crash, the rows are exactly the fold of records ``1..applied_seq``,
and the next start continues from there. Nothing reaches it from the engine's memory: the engine thread only
tells the projector how far the journal is durable (:meth:`ProjectorState.notify
<alphintra.daemon.trading.projector_process.ProjectorState.notify>`, one integer in shared memory), so a slow
database never delays an acknowledgement, and the projection never shows a change a crash could take back.

The fold is the engine's own: a private :class:`TradingNode` that only folds (``_node_recovery.fold``, the code of
the daemon's restart replay), fed one record at a time, so order states, fills, fees, positions and balances follow
the node's rules without a second copy of them. Chosen over driving ``Order.apply`` and a ``Ledger`` here: the
node's fold also books reservations, releases and fills exactly as the engine does. Orders leave its memory once
finished and projected (no later record can refer to them), so it holds only working orders, the ledger and the
emulator's links.

On start the stored position is checked against the journal (the first record's digest identifies the journal,
the digest of record ``applied_seq`` shows it was not rewritten) while the fold is brought up to it, without
writing. A missing, empty or foreign projection -- no position stored, a position beyond the journal's end, a
digest that does not match -- is rebuilt from the first record (journal segments are never pruned yet). `alphintra
engine rebuild-state` does the same on demand (:func:`rebuild_state`).

Record types: :data:`PROJECTIONS` maps a record type to what it changes in the rows (an unknown type is folded by
the node, which skips what it does not know, and logged at debug). Another record family plugs in with an entry
there and its tables in :data:`PROJECTED_TABLES` (cleared by a rebuild); a handler may queue any write with
:meth:`Projection.later`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.config.logs import get_logger
from alphintra.daemon.trading.riskstate_projection import project as project_risk
from alphintra.daemon.trading.views import order_extras_of
from alphintra.engine import _node_recovery
from alphintra.engine.clock import TestClock
from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.core.orders import Order
from alphintra.engine.node import TradingNode
from alphintra.engine.risk.records import is_risk_record
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.errors import AlphintraError, ConflictError, RetryableError
from alphintra.lockfile import locked
from alphintra.storage.journal import JournalCorrupted, JournalRecord, _decode, _load, _segments
from alphintra.storage.state.models import AccountBalance, Position, Trade, TradingAccount
from alphintra.storage.state.models import Order as OrderRow

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.storage.state import StateStore, StateWriter

log = get_logger("daemon.projector")
_Q18 = Decimal(1).scaleb(-18)
_CHUNK = 5_000  # journal records per transaction (a rebuild commits as it goes; memory stays bounded)
# What a rebuild clears, children first. Another record family's projection adds its tables here.
PROJECTED_TABLES: list[type[Any]] = [Trade, AccountBalance, Position, OrderRow, TradingAccount]


def _d(value: Decimal | None) -> Decimal | None:
    """Report values with more digits than the store keeps (averages are 34-digit quotients): 18 places."""
    return None if value is None else value.quantize(_Q18, rounding=ROUND_HALF_EVEN)


def digest(record: Mapping[str, Any]) -> str:
    """A record's identity for the stored position (its canonical JSON's SHA-256, 32 hex digits)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------- reading


class JournalTail:
    """Reads a journal's records in order from where the last read stopped (a file offset, not a rescan of the
    segment), while another process or thread appends. Only records up to ``upto`` are read (the durable ones)."""

    def __init__(self, directory: Path, from_seq: int = 1) -> None:
        self.directory = directory
        self.next_seq = from_seq
        self._path: Path | None = None
        self._offset = 0
        self._expected = 0  # seq of the record at _offset

    def read(self, upto: int, limit: int = _CHUNK) -> list[JournalRecord]:
        out: list[JournalRecord] = []
        if self.next_seq > upto or (self._path is None and not self._position()):
            return out
        while self.next_seq <= upto and len(out) < limit:
            assert self._path is not None
            got = self._read_segment(self._path, upto, limit - len(out), out)
            if got:
                continue
            following = self.directory / f"segment-{self._expected:020d}.jsonl"
            if not following.exists():
                break
            self._path, self._offset = following, 0
        return out

    def _position(self) -> bool:
        if not self.directory.is_dir():
            return False
        segments = _segments(self.directory)
        if not segments:
            return False
        first, path = segments[0]
        if first > self.next_seq:
            raise ConflictError(
                f"journal {self.directory}: records {self.next_seq}..{first - 1} were pruned; the state cannot be "
                "rebuilt from it"
            )
        for seg_first, seg_path in segments:
            if seg_first <= self.next_seq:
                first, path = seg_first, seg_path
        self._path, self._offset, self._expected = path, 0, first
        return True

    def _read_segment(self, path: Path, upto: int, limit: int, out: list[JournalRecord]) -> bool:
        """Append what ``path`` holds from the offset on; True if anything was consumed."""
        consumed = False
        with path.open("rb") as fh:
            fh.seek(self._offset)
            while self.next_seq <= upto and limit > 0:
                raw = fh.readline()
                if not raw.endswith(b"\n"):
                    break  # the end, or a line still being written
                frame = _decode(raw)
                if frame is None:
                    if fh.read(1) == b"" and not (self.directory / f"segment-{self._expected + 1:020d}.jsonl").exists():
                        break  # a torn last record: never acknowledged, cut by the writer's next start
                    raise JournalCorrupted(path, self._offset, "invalid record")
                seq, payload = frame
                if seq != self._expected:
                    raise JournalCorrupted(path, self._offset, f"sequence {seq} where {self._expected} was expected")
                record_offset = self._offset
                self._offset += len(raw)
                self._expected += 1
                consumed = True
                if seq >= self.next_seq:
                    out.append(JournalRecord(seq, _load(path, record_offset, payload)))
                    self.next_seq = seq + 1
                    limit -= 1
        return consumed


# ---------------------------------------------------------------------------------------------- folding

Later = Callable[["StateWriter"], object]
RecordProjector = Callable[["Projection", JournalRecord], None]


class Projection:
    """The fold of the journal and the rows it owes the store since the last :meth:`take`."""

    def __init__(self, instruments: InstrumentRegistry, *, risk_from: int | None = None) -> None:
        # Risk records after this journal position are projected (the keeper rebuilt the risk tables from its fold
        # of the ones before); None: they are not (an offline rebuild leaves the risk tables to the daemon's start).
        self.risk_from = risk_from
        self.node = TradingNode(instruments=instruments, venue=SimulatedVenue(instruments), clock=TestClock())
        self.node._replaying = True  # it only ever folds: nothing is journaled, emitted or sent
        self.seq = 0
        self.first_digest = ""
        self.last_digest = ""
        self.ts = 0  # newest event time folded: the time of rows whose change carries none
        self._accounts: dict[str, dict[str, Any]] = {}
        self._orders: dict[str, int] = {}  # order id -> seq of its newest event
        self._trades: list[dict[str, Any]] = []
        # A row's time and journal_seq are those of the record that last changed it, never where a piece happened
        # to end: a rebuild in one piece must write the rows the running projection wrote piece by piece.
        self._positions: dict[tuple[str, str], tuple[int, int]] = {}  # -> (time, seq) of the newest fill
        self._balances: tuple[int, int] | None = None  # (time, seq) of the newest record that moves balances
        self._later: list[Later] = []
        self._finished: list[str] = []

    def apply(self, rec: JournalRecord, *, project: bool = True) -> None:
        record = rec.record
        kind = record.get("type")
        ts = record.get("ts")
        if isinstance(ts, int) and ts > self.ts:
            self.ts = ts
        handler = _handler(kind)
        pnl_before = self._realised(record) if project and kind == "OrderFilled" else None
        try:
            _node_recovery.fold(self.node, [record])
        except Exception as exc:  # a record the engine's own replay would refuse too: say which, go on
            log.error("journal record %d (%s) could not be folded into the state projection: %s", rec.seq, kind, exc)
            handler = None
        if rec.seq == 1:
            self.first_digest = digest(record)
        self.seq = rec.seq
        if kind is not None and str(kind).startswith("Order"):
            order = self.node.orders.get(str(record.get("order_id")))
            if order is not None and order.is_terminal:
                self._finished.append(order.id)
        if not project:
            self._forget()
            return
        if handler is None:
            log.debug("journal record %d of type %r has no projection", rec.seq, kind)
            return
        handler(self, rec)
        if pnl_before is not None:
            self._trades[-1]["realized_pnl"] = _d(self._realised(record) - pnl_before)

    def later(self, write: Later) -> None:
        """Queue a write for the transaction of this piece of the journal (for record families of their own)."""
        self._later.append(write)

    def take(self) -> tuple[list[tuple[str, dict[str, Any]]], list[Later]]:
        """The rows owed since the last call (accounts, orders, trades, positions, balances) and queued writes."""
        rows: list[tuple[str, dict[str, Any]]] = [("account", a) for a in self._accounts.values()]
        for order_id, seq in self._orders.items():
            order = self.node.orders.get(order_id)
            if order is not None:
                rows.append(("order", _order_row(order, seq)))
        rows += [("trade", t) for t in self._trades]
        ledger = self.node.ledger
        for (account, symbol), (ts, seq) in self._positions.items():
            pos = ledger.position(account, symbol)
            if pos is not None:
                rows.append(("position", _position_row(account, symbol, pos, ts, seq)))
        if self._balances is not None:
            ts, seq = self._balances
            for account in ledger.accounts():
                for bal in ledger.balances(account).values():
                    rows.append(("balance", _balance_row(account, bal, ts, seq)))
        later = self._later
        self._accounts, self._orders, self._trades, self._positions = {}, {}, [], {}
        self._balances, self._later = None, []
        self._forget()
        return rows, later

    def _forget(self) -> None:
        # A finished order never gets another event: once its row is owed, the fold needs it no more.
        node = self.node
        for order_id in self._finished:
            if order_id not in self._orders:
                node.orders.pop(order_id, None)
        self._finished = [o for o in self._finished if o in self._orders]
        node.fills.clear()
        node._client_ids.clear()  # only submit() reads them; this node never submits

    def _realised(self, record: Mapping[str, Any]) -> Decimal:
        with contextlib.suppress(Exception):
            pos = self.node.ledger.position(str(record["account"]), str(record["symbol"]))
            return Decimal(0) if pos is None else pos.realised_pnl
        return Decimal(0)


def _order_row(order: Order, seq: int) -> dict[str, Any]:
    fee_asset, fee = next(iter(order.fees.items()), (None, Decimal(0)))
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "account_id": order.account,
        "strategy": order.strategy,
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "quantity": order.quantity,
        "price": order.price,
        "stop_price": order.stop_price,
        "time_in_force": order.time_in_force.value,
        "status": order.status.value,
        "filled_quantity": order.filled_quantity,
        "average_price": _d(order.average_price),
        "fee": fee,
        "fee_currency": fee_asset,
        "post_only": order.post_only,
        "reduce_only": order.reduce_only,
        "parent_order_id": order.parent_order_id,
        "params": order_extras_of(order),
        "reason": order.status_message or None,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "expires_at": order.expires_at,
        "journal_seq": seq,
    }


def _position_row(account: str, symbol: str, pos: Any, ts: int, seq: int) -> dict[str, Any]:
    return {
        "account_id": account,
        "symbol": symbol,
        "quantity": pos.quantity,
        "average_price": _d(pos.average_price) or Decimal(0),
        "market_value": _d(pos.market_value),
        "unrealized_pnl": _d(pos.unrealised_pnl),
        "realized_pnl": _d(pos.realised_pnl),
        "journal_seq": seq,
    } | _at("updated_at", ts)


def _at(field: str, ts: int) -> dict[str, int]:
    """A row's time from the journal; before any timestamped record there is none and the store takes its now."""
    return {field: ts} if ts else {}


def _balance_row(account: str, bal: Any, ts: int, seq: int) -> dict[str, Any]:
    return {
        "account_id": account,
        "asset": bal.asset,
        "total_balance": bal.total,
        "locked_balance": bal.locked,
        "available_balance": bal.available,
        "journal_seq": seq,
    } | _at("updated_at", ts)


def _project_account(p: Projection, rec: JournalRecord) -> None:
    r = rec.record
    account = str(r["account"])
    p._accounts[account] = {
        "id": account,
        "account_type": str(r["mode"]).lower(),
        "exchange": "SIM",
        "base_currency": str(r["currency"]),
    } | _at("created_at", p.ts)
    p._balances = (p.ts, rec.seq)


def _project_funds(p: Projection, rec: JournalRecord) -> None:
    p._balances = (p.ts, rec.seq)


def _project_order(p: Projection, rec: JournalRecord) -> None:
    order_id = str(rec.record["order_id"])
    p._orders[order_id] = rec.seq
    p._balances = (p.ts, rec.seq)  # a placement locks, a finished order releases


def _project_fill(p: Projection, rec: JournalRecord) -> None:
    _project_order(p, rec)
    order = p.node.orders[str(rec.record["order_id"])]
    event = order.events[-1]
    assert isinstance(event, OrderFilled)
    p._trades.append(
        {
            "id": event.trade_id,
            "order_id": event.order_id,
            "account_id": event.account,
            "strategy": order.strategy,
            "symbol": event.symbol,
            "side": event.side.value,
            "quantity": event.last_qty,
            "price": event.last_px,
            "fee": event.fee,
            "fee_currency": event.fee_asset,
            "trade_type": event.liquidity_side.value,
            "timestamp": event.ts,
            "realized_pnl": Decimal(0),
            "journal_seq": rec.seq,
        }
    )
    # A fill moves its symbol's mark, so every position held in the symbol is valued anew (market value, unrealised
    # PnL) as of this record, whichever account traded; a flat one's value does not depend on the mark.
    ledger, stamp = p.node.ledger, (event.ts, rec.seq)
    for account in ledger.accounts():
        if account == event.account or ledger.quantity(account, event.symbol):
            p._positions[(account, event.symbol)] = stamp


def _project_risk(p: Projection, rec: JournalRecord) -> None:
    """Limits, halts, alerts, schedules, strategies (``riskstate_projection``): written in the same transaction."""
    if p.risk_from is None or rec.seq <= p.risk_from:
        return
    record = rec.record
    p.later(lambda w: project_risk(w, record))


# Record type -> its projection. Order events other than fills share one (by prefix, see _handler), risk records
# another (see _handler); node records that change no row (emulator links, algorithm progress, margin calls) have
# none.
PROJECTIONS: dict[str, RecordProjector] = {
    "AccountOpened": _project_account,
    "Deposited": _project_funds,
    "Withdrawn": _project_funds,
    "Reserved": _project_funds,
    "Released": _project_funds,
    "OrderFilled": _project_fill,
}


def _handler(kind: object) -> RecordProjector | None:
    if not isinstance(kind, str):
        return None
    found = PROJECTIONS.get(kind)
    if found is None and kind.startswith("Order"):
        return _project_order
    if found is None and is_risk_record({"type": kind}):
        return _project_risk
    return found


# ---------------------------------------------------------------------------------------------- the store side


class StateProjection:
    """Brings the store's projection up to a journal position, a piece (one transaction) at a time. The
    daemon runs it in a process of its own (:mod:`~alphintra.daemon.trading.projector_process`); `engine
    rebuild-state` in the foreground."""

    def __init__(
        self, store: StateStore, journal_dir: Path, instruments: InstrumentRegistry, *, risk_from: int | None = None
    ) -> None:
        self.store = store
        self.journal_dir = journal_dir
        self.instruments = instruments
        self.risk_from = risk_from
        self.applied_seq = 0
        self.rebuilding = False
        self.chunk = _CHUNK
        self.reset()

    def reset(self) -> None:
        """Forget the fold (after a failed write its rows are gone: :meth:`open` brings it back from the store)."""
        self.fold = Projection(self.instruments, risk_from=self.risk_from)
        self.tail = JournalTail(self.journal_dir)
        self.applied_seq = 0
        self.rebuilding = False

    def open(self, upto: int, *, rebuild: bool = False) -> None:
        """Check the stored position against the journal (up to ``upto``, its durable end) and bring the fold up to
        it without writing; or prepare a rebuild from the first record when asked or when it does not match."""
        meta = self.store.projection_meta()
        why = "asked for" if rebuild else None
        if why is None and meta is None:
            why = "no stored journal position" if any(self.store.counts().get(t, 0) for t in _tables()) else None
            if why is None:  # an empty store: projecting from the start is all there is to do
                self.rebuilding = True
                return
        if why is None and meta is not None:
            why = self._catch_up_silently(meta.applied_seq, meta.journal_id, meta.applied_digest, upto)
        if why is not None:
            (log.info if rebuild else log.warning)("rebuilding the state projection from the journal: %s", why)
            self.reset()
            self.rebuilding = True

    def _catch_up_silently(self, seq: int, journal_id: str, applied_digest: str, upto: int) -> str | None:
        if seq > upto:
            return f"it stands at journal record {seq}, beyond the journal's end ({upto})"
        while self.fold.seq < seq:
            records = self.tail.read(seq)
            if not records:
                return f"the journal ends before record {seq}"
            for rec in records:
                self.fold.apply(rec, project=False)
                if rec.seq == seq:
                    self.fold.last_digest = digest(rec.record)
        if seq and (self.fold.first_digest != journal_id or self.fold.last_digest != applied_digest):
            return "it was made from another journal (or this one was rewritten)"
        self.applied_seq = seq
        return None

    def advance(self, upto: int) -> int:
        """Project the next piece of the journal (at most a chunk of records, up to ``upto``) in one transaction;
        the number of records applied."""
        records = self.tail.read(upto, self.chunk)
        if not records and not self.rebuilding:
            return 0
        for rec in records:
            self.fold.apply(rec)
        if records:
            self.fold.last_digest = digest(records[-1].record)
        rows, later = self.fold.take()
        self._write(rows, later)
        self.applied_seq = self.fold.seq
        return len(records)

    def _write(self, rows: list[tuple[str, dict[str, Any]]], later: list[Later]) -> None:
        fold = self.fold
        try:
            with self.store.batch() as w:
                self._apply(w, rows, later, one_by_one=False)
                w.set_projection_meta(fold.first_digest, fold.seq, fold.last_digest)
        except RetryableError:
            raise
        except AlphintraError as exc:
            log.warning(
                "state projection: a piece of the journal up to record %d was refused whole (%s: %s)",
                fold.seq,
                exc,
                getattr(exc, "detail", ""),
            )
            # One row the store refuses must not hold back the others (nor the position): they go one by one in one
            # transaction, and each refusal is logged with what it was.
            try:
                with self.store.batch() as w:
                    self._apply(w, rows, later, one_by_one=True)
                    w.set_projection_meta(fold.first_digest, fold.seq, fold.last_digest)
            except RetryableError:
                raise
            except AlphintraError as again:
                if not later:
                    raise
                # A queued write (a record family's own, e.g. the risk tables) failed only when the transaction
                # was flushed: the rows and the position go without the queued writes rather than stop here.
                log.error(
                    "state projection: the queued writes up to journal record %d were refused (%s: %s); "
                    "the rows are written without them",
                    fold.seq,
                    again,
                    getattr(again, "detail", ""),
                )
                with self.store.batch() as w:
                    self._apply(w, rows, [], one_by_one=True)
                    w.set_projection_meta(fold.first_digest, fold.seq, fold.last_digest)
        self.rebuilding = False

    def _apply(
        self, w: StateWriter, rows: list[tuple[str, dict[str, Any]]], later: list[Later], *, one_by_one: bool
    ) -> None:
        if self.rebuilding:
            w.clear(PROJECTED_TABLES)
        if not one_by_one:
            w.prefetch(rows)
        previous = None
        for kind, row in rows:
            if kind != previous and previous is not None:
                # Parents reach the database before their children: the session's unit of work does not order
                # inserts of tables linked only by foreign keys, and SQLite checks them at once.
                w.flush()
            previous = kind
            if kind == "trade":
                _unique_trade_id(w, row)
            try:
                w.apply(kind, row)
            except AlphintraError as exc:
                if not one_by_one:
                    raise
                key = row.get("id") or "/".join(str(row.get(k)) for k in ("account_id", "symbol", "asset") if k in row)
                log.error("state projection refused a %s row (%s): %s", kind, key, exc)
        for write in later:
            try:
                write(w)
            except AlphintraError as exc:
                if not one_by_one:
                    raise
                log.error("state projection refused a write: %s", exc)


def _unique_trade_id(w: StateWriter, row: dict[str, Any]) -> None:
    """A journal written before trade ids were unique holds one id for several fills: the later fills are stored
    as ``<id>~<journal seq>`` (stable across rebuilds) rather than refused."""
    existing = w.find_trade(row["id"])
    if existing is not None and existing.journal_seq is not None and existing.journal_seq != row["journal_seq"]:
        renamed = f"{row['id']}~{row['journal_seq']}"
        log.warning(
            "trade id %s was issued twice (journal record %s): stored as %s", row["id"], row["journal_seq"], renamed
        )
        row["id"] = renamed


def _tables() -> list[str]:
    return [t.__tablename__ for t in PROJECTED_TABLES]


# ---------------------------------------------------------------------------------------------- on demand


def _journal_lock(directory: Path) -> contextlib.AbstractContextManager[None]:
    """The journal's writer lock: held, no daemon can start (or is running) while the state is rebuilt."""
    return locked(
        directory / "LOCK",
        busy=lambda: ConflictError(
            "the engine daemon is running (it holds the journal): stop it first with `alphintra engine stop`; "
            "a running daemon keeps the state caught up by itself"
        ),
    )


def rebuild_state(settings: Settings) -> dict[str, Any]:
    """Rebuild the SQL state from the journal, from the first record (the daemon must not be running)."""
    from alphintra.daemon.trading.instruments import paper_instruments
    from alphintra.storage.state import StateStore

    started = time.monotonic()
    journal = settings.paths.journal
    with _journal_lock(journal):
        instruments, _ = paper_instruments(settings)
        with StateStore(settings.effective_database_url) as store:
            store.create_all()
            core = StateProjection(store, journal, instruments)
            core.open(0, rebuild=True)
            while core.advance(1 << 62) or core.rebuilding:
                pass
            counts = store.counts()
    return {
        "database": store.url,
        "applied_seq": core.applied_seq,
        "orders": counts.get("orders", 0),
        "trades": counts.get("trades", 0),
        "positions": counts.get("positions", 0),
        "balances": counts.get("account_balances", 0),
        "seconds": round(time.monotonic() - started, 3),
    }


__all__ = [
    "PROJECTED_TABLES",
    "PROJECTIONS",
    "JournalTail",
    "Projection",
    "StateProjection",
    "rebuild_state",
]
