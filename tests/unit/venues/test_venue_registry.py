"""venues.toml: definitions round-trip, names and exchanges are checked, URL overrides leave no real host."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from alphintra.errors import ConfigError, NotFoundError, ValidationError
from alphintra.venues.registry import ENV_PATTERN, VenueRegistry, build_definition, env_names


def _leaves(tree: object) -> list[str]:
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    return [tree] if isinstance(tree, str) else []


def test_definition_round_trips_and_points_every_endpoint_at_the_given_base(tmp_path: Path) -> None:
    d = build_definition("fakebin", "binance", url="http://127.0.0.1:8765/", rate_limit_ms=5)
    urls = _leaves(d.urls)
    assert urls and all(u.startswith(("http://127.0.0.1:8765/", "ws://127.0.0.1:8765/")) for u in urls)
    assert d.urls["api"]["public"] == d.urls["api"]["private"] == "http://127.0.0.1:8765/api/v3"
    assert d.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:8765/stream"
    assert d.urls["api"]["ws"]["ws-api"]["spot"] == "ws://127.0.0.1:8765/ws-api/v3"
    assert (d.maker_fee, d.taker_fee, d.rate_limit_ms) == (Decimal("0.001"), Decimal("0.001"), 5)
    assert d.options == {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
    reg = VenueRegistry(tmp_path)
    reg.add(d)
    assert VenueRegistry(tmp_path).load() == {"fakebin": d}
    config = d.ccxt_config("k", "s")
    assert config["enableRateLimit"] is True and config["options"]["adjustForTimeDifference"] is True
    with pytest.raises(ValidationError, match="NAME: is already used by a venue") as err:
        reg.add(d)
    assert err.value.exit_code == 2
    reg.remove("fakebin")
    assert reg.load() == {}
    with pytest.raises(NotFoundError, match="no venue named 'fakebin'"):
        reg.get("fakebin")


def test_urls_json_is_merged_over_the_rebased_urls() -> None:
    extra = {"api": {"public": "http://127.0.0.1:1/api/v3"}}
    d = build_definition("x", "binance", url="http://127.0.0.1:2", urls_json=json.dumps(extra))
    assert d.urls["api"]["public"] == "http://127.0.0.1:1/api/v3"
    assert d.urls["api"]["private"] == "http://127.0.0.1:2/api/v3"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name", "exchange": "binance"}, "NAME: must start with a lowercase letter"),
        ({"name": "ok", "exchange": "notanexchange"}, "--exchange: must be an exchange id known to ccxt"),
        ({"name": "ok", "exchange": "binance", "url": "ftp://x"}, "--url: must be a http or https URL with a host"),
        ({"name": "ok", "exchange": "binance", "urls_json": "[1]"}, "--urls: must be a JSON object"),
        ({"name": "ok", "exchange": "binance", "rate_limit_ms": -1}, "--rate-limit: must be between 0 and 60000"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_definition(**kwargs)  # type: ignore[arg-type]


def test_a_hand_edited_file_with_a_mistake_is_refused_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "venues.toml").write_text('[venues.x]\nexchange = "binance"\nmaker_fee = "2"\n')
    with pytest.raises(ConfigError, match=r"^venues.x.maker_fee: Input should be less than 1 \(from .*venues.toml\)"):
        VenueRegistry(tmp_path).load()
    (tmp_path / "venues.toml").write_text('[venues.x]\nexchange = "binance"\ncolour = 1\n')
    with pytest.raises(ConfigError, match=r"^venues.x.colour: unknown key \(from .*venues.toml\)"):
        VenueRegistry(tmp_path).load()


def test_environment_names_match_the_documented_pattern() -> None:
    assert env_names("fake-bin") == ("ALPHINTRA_VENUE_FAKE_BIN_API_KEY", "ALPHINTRA_VENUE_FAKE_BIN_API_SECRET")
    assert all(ENV_PATTERN.match(v) for v in env_names("fake-bin"))
    assert not ENV_PATTERN.match("ALPHINTRA_VENUE_X_API_PASSWORD")
