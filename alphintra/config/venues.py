"""Venues and accounts in the settings: ``[venues.<name>]`` and ``[accounts.<name>]``.

One account model serves the backtest, the paper daemon and live trading: an account lives on one venue, is spot
or margin (with a leverage), and on a simulated venue starts with a cash balance. A venue is ``simulated`` (the
engine's own matching, paper and backtest) or ``ccxt`` (an exchange reached through ccxt, with URL overrides, a
rate limit, options, default fees and a credentials reference; its key pair is in the encrypted credentials file).

Venue definitions have one home, the settings' ``[venues]``, filled from two files: ``config.toml`` (hand-written)
and ``$ALPHINTRA_HOME/venues.toml`` (written by ``alphintra venue add``, which records exchange venues of one data
home together with their encrypted keys). Both are parsed by :class:`VenueSettings`; a name defined in both is an
error, so there is never a question which definition wins. The built-in defaults are one simulated venue ``sim``
and one margin account ``main`` on it (leverage 1, 100,000 in the base currency); the first account listed is the
default account (orders that name none, backtests without ``--account``).
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from alphintra.errors import ConfigError

VENUE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_VENUE = "sim"
DEFAULT_ACCOUNT = "main"
DEFAULT_STARTING_CASH = Decimal("100000")
# Settings that folded into [accounts]/[venues]: naming one says where it went (it is still an unknown key, exit 2).
MOVED = {
    "exchange": "venues (each [[instruments]] entry names its `venue`)",
    "engine.account": "accounts (the first [accounts.NAME] table is the default account)",
    "engine.starting_cash": "accounts.NAME.starting_cash",
    "paper.account_mode": "accounts.NAME.mode",
    "backtest.cash": "accounts.NAME.starting_cash (or `backtest run --cash`)",
}


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class VenueSettings(_Table):
    """One venue (``kind`` defaults to ``ccxt`` when ``exchange`` is given, else ``simulated``). ``simulated``:
    the engine's matching (maker/taker fees default per instrument). ``ccxt``: an exchange; ``exchange`` is its
    ccxt id, ``urls`` deep-merge over ccxt's own, ``credentials`` names the key pair
    in the credentials file (default: the venue's own name)."""

    kind: Literal["simulated", "ccxt"] = "simulated"
    exchange: str | None = Field(default=None, min_length=1)
    urls: dict[str, Any] = Field(default_factory=dict)
    sandbox: bool = False
    rate_limit_ms: int | None = Field(default=None, ge=0, le=60_000)
    options: dict[str, Any] = Field(default_factory=dict)
    credentials: str | None = Field(default=None, min_length=1)
    maker_fee: Decimal | None = Field(default=None, ge=0, lt=1)
    taker_fee: Decimal | None = Field(default=None, ge=0, lt=1)
    # the daemon records 1m bars of the venue's public trades into the market store (daemon/trading/recorder.py)
    record: bool = False

    @model_validator(mode="before")
    @classmethod
    def _kind_from_exchange(cls, data: Any) -> Any:
        # a table that names an exchange and no kind is an exchange venue (venues.toml's entries before `kind`)
        if isinstance(data, dict) and "kind" not in data and "exchange" in data:
            return {**data, "kind": "ccxt"}
        return data


class AccountSettings(_Table):
    """One account: the venue it lives on, spot or margin, leverage, and (simulated venues) its starting cash in
    ``currency`` (default: the base currency)."""

    venue: str = Field(default=DEFAULT_VENUE, min_length=1)
    mode: Literal["spot", "margin"] = "margin"
    leverage: Decimal = Field(default=Decimal(1), ge=1, le=100)
    starting_cash: Decimal = Field(default=DEFAULT_STARTING_CASH, ge=0)
    currency: str | None = Field(default=None, min_length=1)


def default_venues() -> dict[str, VenueSettings]:
    return {DEFAULT_VENUE: VenueSettings()}


def default_accounts() -> dict[str, AccountSettings]:
    return {DEFAULT_ACCOUNT: AccountSettings()}


def read_venues_file(path: Path) -> dict[str, VenueSettings]:
    """The ``[venues.NAME]`` tables of a ``venues.toml`` (``venue add``'s file), checked like the settings'."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None
    venues = doc.get("venues", {})
    if not isinstance(venues, dict) or set(doc) - {"venues"}:
        raise ConfigError(str(path), "must hold only [venues.NAME] tables")
    out: dict[str, VenueSettings] = {}
    for name, table in venues.items():
        try:
            out[name] = VenueSettings.model_validate(table)
        except PydanticValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(["venues", name, *(str(p) for p in err.get("loc", ()))])
            rule = "unknown key" if err.get("type") == "extra_forbidden" else str(err.get("msg", "invalid value"))
            raise ConfigError(key, f"{rule} (from {path})", reason="invalid_setting") from None
    return out


def check_venue(name: str, venue: VenueSettings, origin: str) -> None:
    """The rules that span a venue's keys (each key's own type and range is checked by the model)."""
    if not VENUE_NAME.match(name):
        raise ConfigError(
            f"venues.{name}",
            f"a venue name starts with a lowercase letter and holds only a-z, 0-9, '-' and '_' (at most 32) ({origin})",
            reason="invalid_setting",
        )
    if venue.kind == "ccxt" and venue.exchange is None:
        raise ConfigError(
            f"venues.{name}.exchange",
            f"is required for a ccxt venue (a ccxt exchange id) ({origin})",
            reason="invalid_setting",
        )
    if venue.kind == "simulated":
        extra = [
            k
            for k in ("exchange", "urls", "sandbox", "rate_limit_ms", "options", "credentials", "record")
            if k in venue.model_fields_set
        ]
        if extra:
            raise ConfigError(
                f"venues.{name}.{extra[0]}",
                f"applies only to a ccxt venue (this one is simulated) ({origin})",
                reason="invalid_setting",
            )


def merge_venues(
    configured: dict[str, VenueSettings], home_file: Path, *, config_origin: str
) -> dict[str, VenueSettings]:
    """The settings' venues: the configuration's and those ``venue add`` recorded in the home; a name in both is
    refused (two definitions of one venue)."""
    recorded = read_venues_file(home_file)
    for name in recorded:
        if name in configured:
            raise ConfigError(
                f"venues.{name}",
                f"is defined twice, in {config_origin} and in {home_file} (written by `alphintra venue add`): keep one",
                reason="invalid_setting",
            )
    for name, venue in configured.items():
        check_venue(name, venue, config_origin)
    for name, venue in recorded.items():
        check_venue(name, venue, str(home_file))
    return {**configured, **recorded}


def check_accounts(
    accounts: dict[str, AccountSettings], venues: dict[str, VenueSettings], instruments: list[tuple[str, str | None]]
) -> None:
    """Every account and instrument names a configured venue; the account rules that span keys."""
    configured = ", ".join(venues) or "none"
    if not accounts:
        raise ConfigError("accounts", "needs at least one [accounts.NAME] table", reason="invalid_setting")
    for name, account in accounts.items():
        if not ACCOUNT_NAME.match(name):
            raise ConfigError(
                f"accounts.{name}",
                "an account name holds only letters, digits, '_', '.' and '-' (at most 64)",
                reason="invalid_setting",
            )
        venue = venues.get(account.venue)
        if venue is None:
            raise ConfigError(
                f"accounts.{name}.venue",
                f"no venue named {account.venue!r} (configured: {configured})",
                reason="invalid_setting",
            )
        if account.mode == "spot" and account.leverage != 1:
            raise ConfigError(
                f"accounts.{name}.leverage",
                'must be 1 for a spot account (leverage needs mode = "margin")',
                account.leverage,
                reason="invalid_setting",
            )
        if venue.kind != "simulated" and "starting_cash" in account.model_fields_set:
            raise ConfigError(
                f"accounts.{name}.starting_cash",
                f"applies only to an account on a simulated venue ({account.venue!r} is {venue.kind}: its balances "
                "come from the exchange)",
                reason="invalid_setting",
            )
    for index, (symbol, venue_name) in enumerate(instruments):
        if venue_name is not None and venue_name not in venues:
            raise ConfigError(
                f"instruments.{index}.venue",
                f"no venue named {venue_name!r} for {symbol} (configured: {configured})",
                reason="invalid_setting",
            )


def moved_hint(key: str) -> str | None:
    """Where a setting that folded into ``[accounts]``/``[venues]`` went, for the unknown-key message."""
    new = MOVED.get(key)
    return None if new is None else f"this setting moved: use {new}"


__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_STARTING_CASH",
    "DEFAULT_VENUE",
    "MOVED",
    "AccountSettings",
    "VenueSettings",
    "check_accounts",
    "default_accounts",
    "default_venues",
    "merge_venues",
    "moved_hint",
    "read_venues_file",
]
