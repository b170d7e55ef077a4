"""Recording a live venue's trades as 1m bars: only complete minutes are written (not the first one seen, not the
open one), a quiet market's last minute closes after the grace, a late trade never changes a written bar, and
writing again (a restart, a retried write) never duplicates a bar in the store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from alphintra.daemon.trading.recorder import NS_PER_MINUTE, BarBuilder, BarRecorder, write_bars
from alphintra.engine.data import TradeTick
from alphintra.storage.market import MarketData
from alphintra.storage.market.schema import Kind

M = NS_PER_MINUTE
T0 = 1_800_000_000 * 1_000_000_000 // M * M  # a minute's start
S = 1_000_000_000


def tick(ts: int, price: str, qty: str = "0.5", symbol: str = "BTC/USDT") -> TradeTick:
    return TradeTick(symbol, ts, Decimal(price), Decimal(qty))


def test_only_complete_minutes_close() -> None:
    b = BarBuilder(grace_ns=5 * S)
    b.add("BTC/USDT", tick(T0 + 30 * S, "100"))  # the first minute seen: trades before it were missed
    b.add("BTC/USDT", tick(T0 + M + 1 * S, "101", "1"))
    b.add("BTC/USDT", tick(T0 + M + 2 * S, "99", "2"))
    b.add("BTC/USDT", tick(T0 + M + 3 * S, "100.5", "0.25"))
    b.close_due(T0 + 2 * M)  # within the grace: still open
    assert b.take() == []
    b.add("BTC/USDT", tick(T0 + 2 * M, "102"))  # a trade of the next minute closes it
    [(symbol, bar)] = b.take()
    assert symbol == "BTC/USDT" and bar.minute == T0 + M and not bar.partial
    assert (bar.open, bar.high, bar.low, bar.close) == (Decimal("101"), Decimal("101"), Decimal("99"), Decimal("100.5"))
    assert (bar.volume, bar.trades) == (Decimal("3.25"), 3)
    assert bar.quote_volume == Decimal("101") + Decimal("198") + Decimal("25.125")
    b.add("BTC/USDT", tick(T0 + M + 59 * S, "50"))  # late: its minute is closed
    assert b.late == 1
    b.close_due(T0 + 3 * M + 5 * S)  # a quiet market: the grace closes it
    [(_, last)] = b.take()
    assert last.minute == T0 + 2 * M and last.close == Decimal("102")
    b.add("BTC/USDT", tick(T0 + 5 * M, "103"))  # after quiet minutes: every trade since was seen, complete
    b.add("BTC/USDT", tick(T0 + 6 * M, "104"))
    assert [bar.minute for _, bar in b.take()] == [T0 + 5 * M]


def stored(root: Path) -> list[tuple[int, float, float]]:
    bars = MarketData(root).bars("BTC/USDT", "1m", exchange="fk")
    times = [t.timestamp() for t in bars["time"].to_list()]
    return [
        (int(t) * S, c, v) for t, c, v in zip(times, bars["close"].to_list(), bars["volume"].to_list(), strict=True)
    ]


def test_written_bars_are_never_duplicated(tmp_path: Path) -> None:
    now = [T0]
    first = BarRecorder("fk", tmp_path, clock=lambda: now[0])
    first.on_trades([tick(T0 + 10 * S, "100"), tick(T0 + M + 1, "101"), tick(T0 + 2 * M + 1, "102")])
    first.on_trades([TradeTick("BTC/USDT", T0 + 2 * M + 2, Decimal("1"), Decimal(0))])  # a ticker's price: no trade
    assert first.flush() == 1
    first.close()  # the open minute (T0 + 2M) is not written
    assert stored(tmp_path) == [(T0 + M, 101.0, 0.5)]
    # a restart within that minute: its first minute is partial (not written), the next ones are complete
    again = BarRecorder("fk", tmp_path, clock=lambda: now[0])
    again.on_trades([tick(T0 + 2 * M + 30 * S, "105"), tick(T0 + 3 * M + 1, "106", "2"), tick(T0 + 4 * M, "107")])
    closed = list(again.builder.closed)
    assert again.flush() == 1
    write_bars(tmp_path, "fk", closed)  # the same bar written again (a retried write)
    assert stored(tmp_path) == [(T0 + M, 101.0, 0.5), (T0 + 3 * M, 106.0, 2.0)]
    [dataset] = MarketData(tmp_path).datasets(Kind.OHLCV, symbol="BTC/USDT", exchange="fk", timeframe="1m")
    assert dataset.rows == 2
