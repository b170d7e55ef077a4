"""Named, versioned feature sets: what a model was trained on, and what serving must compute again.

A :class:`FeatureSet` is a name, a version and an ordered list of :class:`FeatureSpec`. Its
:attr:`~FeatureSet.fingerprint` hashes the definition (names, kinds, parameters, order): the registry stores it
with every model and refuses to serve a model whose feature set, as defined today, hashes differently.

Sets come from three places: the built-ins below, TOML files (``--features path.toml`` or
``$ALPHINTRA_HOME/models/featuresets/<name>.toml``) and Python (:func:`register_feature_set`). A TOML file::

    name = "mine"
    version = 2
    description = "returns and RSI"

    [[features]]
    name = "ret_1"
    kind = "ret"
    horizon = 1

    [[features]]
    name = "rsi"
    kind = "indicator"
    indicator = "rsi"
    transform = "pct"
    params = { period = 14 }
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.errors import UnknownNameError, ValidationError
from alphintra.ml.features import Bar, Incremental, finite, kind

if TYPE_CHECKING:
    import polars as pl

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        rest = {k: v for k, v in data.items() if k not in ("name", "kind")}
        return cls(str(data.get("name", "")), str(data.get("kind", "")), rest)


@dataclass(frozen=True, slots=True)
class FeatureSet:
    name: str
    version: int
    features: tuple[FeatureSpec, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValidationError("feature set name", "must be a letter, then letters, digits, _.- (max 64)", self.name)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValidationError("feature set version", "must be an integer >= 1", self.version)
        if not self.features:
            raise ValidationError("features", "a feature set needs at least one feature", self.name)
        seen: set[str] = set()
        for spec in self.features:
            if not _NAME.match(spec.name):
                raise ValidationError("feature name", "must be a letter then letters, digits, _ . -", spec.name)
            if spec.name in seen or spec.name in ("time", "label", "target"):
                raise ValidationError("feature name", "must be unique and not time/label/target", spec.name)
            seen.add(spec.name)
            kind(spec.kind)  # unknown kinds are refused when the set is declared, not when it is first used

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.features]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def other_symbols(self) -> list[str]:
        """Symbols besides the traded one whose bars the set reads (cross-asset features)."""
        found: list[str] = []
        for spec in self.features:
            for param in kind(spec.kind).symbol_params:
                symbol = str(spec.params.get(param, ""))
                if symbol and symbol not in found:
                    found.append(symbol)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "features": [spec.to_dict() for spec in self.features],
        }

    @property
    def fingerprint(self) -> str:
        definition = {"name": self.name, "version": self.version, "features": [s.to_dict() for s in self.features]}
        text = json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSet:
        unknown = set(data) - {"name", "version", "description", "features"}
        if unknown:
            raise ValidationError("feature set", "has unknown keys", sorted(unknown))
        features = data.get("features")
        if not isinstance(features, list):
            raise ValidationError("features", "must be a list of tables", type(features).__name__)
        return cls(
            name=str(data.get("name", "")),
            version=data.get("version"),  # type: ignore[arg-type]
            features=tuple(FeatureSpec.from_dict(f) for f in features),
            description=str(data.get("description", "")),
        )


# -- batch ---------------------------------------------------------------------------------------------------------


def compute_batch(
    feature_set: FeatureSet, bars: pl.DataFrame, others: Mapping[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """``time`` and one Float64 column per feature, one row per bar; null where a feature is not yet defined
    (warm-up) or not finite."""
    import polars as pl

    bars = bars.sort("time")
    others = {s: f.sort("time") for s, f in (others or {}).items()}
    columns = [bars["time"]]
    for spec in feature_set.features:
        series = kind(spec.kind).batch(bars, spec.params, others).cast(pl.Float64)
        if series.len() != bars.height:
            raise ValidationError(spec.name, f"gave {series.len()} values for {bars.height} bars", spec.kind)
        columns.append(series.fill_nan(None).alias(spec.name))
    frame = pl.DataFrame(columns)
    finite_only = [pl.when(pl.col(n).is_finite()).then(pl.col(n)).otherwise(None).alias(n) for n in feature_set.names]
    return frame.with_columns(finite_only)


# -- incremental ---------------------------------------------------------------------------------------------------


class FeatureEngine:
    """The serving form of a feature set: feed every bar (of the traded symbol and of any symbol the set reads);
    ``update`` returns the feature row of a traded-symbol bar, or ``None`` while any feature is undefined."""

    def __init__(self, feature_set: FeatureSet, symbol: str) -> None:
        self.feature_set = feature_set
        self.symbol = symbol
        self._features: list[Incremental] = [kind(s.kind).incremental(s.params) for s in feature_set.features]
        shared: dict[tuple[Any, ...], Any] = {}
        for feature in self._features:
            share = getattr(feature, "share", None)
            if share is not None:
                share(shared)
        others = set(feature_set.other_symbols)
        self._readers = {
            other: [f for f, s in zip(self._features, feature_set.features, strict=True) if _reads(s, other)]
            for other in others
        }
        self.last: list[float | None] = []

    def update(self, bar: Bar) -> list[float] | None:
        if bar.symbol != self.symbol:
            for feature in self._readers.get(bar.symbol, ()):
                feature.update(bar)
            return None
        values = [finite(f.update(bar)) for f in self._features]
        self.last = values
        if any(v is None for v in values):
            return None
        return values  # type: ignore[return-value]


def _reads(spec: FeatureSpec, symbol: str) -> bool:
    return any(spec.params.get(p) == symbol for p in kind(spec.kind).symbol_params)


def compute_incremental(
    feature_set: FeatureSet, bars: pl.DataFrame, others: Mapping[str, pl.DataFrame] | None = None
) -> list[list[float | None]]:
    """Every row of ``bars`` through :class:`FeatureEngine`, the other symbols' bars interleaved in time order
    (the other symbol's bar of an instant first, the hardest order for a leak). For tests and the checks."""
    from alphintra.strategies.base import BarData

    symbol = str(bars["symbol"][0]) if "symbol" in bars.columns and bars.height else "_"
    events: list[tuple[int, int, BarData]] = []
    for order, (name, frame) in enumerate([*(others or {}).items(), (symbol, bars)]):
        for row in frame.sort("time").iter_rows(named=True):
            ts = _ns(row["time"])
            bar = BarData(name, ts, row["open"], row["high"], row["low"], row["close"], row["volume"])
            events.append((ts, order if name != symbol else len(others or {}), bar))
    events.sort(key=lambda e: (e[0], e[1]))
    engine = FeatureEngine(feature_set, symbol)
    rows: list[list[float | None]] = []
    for _, _, bar in events:
        engine.update(bar)
        if bar.symbol == symbol:
            rows.append(list(engine.last))
    return rows


def _ns(value: Any) -> int:
    from alphintra.storage.market import to_ns

    return int(to_ns(value))


# -- the catalogue -------------------------------------------------------------------------------------------------


def _ind(name: str, indicator: str, transform: str = "raw", output: str | None = None, **params: Any) -> FeatureSpec:
    spec: dict[str, Any] = {"indicator": indicator, "transform": transform, "params": params}
    if output is not None:
        spec["output"] = output
    return FeatureSpec(name, "indicator", spec)


_CORE = FeatureSet(
    name="core",
    version=1,
    description="returns, every built-in indicator (scaled to be comparable across prices), volatility, "
    "volume z-score, time of day and day of week",
    features=(
        FeatureSpec("ret_1", "ret", {"horizon": 1}),
        FeatureSpec("ret_5", "ret", {"horizon": 5}),
        FeatureSpec("ret_20", "ret", {"horizon": 20}),
        FeatureSpec("range", "range"),
        FeatureSpec("vol_20", "vol", {"window": 20}),
        _ind("volume_z", "zscore", period=20, source="volume"),
        _ind("sma_rel", "sma", "rel", period=20),
        _ind("ema_rel", "ema", "rel", period=20),
        _ind("wma_rel", "wma", "rel", period=20),
        _ind("rsi", "rsi", "pct", period=14),
        _ind("macd_hist", "macd", "ratio", output="histogram"),
        _ind("bb_pct_b", "bollinger", output="percent_b"),
        _ind("bb_width", "bollinger", output="bandwidth"),
        _ind("zscore", "zscore", period=20),
        _ind("atr_pct", "atr", "ratio", period=14),
        _ind("adx", "adx", "pct", output="adx"),
        _ind("di_spread", "adx", "pct", output="plus_di"),
        _ind("stoch_k", "stochastic", "pct", output="slow_k"),
        _ind("vwap_rel", "vwap", "rel", window=20),
        _ind("donchian_rel", "donchian", "rel", output="middle", period=20),
        FeatureSpec("hour_sin", "time", {"field": "hour_sin"}),
        FeatureSpec("hour_cos", "time", {"field": "hour_cos"}),
        FeatureSpec("dow", "time", {"field": "dow"}),
    ),
)

_MINIMAL = FeatureSet(
    name="minimal",
    version=1,
    description="the features ml_lightgbm fits on: 1- and 5-bar returns, RSI, z-score, ATR, range, volume z-score",
    features=(
        FeatureSpec("ret_1", "ret", {"horizon": 1}),
        FeatureSpec("ret_5", "ret", {"horizon": 5}),
        _ind("rsi", "rsi", "pct", period=14),
        _ind("zscore", "zscore", period=20),
        _ind("atr_pct", "atr", "ratio", period=14),
        FeatureSpec("range", "range"),
        _ind("volume_z", "zscore", period=20, source="volume"),
    ),
)

# OBV is cumulative: its level depends on where the data starts, so it is only in a set of its own (it would read
# as drift on any later window).
_FULL = FeatureSet(
    name="full",
    version=1,
    description="core plus on-balance volume (a cumulative level) and the day of week as sine/cosine",
    features=(
        *_CORE.features,
        _ind("obv", "obv"),
        FeatureSpec("dow_sin", "time", {"field": "dow_sin"}),
        FeatureSpec("dow_cos", "time", {"field": "dow_cos"}),
    ),
)

_SETS: dict[str, FeatureSet] = {s.name: s for s in (_CORE, _MINIMAL, _FULL)}


def register_feature_set(feature_set: FeatureSet) -> FeatureSet:
    """Make a Python-declared set available by name (replaces one of the same name)."""
    _SETS[feature_set.name] = feature_set
    return feature_set


def load_toml(path: Path) -> FeatureSet:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("--features", f"cannot be read: {exc.strerror}", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("--features", f"is not valid TOML: {exc}", str(path)) from None
    return FeatureSet.from_dict(data)


def feature_set_folder() -> Path:
    from alphintra.config.paths import HomePaths

    return HomePaths().models / "featuresets"


def available() -> dict[str, FeatureSet]:
    found = dict(_SETS)
    folder = feature_set_folder()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                found.setdefault(path.stem, load_toml(path))
            except ValidationError:
                continue
    return found


def resolve(name_or_path: str) -> FeatureSet:
    """A built-in or registered set by name, a ``.toml`` file, or ``<home>/models/featuresets/<name>.toml``."""
    if name_or_path.endswith(".toml"):
        return load_toml(Path(name_or_path).expanduser())
    if name_or_path in _SETS:
        return _SETS[name_or_path]
    path = feature_set_folder() / f"{name_or_path}.toml"
    if path.is_file():
        return load_toml(path)
    known = ", ".join(sorted(available()))
    raise UnknownNameError(f"unknown feature set {name_or_path!r} (known: {known})")


__all__ = [
    "FeatureEngine",
    "FeatureSet",
    "FeatureSpec",
    "available",
    "compute_batch",
    "compute_incremental",
    "load_toml",
    "register_feature_set",
    "resolve",
]
