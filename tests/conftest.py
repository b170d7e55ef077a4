"""Every test gets its own data home and config directory, and no ALPHINTRA_* variable leaks in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("ALPHINTRA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key in list(os.environ):
        if key.startswith("ALPHINTRA_") and key != "ALPHINTRA_TEST_PG_URL":
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("ALPHINTRA_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    from alphintra.config.settings import reset_settings_cache

    reset_settings_cache()
    yield home
    reset_settings_cache()
    _reset_logging()


def _reset_logging() -> None:
    """A CLI test configures the `alphintra` logger (own handlers, no propagation); undo it so that the next
    test's caplog, which listens on the root logger, sees the project's log records again."""
    import logging

    from alphintra.config import logs

    logger = logging.getLogger(logs.LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    logs._configured = False


@pytest.fixture
def pg_url() -> str:
    """The real PostgreSQL server. It is never mocked; in CI its absence is a failure, not a skip."""
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL at {PG_URL} is required for this test and is not reachable: {exc}")
    return PG_URL


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def json(self) -> object:
        import json

        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the real entry point in-process (error handler and exit codes included)."""
    from alphintra.cli.main import main

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
