"""The venues of a data home: ``$ALPHINTRA_HOME/venues.toml``, one ``[venues.NAME]`` table per venue.

This is the one loading API for venue definitions (the CLI writes them, the daemon reads them); the key pairs live
apart, encrypted, in :mod:`alphintra.venues.credentials`. A definition holds no secret, so it can be listed and
read without unlocking anything.

    [venues.fakebin]
    kind = "ccxt"
    exchange = "binance"
    urls = { api = { public = "http://127.0.0.1:8765/api/v3", ... } }   # deep-merged over ccxt's own urls
    sandbox = false
    rate_limit_ms = 50
    options = { fetchMarkets = { types = ["spot"] }, fetchCurrencies = false, fetchMargins = false }
    maker_fee = "0.001"
    taker_fee = "0.001"

Changes are made under a lock (``locks/venues.lock``) and written atomically; when a venue is added its key pair
is stored before its definition (and removed after it), so a crash never leaves a listed venue without keys.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from alphintra.config.paths import HomePaths
from alphintra.config.venues import VenueSettings, check_venue, read_venues_file
from alphintra.errors import ConfigError, NotFoundError, OperationFailed, ValidationError
from alphintra.venues.credentials import atomic_write_private

if TYPE_CHECKING:
    from alphintra.config.settings import Settings

FILE_NAME = "venues.toml"
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
ENV_PREFIX = "ALPHINTRA_VENUE_"
# ccxt.pro binance tells its public spot streams by "/stream" in the URL (on the real exchange the host name
# stream.binance.com carries it); on a bare host:port base the path has to
WS_PATHS: dict[str, dict[str, str]] = {"binance": {"spot": "/stream", "margin": "/stream"}}
# what the CLI's check of unknown ALPHINTRA_* variables must accept
ENV_PATTERN = re.compile(r"^ALPHINTRA_VENUE_[A-Z0-9_]+_API_(KEY|SECRET)$")
# spot only: load_markets then calls exchangeInfo alone (no margin, futures or currency endpoints)
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
}


@dataclass(frozen=True, slots=True)
class VenueDefinition:
    name: str
    exchange: str
    kind: str = "ccxt"
    urls: dict[str, Any] = field(default_factory=dict)
    sandbox: bool = False
    rate_limit_ms: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    credentials: str | None = None  # the key pair's name in the credentials file (default: the venue's name)
    record: bool = False  # the daemon records 1m bars of its public trades into the market store

    @property
    def credentials_name(self) -> str:
        return self.credentials or self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "exchange": self.exchange,
            "urls": self.urls,
            "sandbox": self.sandbox,
            "rate_limit_ms": self.rate_limit_ms,
            "options": self.options,
            "maker_fee": None if self.maker_fee is None else str(self.maker_fee),
            "taker_fee": None if self.taker_fee is None else str(self.taker_fee),
            "credentials": self.credentials,
            "record": self.record,
        }

    def ccxt_config(self, api_key: str | None = None, api_secret: str | None = None) -> dict[str, Any]:
        """The constructor config of this venue's ccxt client (rate limiter on, clock offset kept)."""
        options = {"adjustForTimeDifference": True, **self.options}
        config: dict[str, Any] = {"enableRateLimit": True, "options": options}
        if self.urls:
            config["urls"] = self.urls
        if self.rate_limit_ms is not None:
            config["rateLimit"] = self.rate_limit_ms
        if api_key is not None:
            config["apiKey"] = api_key
            config["secret"] = api_secret
        return config


def validate_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValidationError(
            "NAME", "must start with a lowercase letter and hold only a-z, 0-9, '-' and '_' (at most 32)", name
        )
    return name


def env_names(name: str) -> tuple[str, str]:
    """The environment variables ``venue add --from-env`` reads for ``name``: (key, secret)."""
    stem = ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())
    return f"{stem}_API_KEY", f"{stem}_API_SECRET"


def check_exchange(exchange: str) -> str:
    import ccxt

    if exchange not in ccxt.exchanges:
        raise ValidationError(
            "--exchange",
            "must be an exchange id known to ccxt (see `python -c 'import ccxt; print(ccxt.exchanges)'`)",
            exchange,
        )
    return exchange


def _check_url(value: str, option: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValidationError(option, f"must be a {' or '.join(schemes)} URL with a host", value)
    if parts.query or parts.fragment:
        raise ValidationError(option, "must not carry a query or fragment", value)
    return value.rstrip("/")


def rebase_urls(defaults: Any, rest: str | None, ws: str | None) -> Any:
    """ccxt's ``urls['api']`` with every http(s) URL moved onto ``rest`` and every ws(s) URL onto ``ws``.

    Each URL keeps its path, so one base serves every endpoint family the exchange uses and none of them is
    left pointing at the real exchange.
    """
    if isinstance(defaults, dict):
        return {k: rebase_urls(v, rest, ws) for k, v in defaults.items()}
    if isinstance(defaults, str):
        parts = urlsplit(defaults)
        base = rest if parts.scheme in ("http", "https") else ws if parts.scheme in ("ws", "wss") else None
        if base is None:
            return defaults
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    return defaults


def build_definition(
    name: str,
    exchange: str,
    *,
    url: str | None = None,
    ws_url: str | None = None,
    urls_json: str | None = None,
    sandbox: bool = False,
    rate_limit_ms: int | None = None,
    record: bool = False,
) -> VenueDefinition:
    """A checked definition: known exchange, well-formed URLs, ccxt's default rate limit and fees."""
    import ccxt

    validate_name(name)
    check_exchange(exchange)
    client = getattr(ccxt, exchange)()
    urls: dict[str, Any] = {}
    rest = None if url is None else _check_url(url, "--url", ("http", "https"))
    ws = None if ws_url is None else _check_url(ws_url, "--ws-url", ("ws", "wss"))
    if rest is not None and ws is None:
        ws = ("wss" if rest.startswith("https") else "ws") + rest[rest.index(":") :]
    if rest is not None or ws is not None:
        urls["api"] = rebase_urls(_with_streams(exchange).urls.get("api", {}), rest, ws)
        if ws is not None:
            urls["api"] = _deep_merge(urls["api"], {"ws": {k: ws + p for k, p in WS_PATHS.get(exchange, {}).items()}})
    if urls_json is not None:
        try:
            extra = json.loads(urls_json)
            if not isinstance(extra, dict):
                raise ValueError
        except ValueError:
            raise ValidationError("--urls", "must be a JSON object, e.g. the `urls` the fake exchange prints") from None
        urls = _deep_merge(urls, extra)
    if sandbox and not isinstance(client.urls.get("test"), dict | str):
        raise ValidationError("--sandbox", f"{exchange} has no sandbox (test) environment in ccxt")
    if rate_limit_ms is not None and not 0 <= rate_limit_ms <= 60_000:
        raise ValidationError("--rate-limit", "must be between 0 and 60000 ms", rate_limit_ms)
    trading = client.fees.get("trading", {}) if isinstance(client.fees, dict) else {}

    def fee(value: Any) -> Decimal | None:
        return None if value is None else Decimal(repr(value))

    return VenueDefinition(
        name=name,
        exchange=exchange,
        urls=urls,
        sandbox=sandbox,
        rate_limit_ms=int(client.rateLimit) if rate_limit_ms is None else rate_limit_ms,
        options=json.loads(json.dumps(DEFAULT_OPTIONS.get(exchange, {}))),
        maker_fee=fee(trading.get("maker")),
        taker_fee=fee(trading.get("taker")),
        record=record,
    )


def _with_streams(exchange: str) -> Any:
    """ccxt.pro's client when it has one: its urls hold the stream endpoints, which must be moved as well."""
    import ccxt

    try:
        import ccxt.pro as pro

        cls = getattr(pro, exchange, None)
    except ImportError:  # pragma: no cover - ccxt ships ccxt.pro
        cls = None
    return (cls or getattr(ccxt, exchange))()


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# ---- venues.toml --------------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    # JSON's string escapes are valid in TOML basic strings; keys are always quoted the same way
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _dumps(venues: Mapping[str, VenueDefinition]) -> str:
    lines = ["# Alphintra venues (written by `alphintra venue add`; secrets live encrypted in `credentials`)", ""]
    for name in sorted(venues):
        lines.append(f"[venues.{json.dumps(name)}]")
        for key, value in venues[name].to_dict().items():
            if key != "name" and value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def from_settings(name: str, venue: VenueSettings) -> VenueDefinition:
    """The ccxt-facing definition of a configured ccxt venue (config.toml's or venues.toml's)."""
    if venue.kind != "ccxt" or venue.exchange is None:
        raise ValidationError("NAME", f"is a {venue.kind} venue, not an exchange reached through ccxt", name)
    return VenueDefinition(
        name=name,
        exchange=venue.exchange,
        urls=dict(venue.urls),
        sandbox=venue.sandbox,
        rate_limit_ms=venue.rate_limit_ms,
        options=dict(venue.options),
        maker_fee=venue.maker_fee,
        taker_fee=venue.taker_fee,
        credentials=venue.credentials,
        record=venue.record,
    )


def configured_venue(settings: Settings, name: str) -> VenueDefinition:
    """The ccxt venue ``name`` of the settings (config.toml's ``[venues]`` or this home's venues.toml)."""
    venue = settings.venues.get(name)
    if venue is None:
        known = ", ".join(sorted(settings.venues)) or "none"
        raise NotFoundError(f"no venue named {name!r} (configured: {known}; add one with `alphintra venue add`)")
    return from_settings(name, venue)


class VenueRegistry:
    """The venues of one data home (the CLI adds and removes, the daemon loads)."""

    def __init__(self, home: Path | None = None) -> None:
        self.paths = HomePaths(home)
        self.path = self.paths.venues_file

    def load(self) -> dict[str, VenueDefinition]:
        """The venues ``venue add`` recorded in this home (checked by the settings' own venue schema)."""
        venues = read_venues_file(self.path)
        for name, venue in venues.items():
            check_venue(name, venue, str(self.path))
            if venue.kind != "ccxt":
                raise ConfigError(
                    f"venues.{name}.kind",
                    f"{self.path} holds the exchanges `venue add` recorded; define a {venue.kind} venue in config.toml",
                )
        return {name: from_settings(name, venue) for name, venue in venues.items()}

    def get(self, name: str) -> VenueDefinition:
        venues = self.load()
        if name not in venues:
            known = ", ".join(sorted(venues)) or "none yet: add one with `alphintra venue add`"
            raise NotFoundError(f"no venue named {name!r} (known: {known})")
        return venues[name]

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise changes to venues.toml and credentials between processes."""
        self.paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.paths.locks.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.paths.locks / "venues.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self, venues: Mapping[str, VenueDefinition]) -> None:
        try:
            atomic_write_private(self.path, _dumps(venues).encode("utf-8"))
        except OSError as exc:
            raise OperationFailed(f"cannot write {self.path}: {exc.strerror}; nothing was changed") from None

    def add(self, definition: VenueDefinition) -> None:
        venues = self.load()
        if definition.name in venues:
            raise ValidationError(
                "NAME",
                f"is already used by a venue: choose another name or `alphintra venue remove {definition.name}` first",
                definition.name,
            )
        venues[definition.name] = definition
        self.save(venues)

    def remove(self, name: str) -> None:
        venues = self.load()
        if name not in venues:
            raise NotFoundError(f"no venue named {name!r}")
        del venues[name]
        self.save(venues)


__all__ = [
    "DEFAULT_OPTIONS",
    "ENV_PATTERN",
    "VenueDefinition",
    "VenueRegistry",
    "build_definition",
    "check_exchange",
    "configured_venue",
    "env_names",
    "from_settings",
    "rebase_urls",
    "validate_name",
]
