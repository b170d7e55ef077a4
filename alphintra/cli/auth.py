"""`alphintra auth`: bearer tokens for reaching the daemon over TCP.

`alphintra auth token --user NAME --ttl 8h` (or `auth token create ...`) prints a token. Once users are registered
(`alphintra user add`), the user must be registered and enabled, and the token carries that user's role (the daemon
applies the user's current role at each request anyway)."""

from __future__ import annotations

from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, info, print_json
from alphintra.daemon.protocol import Role

app = typer.Typer(help="API tokens for TCP access.", no_args_is_help=True)
token_app = typer.Typer(help="Create tokens for TCP clients: `auth token --user NAME [--ttl 8h]`.")
app.add_typer(token_app, name="token")

UserOption = Annotated[str | None, typer.Option("--user", help="Who the token is for (the `sub` claim).")]
RoleOption = Annotated[
    Role | None,
    typer.Option(
        "--role",
        case_sensitive=False,
        help="viewer reads; trader also trades; admin may do all (default: the registered user's role, else viewer).",
    ),
]
TtlOption = Annotated[str, typer.Option("--ttl", help="Lifetime: 30m, 8h, 7d ...")]


@token_app.callback(invoke_without_command=True)
def token(
    ctx: typer.Context,
    user: UserOption = None,
    role: RoleOption = None,
    ttl: TtlOption = "8h",
    as_json: JsonOption = False,
) -> None:
    """Print a signed token (HS256) to pass as `Authorization: Bearer <token>`."""
    if ctx.invoked_subcommand is not None:
        return
    if user is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    _issue(user, role, ttl, as_json)


@token_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="Who the token is for (the `sub` claim).")],
    role: RoleOption = None,
    ttl: TtlOption = "8h",
    as_json: JsonOption = False,
) -> None:
    """Print a signed token (HS256) to pass as `Authorization: Bearer <token>`."""
    _issue(user, role, ttl, as_json)


def _issue(user: str, role: Role | None, ttl: str, as_json: bool) -> None:
    import time
    from datetime import UTC, datetime

    from alphintra.config.settings import get_settings
    from alphintra.daemon.auth import issue_token, load_or_create_secret, parse_ttl
    from alphintra.daemon.users import UserStore
    from alphintra.errors import ValidationError

    settings = get_settings()
    seconds = parse_ttl(ttl)
    users = UserStore(settings.paths.root)
    if users.registered():
        known = users.get(user)
        if known is None:
            raise ValidationError("--user", "is not a registered user (alphintra user list / user add)", user)
        if not known.enabled:
            raise ValidationError("--user", "is disabled (alphintra user enable)", user)
        if role is not None and role is not known.role:
            raise ValidationError(
                "--role", f"{user} is a {known.role.value}; change it with `alphintra user role`", role.value
            )
        role = known.role
    role = role if role is not None else Role.VIEWER
    now = int(time.time())
    token = issue_token(load_or_create_secret(settings), user, role, seconds, now=now)
    expires = datetime.fromtimestamp(now + seconds, UTC)
    if as_json:
        print_json({"token": token, "user": user, "role": role.value, "ttl_seconds": seconds, "expires_at": expires})
        return
    typer.echo(token)
    info(f"token for {user} ({role.value}), valid until {expires.isoformat(timespec='seconds')}")
