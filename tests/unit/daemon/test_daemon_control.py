"""Reading the daemon's log: tail, follow across rotation, formatting."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from alphintra.daemon.control import follow_lines, format_log_line, tail_lines


def test_tail_lines(tmp_path: Path) -> None:
    path = tmp_path / "engine.jsonl"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail_lines(path, 3) == ["line 97", "line 98", "line 99"]
    assert tail_lines(path, 0) == []
    assert tail_lines(tmp_path / "missing", 5) == []


def _scripted(steps: list[Callable[[], None]]) -> tuple[Callable[[], None], Callable[[], bool]]:
    """``poll`` runs the next step each time the follower finds nothing new; stop when the script is done."""
    remaining = list(steps)

    def poll() -> None:
        remaining.pop(0)()

    return poll, lambda: not remaining


def test_follow_yields_new_lines_across_rotation_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "engine.jsonl"
    path.write_text("old\n")

    def append(text: str) -> Callable[[], None]:
        def step() -> None:
            with path.open("a") as fh:
                fh.write(text)

        return step

    def rotate() -> None:
        os.replace(path, tmp_path / "engine.jsonl.1")
        path.write_text("after rotation\n")

    def truncate() -> None:
        path.write_text("")

    poll, done = _scripted(
        [append("one\ntw"), append("o\n"), rotate, append("x\n"), truncate, append("fresh\n"), lambda: None]
    )
    lines = list(follow_lines(path, should_stop=done, poll=poll))
    assert lines == ["one", "two", "after rotation", "x", "fresh"]


def test_follow_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    path = tmp_path / "engine.jsonl"

    def create() -> None:
        path.write_text("first\n")

    poll, done = _scripted([create, lambda: None])
    assert list(follow_lines(path, should_stop=done, poll=poll)) == ["first"]


def test_format_log_line() -> None:
    record = {
        "ts": "2026-01-02T03:04:05.678901+00:00",
        "level": "INFO",
        "logger": "alphintra.daemon.server",
        "msg": "engine ready",
        "pid": 12,
    }
    assert format_log_line(json.dumps(record)) == (
        "2026-01-02 03:04:05.678 INFO    alphintra.daemon.server: engine ready  pid=12"
    )
    failing = {**record, "level": "ERROR", "msg": "boom", "exc": "Traceback ...", "pid": None}
    assert format_log_line(json.dumps(failing)).endswith("boom  pid=None\nTraceback ...")
    assert format_log_line("not json") == "not json"
    assert format_log_line("[1, 2]") == "[1, 2]"
