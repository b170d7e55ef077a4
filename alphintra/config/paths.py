"""Where files live. Every path is derived from ALPHINTRA_HOME (data) or the config directory."""

from __future__ import annotations

import os
from pathlib import Path


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
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def socket(self) -> Path:
        return self.root / "engine.sock"

    @property
    def pid_file(self) -> Path:
        return self.root / "engine.pid"

    @property
    def locks(self) -> Path:
        return self.root / "locks"
