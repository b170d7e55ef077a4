"""Shared pieces of every command module: output in Rich or JSON, common options, progress bars.

Heavy libraries are never imported here: shell completion re-runs the program on every Tab.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from alphintra.formatting import amount, iso_dt, money, plain

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


class OutputState:
    """Process-wide verbosity, set once by the root callback."""

    verbose: int = 0
    quiet: bool = False


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return plain(obj)  # str() would write "0E-9"
    if isinstance(obj, datetime):
        return iso_dt(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


_NUMERIC_TEXT = re.compile(r"^-?[\d,]+(\.\d+)?( %)?$")
_EXPONENT = re.compile(r"^-?\d+(\.\d+)?[eE][+-]?\d+$")


def _no_exponent(data: Any) -> Any:
    """Decimal text that a lower layer wrote with ``str(Decimal)`` (``"0E-8"``) rewritten plain (``"0"``)."""
    if isinstance(data, str):
        return plain(Decimal(data)) if _EXPONENT.match(data) else data
    if isinstance(data, Mapping):
        return {k: _no_exponent(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_no_exponent(v) for v in data]
    return data


def to_json(data: Any) -> str:
    """Decimals become plain strings (never exponent form) so that no precision is lost on the way to another
    program; times become ISO-8601 UTC text."""
    return json.dumps(_no_exponent(data), default=_default, indent=2, sort_keys=False)


def print_json(data: Any) -> None:
    sys.stdout.write(to_json(data) + "\n")
    sys.stdout.flush()


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return table_decimal(value)
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


# The most decimals a table shows of a figure that carries no precision of its own (a computed value such as
# 93346.72052322477309129738387613454); amounts from the engine are already at their instrument's precision.
MAX_TABLE_PLACES = 8


def table_decimal(value: Decimal) -> str:
    """A decimal for a table: its own precision (capped at MAX_TABLE_PLACES), thousands separators, no exponent."""
    exponent = value.as_tuple().exponent
    places = min(max(0, -exponent), MAX_TABLE_PLACES) if isinstance(exponent, int) else 0
    return amount(value, places)


def money_cell(value: Any, currency: str | None) -> str | None:
    """A money figure at its currency's precision with separators (``90715.817092`` USD -> ``90,715.82``)."""
    return None if value is None else money(Decimal(str(value)), currency)


def print_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    if not rows:
        if not OutputState.quiet:
            console.print(f"[dim]{empty}[/dim]")
        return
    cols = list(columns or rows[0].keys())
    table = Table(title=title, header_style="bold cyan")
    for col in cols:
        sample = rows[0].get(col)
        numeric = (isinstance(sample, int | float | Decimal) and not isinstance(sample, bool)) or (
            isinstance(sample, str) and _NUMERIC_TEXT.match(sample) is not None
        )
        table.add_column(col, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(cell(row.get(col)) for col in cols))
    console.print(table)


def emit(data: Any, as_json: bool, *, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """Print ``data`` as JSON or as a table; a mapping prints as a two-column key/value table."""
    if as_json:
        print_json(data)
        return
    if isinstance(data, Mapping):
        print_table([{"key": k, "value": v} for k, v in data.items()], ["key", "value"], title=title)
    else:
        print_table(list(data), columns, title=title)


def ns_time(value: int | str | None, *, millis: bool = True) -> str | None:
    """An engine time (ns since the epoch, or the API's ISO-8601 text) as UTC text for tables; None stays None."""
    from alphintra.formatting import ns_from_iso

    ns = ns_from_iso(value)
    if ns is None:
        return None
    text = datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if millis else text[:-7]


def info(message: str) -> None:
    if not OutputState.quiet:
        err_console.print(message)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Any]:
    """A Rich progress bar on stderr that disappears when quiet or when stderr is not a terminal.

    Yields an ``advance(n)`` callable so that library code can report progress without knowing about Rich.
    """
    if OutputState.quiet or not err_console.is_terminal:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """``k=v`` pairs from repeated ``--param`` options."""
    from alphintra.errors import ValidationError

    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError("--param", "must look like key=value", pair)
        out[key.strip()] = value.strip()
    return out


_NEGATIVE_NUMBER = re.compile(r"^-\d[\d_]*(\.\d*)?$|^-\.\d+$")


class NumberArgsCommand(typer.core.TyperCommand):
    """A command whose positional arguments may be negative numbers: ``order buy BTC/USD -1`` then reaches the
    command's own check ("must be greater than 0") instead of Click's "No such option: -1". Any other unknown
    option still fails as usual."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        known = {opt for p in self.params for opt in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
        known.update(ctx.help_option_names)
        head = args[: args.index("--")] if "--" in args else args
        unknown = [a for a in head if a.startswith("-") and a.split("=", 1)[0] not in known]
        if unknown and all(_NEGATIVE_NUMBER.match(a) for a in unknown):
            ctx.ignore_unknown_options = True
        return super().parse_args(ctx, args)


TimerangeOpt = Annotated[
    str | None,
    typer.Option(
        "--timerange",
        help="Range as YYYYMMDD-YYYYMMDD (end exclusive; either side may be empty): instead of --start/--end.",
    ),
]

_TIMERANGE = re.compile(r"^(\d{8})?-(\d{8})?$")


def parse_timerange(text: str) -> tuple[str | None, str | None]:
    """``20240101-20240301`` -> ``("2024-01-01", "2024-03-01")``; ``20240101-`` and ``-20240301`` leave a side open."""
    from alphintra.errors import ValidationError

    rule = "must be YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD"
    found = _TIMERANGE.match(text.strip())
    if found is None or found.groups() == (None, None):
        raise ValidationError("--timerange", rule, text)
    sides: list[str | None] = []
    for part in found.groups():
        if part is None:
            sides.append(None)
            continue
        try:
            sides.append(datetime.strptime(part, "%Y%m%d").date().isoformat())
        except ValueError:
            raise ValidationError("--timerange", f"{part} is not a calendar date ({rule})", text) from None
    start, end = sides
    if start is not None and end is not None and start >= end:
        raise ValidationError("--timerange", "the end must be after the start", text)
    return start, end


def time_range(start: str | None, end: str | None, timerange: str | None) -> tuple[str | None, str | None]:
    """The range a command was given, by --start/--end or by --timerange (never both)."""
    from alphintra.errors import ValidationError

    if timerange is None:
        return start, end
    given = [name for name, value in (("--start", start), ("--end", end)) if value is not None]
    if given:
        raise ValidationError("--timerange", f"cannot be combined with {' and '.join(given)}: give one or the other")
    return parse_timerange(timerange)


ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on the Dask scheduler at tcp://HOST:PORT (default: [cluster] address in the config, else local "
        "processes).",
        show_default=False,
    ),
]


def cluster_target(option: str | None) -> Any:
    """Where a sweep runs: ``--cluster`` (checked, exit 2 when malformed), else ``[cluster] address`` of the config,
    else None (local processes). The target names its source in errors, so an unreachable scheduler is reported
    against the flag or the config key that gave it."""
    from alphintra.config.settings import get_settings
    from alphintra.strategies.executor import Cluster

    settings = get_settings().cluster
    if option is not None:
        return Cluster(option, "--cluster", settings.connect_timeout)
    if settings.address is not None:
        return Cluster(settings.address, "cluster.address (config)", settings.connect_timeout)
    return None
