"""Seeded synthetic market data for demos, tests and scale work, generated with whole-array numpy operations.

The bars are not a plain random walk, so that strategies, risk checks and charts meet the features of real data:

* **regime switches** — a market-wide two-state volatility regime (calm / turbulent) and a bull / bear drift
  regime, each a Markov chain with a small switching probability per bar;
* **volatility clustering** — log-volatility follows a persistent AR(1) process (an exponentially weighted sum
  of shocks, computed by polars' ``ewm_mean``), shared in part across symbols;
* **intraday seasonality** — volume (and, more gently, volatility) peaks around the European and US session
  opens and dips at night and at weekends, for bars shorter than a day;
* **correlation** — returns load on one common market factor (loadings 0.35–0.8), so symbols move together.

The same seed gives the same frame, bit for bit, on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from alphintra.errors import ValidationError

from .schema import TimeLike, check_exchange, check_symbol, to_ns
from .timeframes import NS_PER_DAY, NS_PER_HOUR, Timeframe, parse_timeframe

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

_YEAR_NS = 365.25 * NS_PER_DAY
DEFAULT_START = "2024-01-01"


def symbol_names(count: int) -> list[str]:
    """``SYN00``, ``SYN01``, … for callers that only want N symbols."""
    return [f"SYN{i:02d}" if count <= 100 else f"SYN{i:04d}" for i in range(count)]


def _times(tf: Timeframe, start_ns: int, periods: int) -> np.ndarray:
    import numpy as np
    import polars as pl

    from .schema import from_ns

    first = tf.floor_ns(start_ns)
    if tf.months:
        begin = from_ns(first)
        index = begin.year * 12 + begin.month - 1 + periods * tf.months
        end = begin.replace(year=index // 12, month=index % 12 + 1)
        stamps = pl.datetime_range(begin, end, interval=tf.polars_every, closed="left", eager=True, time_unit="ns")
        return stamps.to_physical().to_numpy().astype(np.int64)
    return first + np.arange(periods, dtype=np.int64) * tf.nanos


def _ewm(shocks: np.ndarray, alpha: float) -> np.ndarray:
    """AR(1) ``y_t = (1 - alpha) y_{t-1} + alpha x_t`` along axis 1, scaled to unit variance."""
    import numpy as np
    import polars as pl

    # Start the recursion at y_0 = alpha * x_0 (the stationary scale), not at x_0: an ewm_mean seeded with the
    # full first shock makes the first stretch of every series about 1/sqrt(alpha) times too volatile.
    seeded = shocks.copy()
    seeded[:, 0] = shocks[:, 0] * alpha
    frame = pl.DataFrame({str(i): seeded[i] for i in range(seeded.shape[0])})
    smoothed = frame.select(pl.all().ewm_mean(alpha=alpha, adjust=False)).to_numpy().T
    return np.asarray(smoothed / np.sqrt(alpha / (2 - alpha)), dtype=np.float64)


def _markov(rng: np.random.Generator, periods: int, p_switch: float) -> np.ndarray:
    """A symmetric two-state chain: the state flips with probability ``p_switch`` each step."""
    import numpy as np

    flips = rng.random(periods) < p_switch
    return (np.cumsum(flips) % 2).astype(np.int8)


def _seasonality(times: np.ndarray, tf: Timeframe) -> np.ndarray:
    import numpy as np

    if tf.months or tf.nanos >= NS_PER_DAY:
        return np.ones(len(times))
    hour = (times % NS_PER_DAY) / NS_PER_HOUR
    europe = 0.45 * np.exp(-(((hour - 8.5) / 1.8) ** 2))
    us = 0.9 * np.exp(-(((hour - 14.5) / 2.2) ** 2))
    weekday = ((times // NS_PER_DAY) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weekend = np.where(weekday >= 5, 0.55, 1.0)
    return (0.55 + europe + us) * weekend


def generate_bars(
    symbols: Sequence[str] | int = 3,
    *,
    periods: int = 1_000,
    timeframe: str | Timeframe = "1m",
    start: TimeLike = DEFAULT_START,
    seed: int = 0,
    exchange: str = "SYNTH",
    start_price: float = 100.0,
    annual_vol: float = 0.5,
    tick: float = 0.01,
) -> pl.DataFrame:
    """OHLCV bars for every symbol (rows grouped by symbol, each in time order), in the store's schema."""
    import numpy as np
    import polars as pl

    names = symbol_names(symbols) if isinstance(symbols, int) else [check_symbol(s) for s in symbols]
    exchange = check_exchange(exchange)
    if not names:
        raise ValidationError("symbols", "must name at least one symbol", symbols)
    if periods < 1:
        raise ValidationError("periods", "must be at least 1", periods)
    if start_price <= 0 or tick <= 0 or annual_vol <= 0:
        raise ValidationError("start_price/tick/annual_vol", "must be positive", (start_price, tick, annual_vol))
    tf = parse_timeframe(timeframe)
    n = periods
    # One stream for the market and one per symbol: symbol i's bars do not depend on how many symbols follow it.
    market_seed, *symbol_seeds = np.random.SeedSequence(seed).spawn(len(names) + 1)
    rng = np.random.default_rng(market_seed)
    times = _times(tf, to_ns(start, "start"), n)
    dt = tf.approx_nanos / _YEAR_NS

    vol_regime = np.where(_markov(rng, n, 0.002), 1.9, 0.75)
    drift_regime = np.where(_markov(rng, n, 0.001), -0.35, 0.35)
    alpha = 0.02
    shared_vol = 0.35 * _ewm(rng.standard_normal((1, n)), alpha)[0]
    market = rng.standard_normal(n)
    season = _seasonality(times, tf)
    common_sigma = vol_regime * np.sqrt(season) * np.exp(shared_vol - 0.5 * (0.35**2 + 0.25**2))
    frames = []
    # Per symbol, not one (symbols x periods) block: arrays of one series stay small enough for the allocator
    # to reuse memory instead of mapping fresh pages for every temporary, which is several times faster.
    for name, child in zip(names, symbol_seeds, strict=True):
        r = np.random.default_rng(child)
        sigma = (
            annual_vol * r.uniform(0.7, 1.3) * common_sigma * np.exp(0.25 * _ewm(r.standard_normal((1, n)), alpha)[0])
        )
        loading = r.uniform(0.35, 0.8)
        z = loading * market + np.sqrt(1 - loading**2) * r.standard_normal(n)
        step = sigma * np.sqrt(dt)
        log_ret = (drift_regime - 0.5 * sigma**2) * dt + step * z
        first = start_price * r.uniform(0.5, 2.0)
        close = first * np.exp(np.cumsum(log_ret))
        open_ = np.empty_like(close)
        open_[0], open_[1:] = first, close[:-1]
        reach = step * 0.6
        high = np.maximum(open_, close) * np.exp(np.abs(r.standard_normal(n)) * reach)
        low = np.minimum(open_, close) * np.exp(-np.abs(r.standard_normal(n)) * reach)
        # Rounding to the tick is monotonic, so high >= max(open, close) and low <= min(open, close) survive it.
        open_, high, low, close = (np.maximum(np.round(a / tick), 1) * tick for a in (open_, high, low, close))
        activity = season * (1 + 2.5 * np.abs(z)) * np.exp(0.4 * r.standard_normal(n))
        volume = np.round(1_000.0 * (tf.approx_nanos / 60e9) ** 0.9 * activity, 4)
        trade_size = r.uniform(1.5, 4.0)  # average print size differs per symbol
        frames.append(
            pl.DataFrame(
                {
                    "time": pl.Series(times).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"),
                    "symbol": pl.repeat(name, n, dtype=pl.String, eager=True),
                    "exchange": pl.repeat(exchange, n, dtype=pl.String, eager=True),
                    "timeframe": pl.repeat(tf.name, n, dtype=pl.String, eager=True),
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume,
                    "quote_volume": volume * (open_ + high + low + close) / 4,
                    "trades_count": np.maximum(np.rint(volume / trade_size), 1).astype(np.int64),
                }
            )
        )
    return pl.concat(frames, rechunk=False)


def generate_trades(
    symbol: str = "SYN00",
    *,
    count: int = 10_000,
    start: TimeLike = DEFAULT_START,
    seed: int = 0,
    exchange: str = "SYNTH",
    start_price: float = 100.0,
    mean_interval_ms: float = 250.0,
    annual_vol: float = 0.5,
    tick: float = 0.01,
) -> pl.DataFrame:
    """Trade prints: Poisson arrivals, clustered volatility, lognormal sizes, sides following the price moves."""
    import numpy as np
    import polars as pl

    symbol, exchange = check_symbol(symbol), check_exchange(exchange)
    if count < 1:
        raise ValidationError("count", "must be at least 1", count)
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(mean_interval_ms * 1e6, size=count).astype(np.int64) + 1
    times = to_ns(start, "start") + np.cumsum(gaps)
    dt = gaps / _YEAR_NS
    vol = annual_vol * np.exp(0.5 * _ewm(rng.standard_normal((1, count)), 0.01)[0] - 0.125)
    steps = vol * np.sqrt(dt) * rng.standard_normal(count)
    price = np.maximum(np.round(start_price * np.exp(np.cumsum(steps)) / tick), 1) * tick
    moved = np.sign(np.diff(price, prepend=price[0]))
    coin = np.where(rng.random(count) < 0.5, 1.0, -1.0)
    side = np.where(moved != 0, moved, coin) > 0
    quantity = np.round(rng.lognormal(mean=-1.0, sigma=1.0, size=count), 6) + 1e-6
    return pl.DataFrame(
        {
            "time": pl.Series(times).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"),
            "symbol": pl.repeat(symbol, count, dtype=pl.String, eager=True),
            "exchange": pl.repeat(exchange, count, dtype=pl.String, eager=True),
            "price": price,
            "quantity": quantity,
            "side": pl.Series(np.where(side, "buy", "sell"), dtype=pl.String),
            "trade_id": pl.int_range(1, count + 1, eager=True).cast(pl.String),
        }
    )


__all__ = ["generate_bars", "generate_trades", "symbol_names"]
