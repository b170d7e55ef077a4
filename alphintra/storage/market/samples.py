"""Loading the sample data shipped inside the package (``alphintra.storage.sample``) into a store."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from alphintra.storage.sample import SAMPLES, SampleFile

from .importer import import_file

if TYPE_CHECKING:
    from .store import MarketStore, WriteResult


def sample_path(sample: SampleFile) -> Path:
    """The file on disk (package data is installed as plain files, never zipped: see pyproject's package-data)."""
    return Path(str(resources.files("alphintra.storage.sample").joinpath(sample.file)))


def load_samples(store: MarketStore, *, progress: Callable[[int], None] | None = None) -> list[WriteResult]:
    """Import every sample file; loading twice changes nothing (imports are idempotent)."""
    results: list[WriteResult] = []
    for sample in SAMPLES:
        with resources.as_file(resources.files("alphintra.storage.sample").joinpath(sample.file)) as path:
            results += import_file(
                store,
                path,
                symbol=sample.symbol,
                exchange=sample.exchange,
                timeframe=sample.timeframe,
                snap=sample.snap,
                progress=progress,
            )
    return results


__all__ = ["SAMPLES", "load_samples", "sample_path"]
