"""Revisions of the state database's schema: Alembic migrations shipped in the package, run from code.

Where a database stands:

- *empty* (no state table): :func:`prepare` creates it at the head revision (a fresh home);
- *legacy*: tables made by ``create_all`` before migrations existed, no ``alembic_version``; when their tables
  and columns are exactly those of the first revision it counts as that revision (``db upgrade`` stamps it and
  goes on), otherwise it is refused with the differences named;
- at a known revision: the head is ready, an older one must be upgraded (``alphintra db upgrade``);
- at a revision this code does not know: a newer alphintra wrote it; this code refuses to touch it.

Only ``alphintra db upgrade`` (:func:`upgrade`) changes an existing database; everything else checks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from alphintra.errors import ConflictError, OperationFailed

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
UPGRADE_COMMAND = "alphintra db upgrade"
# One PostgreSQL advisory lock serialises processes that create or upgrade the same database at once.
_PG_LOCK_KEY = zlib.crc32(b"alphintra.state.schema")


class SchemaVersionError(ConflictError):
    """The database's schema is not the one this code needs; the message names the command that fixes it."""

    exit_code = 2
    code = "schema_version"


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands. ``current`` is None for an empty database; a legacy one reports the first
    revision it matches (``legacy=True``: not stamped yet)."""

    current: str | None
    head: str
    legacy: bool = False
    known: bool = True
    problems: tuple[str, ...] = field(default=())

    @property
    def state(self) -> str:
        if self.problems:
            return "unrecognised"
        if self.current is None:
            return "empty"
        if not self.known:
            return "newer"
        return "current" if self.current == self.head else "behind"

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "head": self.head,
            "state": self.state,
            "legacy": self.legacy,
            "problems": list(self.problems),
        }


@cache
def scripts() -> Any:
    """The migration scripts (loaded once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    revision = scripts().get_current_head()
    assert revision is not None  # the package ships at least the first revision
    return str(revision)


def initial() -> str:
    base = scripts().get_base()
    assert base is not None
    return str(base)


def history() -> list[dict[str, Any]]:
    """Every revision, oldest first."""
    out = []
    for script in reversed(list(scripts().walk_revisions())):
        out.append(
            {
                "revision": script.revision,
                "down_revision": script.down_revision,
                "description": (script.doc or "").strip().splitlines()[0] if script.doc else "",
            }
        )
    return out


@cache
def initial_tables() -> dict[str, frozenset[str]]:
    """Tables and column names of the first revision, read back from a scratch in-memory database built by it."""
    from sqlalchemy import create_engine

    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as conn:
            _run(conn, initial(), "upgrade")
            found = inspect(conn)
            return {
                name: frozenset(c["name"] for c in found.get_columns(name))
                for name in found.get_table_names()
                if name != VERSION_TABLE
            }
    finally:
        scratch.dispose()


def status(engine: Engine) -> SchemaStatus:
    with _reachable(engine), engine.connect() as conn:
        return _status(conn)


def _status(conn: Connection) -> SchemaStatus:
    tip = head()
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        rows = [str(r) for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()]
        if len(rows) == 1:
            current = rows[0]
            return SchemaStatus(current, tip, known=_known(current))
        if rows:  # this project's history is linear: several rows mean someone else's migrations
            return SchemaStatus(None, tip, problems=(f"{VERSION_TABLE} holds several revisions: {', '.join(rows)}",))
    if not names - {VERSION_TABLE}:
        return SchemaStatus(None, tip)
    expected = initial_tables()
    present = names & set(expected)
    if not present:
        return SchemaStatus(None, tip)
    problems = [f"table {t} is missing" for t in sorted(set(expected) - present)]
    found = inspect(conn)
    for table in sorted(present):
        columns = {c["name"] for c in found.get_columns(table)}
        for missing in sorted(expected[table] - columns):
            problems.append(f"{table}.{missing} is missing")
        for extra in sorted(columns - expected[table]):
            problems.append(f"{table}.{extra} is not a column of revision {initial()}")
    return SchemaStatus(initial(), tip, legacy=True, problems=tuple(problems))


def _known(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return scripts().get_revision(revision) is not None
    except CommandError:
        return False


def describe(url: str, found: SchemaStatus) -> str:
    """Why this code cannot use the database, and what to run."""
    if found.problems:
        return (
            f"the state database {url} has state tables this alphintra does not recognise "
            f"({'; '.join(found.problems)}): point database_url at another database, or move these tables away"
        )
    if not found.known:
        return (
            f"the state database {url} is at schema revision {found.current}, newer than this alphintra knows "
            f"(head {found.head}): a newer alphintra upgraded it; run that version (or upgrade alphintra)"
        )
    return (
        f"the state database {url} is at schema revision {found.current}, this alphintra needs {found.head}: "
        f"run `{UPGRADE_COMMAND}` (stop the engine first)"
    )


def prepare(engine: Engine) -> SchemaStatus:
    """Make an empty database at head; check any other one is at head (raises :class:`SchemaVersionError`)."""
    url = engine.url.render_as_string(hide_password=True)
    with _locked(engine) as conn:
        found = _status(conn)
        if found.state == "empty":
            _run(conn, head(), "upgrade")
            return SchemaStatus(head(), head())
    if found.state != "current":
        raise SchemaVersionError(describe(url, found))
    return found


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    before: SchemaStatus
    after: str
    applied: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.before.current,
            "to": self.after,
            "legacy": self.before.legacy,
            "applied": self.applied,
        }


def upgrade(engine: Engine, target: str = "head") -> UpgradeResult:
    """Bring the database to ``target`` (an empty one is created; a legacy one is stamped first)."""
    url = engine.url.render_as_string(hide_password=True)
    with _locked(engine) as conn:
        found = _status(conn)
        if found.problems or (found.current is not None and not found.known):
            raise SchemaVersionError(describe(url, found))
        wanted = head() if target == "head" else target
        if not _known(wanted):
            raise SchemaVersionError(f"revision {target!r} is not one of this alphintra's: see `alphintra db history`")
        order = [r["revision"] for r in history()]
        if found.current is not None and order.index(wanted) < order.index(found.current):
            raise SchemaVersionError(
                f"--revision: {wanted} is older than the database's {found.current}; downgrades are not supported"
            )
        if found.legacy:
            _run(conn, initial(), "stamp")
        applied = _pending(found.current, wanted)
        _run(conn, wanted, "upgrade")
    return UpgradeResult(found, wanted, applied)


def _pending(current: str | None, target: str) -> list[str]:
    revisions = [r["revision"] for r in history()]
    start = 0 if current is None else revisions.index(current) + 1
    stop = revisions.index(target) + 1
    return revisions[start:stop]


@contextmanager
def _reachable(engine: Engine) -> Iterator[None]:
    """A database that cannot be opened is an operation failure naming it, not a traceback."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        url = engine.url.render_as_string(hide_password=True)
        raise OperationFailed(f"cannot open the state database {url}", detail=str(exc.orig).strip()) from exc


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the schema against other processes until it commits: the advisory lock on
    PostgreSQL, the write lock on SQLite (taken at BEGIN IMMEDIATE; the driver would begin only at the first DML,
    leaving DDL to autocommit statement by statement). Either way a migration applies completely or not at all."""
    with _reachable(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _run(conn: Connection, target: str, action: str) -> None:
    """Alembic's upgrade or stamp to ``target`` on ``conn``, inside the caller's transaction."""
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext

    script = scripts()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def steps(rev: Any, _context: Any) -> Any:
        if action == "stamp":
            return script._stamp_revs(target, rev)
        return script._upgrade_revs(target, rev)

    with EnvironmentContext(config, script, fn=steps, destination_rev=target) as env:
        env.configure(connection=conn, render_as_batch=True)
        with env.begin_transaction():
            env.run_migrations()


__all__ = [
    "MIGRATIONS",
    "UPGRADE_COMMAND",
    "SchemaStatus",
    "SchemaVersionError",
    "UpgradeResult",
    "describe",
    "head",
    "history",
    "initial",
    "initial_tables",
    "prepare",
    "scripts",
    "status",
    "upgrade",
]
