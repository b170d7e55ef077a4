"""`alphintra auth`: bearer tokens for reaching the daemon over TCP."""

from __future__ import annotations

from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, info, print_json
from alphintra.daemon.protocol import Role

app = typer.Typer(help="API tokens for TCP access.", no_args_is_help=True)
token_app = typer.Typer(help="Create tokens for TCP clients.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="Who the token is for (the `sub` claim).")],
    role: Annotated[
        Role, typer.Option("--role", case_sensitive=False, help="viewer reads; trader also trades; admin may do all.")
    ] = Role.VIEWER,
    ttl: Annotated[str, typer.Option("--ttl", help="Lifetime: 30m, 8h, 7d ...")] = "8h",
    as_json: JsonOption = False,
) -> None:
    """Print a signed token (HS256) to pass as `Authorization: Bearer <token>`."""
    import time
    from datetime import UTC, datetime

    from alphintra.config.settings import get_settings
    from alphintra.daemon.auth import issue_token, load_or_create_secret, parse_ttl

    seconds = parse_ttl(ttl)
    now = int(time.time())
    token = issue_token(load_or_create_secret(get_settings()), user, role, seconds, now=now)
    expires = datetime.fromtimestamp(now + seconds, UTC)
    if as_json:
        print_json({"token": token, "user": user, "role": role.value, "ttl_seconds": seconds, "expires_at": expires})
        return
    typer.echo(token)
    info(f"token for {user} ({role.value}), valid until {expires.isoformat(timespec='seconds')}")
