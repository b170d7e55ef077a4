"""The daemon's end-to-end tests on both state databases (issue 21: "the daemon e2e suite passes on SQLite and on
PostgreSQL in the same CI run").

A test (or a module, through ``pytestmark``) marked ``both_backends`` runs twice, ``[sqlite]`` and ``[postgresql]``:
the autouse ``state_backend`` fixture makes that backend the default of ``tests.pg_support.state_database`` for the
test, so every daemon home it creates without naming a backend (``home``, ``daemon_home()``, the scheduling and TUI
homes) keeps its trading state there -- on PostgreSQL in a scratch schema of its own, dropped afterwards. Tests that
name a backend themselves (they open state.db, or are parametrised over BACKENDS already) are not marked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg_support import BACKENDS, current_backend, default_backend


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_backends") is not None:
        metafunc.parametrize("state_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def state_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    backend = getattr(request, "param", None) or current_backend()
    with default_backend(backend):
        yield backend
