"""A LightGBM classifier of the next bar's direction, trained walk-forward on past bars only.

**Features** of bar ``t``, all from bars up to ``t``: the 1- and 5-bar returns, RSI(14) / 100, the z-score of
the close over 20 bars, ATR(14) as a fraction of the close, the bar's range as a fraction of the close, and the
z-score of the volume over 20 bars.

**Label** of bar ``t``: 1 if the close of bar ``t + 1`` is above the close of ``t``, else 0. It becomes known only
when bar ``t + 1`` closes, and only then does the row join the training set: at bar ``t`` the newest labelled row
is ``t - 1``, whose label used the close of ``t``. No row's label ever comes from after the bar that trains on it.

**Walk-forward training**: once ``min_train`` rows are labelled, a model is fitted on the last ``train_window`` of
them, and again every ``retrain_every`` bars. Every fit is recorded in :attr:`MlLightgbm.trainings` (which rows,
when), so the no-look-ahead rule can be checked. Fits are deterministic: fixed ``seed``, one thread, LightGBM's
``deterministic`` mode.

**Trading**: each bar the current model gives ``p``, the probability of an up bar. ``p > threshold`` goes long
``fraction`` of equity; ``p < 1 - threshold`` goes flat, or short with ``allow_short``; in between the position is
kept. Market orders at the close, filled at the next open.

With ``save_model`` the last model is written to ``$ALPHINTRA_HOME/models/<model_name>.txt`` (LightGBM's text
format) when the strategy stops. LightGBM is imported when the strategy starts, not when the registry loads.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from pydantic import Field

from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.indicators import ATR, RSI, ZScore
from alphintra.strategies.registry import register

FEATURES = ("ret_1", "ret_5", "rsi", "zscore", "atr_pct", "range_pct", "volume_z")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class MlLightgbmParams(StrategyParams):
    train_window: int = Field(500, ge=50, le=100_000, description="labelled bars each model is fitted on (rolling)")
    min_train: int = Field(200, ge=30, le=100_000, description="labelled bars needed before the first model")
    retrain_every: int = Field(50, ge=1, le=100_000, description="bars between refits")
    threshold: float = Field(0.55, gt=0.5, lt=1, description="trade when P(up) is above this (or below 1 - this)")
    allow_short: bool = Field(False, description="go short when P(up) < 1 - threshold (else flat)")
    fraction: Decimal = Field(Decimal(1), gt=0, le=1, description="fraction of equity to commit")
    num_trees: int = Field(50, ge=1, le=5000, description="boosting rounds")
    num_leaves: int = Field(15, ge=2, le=1024, description="leaves per tree")
    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage per boosting round")
    min_data_in_leaf: int = Field(20, ge=1, le=10_000, description="smallest number of rows in a leaf")
    seed: int = Field(7, ge=0, description="random seed of the fits")
    save_model: bool = Field(False, description="write the last model under $ALPHINTRA_HOME/models when stopping")
    model_name: str | None = Field(None, description="file name of the saved model (default: ml_lightgbm-<symbol>)")


@dataclass(frozen=True, slots=True)
class Training:
    """One fit: at bar ``at_bar`` on rows ``first_row .. last_row``, whose labels were known by ``label_known``."""

    at_bar: int
    at_ts: int
    first_row: int
    last_row: int
    label_known: int  # the bar whose close gave the newest label: last_row + 1
    rows: int
    positives: int


class TreeEnsemble:
    """A binary (or regression) LightGBM model compiled from its JSON dump, for one-row predictions.

    ``Booster.predict`` costs milliseconds per call, mostly set-up; a strategy asks for one row per bar, so the
    trees are walked here instead (tens of microseconds). Only numerical splits occur (the features are
    numbers); ``default_left`` sends a missing value (NaN, or zero when the split treats zero as missing) the
    default way, as LightGBM does.
    """

    def __init__(self, dump: dict[str, Any]) -> None:
        objective = str(dump.get("objective", ""))
        self.binary = objective.startswith("binary")
        if not self.binary and not objective.startswith("regression"):
            raise ValueError(f"not a binary or regression model: {objective!r}")
        match = re.search(r"sigmoid:([0-9.eE+-]+)", objective)
        self.sigmoid = float(match.group(1)) if match else 1.0
        self.trees = [self._compile(info["tree_structure"]) for info in dump["tree_info"]]

    @staticmethod
    def _compile(root: dict[str, Any]) -> list[tuple[Any, ...]]:
        # Flat node table: (feature, threshold, default_left, zero_missing, left, right) or (leaf value,).
        nodes: list[tuple[Any, ...]] = []

        def add(node: dict[str, Any]) -> int:
            index = len(nodes)
            if "leaf_value" in node:
                nodes.append((float(node["leaf_value"]),))
                return index
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"unsupported split {node.get('decision_type')!r}")
            nodes.append(())
            left = add(node["left_child"])
            right = add(node["right_child"])
            nodes[index] = (
                int(node["split_feature"]),
                float(node["threshold"]),
                bool(node.get("default_left", True)),
                node.get("missing_type") == "Zero",
                left,
                right,
            )
            return index

        add(root)
        return nodes

    def raw(self, row: list[float]) -> float:
        total = 0.0
        for nodes in self.trees:
            node = nodes[0]
            while len(node) > 1:
                feature, threshold, default_left, zero_missing, left, right = node
                value = row[feature]
                if math.isnan(value) or (zero_missing and value == 0.0):
                    node = nodes[left if default_left else right]
                else:
                    node = nodes[left if value <= threshold else right]
            total += node[0]
        return total

    def probability(self, row: list[float]) -> float:
        return 1.0 / (1.0 + math.exp(-self.sigmoid * self.raw(row)))

    def predict(self, row: list[float]) -> float:
        """What ``Booster.predict`` gives: the probability of a binary model, the raw score of a regression."""
        return self.probability(row) if self.binary else self.raw(row)


@register
class MlLightgbm(Strategy):
    name = "ml_lightgbm"
    description = "LightGBM next-bar direction classifier on indicator features, refitted walk-forward"
    Params = MlLightgbmParams

    @property
    def p(self) -> MlLightgbmParams:
        return cast(MlLightgbmParams, self.params)

    def on_start(self) -> None:
        import lightgbm  # heavy: only when a run actually starts

        self._lgb = lightgbm
        p = self.p
        if p.min_train > p.train_window:
            from alphintra.errors import ValidationError

            raise ValidationError("min_train", f"must not exceed train_window ({p.train_window})", p.min_train)
        self.rsi = RSI(14)
        self.zscore = ZScore(20)
        self.volume_z = ZScore(20)
        self.atr = ATR(14)
        self.closes: deque[float] = deque(maxlen=6)
        self.rows: deque[tuple[int, list[float]]] = deque(maxlen=p.train_window)  # (bar, features), labelled
        self.labels: deque[int] = deque(maxlen=p.train_window)
        self.pending: tuple[int, list[float]] | None = None  # the last bar's features, waiting for its label
        self.bar = -1
        self.model: TreeEnsemble | None = None
        self.booster: Any = None
        self.trained_at: int | None = None
        self.trainings: list[Training] = []
        self.predictions: list[tuple[int, float]] = []  # (bar, P(up))
        self.model_path: Path | None = None

    def features(self, bar: BarData) -> list[float] | None:
        """This bar's feature row (None while an indicator warms up or a value is not finite)."""
        self.closes.append(bar.close)
        rsi = self.rsi.update(bar.close)
        z = self.zscore.update(bar.close)
        vz = self.volume_z.update(bar.volume)
        atr = self.atr.update(bar.high, bar.low, bar.close)
        if rsi is None or z is None or vz is None or atr is None or len(self.closes) < 6 or bar.close <= 0:
            return None
        closes = self.closes
        row = [
            closes[-1] / closes[-2] - 1.0,
            closes[-1] / closes[0] - 1.0,
            rsi / 100.0,
            z,
            atr / bar.close,
            (bar.high - bar.low) / bar.close,
            vz,
        ]
        return row if all(math.isfinite(v) for v in row) else None

    def on_bar(self, bar: BarData) -> None:
        self.bar += 1
        if self.pending is not None:
            # The previous bar's label is this close against that one: known now, not before.
            self.rows.append(self.pending)
            self.labels.append(1 if bar.close > self.closes[-1] else 0)
            self.pending = None
        features = self.features(bar)
        if features is None:
            return
        self.pending = (self.bar, features)
        self._maybe_train(bar)
        if self.model is None:
            return
        prob = self.model.probability(features)
        self.predictions.append((self.bar, prob))
        p = self.p
        if prob > p.threshold:
            if self.position(bar.symbol) <= 0:
                self.signal("up", prob)
                self.target_percent(bar.symbol, p.fraction)
        elif prob < 1.0 - p.threshold:
            target = -p.fraction if p.allow_short else Decimal(0)
            held = self.position(bar.symbol)
            if (held > 0) or (held == 0 and target < 0):
                self.signal("down", prob)
                self.target_percent(bar.symbol, target)

    def _maybe_train(self, bar: BarData) -> None:
        p = self.p
        if len(self.rows) < p.min_train:
            return
        if self.trained_at is not None and self.bar - self.trained_at < p.retrain_every:
            return
        labels = list(self.labels)
        positives = sum(labels)
        if positives in (0, len(labels)):
            return  # one class only: nothing to learn yet
        import numpy as np

        lgb = self._lgb
        x = np.array([r for _, r in self.rows], dtype=np.float64)
        params = {
            "objective": "binary",
            "num_leaves": p.num_leaves,
            "learning_rate": p.learning_rate,
            "min_data_in_leaf": p.min_data_in_leaf,
            "seed": p.seed,
            "deterministic": True,
            "num_threads": 1,
            "force_col_wise": True,
            "verbose": -1,
        }
        booster = lgb.train(
            params, lgb.Dataset(x, label=np.array(labels), feature_name=list(FEATURES)), num_boost_round=p.num_trees
        )
        self.booster = booster
        self.model = TreeEnsemble(booster.dump_model())
        self.trained_at = self.bar
        first, last = self.rows[0][0], self.rows[-1][0]
        self.trainings.append(Training(self.bar, bar.ts, first, last, last + 1, len(labels), positives))
        self.signal("trained", len(labels), first_row=first, last_row=last)

    def on_stop(self) -> None:
        if not self.p.save_model or self.booster is None:
            return
        from alphintra.config.paths import HomePaths

        name = self.p.model_name or f"{self.name}-{self.symbols[0]}"
        folder = HomePaths().models
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_SAFE_NAME.sub('-', name).strip('.-') or self.name}.txt"
        self.booster.save_model(str(path))
        self.model_path = path


__all__ = ["FEATURES", "MlLightgbm", "MlLightgbmParams", "Training", "TreeEnsemble"]
