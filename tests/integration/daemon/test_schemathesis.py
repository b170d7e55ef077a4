"""Property-based API fuzzing: schemathesis drives a real daemon over TCP from its own ``/openapi.json``.

The daemon runs as its own process (paper venue, no price feed) listening on the unix socket and on
127.0.0.1 with JWTs; requests carry an admin token so every route is reachable. For every operation of the
schema (but ``POST /api/v1/engine/stop``, which would end the run) schemathesis generates valid and invalid
requests, a bounded number per operation. The contract checked: no answer is a server error (5xx), and every
client error (4xx) carries the JSON error shape ``{"error", "detail", "field"}``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import alphintra
from alphintra.daemon.client import EngineClient
from alphintra.errors import OperationFailed

REPO = Path(alphintra.__file__).resolve().parent.parent
EXAMPLES = 10  # generated cases per operation (on top of the schema's explicit ones): bounds the run's time
ERROR_KEYS = {"error", "detail", "field"}
CLI = "import sys; from alphintra.cli.main import main; main(sys.argv[1:])"


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    env.update(
        ALPHINTRA_HOME=str(root),
        ALPHINTRA_PAPER__FEED="none",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


@pytest.fixture(scope="module")
def daemon() -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="as", dir="/tmp") as name:
        root = Path(name)
        env = _env(root)
        proc = subprocess.Popen(
            [sys.executable, "-m", "alphintra.daemon", "--tcp", "127.0.0.1:0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            status = _wait_ready(root / "engine.sock", proc)
            token = subprocess.run(
                [sys.executable, "-c", CLI, "auth", "token", "create", "--user", "fuzz", "--role", "admin", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            yield {
                "url": f"http://{status['tcp']}",
                "headers": {"Authorization": f"Bearer {json.loads(token.stdout)['token']}"},
                "pid": proc.pid,
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(socket_path: Path, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the daemon exited with code {proc.returncode}"
        try:
            with EngineClient(socket_path=socket_path, timeout=2) as client:
                if client.ready():
                    return client.status()
        except OperationFailed:
            pass
        time.sleep(0.05)
    raise AssertionError("the daemon did not become ready")


@pytest.fixture(scope="module")
def api_schema(daemon: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_url(f"{daemon['url']}/openapi.json", headers=daemon["headers"], timeout=10)


# Stopping the engine would end the run; filters on a lazy schema apply to the operations it yields.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/v1/engine/stop")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_every_client_error_is_json(case: Any, daemon: dict[str, Any]) -> None:
    response = case.call(base_url=daemon["url"], headers=daemon["headers"], timeout=15)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type") or [""]  # schemathesis: header name -> values
        assert content_type[0].startswith("application/json"), where
        body = response.json()
        assert isinstance(body, dict) and body.keys() >= ERROR_KEYS, where
        assert isinstance(body["error"], str) and isinstance(body["detail"], str), where
