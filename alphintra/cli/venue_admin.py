"""`alphintra venue add|test|remove`: exchange venues and their encrypted API keys (`list|show|reconcile|resume`:
:mod:`alphintra.cli.venue_ops`).

The commands are added to the `venue` group of :mod:`alphintra.cli.venue` by :func:`register`. A secret is never
printed: keys are read without echo, from two lines of stdin or from the environment, and only the key's last four
characters are ever shown.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import JsonOption, info, print_json, print_table

if TYPE_CHECKING:
    from alphintra.venues.credentials import ApiCredentials, CredentialStore
    from alphintra.venues.registry import VenueRegistry

NameArg = Annotated[
    str, typer.Argument(help="Venue name (lowercase letters, digits, '-' and '_').", show_default=False)
]


def _home() -> Any:
    from alphintra.config.paths import HomePaths, ensure_home

    return ensure_home(HomePaths().root)


def _registry() -> VenueRegistry:
    from alphintra.venues.registry import VenueRegistry

    return VenueRegistry(_home())


def _definition(registry: VenueRegistry, name: str) -> Any:
    """The ccxt venue named on the command line (config.toml's or venues.toml's); a name that is not there is bad
    input (exit 2), like a typo."""
    from alphintra.config.settings import get_settings
    from alphintra.errors import NotFoundError, ValidationError
    from alphintra.venues.registry import configured_venue

    try:
        return configured_venue(get_settings(), name)
    except NotFoundError as exc:
        raise ValidationError("NAME", exc.message.replace(f"no venue named {name!r}", "names no venue"), name) from None


def _recorded(registry: VenueRegistry, name: str) -> None:
    """``name`` is a venue `venue add` recorded (the only ones `venue remove` may drop)."""
    from alphintra.config.paths import config_file
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError

    if name in registry.load():
        return
    if name in get_settings().venues:
        raise ValidationError(
            "NAME",
            f"is defined in {config_file()}: edit it there (`venue remove` drops venues `venue add` recorded)",
            name,
        )
    _definition(registry, name)


def _ask_passphrase(new: bool) -> str:
    text = "New passphrase for the credentials file" if new else "Passphrase of the credentials file"
    return str(typer.prompt(text, hide_input=True, confirmation_prompt=new, err=True))


def _credentials() -> CredentialStore:
    from alphintra.venues.credentials import CredentialStore

    # a prompt only where someone can answer it; otherwise ALPHINTRA_PASSPHRASE is required (and named)
    return CredentialStore(_home(), prompt=_ask_passphrase if sys.stdin.isatty() else None)


def _read_pair(name: str, secret_stdin: bool, from_env: bool) -> ApiCredentials:
    from alphintra.errors import ValidationError
    from alphintra.venues.credentials import ApiCredentials
    from alphintra.venues.registry import env_names

    if secret_stdin and from_env:
        raise ValidationError("--secret-stdin", "cannot be combined with --from-env")
    if from_env:
        key_var, secret_var = env_names(name)
        missing = [v for v in (key_var, secret_var) if not os.environ.get(v)]
        if missing:
            raise ValidationError("--from-env", f"needs {' and '.join(missing)} set in the environment")
        return ApiCredentials(os.environ[key_var], os.environ[secret_var])
    if secret_stdin:
        lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
        if len(lines) != 2:
            raise ValidationError(
                "--secret-stdin", f"expects exactly two lines on stdin, the API key then the secret (got {len(lines)})"
            )
        return ApiCredentials(lines[0], lines[1])
    if not sys.stdin.isatty():
        raise ValidationError(
            "API key", "cannot be asked for without a terminal: pass it with --secret-stdin (two lines) or --from-env"
        )
    key = str(typer.prompt("API key", hide_input=True, err=True)).strip()
    secret = str(typer.prompt("API secret", hide_input=True, err=True)).strip()
    return ApiCredentials(key, secret)


def add(
    name: NameArg,
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="ccxt exchange id, e.g. binance.")],
    url: Annotated[
        str | None,
        typer.Option("--url", help="REST base URL replacing the exchange's hosts, e.g. http://127.0.0.1:8765."),
    ] = None,
    ws_url: Annotated[
        str | None, typer.Option("--ws-url", help="WebSocket base URL (default: --url with ws:// or wss://).")
    ] = None,
    urls: Annotated[
        str | None,
        typer.Option("--urls", help="JSON object deep-merged into ccxt's urls (e.g. what `venue fake` prints)."),
    ] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Use the exchange's test environment.")] = False,
    rate_limit: Annotated[
        int | None,
        typer.Option("--rate-limit", help="Milliseconds between requests (default: ccxt's for the exchange)."),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="The daemon records 1m bars of the venue's trades into the market store (`data list`)."
        ),
    ] = False,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the API key and secret as two lines from stdin.")
    ] = False,
    from_env: Annotated[
        bool,
        typer.Option("--from-env", help="Read ALPHINTRA_VENUE_<NAME>_API_KEY and ALPHINTRA_VENUE_<NAME>_API_SECRET."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a venue: its definition in venues.toml, its key pair encrypted in the credentials file."""
    from alphintra.errors import ValidationError
    from alphintra.venues.registry import build_definition

    definition = build_definition(
        name,
        exchange,
        url=url,
        ws_url=ws_url,
        urls_json=urls,
        sandbox=sandbox,
        rate_limit_ms=rate_limit,
        record=record,
    )
    from alphintra.config.settings import get_settings

    registry = _registry()
    if name in get_settings().venues or name in registry.load():  # checked before asking for keys, and again
        raise ValidationError(
            "NAME", f"is already used by a venue: choose another name or `alphintra venue remove {name}` first", name
        )
    pair = _read_pair(name, secret_stdin, from_env)
    store = _credentials()
    with registry.locked():
        if name in registry.load():
            raise ValidationError("NAME", "is already used by a venue", name)
        # keys first: a crash between the two writes leaves an unlisted entry that the next add replaces
        store.put(name, pair)
        registry.add(definition)
    result = {**definition.to_dict(), "api_key": pair.hint, "protection": store.protection()}
    if as_json:
        print_json(result)
    else:
        info(f"added venue {name!r} ({exchange}); keys encrypted in {store.path} ({result['protection']})")


def test_venue(name: NameArg, as_json: JsonOption = False) -> None:
    """Connect with the real ccxt client: load the markets and fetch the balance."""
    from alphintra.venues.ccxt_client import probe

    definition = _definition(_registry(), name)
    creds = _credentials().get(definition.credentials_name)
    result = probe(definition, creds)
    result["ok"] = True
    if as_json:
        print_json(result)
        return
    info(f"venue {name!r}: connected to {result['endpoint']}, {result['markets']} markets")
    print_table(
        [{"asset": a, "total": v} for a, v in result["balances"].items()],
        ["asset", "total"],
        title="balances",
        empty="no balances",
    )


def remove(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove a venue and its stored keys."""
    registry = _registry()
    _recorded(registry, name)
    if not yes:
        typer.confirm(f"Remove venue {name!r} and its stored API key?", abort=True, err=True)
    store = _credentials()
    with registry.locked():
        _recorded(registry, name)
        registry.remove(name)  # definition first: a crash in between leaves an unlisted entry, never a keyless venue
        store.remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        info(f"removed venue {name!r}")


def register(app: typer.Typer) -> None:
    """Add the commands to the `venue` group."""
    from alphintra.cli import venue_ops

    app.command("add")(add)
    venue_ops.register(app)
    app.command("test")(test_venue)
    app.command("remove")(remove)


__all__ = ["register"]
