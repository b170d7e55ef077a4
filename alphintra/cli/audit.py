"""`alphintra audit`: the audit log (daemon/audit.py), read from the home's file, daemon or not."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, emit


def audit(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's entries.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only entries at or after this ISO-8601 UTC time.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The newest N entries.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Who changed what, when, from where, with the values before and after (oldest first)."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.audit import AuditLog, parse_since

    if since is not None:
        parse_since(since, "--since")
    entries = AuditLog(get_settings().paths.root).read(user=user, since=since, limit=limit)
    if as_json:
        emit(entries, True)
        return
    rows = []
    for e in entries:
        before, after = _changed(e.get("before"), e.get("after"))
        rows.append(
            {
                "ts": e["ts"],
                "user": e["user"],
                "via": e["peer"] or e["via"],
                "action": e["action"],
                "target": e["target"],
                "before": _short(before),
                "after": _short(after),
            }
        )
    emit(rows, False, columns=["ts", "user", "via", "action", "target", "before", "after"])


def _changed(before: object, after: object) -> tuple[object, object]:
    """For a table: only the fields that changed when both sides are objects (the JSON keeps everything)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
        return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
    return before, after


def _short(value: object, width: int = 60) -> str:
    if value is None:
        return "-"
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= width else text[: width - 1] + "…"
