"""`alphintra auth` and `alphintra engine` commands that need no running daemon."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from alphintra.cli.auth import app as auth_app
from alphintra.cli.engine import app as engine_app
from alphintra.config.settings import get_settings
from alphintra.daemon.auth import Role, load_or_create_secret, verify_token
from alphintra.errors import OperationFailed, ValidationError

runner = CliRunner()


def test_token_create_prints_a_token_the_daemon_accepts() -> None:
    result = runner.invoke(auth_app, ["token", "create", "--user", "alice", "--role", "trader", "--ttl", "30m"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    claims = verify_token(load_or_create_secret(get_settings()), token, now=claims_now(token))
    assert (claims.sub, claims.role, claims.exp - claims.iat) == ("alice", Role.TRADER, 1800)


def claims_now(token: str) -> int:
    import jwt

    return int(jwt.decode(token, options={"verify_signature": False})["iat"])


def test_token_create_json() -> None:
    result = runner.invoke(auth_app, ["token", "create", "--user", "bob", "--role", "ADMIN", "--ttl", "7d", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["user"], data["role"], data["ttl_seconds"]) == ("bob", "admin", 604800)
    assert data["expires_at"].endswith("+00:00")
    secret = load_or_create_secret(get_settings())
    assert verify_token(secret, data["token"], now=claims_now(data["token"])).sub == "bob"


def test_token_create_rejects_bad_ttl_and_role() -> None:
    result = runner.invoke(auth_app, ["token", "create", "--user", "bob", "--ttl", "forever"])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "--ttl"
    result = runner.invoke(auth_app, ["token", "create", "--user", "bob", "--role", "root"])
    assert result.exit_code == 2
    assert "root" in result.output


def test_status_when_nothing_runs(isolated_home: Path) -> None:
    result = runner.invoke(engine_app, ["status", "--json"])
    assert result.exit_code == 1  # scripts can test for a running engine
    assert json.loads(result.stdout) == {
        "running": False,
        "pid": None,
        "socket": str(isolated_home / "engine.sock"),
        "ready": False,
    }
    plain = runner.invoke(engine_app, ["status"])
    assert "not running" in plain.stdout


def test_stop_when_nothing_runs(isolated_home: Path) -> None:
    result = runner.invoke(engine_app, ["stop"])
    assert isinstance(result.exception, OperationFailed)
    assert result.exception.message == f"no engine is running (no live pid file at {isolated_home / 'engine.pid'})"


def test_start_validates_tcp_before_anything() -> None:
    result = runner.invoke(engine_app, ["start", "--tcp", "nonsense"])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "--tcp"


def test_logs_shows_the_last_lines_formatted(isolated_home: Path) -> None:
    logs = isolated_home / "logs"
    logs.mkdir(parents=True)
    records = [
        {"ts": f"2026-01-02T03:04:0{i}.000000+00:00", "level": "INFO", "logger": "alphintra.daemon", "msg": f"m{i}"}
        for i in range(5)
    ]
    (logs / "engine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(engine_app, ["logs", "-n", "2"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2026-01-02 03:04:03.000 INFO    alphintra.daemon: m3",
        "2026-01-02 03:04:04.000 INFO    alphintra.daemon: m4",
    ]
    raw = runner.invoke(engine_app, ["logs", "-n", "1", "--raw"])
    assert json.loads(raw.stdout) == records[-1]


def test_logs_without_a_log(isolated_home: Path) -> None:
    result = runner.invoke(engine_app, ["logs"])
    assert result.exit_code == 0
    assert result.stdout == ""
