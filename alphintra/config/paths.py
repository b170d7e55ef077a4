"""Where files live. Every path is derived from ALPHINTRA_HOME (data) or the config directory.

A data home holds the journal (every order and fill), the state database, logs and secrets: it is private to its
owner. Processes that write there run with ``umask 077`` (:func:`private_umask`, set by the CLI and the daemon),
so whatever a library creates (SQLite's -wal/-shm, DuckDB, Parquet, reports) is 0600 as well; the home itself is
created 0700 explicitly (:func:`ensure_home`). An existing home that other users can read is reported
(:func:`exposure_warning`), never silently changed.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "alphintra"


def config_file() -> Path:
    explicit = os.environ.get("ALPHINTRA_CONFIG")
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"


def data_home() -> Path:
    explicit = os.environ.get("ALPHINTRA_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "alphintra"


class HomePaths:
    """The layout of one data home; created lazily by the code that writes there."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or data_home()).expanduser()

    @property
    def market(self) -> Path:
        return self.root / "market"

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"

    @property
    def journal(self) -> Path:
        return self.root / "journal"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def studies(self) -> Path:
        """The SQLite database of optimisation studies (``optimize --search``), unless --storage names another."""
        return self.root / "studies.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def socket(self) -> Path:
        return self.root / "engine.sock"

    @property
    def pid_file(self) -> Path:
        return self.root / "engine.pid"

    @property
    def venues_file(self) -> Path:
        """Venue definitions written by ``alphintra venue add`` (read as part of the settings' ``[venues]``)."""
        return self.root / "venues.toml"

    @property
    def locks(self) -> Path:
        return self.root / "locks"


def private_umask() -> None:
    """Make every file and directory this process creates from now on private to its owner (0600 / 0700)."""
    os.umask(PRIVATE_UMASK)


def ensure_home(root: Path) -> Path:
    """Create the data home 0700 if it does not exist yet (its missing parents too); an existing one is left as is."""
    if not root.is_dir():
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # mkdir's mode goes through the umask of whoever called us: be explicit
    return root


def _sensitive(paths: HomePaths) -> list[Path]:
    """The home and what in it holds trading data or secrets."""
    root = paths.root
    found = [root]
    for path in (paths.journal, paths.logs):
        if path.is_dir():
            found.append(path)
            found.extend(sorted(p for p in path.iterdir() if p.is_file()))
    for name in (
        "state.db",
        "state.db-wal",
        "state.db-shm",
        "state.db-journal",
        "jwt.secret",
        "engine.pid",
        "credentials",
    ):
        found.append(root / name)
    return found


def exposed(paths: HomePaths) -> list[tuple[Path, int]]:
    """(path, permission bits) of the home's sensitive paths that other users may read, write or enter."""
    result = []
    for path in _sensitive(paths):
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            result.append((path, mode))
    return result


def warn_if_exposed(paths: HomePaths) -> str | None:
    """Log :func:`exposure_warning` as a WARNING (once per call site: daemon start, `engine status`, `config path`)."""
    message = exposure_warning(paths)
    if message is not None:
        logging.getLogger("alphintra.config.paths").warning("%s", message)
    return message


def exposure_warning(paths: HomePaths) -> str | None:
    """One sentence naming what other users can read and the fix, or None when the home is private."""
    found = exposed(paths)
    if not found:
        return None
    shown = ", ".join(f"{path} (mode {mode:04o})" for path, mode in found[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    return (
        f"the data home is readable by other users: {shown}{more}; make it private with `chmod -R go-rwx {paths.root}`"
    )
