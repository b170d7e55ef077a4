"""A scratch schema on the real PostgreSQL server, for tests that put the trading state there.

Each use gets a schema of its own, selected through ``search_path`` in the URL (``options=-csearch_path=...``),
dropped with everything in it at the end: runs in parallel, or after a crash, never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from tests.conftest import PG_URL

BACKENDS = ("sqlite", "postgresql")
# Where the daemon e2e tests keep the trading state unless a test says otherwise: `ALPHINTRA_TEST_STATE_BACKEND=
# postgresql pytest tests/e2e` runs the whole suite on PostgreSQL (read at import: the tests' own environment is
# scrubbed of ALPHINTRA_* variables). The default CI run covers PostgreSQL with the tests marked ``both_backends``
# (tests/e2e/conftest.py runs each of them once per backend) and the ones parametrised over BACKENDS themselves.
DEFAULT_BACKEND = os.environ.get("ALPHINTRA_TEST_STATE_BACKEND", "sqlite")
_current = [DEFAULT_BACKEND]


def current_backend() -> str:
    """The backend a daemon's state goes to when its test names none (the ``state_backend`` fixture's)."""
    return _current[0]


@contextlib.contextmanager
def default_backend(backend: str) -> Iterator[None]:
    assert backend in BACKENDS, backend
    before, _current[0] = _current[0], backend
    try:
        yield
    finally:
        _current[0] = before


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def scratch_schema(prefix: str = "t_state", base: str = PG_URL) -> Iterator[str]:
    """The URL of a new, empty schema (the server unreachable is a failure, never a skip)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL at {base} is required for this test and is not reachable: {exc}")
    try:
        yield schema_url(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.contextmanager
def state_database(backend: str | None = None, prefix: str = "t_e2e") -> Iterator[str | None]:
    """``database_url`` for a daemon's state on ``backend`` (default :func:`current_backend`): None (state.db in
    the home) or a scratch schema."""
    backend = backend or current_backend()
    if backend == "sqlite":
        yield None
        return
    assert backend == "postgresql", backend
    with scratch_schema(prefix) as url:
        yield url
