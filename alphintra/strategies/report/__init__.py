"""Reports of a backtest run: Rich tables, plotext charts, an interactive HTML page, JSON, and the run record.

Every renderer takes an ``alphintra.strategies.result.BacktestResult`` and nothing else.
"""

from __future__ import annotations

from alphintra.strategies.report.charts import drawdown_chart, equity_chart, line_chart, price_chart
from alphintra.strategies.report.html import render_html
from alphintra.strategies.report.interactive import IndicatorRequest, parse_indicators, plot_page
from alphintra.strategies.report.jsonio import from_json, load_result, to_json
from alphintra.strategies.report.text import (
    header,
    metrics_table,
    render_text,
    results_table,
    summary,
    trades_table,
)
from alphintra.strategies.report.writer import (
    ReportFiles,
    execution_record,
    report_dir,
    text_report,
    write_report,
)

__all__ = [
    "IndicatorRequest",
    "ReportFiles",
    "drawdown_chart",
    "equity_chart",
    "execution_record",
    "from_json",
    "header",
    "line_chart",
    "load_result",
    "metrics_table",
    "parse_indicators",
    "plot_page",
    "price_chart",
    "render_html",
    "render_text",
    "report_dir",
    "results_table",
    "summary",
    "text_report",
    "to_json",
    "trades_table",
    "write_report",
]
