"""Database URLs and engines for the state store: SQLite by default, PostgreSQL (psycopg 3) by URL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from alphintra.config.paths import HomePaths
from alphintra.errors import ValidationError
from alphintra.storage.state.types import json_dumps

# A writer (the daemon) holds the lock for milliseconds; readers (CLI, API) wait this long before giving up.
SQLITE_BUSY_TIMEOUT_MS = 5_000


def default_url() -> str:
    return f"sqlite:///{HomePaths().state_db}"


def normalise_url(url: str) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3; other drivers and SQLite URLs pass unchanged."""
    raw = url.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise ValidationError(
            "database_url", "must be a URL such as sqlite:///state.db or postgresql://host/db", url
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ValidationError("database_url", "must be a sqlite:// or postgresql:// URL", url)
    return parsed


def libpq_url(url: str) -> str:
    """The same database as a plain ``postgresql://`` URL for psycopg itself (no SQLAlchemy driver suffix)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValidationError("url", "must be a postgresql:// URL", url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _set_wal(cur: Any) -> None:
    """Switch to WAL. On a fresh file another connection creating the schema holds the write lock, and SQLite
    answers this pragma "database is locked" at once instead of waiting: retry until the busy timeout."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        # WAL lets the CLI read while the daemon writes; NORMAL sync is safe under WAL (the journal is the
        # durable record, this database is a projection of it); foreign keys catch what PostgreSQL would.
        _set_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (default: ``sqlite:///$ALPHINTRA_HOME/state.db``), creating the SQLite file's folder."""
    from sqlalchemy import create_engine

    parsed = normalise_url(url or default_url())
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            file = Path(database).expanduser()
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # SQLite gives its -wal, -shm and -journal files the database file's mode: create that one 0600. Only a
            # missing one (O_EXCL): closing any descriptor of the file drops every POSIX lock this process holds on it,
            # SQLite's included, and another process closing its last connection then deletes the live WAL.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        engine = create_engine(
            parsed,
            echo=echo,
            json_serializer=json_dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, echo=echo, json_serializer=json_dumps, pool_pre_ping=True)


__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "default_url", "libpq_url", "make_engine", "normalise_url"]
