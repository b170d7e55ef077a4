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
    # The CLI's root callback sets the process umask to 077 (a private home); a test that runs it in-process must
    # not change what later tests create.
    umask = os.umask(0o022)
    os.umask(umask)
    yield home
    os.umask(umask)
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


# -- network guard: tests talk to 127.0.0.1 (and unix sockets) only -------------------------------------------------

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})


def _is_loopback(host: object) -> bool:
    import ipaddress

    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host is None:
        return True  # getaddrinfo(None, port): the local host
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_ip(host: object) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host if isinstance(host, str) else "")
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test that tries to reach any address but loopback (a real exchange above all).

    The attempt raises where it happens (so nothing leaves the machine, not even a DNS query) and is recorded, so
    the test fails even if the code under test swallows the error (ccxt turns it into a NetworkError and retries).
    """
    import socket

    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: object) -> None:
        if isinstance(address, (str, bytes)):  # AF_UNIX path
            return
        host = address[0] if isinstance(address, tuple) and address else address
        if not _is_loopback(host):
            attempts.append(repr(address))
            raise ConnectionRefusedError(f"test network guard: connection to non-loopback {address!r} refused")

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        # a numeric address needs no lookup (connect() judges it); a name other than localhost would ask DNS
        if not _is_loopback(host) and not _is_ip(host):
            attempts.append(f"getaddrinfo({host!r})")
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: lookup of non-loopback {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts  # a test of the guard itself reads (and clears) what it recorded
    if attempts:
        pytest.fail(f"the test tried to reach non-loopback addresses: {', '.join(attempts)}")
