"""The trading CLI against a real daemon process (paper venue, no random feed: prices move only by admin ticks).

Every order type is placed through `alphintra order ...`, filled or triggered on the simulated venue, cancelled
or modified; fills and balances are read back through `trades`/`portfolio` and reconciled to the last digit.
The daemon is shared by the module (starting one costs seconds); each test moves its own symbol's price first.
"""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_e2e_support import (
    Daemon,
    assert_books_balance,
    daemon_home,
    json_lines,
    register_groups,
    wait_for,
)

from alphintra.config.settings import reset_settings_cache
from tests.pg_support import BACKENDS

Run = Callable[..., Any]


@pytest.fixture(scope="module", params=BACKENDS)
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    """The module's daemon, once with its state in state.db and once in PostgreSQL (a scratch schema)."""
    with daemon_home(backend=request.param) as d:
        d.start()
        yield d


@pytest.fixture
def cli(daemon: Daemon, isolated_home: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`alphintra ...` in-process against the module's daemon; ``--json`` answers come back parsed."""
    register_groups()
    monkeypatch.setenv("ALPHINTRA_HOME", str(daemon.root))
    if daemon.database_url is not None:  # the CLI reads the state where the daemon writes it
        monkeypatch.setenv("ALPHINTRA_DATABASE_URL", daemon.database_url)
    reset_settings_cache()

    def run(*argv: str, code: int = 0) -> Any:
        result = run_cli(*argv)
        assert result.code == code, f"{argv}: exit {result.code}\n{result.out}\n{result.err}"
        return result.json() if "--json" in argv and code == 0 else result

    return run


def test_market_order_fills_at_the_ladder_and_shows_in_trades(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    order = cli("order", "buy", "BTC/USD", "0.01", "--json")
    # The paper ladder's best ask sits 5 bps above the price: 60000 x 1.0005.
    assert (order["status"], order["order_type"], order["average_price"]) == ("FILLED", "MARKET", "60030.00")
    assert Decimal(order["fees"]["USD"]) == Decimal("0.60030")
    shown = cli("order", "show", order["id"], "--json")
    assert shown["filled_quantity"] == "0.0100"
    fills = cli("trades", "list", "--order", order["id"], "--json")
    assert [(t["side"], t["quantity"], t["price"], t["trade_type"]) for t in fills] == [
        ("BUY", "0.0100", "60030.00", "TAKER")
    ]
    table = cli("order", "show", order["id"])
    assert "FILLED" in table.out and "60030.00" in table.out
    with daemon.client() as c:
        assert_books_balance(c)


def test_limit_order_rests_is_modified_then_fills_when_the_market_reaches_it(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    cli("order", "buy", "BTC/USD", "0.02", "--json")  # something to sell
    sell = cli("order", "sell", "BTC/USD", "0.01", "--limit", "61000", "--json")
    assert (sell["status"], sell["price"]) == ("ACCEPTED", "61000")
    modified = cli("order", "modify", sell["id"], "--price", "60500", "--json")
    wait_for(lambda: daemon.order(sell["id"])["price"] == "60500.00", "the modification to reach the venue")
    assert modified["id"] == sell["id"]
    listed = cli("order", "list", "--open", "--symbol", "BTC/USD", "--json")
    assert sell["id"] in [o["id"] for o in listed]
    daemon.tick("BTC/USD", "60600")  # the ladder's bids now cross 60500: the resting sell trades as maker
    done = wait_for(lambda: (o := daemon.order(sell["id"]))["status"] == "FILLED" and o, "the limit to fill")
    assert done["average_price"] == "60500.00"
    assert done["fees"] == {"USD": "0.605000000"}
    fill = cli("trades", "list", "--order", sell["id"], "--json")
    assert [(t["price"], t["trade_type"]) for t in fill] == [("60500.00", "MAKER")]
    with daemon.client() as c:
        assert_books_balance(c)


def test_stop_and_stop_limit_trigger_when_the_price_crosses(daemon: Daemon, cli: Run) -> None:
    daemon.tick("ETH/USD", "3000")
    stop = cli("order", "buy", "ETH/USD", "0.1", "--stop", "3050", "--json")
    stop_limit = cli("order", "buy", "ETH/USD", "0.1", "--stop", "3100", "--limit", "3200", "--json")
    assert (stop["order_type"], stop["status"], stop["stop_price"]) == ("STOP", "ACCEPTED", "3050")
    assert (stop_limit["order_type"], stop_limit["price"]) == ("STOP_LIMIT", "3200")
    daemon.tick("ETH/USD", "3060")
    first = wait_for(lambda: (o := daemon.order(stop["id"]))["status"] == "FILLED" and o, "the stop to fill")
    assert first["triggered_price"] == "3050"
    assert daemon.order(stop_limit["id"])["status"] == "ACCEPTED"  # 3100 not reached yet
    daemon.tick("ETH/USD", "3150")
    second = wait_for(lambda: (o := daemon.order(stop_limit["id"]))["status"] == "FILLED" and o, "stop-limit fill")
    assert Decimal(second["average_price"]) <= Decimal("3200")
    with daemon.client() as c:
        assert_books_balance(c)


def test_a_stop_the_market_already_reached_is_refused_unless_allowed(daemon: Daemon, cli: Run) -> None:
    daemon.tick("ETH/USD", "3000")
    refused = cli("order", "buy", "ETH/USD", "0.1", "--stop", "2950", code=2)
    assert " ".join(refused.err.split()).startswith(
        "error: stop_price: a buy stop at or below the last price 3000.00 would trigger at once"
        " (allow_immediate sends it anyway)"
    )
    assert refused.out == ""
    forced = cli("order", "buy", "ETH/USD", "0.1", "--stop", "2950", "--allow-immediate", "--json")
    assert forced["order_type"] == "STOP"
    daemon.tick("ETH/USD", "3001")  # the next price triggers it
    done = wait_for(lambda: (o := daemon.order(forced["id"]))["status"] == "FILLED" and o, "the forced stop")
    assert done["side"] == "BUY"
    with daemon.client() as c:
        assert_books_balance(c)


def test_trailing_stop_follows_the_high_and_sells_on_the_pullback(daemon: Daemon, cli: Run) -> None:
    cli("order", "buy", "ETH/USD", "0.2", "--json")
    daemon.tick("ETH/USD", "3000")  # the last price (the trail's reference) is 3000 again
    trail = cli("order", "sell", "ETH/USD", "0.2", "--trail", "1%", "--json")
    assert (trail["order_type"], trail["trailing_offset"], trail["trailing_offset_type"]) == (
        "TRAILING_STOP",
        "1",
        "PERCENT",
    )
    assert trail["stop_price"] == "2970.00"  # 1 % under 3000
    daemon.tick("ETH/USD", "3200")
    moved = wait_for(lambda: (o := daemon.order(trail["id"]))["stop_price"] == "3168.00" and o, "the stop to trail")
    assert moved["status"] == "ACCEPTED"
    daemon.tick("ETH/USD", "3180")  # a smaller pullback than 1 %: still working, stop unchanged
    assert daemon.order(trail["id"])["stop_price"] == "3168.00"
    daemon.tick("ETH/USD", "3100")
    done = wait_for(lambda: (o := daemon.order(trail["id"]))["status"] == "FILLED" and o, "the trailing stop")
    assert done["triggered_price"] == "3168.00"
    with daemon.client() as c:
        assert_books_balance(c)


def test_iceberg_shows_only_its_display_quantity_and_fills_in_full(daemon: Daemon, cli: Run) -> None:
    daemon.tick("GOOG", "800")
    ice = cli("order", "buy", "GOOG", "5", "--limit", "795", "--iceberg", "2", "--json")
    assert (ice["order_type"], ice["display_quantity"], ice["status"]) == ("ICEBERG", "2", "ACCEPTED")
    book = cli("market", "book", "GOOG", "--depth", "20", "--json")
    ours = [level for level in book["bids"] if level[0] == "795.00"]
    assert ours == [["795.00", "2", 1]]  # only the shown slice rests on the book
    daemon.tick("GOOG", "780")
    done = wait_for(lambda: (o := daemon.order(ice["id"]))["status"] == "FILLED" and o, "the iceberg to fill")
    fills = cli("trades", "list", "--order", ice["id"], "--json")[::-1]
    assert done["filled_quantity"] == "5" and sum(Decimal(t["quantity"]) for t in fills) == 5
    # The shown slice rests and trades at its price as maker; each refill is a fresh slice that may meet the
    # lower market at once (never above the limit).
    assert (fills[0]["price"], fills[0]["quantity"], fills[0]["trade_type"]) == ("795.00", "2", "MAKER")
    assert len(fills) >= 3 and all(Decimal(t["price"]) <= 795 and Decimal(t["quantity"]) <= 2 for t in fills)
    average = sum(Decimal(t["quantity"]) * Decimal(t["price"]) for t in fills) / 5
    assert Decimal(done["average_price"]) == average
    with daemon.client() as c:
        assert_books_balance(c)


def test_twap_and_vwap_work_the_order_in_slices(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    twap = cli("order", "buy", "BTC/USD", "0.004", "--twap", "2s", "--slices", "2", "--json")["algo"]
    vwap = cli("order", "buy", "BTC/USD", "0.003", "--vwap", "2s", "--slices", "3", "--json")["algo"]
    assert (twap["kind"], twap["slices_total"], twap["quantity"]) == ("TWAP", 2, "0.0040")
    assert (vwap["kind"], vwap["slices_total"]) == ("VWAP", 3)

    def filled(algo: dict[str, Any]) -> Decimal:
        fills = cli("trades", "list", "--symbol", "BTC/USD", "--limit", "500", "--json")
        children = {
            o["id"]
            for o in cli("order", "list", "--symbol", "BTC/USD", "--children", "--limit", "500", "--json")
            if o["parent_order_id"] == algo["algo_id"]
        }
        return sum((Decimal(t["quantity"]) for t in fills if t["order_id"] in children), Decimal(0))

    wait_for(lambda: filled(twap) == Decimal("0.004"), "the TWAP to finish", timeout=15)
    wait_for(lambda: filled(vwap) == Decimal("0.003"), "the VWAP to finish", timeout=15)
    with daemon.client() as c:
        assert_books_balance(c)


def test_time_in_force_gtd_expires_ioc_and_fok_do_not_rest(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    gtd = cli("order", "buy", "BTC/USD", "0.001", "--limit", "59000", "--expires", "+1s", "--json")
    assert (gtd["time_in_force"], gtd["status"]) == ("GTD", "ACCEPTED")
    ioc = cli("order", "buy", "BTC/USD", "0.001", "--limit", "59000", "--tif", "IOC", "--json")
    # Far more than the ten 5,000 USD ladder levels hold: fill-or-kill cannot fill it all, so nothing trades.
    # The venue refuses it: the order is shown (JSON on stdout) and the command fails with exit 1 (README).
    refused = cli("order", "buy", "BTC/USD", "1.5", "--limit", "61000", "--tif", "FOK", "--yes", "--json", code=1)
    fok = json.loads(refused.out)
    assert fok["status"] == "REJECTED"
    assert " ".join(refused.err.split()) == (
        f"error: order {fok['id']} rejected: FOK_NOT_FILLABLE {fok['status_message']}".rstrip()
    )
    ioc_done = wait_for(lambda: (o := daemon.order(ioc["id"]))["status"] == "CANCELED" and o, "the IOC to end")
    assert (ioc_done["filled_quantity"], ioc_done["status_message"]) == ("0", "IOC remainder")
    fok_done = wait_for(lambda: (o := daemon.order(fok["id"]))["status"] == "REJECTED" and o, "the FOK to end")
    assert (fok_done["filled_quantity"], fok_done["reject_reason"]) == ("0", "FOK_NOT_FILLABLE")
    done = wait_for(lambda: (o := daemon.order(gtd["id"]))["status"] == "EXPIRED" and o, "GTD expiry", timeout=10)
    assert done["filled_quantity"] == "0"
    balances = {b["asset"]: b for b in cli("portfolio", "balances", "--json")}
    assert Decimal(balances["USD"]["locked"]) == 0  # every lock of the three is released


def test_a_post_only_order_that_would_trade_is_refused_with_exit_1(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    refused = cli("order", "buy", "BTC/USD", "0.001", "--limit", "61000", "--post-only", code=1)
    assert refused.err.startswith("error: order O-") and "rejected: POST_ONLY_WOULD_TRADE" in refused.err


def test_bracket_takes_profit_and_cancels_its_stop_loss(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    entry = cli("order", "buy", "BTC/USD", "0.01", "--tp", "60800", "--sl", "59000", "--json")
    assert entry["status"] == "FILLED" and entry["contingency_type"] == "BRACKET"
    tp_id, sl_id = entry["linked_order_ids"]
    tp, sl = daemon.order(tp_id), daemon.order(sl_id)
    assert (tp["order_type"], tp["price"], tp["side"]) == ("LIMIT", "60800.00", "SELL")
    assert (sl["order_type"], sl["stop_price"], sl["status"]) == ("STOP", "59000.00", "ACCEPTED")
    daemon.tick("BTC/USD", "60900")
    wait_for(lambda: daemon.order(tp_id)["status"] == "FILLED", "the take-profit to fill")
    wait_for(lambda: daemon.order(sl_id)["status"] == "CANCELED", "the stop-loss to be cancelled")
    assert daemon.order(tp_id)["average_price"] == "60800.00"
    with daemon.client() as c:
        assert_books_balance(c)


def test_cancel_one_and_cancel_all_release_the_locks(daemon: Daemon, cli: Run) -> None:
    daemon.tick("BTC/USD", "60000")
    one = cli("order", "buy", "BTC/USD", "0.01", "--limit", "58000", "--json")
    two = cli("order", "buy", "BTC/USD", "0.01", "--limit", "57000", "--json")
    three = cli("order", "buy", "ETH/USD", "0.1", "--limit", "2500", "--json")
    balances = {b["asset"]: b for b in cli("portfolio", "balances", "--json")}
    # (0.01 x 58000 + 0.01 x 57000 + 0.1 x 2500) x 1.001: price plus the 0.1 % fee.
    assert Decimal(balances["USD"]["locked"]) == Decimal("1401.4")
    canceled = cli("order", "cancel", one["id"], "--json")
    assert canceled["status"] == "CANCELED"
    out = cli("order", "cancel", "--all", "--symbol", "BTC/USD", "--json")
    assert out["canceled"] == [two["id"]]
    assert daemon.order(three["id"])["status"] == "ACCEPTED"
    cli("order", "cancel", "--all", "--json")
    wait_for(lambda: daemon.order(three["id"])["status"] == "CANCELED", "cancel-all")
    balances = {b["asset"]: b for b in cli("portfolio", "balances", "--json")}
    assert Decimal(balances["USD"]["locked"]) == 0
    again = cli("order", "cancel", one["id"], code=1)
    assert f"order {one['id']} is CANCELED; only open orders can be canceled" in again.err
    missing = cli("order", "show", "O-99999999", code=1)
    assert "O-99999999" in missing.err


def test_large_orders_ask_for_confirmation(daemon: Daemon, cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    daemon.tick("BTC/USD", "60000")
    before = len(cli("order", "list", "--limit", "10000", "--json"))
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    refused = cli("order", "buy", "BTC/USD", "0.2", code=1)  # 0.2 x 60000 = 12,000 > 10,000
    assert "above the confirmation threshold 10,000" in refused.err
    assert len(cli("order", "list", "--limit", "10000", "--json")) == before
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    accepted = cli("order", "buy", "BTC/USD", "0.2", "--limit", "55000", "--json")
    assert accepted["status"] == "ACCEPTED"
    small = cli("order", "buy", "BTC/USD", "0.1", "--limit", "55000", "--json")  # 5,500: no question
    assert small["status"] == "ACCEPTED"
    cli("order", "cancel", "--all", "--json")


def test_bad_input_is_named_by_its_flag(cli: Run) -> None:
    assert "--iceberg: an iceberg needs --limit" in cli("order", "buy", "GOOG", "5", "--iceberg", "1", code=2).err
    assert "--sl: a bracket needs both --tp and --sl" in cli("order", "buy", "GOOG", "1", "--tp", "900", code=2).err
    assert "--twap: must be a duration" in cli("order", "buy", "GOOG", "1", "--twap", "soon", code=2).err
    assert "--tif: must be one of GTC, IOC, FOK, GTD" in cli("order", "buy", "GOOG", "1", "--tif", "DAY", code=2).err
    assert "QTY: must be greater than 0" in cli("order", "sell", "GOOG", "0", code=2).err
    refused = cli("order", "buy", "NOPE/USD", "1", "--limit", "1", "--yes", code=2)
    assert "NOPE/USD" in refused.err


def test_portfolio_trades_and_market_views_agree(daemon: Daemon, cli: Run) -> None:
    cli("order", "buy", "GOOG", "3", "--json")
    daemon.tick("GOOG", "800")  # marks and the ticker move to the tick, away from the buy's fill price
    summary = cli("trades", "summary", "--json")
    trades = cli("trades", "list", "--limit", "10000", "--json")
    assert summary["count"] == len(trades)
    assert {t["fee_asset"] for t in trades} == {"USD"} == set(summary["fees"])
    assert Decimal(summary["fees"]["USD"]) == sum(Decimal(t["fee"]) for t in trades)
    assert list(summary["notional"]) == ["USD"] and summary["by_symbol"]["GOOG"]["currency"] == "USD"
    assert Decimal(summary["notional"]["USD"]) == sum(Decimal(t["quantity"]) * Decimal(t["price"]) for t in trades)
    perf = cli("portfolio", "performance", "--json")
    assert perf["trades"] == len(trades) and perf["fees"] == summary["fees"]
    assert "USD" in cli("trades", "summary").out and "USD" in cli("portfolio", "performance").out
    portfolio = cli("portfolio", "--json")
    assert Decimal(perf["equity"]) == Decimal(portfolio["equity"])
    positions = {p["symbol"]: p for p in cli("portfolio", "positions", "--json")}
    assert positions["GOOG"]["mark"] == "800.00"
    ticker = cli("market", "ticker", "GOOG", "--json")
    assert (ticker["last"], ticker["bid"], ticker["ask"]) == ("800.00", "799.60", "800.40")
    bars = cli("market", "ohlcv", "GOOG", "--json")
    assert bars[-1]["close"] == "800.00"
    assert "GOOG" in cli("market", "ticker").out and "799.60" in cli("market", "book", "GOOG").out
    assert "cash" in cli("portfolio").out
    with daemon.client() as c:
        assert_books_balance(c)


def test_watch_streams_order_updates_and_ends_cleanly_on_ctrl_c(daemon: Daemon) -> None:
    watcher = daemon.spawn("watch", "orders", "--json", "--count", "3")
    assert watcher.stderr is not None
    assert "watching orders/updates" in watcher.stderr.readline()
    with daemon.client() as c:
        placed = c.post(
            "/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "1", "type": "LIMIT", "price": "700"}
        )
    out, _ = watcher.communicate(timeout=20)
    assert watcher.returncode == 0
    updates = json_lines(out)
    assert [(u["id"], u["status"]) for u in updates] == [
        (placed["id"], "NEW"),
        (placed["id"], "PENDING_SUBMIT"),
        (placed["id"], "ACCEPTED"),
    ]

    # stdout is a pipe here, not a terminal: a live table cannot redraw, so each update is one line of text.
    piped = daemon.spawn("watch", "trades", "--count", "1")
    assert piped.stderr is not None
    assert "watching trades/updates" in piped.stderr.readline()
    with daemon.client() as c:
        c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "1"})
        fill = c.get("/api/v1/trades", params={"limit": 1})[0]
    out, err = piped.communicate(timeout=20)
    assert piped.returncode == 0, err
    assert out.splitlines()[0].startswith(f"time={fill['timestamp'][:10]} ")
    assert f"id={fill['id']}  order_id={fill['order_id']}  symbol=GOOG  side=BUY  quantity=1" in out

    book = daemon.spawn("watch", "book", "BTC/USD", "-d", "1", "--count", "1")
    assert book.stderr is not None
    assert "watching market-data/orderbook/BTC/USD" in book.stderr.readline()
    daemon.tick("BTC/USD", "60000")
    out, err = book.communicate(timeout=20)
    assert book.returncode == 0, err
    # -d 1: one level a side (the paper ladder's best bid and ask sit 5 bps either side of 60000)
    assert out.strip().endswith("BTC/USD  bids 0.0833@59970.00  |  asks 0.0832@60030.00"), out

    live = daemon.spawn("watch", "trades")
    assert live.stderr is not None
    assert "watching trades/updates" in live.stderr.readline()
    live.send_signal(signal.SIGINT)
    out, err = live.communicate(timeout=20)
    assert live.returncode == 0, err
    with daemon.client() as c:
        c.post("/api/v1/orders/cancel-all", {})


def test_without_a_daemon_the_cli_says_how_to_start_one(run_cli: Run, isolated_home: Path) -> None:
    register_groups()
    result = run_cli("order", "list")
    assert result.code == 1
    assert "no engine is running" in result.err and "alphintra engine start" in result.err
    as_json = run_cli("portfolio", "--json")
    assert as_json.code == 1 and as_json.out == "" and "no engine is running" in as_json.err


def test_order_entry_websocket_answers_pipelined_orders_in_order(daemon: Daemon) -> None:
    from websockets.sync.client import unix_connect

    daemon.tick("GOOG", "800")
    limit = {"symbol": "GOOG", "side": "BUY", "quantity": "2", "type": "LIMIT", "price": "750"}
    market = {"symbol": "GOOG", "side": "BUY", "quantity": "1"}
    with unix_connect(str(daemon.socket), "ws://engine/api/v1/orders/entry") as ws:
        # Sent back to back, before any answer: answers come in the same order, each after it is durable.
        ws.send(json.dumps({"ref": "a", "order": limit}))
        ws.send(json.dumps({"ref": "b", "order": {**limit, "quantity": "-1"}}))
        ws.send("not json")
        ws.send(json.dumps({"ref": 7, "order": market}))
        ws.send(json.dumps({"ref": "c", "order": {**limit, "symbol": "NOPE"}}))
        answers = [json.loads(ws.recv(timeout=10)) for _ in range(5)]
    assert [a["ref"] for a in answers] == ["a", "b", None, 7, "c"]
    assert answers[0]["order"]["status"] == "ACCEPTED" and answers[0]["order"]["price"] == "750"
    assert answers[1]["error"] == {
        "error": "validation_error",
        "detail": 'quantity: must be a plain decimal string greater than zero, such as "12.5" (no sign, exponent '
        "or leading zeros; at most 20 digits before the point and 18 after)",
        "field": "quantity",
    }
    assert answers[2]["error"]["error"] == "bad_request"
    assert (answers[3]["order"]["status"], answers[3]["order"]["average_price"]) == ("FILLED", "800.40")
    assert answers[4]["error"]["field"] == "symbol" and "NOPE" in answers[4]["error"]["detail"]
    assert daemon.order(answers[0]["order"]["id"])["status"] == "ACCEPTED"
    with daemon.client() as c:
        c.post(f"/api/v1/orders/{answers[0]['order']['id']}/cancel")
        assert_books_balance(c)
