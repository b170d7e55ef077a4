"""The users file and the audit log: durable writes, changes seen at once, torn lines, redaction."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from alphintra.daemon.audit import AuditLog
from alphintra.daemon.auth import Authenticator, issue_token
from alphintra.daemon.protocol import AuthenticationError, Role
from alphintra.daemon.users import UserStore
from alphintra.errors import ConflictError, NotFoundError, OperationFailed, ValidationError

SECRET = "k" * 40
NOW = 1_800_000_000


def test_users_file_is_private_and_rewritten_whole(tmp_path: Path) -> None:
    store = UserStore(tmp_path)
    before, after = store.add("tom", Role.TRADER, ("main", "main"), now="t0")
    assert before is None and after.accounts == ("main",)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    with pytest.raises(ConflictError, match="user 'tom' already exists"):
        store.add("tom", Role.VIEWER, (), now="t1")
    with pytest.raises(ValidationError, match="must be 1-64 letters"):
        store.add("bad name", Role.VIEWER, (), now="t1")
    with pytest.raises(NotFoundError, match="no user 'ann'"):
        store.set_role("ann", Role.ADMIN, now="t1")
    before, after = store.set_role("tom", Role.VIEWER, now="t2")
    assert before is not None
    assert (before.role, after.role, after.created_at, after.updated_at) == (Role.TRADER, Role.VIEWER, "t0", "t2")
    assert json.loads(store.path.read_text())["users"][0]["role"] == "viewer"


def test_a_change_by_another_process_applies_to_the_next_request(tmp_path: Path) -> None:
    daemon_side, cli_side = UserStore(tmp_path), UserStore(tmp_path)
    auth = Authenticator(SECRET, clock=lambda: NOW, users=daemon_side)
    # No user registered yet: the token's own role (the single-owner setup).
    legacy = issue_token(SECRET, "anyone", "admin", 60, now=NOW)
    assert auth.authenticate("tcp", f"Bearer {legacy}").role is Role.ADMIN

    cli_side.add("tom", Role.TRADER, ("main",), now="t0")
    claimed_admin = issue_token(SECRET, "tom", "admin", 60, now=NOW)
    assert auth.authenticate("tcp", f"Bearer {claimed_admin}").role is Role.TRADER  # the file's role wins
    with pytest.raises(AuthenticationError, match="no user 'anyone'"):
        auth.authenticate("tcp", f"Bearer {legacy}")

    cli_side.set_enabled("tom", False, now="t1")
    with pytest.raises(AuthenticationError, match="user 'tom' is disabled"):
        auth.authenticate("tcp", f"Bearer {claimed_admin}")
    cli_side.set_enabled("tom", True, now="t2")
    assert auth.authenticate("tcp", f"Bearer {claimed_admin}").user == "tom"
    assert auth.authenticate("unix", None).role is Role.ADMIN  # the socket's owner stays trusted


def test_a_damaged_users_file_fails_closed(tmp_path: Path) -> None:
    store = UserStore(tmp_path)
    store.add("tom", Role.TRADER, (), now="t0")
    store.path.write_text("{not json")
    auth = Authenticator(SECRET, clock=lambda: NOW, users=store)
    with pytest.raises(OperationFailed, match="is damaged"):
        auth.authenticate("tcp", f"Bearer {issue_token(SECRET, 'tom', 'admin', 60, now=NOW)}")


def test_grants_and_revokes(tmp_path: Path) -> None:
    store = UserStore(tmp_path)
    store.add("eve", Role.TRADER, ("a",), now="t0")
    _, eve = store.grant("eve", "b", now="t1")
    assert eve.accounts == ("a", "b") and eve.may_use("b") and not eve.may_use("c")
    _, eve = store.revoke("eve", "a", now="t2")
    assert eve.accounts == ("b",)
    with pytest.raises(NotFoundError, match="has no account 'a'"):
        store.revoke("eve", "a", now="t3")
    _, admin = store.add("ann", Role.ADMIN, (), now="t4")
    assert admin.may_use("anything")


def test_audit_entries_are_durable_lines_read_back_filtered(tmp_path: Path) -> None:
    times = iter([1_765_000_000.0, 1_765_000_060.5, 1_765_000_120.0])
    log = AuditLog(tmp_path, clock=lambda: next(times))
    log.append(log.entry(user="tom", action="order.create", after={"id": "1"}))
    log.append(log.entry(user="ann", action="risk.limits", request={"api_key": "k", "nested": [{"secret": "s"}]}))
    log.append(log.entry(user="tom", action="order.cancel"))
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert [e["ts"] for e in log.read()] == [
        "2025-12-06T05:46:40.000Z",
        "2025-12-06T05:47:40.500Z",
        "2025-12-06T05:48:40.000Z",
    ]
    assert [e["action"] for e in log.read(user="tom")] == ["order.create", "order.cancel"]
    assert [e["action"] for e in log.read(since="2025-12-06T05:47:40.5Z")] == ["risk.limits", "order.cancel"]
    assert log.read(user="ann")[0]["request"] == {"api_key": "***", "nested": [{"secret": "***"}]}
    assert '"api_key":"***"' in log.path.read_text()
    with pytest.raises(ValidationError, match="since: must be an ISO-8601 time"):
        log.read(since="yesterday")


def test_a_torn_last_line_is_skipped_then_cut_before_the_next_append(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, clock=lambda: 0.0)
    log.append(log.entry(user="tom", action="order.create"))
    log.close()
    with log.path.open("ab") as fh:
        fh.write(b'{"ts":"1970-01-01T00:00:00.000Z","user":"to')  # a crash mid-write: never acknowledged
    assert [e["action"] for e in AuditLog(tmp_path).read()] == ["order.create"]
    again = AuditLog(tmp_path, clock=lambda: 0.0)
    again.append(again.entry(user="ann", action="risk.halt"))
    assert [e["action"] for e in again.read()] == ["order.create", "risk.halt"]
    assert all(json.loads(line) for line in log.path.read_text().splitlines())


def test_concurrent_writers_share_fsyncs_and_lose_nothing(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, clock=lambda: 0.0)
    other = AuditLog(tmp_path, clock=lambda: 0.0)  # a second writer on the same file (another process's view)

    def write(writer: AuditLog, who: str) -> None:
        for i in range(50):
            writer.append(writer.entry(user=who, action="order.create", after={"n": i}))

    threads = [threading.Thread(target=write, args=(log if i % 2 else other, f"u{i}")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = log.read()
    assert len(entries) == 300
    for i in range(6):
        assert [e["after"]["n"] for e in entries if e["user"] == f"u{i}"] == list(range(50))
