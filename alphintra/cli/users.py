"""`alphintra user`: the users of a shared engine, their roles and accounts (daemon/users.py); every change is
written to the audit log. These edit the home's users file directly, daemon or not: a running daemon sees a change
on its next request."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, info
from alphintra.daemon.protocol import Role

app = typer.Typer(help="Users of a shared engine: roles, accounts, disabling.", no_args_is_help=True)

RoleArg = Annotated[Role, typer.Argument(case_sensitive=False, help="viewer, trader or admin.")]
NameArg = Annotated[str, typer.Argument(help="User name (the `sub` of their tokens).")]


def _store_and_audit() -> tuple[Any, Any]:
    from alphintra.config.settings import get_settings
    from alphintra.daemon.audit import AuditLog
    from alphintra.daemon.users import UserStore

    root = get_settings().paths.root
    return UserStore(root), AuditLog(root)


def _change(action: str, run: Any) -> dict[str, Any]:
    """Apply one change to the users file and audit it (by the OS user running the CLI, via ``cli``)."""
    from alphintra.daemon.auth import owner_name

    store, audit = _store_and_audit()
    before, after = run(store, audit.entry()["ts"])
    entry = audit.entry(
        user=owner_name(),
        role=Role.ADMIN.value,
        via="cli",
        action=action,
        target=after.name,
        status=0,
        before=None if before is None else before.to_dict(),
        after=after.to_dict(),
    )
    audit.append(entry)
    audit.close()
    return dict(after.to_dict())


@app.command("add")
def add(
    name: NameArg,
    role: Annotated[Role, typer.Option("--role", case_sensitive=False, help="viewer, trader or admin.")] = Role.VIEWER,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="An account the user owns (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a user; from the first user on, tokens must name a registered, enabled user."""
    accounts = tuple(account or ())
    user = _change("user.add", lambda s, now: s.add(name, role, accounts, now=now))
    if as_json:
        emit(user, True)
        return
    info(f"user {name} added ({role.value}); create a token with `alphintra auth token --user {name}`")


@app.command("list")
def list_users(as_json: JsonOption = False) -> None:
    """Every user with role, state and accounts."""
    store, _ = _store_and_audit()
    rows = [u.to_dict() for u in store.users().values()]
    if as_json:
        emit(rows, True)
        return
    for row in rows:
        row["accounts"] = ", ".join(row["accounts"]) or "-"
    emit(rows, False, columns=["name", "role", "enabled", "accounts", "created_at", "updated_at"])


@app.command("disable")
def disable(name: NameArg, as_json: JsonOption = False) -> None:
    """Disable a user: their tokens stop working on the next request."""
    user = _change("user.disable", lambda s, now: s.set_enabled(name, False, now=now))
    emit(user, True) if as_json else info(f"user {name} disabled")


@app.command("enable")
def enable(name: NameArg, as_json: JsonOption = False) -> None:
    """Enable a disabled user again (their unexpired tokens work again)."""
    user = _change("user.enable", lambda s, now: s.set_enabled(name, True, now=now))
    emit(user, True) if as_json else info(f"user {name} enabled")


@app.command("role")
def set_role(name: NameArg, role: RoleArg, as_json: JsonOption = False) -> None:
    """Change a user's role; it applies to their existing tokens at once."""
    user = _change("user.role", lambda s, now: s.set_role(name, role, now=now))
    emit(user, True) if as_json else info(f"user {name} is now {role.value}")


@app.command("grant")
def grant(
    name: NameArg, account: Annotated[str, typer.Argument(help="Account name.")], as_json: JsonOption = False
) -> None:
    """Let a user see and trade an account."""
    user = _change("user.grant", lambda s, now: s.grant(name, account, now=now))
    emit(user, True) if as_json else info(f"user {name} may use account {account}")


@app.command("revoke")
def revoke(
    name: NameArg, account: Annotated[str, typer.Argument(help="Account name.")], as_json: JsonOption = False
) -> None:
    """Take an account away from a user."""
    user = _change("user.revoke", lambda s, now: s.revoke(name, account, now=now))
    emit(user, True) if as_json else info(f"user {name} may no longer use account {account}")
