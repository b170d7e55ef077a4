"""The SQL projection of a real journal (alphintra.daemon.trading.projector), in process: it equals the node that
wrote the journal, one small transaction at a time and across segments; a foreign or shorter journal is rebuilt;
unknown record types are skipped and a plugged-in record family writes in the same transaction; a trade id an
old journal reused is kept under a stable name."""

from __future__ import annotations

import logging
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from node_kit import ListJournal, bar, make_node
from sqlalchemy import inspect, text
from test_node_properties import ACCOUNTS, DEPOSITS, Runner, bar_cmds
from test_node_replay import trade_a_session

from alphintra.daemon.trading import projector
from alphintra.daemon.trading.projector import Projection, StateProjection
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.node import TradingNode
from alphintra.errors import ValidationError
from alphintra.storage.journal import FsyncPolicy, Journal, JournalRecord
from alphintra.storage.state import StateStore, StateWriter

Q18 = Decimal(1).scaleb(-18)


def session(directory: Path, **journal: Any) -> tuple[TradingNode, int]:
    with Journal(directory, fsync=FsyncPolicy.GROUP, **journal) as j:
        node = make_node(journal=j)
        trade_a_session(node)
        return node, j.last_seq


def project(
    store: StateStore, directory: Path, node: TradingNode, upto: int, chunk: int = 5000, *, rebuild: bool = False
) -> StateProjection:
    core = StateProjection(store, directory, node.instruments)
    core.chunk = chunk
    core.open(upto, rebuild=rebuild)
    while core.advance(upto) or core.rebuilding:
        pass
    return core


def assert_equal(store: StateStore, node: TradingNode) -> None:
    orders = {o.id: o for o in store.list_orders(limit=1000)}
    assert set(orders) == set(node.orders)
    for oid, order in node.orders.items():
        row = orders[oid]
        avg = None if order.average_price is None else order.average_price.quantize(Q18)
        fee = sum(order.fees.values(), Decimal(0))
        assert (row.status, row.filled_quantity, row.average_price, row.fee, row.account_id) == (
            order.status.value,
            order.filled_quantity,
            avg,
            fee,
            order.account,
        ), oid
    trades = {t.id: (t.order_id, t.quantity, t.price, t.fee) for t in store.list_trades(limit=1000)}
    assert trades == {f.trade_id: (f.order_id, f.last_qty, f.last_px, f.fee) for f in node.fills}
    for account in node.ledger.accounts():
        balances = {b.asset: (b.total_balance, b.locked_balance) for b in store.list_balances(account=account)}
        assert balances == {a: (b.total, b.locked) for a, b in node.ledger.balances(account).items()}
        positions = {p.symbol: p.quantity for p in store.list_positions(account=account, include_flat=True)}
        assert positions == {s: p.quantity for s, p in node.ledger.positions(account).items()}


def test_the_projection_of_a_journal_equals_the_node_that_wrote_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal"
    node, last = session(journal, segment_bytes=2_000)  # many segments
    assert len(list(journal.glob("segment-*.jsonl"))) > 3
    with StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.create_all()
        with caplog.at_level(logging.WARNING, logger="alphintra.daemon.projector"):
            core = project(store, journal, node, last, chunk=7)  # seven records per transaction
            project(store, journal, node, last, rebuild=True)  # all at once: parents are written before children
        assert not caplog.records, caplog.text  # no piece had to fall back to one row at a time
        assert core.applied_seq == last
        assert_equal(store, node)
        meta = store.projection_meta()
        assert meta is not None and meta.applied_seq == last
        assert not any(o.is_terminal for o in core.fold.node.orders.values())  # finished orders left the fold
        # The next start: it checks the stored position, folds up to it without writing, and has nothing to do.
        again = StateProjection(store, journal, node.instruments)
        again.open(last)
        assert (again.rebuilding, again.applied_seq, again.advance(last)) == (False, last, 0)


def test_a_projection_of_another_journal_or_beyond_this_ones_end_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node, last = session(tmp_path / "a")
    with Journal(tmp_path / "b", fsync=FsyncPolicy.GROUP) as j:  # a different home: one account, one deposit
        other = make_node(journal=j)
        other.open_account("main", cash={"USD": "7"})
        short = j.last_seq
    with StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.create_all()
        project(store, tmp_path / "b", other, short)
        assert [(b.asset, b.total_balance) for b in store.list_balances()] == [("USD", Decimal(7))]
        with caplog.at_level(logging.WARNING, logger="alphintra.daemon.projector"):
            project(store, tmp_path / "a", node, last)  # the same first record, another record 2
        assert "it was made from another journal" in caplog.text
        assert_equal(store, node)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="alphintra.daemon.projector"):
            project(store, tmp_path / "a", node, last - 1)  # a journal shorter than the stored position
        assert "beyond the journal's end" in caplog.text


def test_unknown_records_are_skipped_and_a_record_family_plugs_in_with_its_own_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal"
    with Journal(journal) as j:
        node = make_node(journal=j)
        node.open_account("main", cash={"USD": "100"})
        j.append_many(
            [
                {"type": "LimitSet", "name": "max_order_notional", "value": "500"},
                {"type": "Mystery", "x": 1},
                {"type": "LimitSet", "name": "Bad Name", "value": "1"},
            ]
        )
        last = j.last_seq

    def limit_set(p: Projection, rec: JournalRecord) -> None:
        r = rec.record

        def write(w: StateWriter) -> None:
            w.set_risk_limit(r["name"], r["value"], changed_by="journal", at=1)

        p.later(write)

    monkeypatch.setitem(projector.PROJECTIONS, "LimitSet", limit_set)
    with StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store, caplog.at_level(logging.DEBUG, "alphintra"):
        store.create_all()
        project(store, journal, node, last)
        assert [(x.name, x.value) for x in store.list_risk_limits()] == [("max_order_notional", Decimal(500))]
        assert store.projection_meta().applied_seq == last  # type: ignore[union-attr]
        assert [(b.asset, b.total_balance) for b in store.list_balances()] == [("USD", Decimal(100))]
    assert f"journal record {last - 1} of type 'Mystery' has no projection" in caplog.text
    assert "state projection refused a write: " in caplog.text and "risk_limits.name" in caplog.text
    with pytest.raises(ValidationError):  # what the refused write was
        StateStore(f"sqlite:///{tmp_path / 'x.db'}").set_risk_limit("Bad Name", 1, changed_by="journal")


def test_a_trade_id_an_old_journal_reused_is_kept_under_a_stable_name(tmp_path: Path) -> None:
    node, last = session(tmp_path / "a")
    records = [r.record for r in Journal(tmp_path / "a").read()]
    fills = [r for r in records if r["type"] == "OrderFilled"]
    assert len(fills) >= 2
    fills[1]["trade_id"] = fills[0]["trade_id"]  # what a restart before the fix did
    with Journal(tmp_path / "b") as j:
        seqs = j.append_many(records)
    second = seqs[records.index(fills[1])]
    with StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.create_all()
        project(store, tmp_path / "b", node, last)
        ids = {t.id for t in store.list_trades(limit=1000)}
        assert {fills[0]["trade_id"], f"{fills[0]['trade_id']}~{second}"} <= ids
        assert len(ids) == len(fills)


@pytest.mark.postgres
def test_the_projection_works_the_same_in_postgresql(tmp_path: Path, pg_url: str) -> None:
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"t_proj_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in pg_url else "?"
        url = f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
        node, last = session(tmp_path / "journal")
        with StateStore(url) as store:
            store.create_all()
            project(store, tmp_path / "journal", node, last, chunk=11)
            assert_equal(store, node)
            assert store.projection_meta().applied_seq == last  # type: ignore[union-attr]
            core = StateProjection(store, tmp_path / "journal", node.instruments)
            core.open(last, rebuild=True)  # on demand: cleared and written again in the same transactions
            while core.advance(last) or core.rebuilding:
                pass
            assert_equal(store, node)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=bar_cmds, chunk=st.integers(1, 40))
# b's fill moves the mark of the symbol a holds: a's market value changes with it, whatever piece b's fill is in
@example(
    cmds=[
        ("market", "a", OrderSide.BUY, 1),
        ("trail", "b", OrderSide.BUY, 1, 1),
        ("bar", Decimal("100"), Decimal("100"), 0, 2, 1),
    ],
    chunk=1,
)
def test_the_projection_equals_the_node_for_any_order_sequence_and_any_piece_size(
    cmds: list[tuple[Any, ...]], chunk: int
) -> None:
    records = ListJournal()
    node = make_node("bar", journal=records)
    for account in ACCOUNTS:
        node.open_account(account, cash={k: str(v) for k, v in DEPOSITS.items()})
    node.process_bar(bar(1, "100", "100.5", "99.5", "100"))
    runner = Runner(node, book=False)
    for cmd in cmds:
        runner.run(cmd)
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        with Journal(root / "journal") as j:
            last = j.append_many(records.records)[-1]

        def frozen() -> int:  # rows changed before the first timestamped record take the store's time
            return 1_700_000_000_000_000_000

        state, whole = f"sqlite:///{root / 'state.db'}", f"sqlite:///{root / 'one.db'}"
        with StateStore(state, clock=frozen) as store, StateStore(whole, clock=frozen) as one:
            store.create_all()
            one.create_all()
            project(store, root / "journal", node, last, chunk=chunk)
            assert_equal(store, node)
            project(one, root / "journal", node, last, chunk=10**6)  # a rebuild writes it all in one piece
            assert table_rows(store) == table_rows(one)  # where pieces end changes no row, journal_seq included


def table_rows(store: StateStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the projected tables but surrogate keys and the store's own clock."""
    skip = {"id", "created_at"}
    out = {}
    with store.engine.connect() as db:
        for table in ("orders", "trades", "positions", "account_balances"):
            cols = [c["name"] for c in inspect(db).get_columns(table) if table == "orders" or c["name"] not in skip]
            rows = db.execute(text(f"SELECT {', '.join(cols)} FROM {table}")).fetchall()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_a_queued_write_refused_only_at_commit_does_not_stop_the_projection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two writes of one primary key fail only when the transaction is flushed, past the one-by-one fallback: the
    rows and the journal position are written without the queued writes instead of retrying forever."""
    from alphintra.storage.state.models import RiskAlert
    from alphintra.storage.state.types import to_utc

    journal = tmp_path / "journal"
    with Journal(journal) as j:
        node = make_node(journal=j)
        node.open_account("main", cash={"USD": "100"})
        j.append_many([{"type": "Twin", "id": 7}, {"type": "Twin", "id": 7}])
        last = j.last_seq

    def twin(p: Projection, rec: JournalRecord) -> None:
        def write(w: StateWriter) -> None:
            row = RiskAlert(id=rec.record["id"], time=to_utc(1, "time"), severity="INFO", rule="r", message="m")
            w.session.add(row)

        p.later(write)

    monkeypatch.setitem(projector.PROJECTIONS, "Twin", twin)
    with StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store, caplog.at_level(logging.ERROR, "alphintra"):
        store.create_all()
        project(store, journal, node, last)
        assert store.projection_meta().applied_seq == last  # type: ignore[union-attr]
        assert [(b.asset, b.total_balance) for b in store.list_balances()] == [("USD", Decimal(100))]
        assert store.list_alerts() == []
    assert f"the queued writes up to journal record {last} were refused" in caplog.text
