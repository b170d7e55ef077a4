"""A daemon trading BTC/USDT on two fake exchanges at once (real processes, set up the way a user does it): the
symbol is listed once per venue (``BTC/USDT@a``, ``BTC/USDT@b``); `market book --venues a,b` shows the merge of the
two venues' books; `order buy --venue` and `order buy --route split` trade on the right venues' accounts, at what a
hand computation says, and the per-venue balances equal each exchange's."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from engine_e2e_support import Daemon, daemon_home, wait_for

from alphintra.engine.book_merge import VenueBook, consolidate
from alphintra.venues.fake.testing import FakeHandle, running_fake

D = Decimal
BTC = "BTC/USDT"
PASSPHRASE = "a passphrase for the routing tests"
ASKS = {
    "a": [["30000", "0.3"], ["30010", "0.5"], ["30100", "5"]],
    "b": [["29995", "0.4"], ["30020", "0.5"], ["30200", "5"]],
}
BIDS = {"a": [["29990", "1"], ["29980", "2"]], "b": [["29985", "1"], ["29970", "2"]]}
FEES = {"a": D("0.001"), "b": D("0.002")}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeHandle]]:
    with running_fake(walk_ms=0) as a, running_fake("--taker-fee", "0.002", walk_ms=0, seed=2) as b:
        yield {"a": a, "b": b}


def ok(d: Daemon, *args: str) -> Any:
    done = d.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def venue_balances(fake: FakeHandle, api_key: str) -> dict[str, Decimal]:
    raw = fake.admin("GET", f"balances?api_key={api_key}")
    return {a: D(v["free"]) + D(v["locked"]) for a, v in raw.items() if D(v["free"]) + D(v["locked"])}


def balances(d: Daemon, account: str) -> dict[str, Decimal]:
    return {b["asset"]: D(b["total"]) for b in ok(d, "portfolio", "balances", "--account", account) if D(b["total"])}


@pytest.fixture(scope="module")  # the first test only reads: one daemon (a minute to set up) serves both
def home(fakes: dict[str, FakeHandle]) -> Iterator[tuple[Daemon, dict[str, str]]]:
    with daemon_home() as d:
        d.env["ALPHINTRA_PASSPHRASE"] = PASSPHRASE
        d.env.pop("ALPHINTRA_ACCOUNTS__MAIN__MODE", None)
        keys: dict[str, str] = {}
        config = "[venues.sim]\n"
        for name, fake in fakes.items():
            fake.admin("POST", "book", {"symbol": BTC, "bids": BIDS[name], "asks": ASKS[name]})
            acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": {"USDT": "100000"}})
            keys[name] = acct["api_key"]
            done = d.cli(
                "venue", "add", name, "--exchange", "binance", "--urls", json.dumps(fake.urls), "--rate-limit", "5",
                "--secret-stdin", input=f"{acct['api_key']}\n{acct['api_secret']}\n",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            config += f'[accounts.acct_{name}]\nvenue = "{name}"\n'
        (d.root / "config.toml").write_text(config, encoding="utf-8")
        d.env["ALPHINTRA_CONFIG"] = str(d.root / "config.toml")
        d.start()
        yield d, keys


def fake_book(fake: FakeHandle) -> dict[str, list[tuple[Decimal, Decimal, int]]]:
    with urllib.request.urlopen(f"{fake.rest_url}/depth?symbol=BTCUSDT&limit=100", timeout=10) as resp:
        raw = json.loads(resp.read())
    return {side: [(D(p), D(q), 1) for p, q in raw[side]] for side in ("bids", "asks")}


def test_the_consolidated_book_is_the_merge_of_the_two_venues_books(
    home: tuple[Daemon, dict[str, str]], fakes: dict[str, FakeHandle]
) -> None:
    d, _ = home
    symbols = {s["symbol"] for s in ok(d, "market", "symbols")}
    assert {"BTC/USDT@a", "BTC/USDT@b", "ETH/USDT@a", "ETH/USDT@b"} <= symbols
    books = [VenueBook.of(v, f"{BTC}@{v}", FEES[v], fake_book(fake)) for v, fake in fakes.items()]
    expected = consolidate(BTC, books).to_dict(10)
    shown: dict[str, Any] = {}

    def agrees() -> bool:
        shown.update(ok(d, "market", "book", BTC, "--venues", "a,b", "--depth", "10"))
        return {k: v for k, v in shown.items() if k != "ts"} == expected

    wait_for(agrees, f"the consolidated book to equal the merge of the fakes' books (shown {shown})")
    assert [(lvl["venue"], lvl["all_in"]) for lvl in shown["asks"][:3]] == [
        ("a", "30030"),
        ("a", "30040.01"),
        ("b", "30054.99"),
    ]
    assert shown["mid"] == "29992.5"
    table = d.cli("market", "book", BTC, "--venues", "a,b")
    assert table.returncode == 0 and "consolidated book (mid 29992.5; taker fees a 0.001, b 0.002)" in table.stdout


def test_orders_pick_their_venue_and_a_split_route_costs_what_the_hand_computation_says(
    home: tuple[Daemon, dict[str, str]], fakes: dict[str, FakeHandle]
) -> None:
    d, keys = home
    ambiguous = d.cli("order", "buy", BTC, "0.01", "--yes", "--json")
    assert ambiguous.returncode == 2 and "--venue" in ambiguous.stderr and "Traceback" not in ambiguous.stderr
    wait_for(lambda: ok(d, "market", "book", BTC, "--venues", "a,b")["asks"], "the books to reach the daemon")
    on_b = ok(d, "order", "buy", BTC, "0.1", "--venue", "b", "--yes")
    assert (on_b["symbol"], on_b["account"], on_b["venue"]) == ("BTC/USDT@b", "acct_b", "b")
    wait_for(lambda: d.order(on_b["id"])["status"] == "FILLED", "the order on b to fill")
    fakes["b"].admin("POST", "book", {"symbol": BTC, "bids": BIDS["b"], "asks": ASKS["b"]})  # b's depth back
    wait_for(lambda: ok(d, "market", "book", BTC, "--venues", "b")["asks"][0]["quantity"] == "0.4", "b's book restored")
    report = ok(d, "order", "buy", BTC, "1", "--route", "split", "--venues", "a,b")
    assert report["status"] == "FILLED", report
    assert {c["venue"]: c["filled"] for c in report["children"]} == {"a": "0.8", "b": "0.2"}
    assert (D(report["all_in"]), D(report["best_single_venue"]["all_in"])) == (D("30040.003"), D("30055.025"))
    assert D(report["saved_vs_best_single"]) == D("15.022")
    shown = ok(d, "order", "routed", report["route_id"])
    assert shown["route_id"] == report["route_id"] and shown["all_in"] == report["all_in"]
    for name, key in keys.items():
        wait_for(
            lambda name=name, key=key: balances(d, f"acct_{name}") == venue_balances(fakes[name], key),  # type: ignore[misc]
            f"acct_{name}'s balances to equal exchange {name}'s",
        )
    by_venue = ok(d, "portfolio", "--by-venue")
    per_venue = {v["venue"]: {b["asset"]: D(b["total"]) for b in v["balances"]} for v in by_venue["venues"]}
    assert {v["venue"]: v["accounts"] for v in by_venue["venues"]} == {"a": ["acct_a"], "b": ["acct_b"]}
    for name, key in keys.items():
        assert per_venue[name] == venue_balances(fakes[name], key)
    totals = {b["asset"]: D(b["total"]) for b in by_venue["total"]}
    assert totals == {a: per_venue["a"].get(a, D(0)) + per_venue["b"].get(a, D(0)) for a in ("BTC", "USDT")}
