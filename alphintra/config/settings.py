"""Typed settings: defaults < ``config.toml`` < ``ALPHINTRA_*`` environment < command-line flags.

pydantic-settings does the layering; this module adds the one thing it lacks for a CLI: turning a validation
failure into a single message that names the key, the value, the rule and where the value came from.
Unknown keys are rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from alphintra.config.paths import HomePaths, config_file, data_home
from alphintra.config.venues import (
    AccountSettings,
    VenueSettings,
    check_accounts,
    default_accounts,
    default_venues,
    merge_venues,
    moved_hint,
)
from alphintra.errors import ConfigError

if TYPE_CHECKING:
    from alphintra.engine.core.instrument import Instrument

ENV_PREFIX = "ALPHINTRA_"
ENV_NESTED = "__"
# ALPHINTRA_* variables that are not settings: read by config.paths, the daemon, `tui --token` and the tests.
OTHER_VARIABLES = frozenset({"HOME", "CONFIG", "TOKEN", "ENGINE_BARE", "TEST_PG_URL", "PASSPHRASE"})
# A venue's API key pair for non-interactive `venue add --from-env` (the same pattern as venues.registry.ENV_PATTERN,
# which config may not import).
VENUE_KEY_VARIABLE = re.compile(r"^VENUE_[A-Z0-9_]+_API_(KEY|SECRET)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class InstrumentSettings(_Section):
    """One tradable instrument; the engine's registry is built from these plus the data catalog."""

    symbol: str = Field(min_length=1)
    base: str | None = None
    quote: str | None = None
    tick_size: Decimal = Field(gt=0)
    lot_size: Decimal = Field(gt=0)
    min_qty: Decimal | None = Field(default=None, gt=0)
    min_notional: Decimal = Field(default=Decimal("0"), ge=0)
    maker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    tags: list[str] = Field(default_factory=list)
    # crypto, fx, equity, ...; derived from the symbol when not given (BTC/USD crypto, EUR/USD fx, GOOG equity).
    asset_class: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    # An exchange calendar (XNYS, XLON ... from exchange_calendars): data checks count only its sessions, and
    # returns annualise over trading days.
    calendar: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9/_-]+$")
    venue: str | None = Field(
        default=None, min_length=1, description="the venue it trades on (default: the default account's venue)"
    )

    def to_instrument(self, default_quote: str = "USD") -> Instrument:
        """The engine's instrument for this entry (the one place settings become trading rules)."""
        from alphintra.engine.core.instrument import Instrument

        return Instrument.create(
            self.symbol,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            min_qty=self.min_qty,
            min_notional=self.min_notional,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            base=self.base,
            quote=self.quote,
            default_quote=default_quote,
            tags={tag: "1" for tag in self.tags},
            asset_class=self.asset_class,
        )


class EngineSettings(_Section):
    socket: Path | None = Field(
        default=None, description="Unix socket of the daemon (default: $ALPHINTRA_HOME/engine.sock)"
    )
    tcp: str | None = Field(default=None, description="HOST:PORT to listen on TCP (JWT required on every request)")
    jwt_secret: SecretStr | None = Field(default=None, description="HMAC secret for JWTs; generated on first use")
    journal_fsync: Literal["every", "group"] = Field(
        default="every",
        description="every: each batch of commands the engine runs together is written and fsync-ed before any of "
        "its callers is answered; group: the engine also waits up to group_commit_ms after a batch's first command "
        "for more to share the fsync (more throughput, more latency). Either way nothing is acknowledged before fsync",
    )
    group_commit_ms: int = Field(
        default=5, ge=1, le=1000, description="journal_fsync = group: how long a batch waits for more commands"
    )
    snapshot_every: int = Field(
        default=10_000, ge=100, description="journal records between snapshots; a restart replays only those after one"
    )
    order_retention: int = Field(
        default=1_000, ge=0, description="finished orders kept in the engine's memory (newest); older ones leave it"
    )
    order_retention_s: int = Field(
        default=3_600, ge=0, description="finished orders older than this (seconds) leave the engine's memory"
    )
    confirm_notional: Decimal = Field(default=Decimal("10000"), ge=0)

    @field_validator("tcp")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT with a port between 1 and 65535")
        return value


class ApiSettings(_Section):
    """Limits of the daemon's API (see docs/api.md "Limits"); a rate of 0 turns that limit off."""

    max_body_bytes: int = Field(default=1_048_576, ge=0, description="largest request body; 0: no cap")
    tcp_requests_per_second: float = Field(default=100.0, ge=0, description="requests per TCP peer address")
    tcp_request_burst: int = Field(default=200, ge=1)
    tcp_orders_per_second: float = Field(default=50.0, ge=0, description="orders per token user over TCP")
    tcp_order_burst: int = Field(default=100, ge=1)
    auth_failures_per_minute: float = Field(default=10.0, ge=0, description="failed authentications per TCP peer")
    auth_failure_burst: int = Field(default=20, ge=1)
    unix_requests_per_second: float = Field(default=0.0, ge=0, description="requests on the owner's unix socket")
    unix_orders_per_second: float = Field(default=0.0, ge=0, description="orders on the owner's unix socket")


class BacktestSettings(_Section):
    fee_rate: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1, description="fee per side as a fraction")
    slippage_bps: Decimal = Field(default=Decimal("0"), ge=0)
    fill_model: Literal["next_open", "close"] = "next_open"
    seed: int = 42


class PaperSettings(_Section):
    replay_speed: float = Field(default=60.0, gt=0, description="simulated seconds per wall-clock second")
    liquidity_levels: int = Field(default=10, ge=1, le=100)
    liquidity_spread_bps: Decimal = Field(default=Decimal("5"), gt=0)
    liquidity_level_notional: Decimal = Field(default=Decimal("5000"), gt=0)
    feed: Literal["generator", "none"] = Field(
        default="generator", description="paper market: a seeded random walk per symbol, or no feed (ticks via API)"
    )
    seed: int = 7


class ClusterSettings(_Section):
    """Where research sweeps run: a Dask scheduler's address, or local processes when unset (`--cluster` wins)."""

    address: str | None = Field(
        default=None, description="Dask scheduler tcp://HOST:PORT for optimize and --strategy-list runs"
    )
    connect_timeout: float = Field(default=10.0, gt=0, le=600, description="seconds to try to reach the scheduler")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from alphintra.config.cluster import cluster_address
        from alphintra.errors import ValidationError

        try:
            return cluster_address(value, field="cluster.address")
        except ValidationError as exc:
            raise ValueError(exc.rule) from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED,
        extra="forbid",
        validate_default=True,
    )

    home: Path = Field(default_factory=data_home, description="data home (ALPHINTRA_HOME)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite file in the home")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    base_currency: str = Field(default="USD", min_length=1)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)
    paper: PaperSettings = Field(default_factory=PaperSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    instruments: list[InstrumentSettings] = Field(default_factory=list)
    venues: dict[str, VenueSettings] = Field(
        default_factory=default_venues, description="venues: config.toml's and venues.toml's in the home"
    )
    accounts: dict[str, AccountSettings] = Field(
        default_factory=default_accounts, description="accounts; the first one is the default account"
    )

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError("must be a URL such as sqlite:///path.db or postgresql://user@host/db")
        return value

    @model_validator(mode="after")
    def _venues_and_accounts(self) -> Settings:
        # venue add's definitions join the configured ones here, so every reader of the settings sees one set
        self.venues = merge_venues(self.venues, self.paths.venues_file, config_origin=f"config file {config_file()}")
        check_accounts(self.accounts, self.venues, [(i.symbol, i.venue) for i in self.instruments])
        for item in self.instruments:  # a venue's default fees apply to its instruments that set none of their own
            venue = self.venues[self.instrument_venue(item)]
            for key in ("maker_fee", "taker_fee"):
                default = getattr(venue, key)
                if default is not None and key not in item.model_fields_set:
                    setattr(item, key, default)
        return self

    @property
    def paths(self) -> HomePaths:
        return HomePaths(self.home)

    @property
    def default_account(self) -> str:
        """The account of an order that names none, and of a backtest without ``--account``: the first listed."""
        return next(iter(self.accounts))

    def account(self, name: str | None = None) -> AccountSettings:
        """The configured account ``name`` (default: the default account); an unknown name is a usage error."""
        from alphintra.errors import ValidationError

        key = self.default_account if name is None else name
        if key not in self.accounts:
            raise ValidationError(
                "--account", f"names no configured account (configured: {', '.join(self.accounts)})", key
            )
        return self.accounts[key]

    def account_currency(self, name: str | None = None) -> str:
        return self.account(name).currency or self.base_currency

    def instrument_venue(self, item: InstrumentSettings) -> str:
        """The venue a configured instrument trades on (its own, else the default account's)."""
        return item.venue or self.account().venue

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.paths.state_db}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags (init kwargs) beat the environment, which beats the file.
        return (init_settings, env_settings, _TomlSource(settings_cls))


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.data = read_toml(config_file())

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None


def _describe(err: dict[str, Any], file_data: dict[str, Any]) -> ConfigError:
    loc = [str(p) for p in err.get("loc", ())]
    key = ".".join(loc) or "(root)"
    env_name = ENV_PREFIX + ENV_NESTED.join(p.upper() for p in loc if not p.isdigit())
    rule = str(err.get("msg", "invalid value"))
    if err.get("type") == "extra_forbidden":
        rule = moved_hint(key) or "unknown setting (check the spelling; `alphintra config init` writes a template)"
    value = err.get("input")
    origin = f"environment {env_name}" if env_name in os.environ else f"config file {config_file()}"
    if err.get("type") != "extra_forbidden" and not _in_file(file_data, loc) and env_name not in os.environ:
        origin = "command-line or default"
    shown = value if isinstance(value, str | int | float | Decimal | bool) else None
    return ConfigError(key, f"{rule} (from {origin})", shown, reason="invalid_setting")


def _in_file(data: Any, loc: list[str]) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False
    return True


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse an ``ALPHINTRA_*`` variable that names no setting (a typo would silently leave the default), and a
    config file named by ``--config`` / ``ALPHINTRA_CONFIG`` that does not exist."""
    env = os.environ if environ is None else environ
    for name in sorted(env):
        rest = name[len(ENV_PREFIX) :]
        if not name.startswith(ENV_PREFIX) or rest in OTHER_VARIABLES or VENUE_KEY_VARIABLE.match(rest):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split(ENV_NESTED)
        field = Settings.model_fields.get(parts[0])
        known = field is not None
        if known and len(parts) > 1:
            section = field.annotation if field is not None else None
            fields = getattr(section, "model_fields", None)
            known = isinstance(fields, dict) and len(parts) == 2 and parts[1] in fields
        if not known and parts[0] in ("venues", "accounts") and len(parts) == 3:
            item = VenueSettings if parts[0] == "venues" else AccountSettings
            known = parts[2] in item.model_fields  # ALPHINTRA_ACCOUNTS__MAIN__MODE
        if not known:
            raise ConfigError(
                name,
                moved_hint(".".join(parts))
                or "unknown setting in the environment (check the spelling; `alphintra config show` lists them)",
                reason="invalid_setting",
            )
    explicit = env.get("ALPHINTRA_CONFIG")
    if explicit and not Path(explicit).expanduser().exists():
        raise ConfigError("--config / ALPHINTRA_CONFIG", "names a file that does not exist", explicit)


def load_settings(**overrides: Any) -> Settings:
    """Build the effective settings, raising one ConfigError that names the first bad key."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    check_environment()
    try:
        return Settings(**clean)
    except PydanticValidationError as exc:
        errors = exc.errors()
        raise _describe(dict(errors[0]), read_toml(config_file())) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; the CLI root callback clears the cache after applying --home/--config."""
    return load_settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def settings_as_dict(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    secret = settings.engine.jwt_secret
    data["engine"]["jwt_secret"] = "********" if secret is not None else None
    data["effective_database_url"] = settings.effective_database_url
    data["config_file"] = str(config_file())
    return data


__all__ = [
    "AccountSettings",
    "BacktestSettings",
    "EngineSettings",
    "InstrumentSettings",
    "PaperSettings",
    "Settings",
    "VenueSettings",
    "get_settings",
    "load_settings",
    "reset_settings_cache",
    "settings_as_dict",
]
