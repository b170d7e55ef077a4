"""The data home's privacy helpers: created 0700, files 0600 whatever the umask, exposure reported with the fix."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphintra.config.logs import PrivateRotatingFileHandler
from alphintra.config.paths import HomePaths, ensure_home, exposure_warning


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_home_creates_0700_and_leaves_an_existing_home_alone(tmp_path: Path) -> None:
    assert mode(ensure_home(tmp_path / "a" / "home")) == 0o700
    existing = tmp_path / "mine"
    existing.mkdir(mode=0o755)
    assert mode(ensure_home(existing)) == 0o755


def test_exposure_names_each_readable_path_its_mode_and_the_fix(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path / "home")
    ensure_home(paths.root)
    assert exposure_warning(paths) is None
    paths.journal.mkdir(mode=0o700)
    segment = paths.journal / "segment-00000000000000000001.jsonl"
    segment.write_text("{}\n")
    os.chmod(segment, 0o644)
    paths.state_db.touch(mode=0o600)
    assert exposure_warning(paths) == (
        f"the data home is readable by other users: {segment} (mode 0644); "
        f"make it private with `chmod -R go-rwx {paths.root}`"
    )
    for name in ("state.db", "state.db-wal", "state.db-shm", "jwt.secret", "engine.pid"):
        (paths.root / name).touch()
        os.chmod(paths.root / name, 0o640)
    warning = exposure_warning(paths)
    assert warning is not None and "and 2 more;" in warning


def test_log_files_are_created_0600_also_when_they_rotate(tmp_path: Path) -> None:
    path = tmp_path / "engine.jsonl"
    handler = PrivateRotatingFileHandler(path, maxBytes=200, backupCount=2, encoding="utf-8")
    logger = logging.getLogger("test.private.rotation")
    logger.addHandler(handler)
    try:
        for i in range(20):
            logger.warning("line %d %s", i, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(tmp_path.glob("engine.jsonl*"))
    assert len(files) == 3
    assert {mode(p) for p in files} == {0o600}
