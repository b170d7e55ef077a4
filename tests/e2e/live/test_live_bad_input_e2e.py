"""Bad input in live mode gets one clear message naming the thing and the rule, exit 2 (usage) or 1 (the operation
failed; a daemon that cannot start says why and exits 1), and leaves nothing half-done: an exchange the daemon
cannot trade stops its start before anything is journaled or opened, and the same home starts cleanly once the
cause is fixed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from engine_e2e_support import Daemon, daemon_home
from live_e2e_support import ACCOUNT, VENUE, LiveHome, live_home

from alphintra.venues.fake.testing import FakeHandle, running_fake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


def _venues_file(d: Daemon) -> str:
    return (d.root / "venues.toml").read_text(encoding="utf-8")


def _refused_start(d: Daemon) -> tuple[int, str]:
    done = d.cli("engine", "start", "--wait", "60")
    assert "Traceback" not in done.stderr + done.stdout
    return done.returncode, " ".join(done.stderr.split())  # one message, however the terminal wrapped it


def _nothing_journaled(d: Daemon) -> None:
    journal = d.root / "journal"
    assert not journal.exists() or not any(p.stat().st_size for p in journal.rglob("*") if p.is_file())


def _with_venue(live: LiveHome, old: str, new: str) -> None:
    path = live.daemon.root / "venues.toml"
    path.write_text(_venues_file(live.daemon).replace(old, new), encoding="utf-8")


def test_an_unknown_exchange_id_is_refused_by_venue_add(fake: FakeHandle) -> None:
    with daemon_home() as d:
        done = d.cli("venue", "add", "x", "--exchange", "nosuchexchange", "--secret-stdin", input="k\ns\n")
        assert done.returncode == 2
        assert "--exchange: must be an exchange id known to ccxt" in done.stderr
        assert not (d.root / "venues.toml").exists() and not (d.root / "credentials").exists()


def test_bad_credentials_and_an_unreachable_url_stop_the_start_with_one_message(fake: FakeHandle) -> None:
    with daemon_home() as d:
        live = live_home(d, fake)
        # a key pair the exchange does not know
        live.fake.admin("POST", "accounts", {"api_key": "other", "funds": {}})
        store_key = live.api_key
        _with_venue(live, 'exchange = "binance"', 'exchange = "binance"\ncredentials = "nobody"')
        code, message = _refused_start(d)
        assert code == 1 and "no credentials stored for venue 'nobody'" in message, message
        _with_venue(live, 'exchange = "binance"\ncredentials = "nobody"', 'exchange = "binance"')
        # the stored secret does not match: the exchange refuses the signature (a second pair, "wrong", with the
        # right key and a wrong secret, named by the venue's credentials)
        added = d.cli(
            "venue", "add", "wrong", "--exchange", "binance", "--urls", json.dumps(fake.urls), "--secret-stdin",
            input=f"{store_key}\n{'0' * 64}\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        _with_venue(live, 'exchange = "binance"', 'exchange = "binance"\ncredentials = "wrong"')
        code, message = _refused_start(d)
        assert code == 1, message
        assert f"credentials of venue '{VENUE}': were refused by" in message and "(exchange code -1022)" in message
        assert live.api_secret not in message and "0" * 64 not in message
        _nothing_journaled(d)
        _with_venue(live, 'exchange = "binance"\ncredentials = "wrong"', 'exchange = "binance"')
        # an address nothing listens on
        port = fake.rest_url.split(":")[2].split("/")[0]
        _with_venue(live, f"127.0.0.1:{port}", "127.0.0.1:9")
        code, message = _refused_start(d)
        assert code == 1 and f"venue '{VENUE}': cannot reach http://127.0.0.1:9" in message, message
        _nothing_journaled(d)
        # fixed: the same home starts and trades live
        _with_venue(live, "127.0.0.1:9", f"127.0.0.1:{port}")
        d.start()
        assert live.ok("engine", "status")["host"]["venues"][VENUE]["connection"] == "connected"


@pytest.mark.both_backends
def test_an_unlisted_symbol_a_quantity_below_the_minimum_and_a_risk_limit(fake: FakeHandle) -> None:
    with daemon_home() as d:
        live = live_home(d, fake)
        config = d.root / "config.toml"
        good = config.read_text(encoding="utf-8")
        config.write_text(
            good + f'[[instruments]]\nsymbol = "DOGE/USDT"\ntick_size = "0.0001"\nlot_size = "1"\nvenue = "{VENUE}"\n',
            encoding="utf-8",
        )
        code, message = _refused_start(d)
        assert code == 1 and f"symbol: is not listed by venue '{VENUE}'" in message and "DOGE/USDT" in message
        _nothing_journaled(d)
        config.write_text(good, encoding="utf-8")
        fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
        d.start()
        done = d.cli("order", "buy", "BTC/USDT", "0.000001", "--limit", "29000", "--account", ACCOUNT, "--yes")
        assert done.returncode == 2 and "quantity" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        # risk limits apply to a live account as to a paper one, before anything is sent
        live.ok("risk", "limits", "set", "max_order_notional", "1000", "--account", ACCOUNT, "--reason", "test")
        big = d.cli("order", "buy", "BTC/USDT", "0.1", "--limit", "29000", "--account", ACCOUNT, "--yes", "--json")
        assert big.returncode != 0 and "max_order_notional" in big.stdout + big.stderr, big.stdout + big.stderr
        assert live.order_log() == []  # nothing reached the exchange
        assert all(o["status"] == "REJECTED" for o in live.ok("order", "list"))
