"""A recorded, read-only data set behind the ``DataSource`` interface: the same screens without a daemon.

Used for layout snapshots and screenshots (fixed data gives fixed pictures) and by ``alphintra tui --replay FILE``
to look at a recording. ``record`` captures one from a running daemon through the same REST answers the live
source loads. Commands that would change anything raise ``OperationFailed``: a recording cannot trade.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alphintra.errors import NotFoundError, OperationFailed, ValidationError
from alphintra.tui.models import BacktestDetail, BacktestRun, LogLine, Order
from alphintra.tui.source import API, Sink

# Dataset key -> update kind, in the order the live source loads them.
_SNAPSHOT_KINDS = (
    ("symbols", "symbols"),
    ("tickers", "tickers"),
    ("orders", "orders"),
    ("fills", "fills"),
    ("portfolio", "portfolio"),
    ("positions", "positions"),
    ("balances", "balances"),
    ("strategies", "strategies"),
    ("risk", "risk"),
    ("limits", "limits"),
    ("alerts", "alerts"),
)
READ_ONLY = "this is a recording (read-only); connect to an engine to trade"


class RecordedDataSource:
    def __init__(self, dataset: Mapping[str, Any]) -> None:
        missing = [key for key, _ in _SNAPSHOT_KINDS if key not in dataset]
        if missing:
            raise ValidationError("dataset", f"missing keys: {', '.join(missing)}")
        self.dataset = dataset
        self._sink: Sink | None = None

    @classmethod
    def load(cls, path: Path) -> RecordedDataSource:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise NotFoundError(f"no recording at {path}") from None
        except ValueError as exc:
            raise ValidationError("recording", f"must be JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValidationError("recording", "must be a JSON object")
        return cls(data)

    def _emit(self, kind: str, key: str, data: Any) -> None:
        if self._sink is not None:
            self._sink(kind, key, data)

    async def start(self, sink: Sink) -> None:
        from alphintra.tui.models import Connection

        self._sink = sink
        for key, kind in _SNAPSHOT_KINDS:
            self._emit(kind, "all", self.dataset[key])
        for symbol, book in (self.dataset.get("books") or {}).items():
            self._emit("book", symbol, book)
        for i, line in enumerate(self.dataset.get("log") or ()):
            self._emit("log", f"rec-{i}", LogLine(int(line["ts"]), str(line["level"]), str(line["text"])))
        self._emit("connection", "engine", Connection(True, "recording"))

    async def close(self) -> None:
        self._sink = None

    async def set_focus(self, symbol: str) -> None:
        return None

    async def load_candles(self, symbol: str, timeframe: str, limit: int = 200) -> None:
        rows = (self.dataset.get("ohlcv") or {}).get(symbol, {}).get(timeframe, [])
        self._emit("candles", f"{symbol}|{timeframe}", rows[-limit:])

    async def place_order(self, payload: dict[str, Any]) -> Order:
        raise OperationFailed(READ_ONLY)

    async def cancel_order(self, order_id: str) -> Order:
        raise OperationFailed(READ_ONLY)

    async def modify_order(self, order_id: str, changes: dict[str, str]) -> Order:
        raise OperationFailed(READ_ONLY)

    async def cancel_all(self, symbol: str | None = None) -> list[str]:
        raise OperationFailed(READ_ONLY)

    async def start_strategy(self, key: str) -> None:
        raise OperationFailed(READ_ONLY)

    async def stop_strategy(self, key: str) -> None:
        raise OperationFailed(READ_ONLY)

    async def update_strategy(self, key: str, params: dict[str, Any]) -> None:
        raise OperationFailed(READ_ONLY)

    async def halt(self, reason: str) -> None:
        raise OperationFailed(READ_ONLY)

    async def resume(self, reason: str) -> None:
        raise OperationFailed(READ_ONLY)

    async def ack_alert(self, alert_id: int) -> None:
        raise OperationFailed(READ_ONLY)

    async def backtests(self) -> list[BacktestRun]:
        return [BacktestRun.from_api(row) for row in self.dataset.get("backtests") or ()]

    async def backtest(self, run_id: str) -> BacktestDetail:
        details = self.dataset.get("backtest_details") or {}
        if run_id not in details:
            raise NotFoundError(f"no backtest run {run_id!r} in this recording")
        return BacktestDetail.from_api(details[run_id])


def record(client: Any, *, timeframes: tuple[str, ...] = ("1m",), candles: int = 120) -> dict[str, Any]:
    """A dataset from a running daemon (``EngineClient``): the live source's snapshot plus books and candles."""
    get = client.get
    symbols = get(f"{API}/market-data/symbols")
    data: dict[str, Any] = {
        "symbols": symbols,
        "tickers": get(f"{API}/market-data/ticker"),
        "orders": get(f"{API}/orders", params={"limit": 500}),
        "fills": get(f"{API}/trades", params={"limit": 200}),
        "portfolio": get(f"{API}/portfolio"),
        "positions": get(f"{API}/portfolio/positions"),
        "balances": get(f"{API}/portfolio/balances"),
        "strategies": get(f"{API}/strategies"),
        "risk": get(f"{API}/risk/metrics"),
        "limits": get(f"{API}/risk/limits"),
        "alerts": get(f"{API}/risk/alerts", params={"limit": 100}),
        "books": {},
        "ohlcv": {},
        "log": [],
    }
    for item in symbols:
        symbol = item["symbol"]
        data["books"][symbol] = get(f"{API}/market-data/orderbook", params={"symbol": symbol, "depth": 20})
        data["ohlcv"][symbol] = {}
        for tf in timeframes:
            try:
                bars = get(f"{API}/market-data/ohlcv", params={"symbol": symbol, "timeframe": tf, "limit": candles})
            except NotFoundError:  # no stored bars of this timeframe: the chart says so
                bars = []
            data["ohlcv"][symbol][tf] = bars
    try:
        runs = get(f"{API}/backtests", params={"limit": 100})
    except NotFoundError:
        runs = []
    data["backtests"] = runs
    data["backtest_details"] = {run["id"]: get(f"{API}/backtests/{run['id']}") for run in runs[:5]}
    return data


__all__ = ["READ_ONLY", "RecordedDataSource", "record"]
