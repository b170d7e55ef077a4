"""Logging is configured once per process: Rich on a terminal, plain text otherwise, and JSON lines in
``$ALPHINTRA_HOME/logs/`` for long-running processes (the daemon), where machines read the logs."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOGGER_NAME = "alphintra"
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_configured = False


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value if isinstance(value, int | float | bool | str | None) else str(value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, separators=(",", ":"))


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose files are created 0600 whatever the process umask (logs name orders and accounts)."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def level_for(verbosity: int, quiet: bool) -> int:
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


def setup_logging(verbosity: int = 0, quiet: bool = False, json_file: Path | None = None) -> logging.Logger:
    """Idempotent: a second call only adjusts the level and may add the JSON file handler."""
    global _configured
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    console_level = level_for(verbosity, quiet)
    if not _configured:
        handler: logging.Handler
        if sys.stderr.isatty():
            from rich.logging import RichHandler

            handler = RichHandler(show_path=False, rich_tracebacks=False, markup=False)
        else:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.set_name("console")
        logger.addHandler(handler)
        logger.propagate = False
        _configured = True
    for handler in logger.handlers:
        if handler.get_name() == "console":
            handler.setLevel(console_level)
    if json_file is not None and not any(h.get_name() == "jsonl" for h in logger.handlers):
        json_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        file_handler = PrivateRotatingFileHandler(json_file, maxBytes=20_000_000, backupCount=5, encoding="utf-8")
        file_handler.setFormatter(JsonLinesFormatter())
        file_handler.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
        file_handler.set_name("jsonl")
        logger.addHandler(file_handler)
    return logger


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
