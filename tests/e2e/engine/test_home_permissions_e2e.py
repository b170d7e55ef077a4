"""A data home is private: a real daemon creates it 0700 and every file in it 0600, and an existing home that
other users can read is reported (never silently changed). Issue 13, defect 7: the home was 0755 and the journal,
state.db and logs 0644, and another local user read the journal."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_e2e_support import Daemon

from alphintra.config.paths import HomePaths, exposure_warning


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most users have (022): what the daemon creates must not depend on it."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def fresh_home(usual_umask: None) -> Iterator[Daemon]:
    with tempfile.TemporaryDirectory(prefix="ap", dir="/tmp") as name:
        daemon = Daemon(Path(name) / "home")  # does not exist yet: the daemon creates it
        try:
            yield daemon
        finally:
            daemon.stop()


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_a_daemon_created_home_is_0700_and_its_files_0600(fresh_home: Daemon) -> None:
    daemon = fresh_home
    daemon.start()
    with daemon.client() as client:
        client.post("/api/v1/orders", {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.5"})
        client.get("/api/v1/trades")
    running = modes(daemon.root)
    daemon.stop()
    stopped = modes(daemon.root)
    for seen in (running, stopped):
        for must in ("journal/segment-00000000000000000001.jsonl", "journal/LOCK", "state.db", "logs/engine.jsonl"):
            assert must in seen, (must, sorted(seen))
        assert {name: mode for name, mode in seen.items() if name == "." or (daemon.root / name).is_dir()} == {
            name: 0o700 for name in seen if name == "." or (daemon.root / name).is_dir()
        }
        files = {name: mode for name, mode in seen.items() if name != "." and not (daemon.root / name).is_dir()}
        assert files == dict.fromkeys(files, 0o600), files
    assert "engine.pid" in running and "engine.sock" in running
    assert any(name.startswith("state.db-") for name in running) or "state.db" in running
    assert exposure_warning(HomePaths(daemon.root)) is None


def test_an_existing_readable_home_is_reported_not_changed(fresh_home: Daemon) -> None:
    daemon = fresh_home
    daemon.root.mkdir(mode=0o755)
    os.chmod(daemon.root, 0o755)
    daemon.start()
    daemon.stop()
    advice = f"make it private with `chmod -R go-rwx {daemon.root}`"
    logged = [json.loads(line) for line in (daemon.root / "logs" / "engine.jsonl").read_text().splitlines()]
    warnings = [r["msg"] for r in logged if r["level"] == "WARNING" and r["logger"] == "alphintra.config.paths"]
    assert warnings == [f"the data home is readable by other users: {daemon.root} (mode 0755); {advice}"]
    # `engine status` exits 1 when no engine runs (the daemon was stopped above); the warning comes either way.
    for command, code in (
        (("engine", "status"), 1),
        (("engine", "status", "--json"), 1),
        (("config", "path", "--json"), 0),
    ):
        shown = daemon.cli(*command)
        assert shown.returncode == code, shown.stderr
        said = " ".join(shown.stderr.split())
        assert "WARNING" in said and f"{daemon.root} (mode 0755)" in said and advice in said, command
    assert json.loads(daemon.cli("config", "path", "--json").stdout)["home"] == str(daemon.root)  # stdout clean
    assert stat.S_IMODE(daemon.root.stat().st_mode) == 0o755  # reported, not silently changed
    assert stat.S_IMODE((daemon.root / "state.db").stat().st_mode) == 0o600  # new files are private anyway
