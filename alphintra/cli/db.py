"""`alphintra db`: the state database's schema revision: upgrade it, show where it stands, list the revisions.

The database is the one in the settings (``database_url``, by default ``state.db`` in the data home). A home
created before migrations existed is recognised as the first revision when its tables match it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from alphintra.cli.common import JsonOption, emit, info

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="State database schema: upgrade, current revision, history.", no_args_is_help=True)


def _engine() -> Engine:
    from alphintra.config.settings import get_settings
    from alphintra.storage.state import make_engine

    return make_engine(get_settings().effective_database_url)


@app.command("upgrade")
def upgrade(
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the newest this alphintra knows).")
    ] = "head",
    as_json: JsonOption = False,
) -> None:
    """Upgrade the state database to the newest schema, keeping every row (stop the engine first)."""
    from alphintra.storage.state import schema

    engine = _engine()
    try:
        result = schema.upgrade(engine, revision)
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    if as_json:
        emit({"database": url, **result.to_dict()}, True)
        return
    if result.applied:
        before = result.before.current or "empty"
        info(f"{url}: upgraded from {before} to {result.after} (applied {', '.join(result.applied)})")
    else:
        info(f"{url}: already at {result.after}" + (" (recognised an existing home)" if result.before.legacy else ""))


@app.command("current")
def current(as_json: JsonOption = False) -> None:
    """The state database's revision and whether this alphintra can use it as it is."""
    from alphintra.storage.state import schema

    engine = _engine()
    try:
        found = schema.status(engine)
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    data = {"database": url, **found.to_dict()}
    if as_json:
        emit(data, True)
        return
    emit({k: v for k, v in data.items() if k != "problems"}, False, title="state database")
    if found.state != "current":
        info(schema.describe(url, found) if found.state != "empty" else "empty: created at the first use")


@app.command("history")
def history(as_json: JsonOption = False) -> None:
    """Every schema revision this alphintra knows, oldest first."""
    from alphintra.storage.state import schema

    rows = schema.history()
    tip = schema.head()
    for row in rows:
        row["head"] = row["revision"] == tip
    emit(rows, as_json, columns=["revision", "down_revision", "head", "description"], title="schema revisions")


__all__ = ["app"]
