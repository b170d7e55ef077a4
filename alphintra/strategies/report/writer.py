"""Writing a run's reports under ``$ALPHINTRA_HOME/reports/<run-id>/``, and the run's database record.

Files are written to a temporary name and renamed into place, so a reader (the TUI, a browser refreshing the
HTML) never sees half a report, and a crash leaves the previous version intact. A run's directory is created
exclusively: a run never writes into another run's directory (should two runs carry the same id, the second gets
a ``-2``, ``-3`` ... suffix, and its reports and record say so).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.config.paths import HomePaths
from alphintra.errors import ValidationError
from alphintra.strategies.report._format import DEFINITIONS
from alphintra.strategies.report.charts import drawdown_chart, equity_chart
from alphintra.strategies.report.html import render_html
from alphintra.strategies.report.jsonio import to_json
from alphintra.strategies.report.text import render_text, summary
from alphintra.strategies.result import BacktestResult

if TYPE_CHECKING:
    import polars as pl

    from alphintra.strategies.report.interactive import IndicatorRequest

FORMATS = ("json", "html", "txt")
FILE_NAMES = {"json": "result.json", "html": "report.html", "txt": "summary.txt"}


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where the reports of one run went; a format not asked for is None. ``run_id`` is the id the reports were
    written under (the directory's name)."""

    directory: Path
    json: Path | None = None
    html: Path | None = None
    txt: Path | None = None

    @property
    def run_id(self) -> str:
        return self.directory.name

    def to_dict(self) -> dict[str, str | None]:
        return {
            "directory": str(self.directory),
            "json": None if self.json is None else str(self.json),
            "html": None if self.html is None else str(self.html),
            "txt": None if self.txt is None else str(self.txt),
        }


def report_dir(run_id: str, reports_dir: Path | None = None) -> Path:
    """``<reports_dir>/<run_id>``, ``reports_dir`` defaulting to ``HomePaths().reports``."""
    return (reports_dir if reports_dir is not None else HomePaths().reports) / run_id


def _write_atomic(path: Path, text: str) -> None:
    # A unique name opened with "x": the file's mode follows the umask (owner-only under the CLI and the daemon,
    # which keep the data home private) and a crash leaves no half-written report under the real name.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def definitions_text() -> str:
    """The definitions block of the text report."""
    return "Definitions\n" + "".join(f"  {label}: {meaning}\n" for label, meaning in DEFINITIONS)


def text_report(result: BacktestResult, *, width: int = 110) -> str:
    """The plain-text report: summary tables, then the equity and drawdown charts."""
    parts = [render_text(summary(result, trade_limit=None), width=width), definitions_text()]
    if result.equity:
        parts.append(equity_chart(result, width=width, height=20))
        parts.append(drawdown_chart(result, width=width, height=12))
    return "\n".join(parts) + "\n"


def write_report(
    result: BacktestResult,
    reports_dir: Path | None = None,
    *,
    formats: Iterable[str] = FORMATS,
    width: int = 110,
    bars: Mapping[str, pl.DataFrame] | None = None,
    indicators: Mapping[str, Sequence[IndicatorRequest]] | None = None,
) -> ReportFiles:
    """Write the chosen formats (``json``, ``html``, ``txt``) into ``<reports_dir>/<run_id>/``; ``bars`` and
    ``indicators`` give the HTML report its candles (see ``render_html``)."""
    chosen = list(dict.fromkeys(formats))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ValidationError("formats", f"must be some of {', '.join(FORMATS)}", ", ".join(unknown) or "none")
    directory, run_id = _claim_directory(result.run_id, reports_dir)
    if run_id != result.run_id:
        result = dataclasses.replace(result, run_id=run_id)
    written: dict[str, Path] = {}
    for fmt in chosen:
        path = directory / FILE_NAMES[fmt]
        if fmt == "json":
            content = to_json(result) + "\n"
        elif fmt == "html":
            content = render_html(result, bars, indicators)
        else:
            content = text_report(result, width=width)
        _write_atomic(path, content)
        written[fmt] = path
    return ReportFiles(directory, written.get("json"), written.get("html"), written.get("txt"))


_MAX_CLAIMS = 1000


def _claim_directory(run_id: str, reports_dir: Path | None) -> tuple[Path, str]:
    """A new, empty directory for ``run_id`` (or ``run_id-2``, ``-3`` ... when taken): mkdir without exist_ok is
    atomic, so two processes never share one."""
    base = report_dir(run_id, reports_dir)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, _MAX_CLAIMS + 1):
        name = run_id if n == 1 else f"{run_id}-{n}"
        directory = base.with_name(name)
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        return directory, name
    raise ValidationError("run_id", f"has {_MAX_CLAIMS} report directories already; choose another id", run_id)


def _moment(ts_ns: int | None) -> datetime | None:
    if ts_ns is None:
        return None
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC).replace(microsecond=ts_ns // 1000 % 1_000_000)


def execution_record(
    result: BacktestResult, *, files: ReportFiles | None = None, status: str = "COMPLETED"
) -> dict[str, Any]:
    """The run as a row of the plan's ``strategy_executions`` table (without ``strategy_id``, which the store
    assigns): execution type, status, config (what was run) and results (the metrics and where the reports are).
    """
    encoded = result.to_dict()
    config = {
        "run_id": result.run_id if files is None else files.run_id,
        "strategy": result.strategy,
        "params": encoded["params"],
        "symbols": list(result.symbols),
        "timeframe": result.timeframe,
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
    }
    results: dict[str, Any] = {
        "metrics": result.metrics.to_dict(),
        "halts": encoded["halts"],
        "notes": list(result.notes),
    }
    if files is not None:
        results["reports"] = files.to_dict()
    return {
        "execution_type": result.mode,
        "status": status,
        "config": config,
        "results": results,
        "started_at": _moment(result.started_at_ns),
        "completed_at": _moment(result.completed_at_ns),
    }


__all__ = [
    "FILE_NAMES",
    "FORMATS",
    "ReportFiles",
    "execution_record",
    "report_dir",
    "text_report",
    "write_report",
]
