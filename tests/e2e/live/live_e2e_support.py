"""Live mode end to end: a real daemon process trading an account on the fake exchange (a real separate process)
through the real ccxt client, set up the way a user does it (`venue add` with the key pair on stdin, an
``[accounts.NAME]`` on that venue), and the checks that the account agrees with the exchange to the last unit."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine_e2e_support import Daemon, wait_for  # on the path through this directory's conftest

from alphintra.venues.fake.testing import FakeHandle

D = Decimal
PASSPHRASE = "a passphrase for the live tests"
VENUE = "fk"
ACCOUNT = "live"
FUNDS = {"USDT": "100000", "BTC": "1"}


@dataclass
class LiveHome:
    daemon: Daemon
    fake: FakeHandle
    api_key: str
    api_secret: str
    outputs: list[str] = field(default_factory=list)  # everything the CLI printed, checked for the secret

    def ok(self, *args: str) -> Any:
        done = self.daemon.cli(*args, "--json")
        self.outputs += [done.stdout, done.stderr]
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def assert_secret_nowhere(self) -> None:
        """The API secret is in no output, log, journal, database or other file of the home (the credentials file
        holds it encrypted only)."""
        secret = self.api_secret.encode()
        assert not [o for o in self.outputs if self.api_secret in o]
        files = [p for p in self.daemon.root.rglob("*") if p.is_file() and not p.is_socket()]
        assert any("journal" in str(p) for p in files)
        # state.db is in the home unless the trading state is in PostgreSQL (a scratch schema the test drops)
        assert any(p.name == "state.db" for p in files) == (self.daemon.database_url is None)
        leaked = [str(p) for p in files if secret in p.read_bytes()]
        assert leaked == []

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        with self.daemon.client() as c:
            return c.post(path, body) if method == "POST" else c.get(path)

    def order(self, order_id: str) -> dict[str, Any]:
        return self.daemon.order(order_id)

    def wait_status(self, order_id: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def reached() -> bool:
            found.update(self.order(order_id))
            return found["status"] in statuses

        wait_for(reached, f"{order_id} to be {statuses} (is {found.get('status')})", timeout)
        return found

    def trade_at(self, price: str, symbol: str = "BTC/USDT") -> None:
        """The market moves to ``price`` and someone else trades there (the daemon sees the trade on the public
        stream, as it sees any market move): the fake's mid moves, another account takes the best offer."""
        self.fake.admin("POST", "price", {"symbol": symbol, "price": price})
        other = self.fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": {"USDT": "1000000"}})
        import ccxt

        client = ccxt.binance(self.fake.ccxt_config(apiKey=other["api_key"], secret=other["api_secret"]))
        client.create_order(symbol, "market", "buy", 0.001)
        wait_for(
            lambda: self.last(symbol) is not None and abs(self.last(symbol) - D(price)) <= D(price) / 50,
            f"the daemon to see {symbol} trade near {price}",
        )

    def last(self, symbol: str = "BTC/USDT") -> Decimal | None:
        with self.daemon.client() as c:
            last = c.get("/api/v1/market-data/ticker", params={"symbol": symbol}).get("last")
        return None if last is None else D(last)

    def venue_balances(self) -> dict[str, Decimal]:
        raw = self.fake.admin("GET", f"balances?api_key={self.api_key}")
        totals = {a: D(v["free"]) + D(v["locked"]) for a, v in raw.items()}
        return {a: v for a, v in totals.items() if v}

    def balances(self) -> dict[str, Decimal]:
        rows = self.ok("portfolio", "balances", "--account", ACCOUNT)
        return {b["asset"]: D(b["total"]) for b in rows if D(b["total"])}

    def order_log(self) -> list[dict[str, Any]]:
        return list(self.fake.admin("GET", f"orders?api_key={self.api_key}")["orders"])

    def assert_agrees(self) -> None:
        """The account holds what the exchange holds, to the last unit after fees; one exchange order per client id."""
        wait_for(lambda: self.balances() == self.venue_balances(), "the account's balances to equal the exchange's")
        ids = [o["client_order_id"] for o in self.order_log()]
        assert len(ids) == len(set(ids)), ids


def live_home(
    daemon: Daemon, fake: FakeHandle, funds: dict[str, str] | None = None, *, record: bool = False
) -> LiveHome:
    """A data home with the venue added (`venue add`, key pair on stdin, encrypted with a passphrase; ``record``:
    the daemon records its trades as 1m bars) and one account on it; the fake account is a fresh funded key pair,
    so one fake serves every test of a module."""
    api_key = secrets.token_hex(16)
    acct = fake.admin("POST", "accounts", {"api_key": api_key, "funds": funds or FUNDS})
    env = daemon.env
    env["ALPHINTRA_PASSPHRASE"] = PASSPHRASE
    env.pop("ALPHINTRA_ACCOUNTS__MAIN__MODE", None)
    done = daemon.cli(
        "venue",
        "add",
        VENUE,
        "--exchange",
        "binance",
        "--urls",
        json.dumps(fake.urls),
        "--rate-limit",
        "5",
        "--secret-stdin",
        *(["--record"] if record else []),
        input=f"{acct['api_key']}\n{acct['api_secret']}\n",
    )
    assert done.returncode == 0, done.stderr
    config = daemon.root / "config.toml"  # after `venue add`: the account's venue must exist when it is read
    config.write_text(f'[venues.sim]\n[accounts.{ACCOUNT}]\nvenue = "{VENUE}"\n', encoding="utf-8")
    env["ALPHINTRA_CONFIG"] = str(config)
    return LiveHome(daemon, fake, acct["api_key"], acct["api_secret"])


__all__ = ["ACCOUNT", "FUNDS", "PASSPHRASE", "VENUE", "D", "LiveHome", "live_home", "wait_for"]
