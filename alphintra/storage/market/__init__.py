"""Market data: a Parquet store with a DuckDB catalog, importers, validation, resampling and synthetic data.

Writers use :class:`MarketStore` (one process at a time); everything else reads with :class:`MarketData`, which
returns polars frames and takes no lock. Importing this package loads neither polars nor DuckDB.
"""

from .download import DownloadResult, OhlcvSource, download_ohlcv
from .importer import import_file, load_file
from .reader import DatasetInfo, LastPrice, MarketData, default_root
from .resample import resample_bars, trades_to_bars
from .samples import load_samples
from .schema import BOOK_COLUMNS, OHLCV_COLUMNS, TRADE_COLUMNS, DatasetKey, Kind, from_ns, to_ns
from .store import MarketStore, WriteResult
from .synthetic import generate_bars, generate_trades
from .timeframes import TIMEFRAMES, Timeframe, parse_timeframe
from .validate import Finding, ValidationReport, drop_duplicates, fill_gaps, validate_bars, validate_file

__all__ = [
    "BOOK_COLUMNS",
    "OHLCV_COLUMNS",
    "TIMEFRAMES",
    "TRADE_COLUMNS",
    "DatasetInfo",
    "DatasetKey",
    "DownloadResult",
    "Finding",
    "Kind",
    "LastPrice",
    "MarketData",
    "MarketStore",
    "OhlcvSource",
    "Timeframe",
    "ValidationReport",
    "WriteResult",
    "default_root",
    "download_ohlcv",
    "drop_duplicates",
    "fill_gaps",
    "from_ns",
    "generate_bars",
    "generate_trades",
    "import_file",
    "load_file",
    "load_samples",
    "parse_timeframe",
    "resample_bars",
    "to_ns",
    "trades_to_bars",
    "validate_bars",
    "validate_file",
]
