"""`alphintra algo`: the execution algorithms (TWAP/VWAP) the running engine works -- list, show, cancel.

An algorithm starts with ``order buy|sell --twap/--vwap``; it sends ordinary child orders (``order list --children``
shows them under their algorithm). ``order show ALGO-...`` and ``order cancel ALGO-...`` reach the same views as
``algo show`` and ``algo cancel``; ``order cancel --all`` cancels running algorithms as well as orders.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, info, ns_time, print_json, print_table

if TYPE_CHECKING:
    from alphintra.daemon.client import EngineClient

app = typer.Typer(
    help="Execution algorithms (TWAP/VWAP): list, show, cancel (needs a running engine).", no_args_is_help=True
)

ALGOS = "/api/v1/algos"
ALGO_STATUSES = ("RUNNING", "COMPLETED", "CANCELED")
ALGO_COLUMNS = ["id", "symbol", "side", "kind", "quantity", "filled", "remaining", "slices", "state", "start", "end"]
SLICE_COLUMNS = ["slice", "due", "quantity", "order", "note"]


def is_algo_id(text: str) -> bool:
    """Algorithm ids are ``ALGO-<n>``; order ids never start so (the node numbers them ``O-<n>``)."""
    return text.upper().startswith("ALGO-")


def _client() -> EngineClient:
    from alphintra.cli.order import engine_client

    return engine_client()


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def iso_ns(text: str | None) -> int | None:
    """An ISO-8601 time from the API as nanoseconds (for sorting and the tables' time format)."""
    if text is None:
        return None
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def _time(text: str | None) -> str | None:
    return ns_time(iso_ns(text), millis=False)


def algo_row(algo: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": algo["algo_id"],
        "symbol": algo["symbol"],
        "side": algo["side"],
        "kind": algo["kind"],
        "quantity": _dec(algo["quantity"]),
        "filled": _dec(algo["filled"]),
        "remaining": _dec(algo["remaining"]),
        "slices": f"{algo['slices_sent']}/{algo['slices_total']}",
        "state": algo["status"],
        "start": _time(algo["start_at"]),
        "end": _time(algo["end_at"]),
    }


def show_algo(data: dict[str, Any], as_json: bool, *, slices: bool = False) -> None:
    if as_json:
        print_json(data)
        return
    children = data.get("child_order_ids") or []
    shown = {
        "id": data["algo_id"],
        "kind": data["kind"],
        "symbol": data["symbol"],
        "side": data["side"],
        "state": data["status"],
        "quantity": _dec(data["quantity"]),
        "filled": _dec(data["filled"]),
        "remaining": _dec(data["remaining"]),
        "average price": _dec(data.get("average_price")),
        "price guard": None if data.get("limit_price") is None else f"{data['limit_price']} ({data['guard']})",
        "slices sent": f"{data['slices_sent']} of {data['slices_total']}",
        "child orders": f"{len(children)}"
        + (f" (working: {data['working_order_id']})" if data.get("working_order_id") else ""),
        "account": data.get("account"),
        "strategy": data.get("strategy"),
        "start": _time(data["start_at"]),
        "end": _time(data["end_at"]),
        "ended": _time(data.get("ended_at")),
        "reason": data.get("reason"),
    }
    emit({k: v for k, v in shown.items() if v is not None}, False, title=f"algorithm {data['algo_id']}")
    if slices and data.get("slices"):
        rows = [
            {
                "slice": s["slice"],
                "due": _time(s["due_at"]),
                "quantity": _dec(s["quantity"]),
                "order": s["order_id"],
                "note": s["note"],
            }
            for s in data["slices"]
        ]
        print_table(rows, SLICE_COLUMNS, title="slices")


def fetch_algo(client: EngineClient, algo_id: str) -> dict[str, Any]:
    return dict(client.get(f"{ALGOS}/{algo_id.upper()}"))


def cancel_algo(client: EngineClient, algo_id: str, as_json: bool) -> None:
    data = client.post(f"{ALGOS}/{algo_id.upper()}/cancel")
    if as_json:
        print_json(data)
    else:
        info(f"algorithm {data['algo_id']}: {data['status']} (filled {data['filled']} of {data['quantity']})")


@app.command("list")
def list_algos(
    status: Annotated[
        str | None, typer.Option("--status", metavar="STATE", help="Only RUNNING, COMPLETED or CANCELED.")
    ] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this instrument.")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="Only this strategy's algorithms.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only running algorithms.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Execution algorithms, newest first."""
    from alphintra.errors import ValidationError

    params: dict[str, Any] = {"limit": limit}
    if status is not None:
        if status.upper() not in ALGO_STATUSES:
            raise ValidationError("--status", f"must be one of {', '.join(ALGO_STATUSES)}", status)
        params["status"] = status.upper()
    if open_only:
        if status is not None and status.upper() != "RUNNING":
            raise ValidationError("--open", f"cannot be combined with --status {status.upper()}")
        params["status"] = "RUNNING"
    if symbol is not None:
        params["symbol"] = symbol
    if strategy is not None:
        params["strategy"] = strategy
    with _client() as client:
        algos = client.get(ALGOS, params=params)
    if as_json:
        print_json(algos)
        return
    print_table([algo_row(a) for a in algos], ALGO_COLUMNS, title="algorithms", empty="no algorithms")


@app.command("show")
def show(
    algo_id: Annotated[str, typer.Argument(metavar="ID", help="The algorithm, e.g. ALGO-00000001.")],
    slices: Annotated[
        bool, typer.Option("--slices", help="Also list every slice: when, how much, what it sent.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """One algorithm: progress, schedule and (with --slices) each slice."""
    with _client() as client:
        data = fetch_algo(client, algo_id)
    show_algo(data, as_json, slices=slices)


@app.command("cancel")
def cancel(
    algo_id: Annotated[str, typer.Argument(metavar="ID", help="The algorithm to cancel.")],
    as_json: JsonOption = False,
) -> None:
    """Stop an algorithm: no more slices, its working child canceled; what filled stands."""
    with _client() as client:
        cancel_algo(client, algo_id, as_json)


__all__ = ["ALGOS", "algo_row", "app", "cancel_algo", "fetch_algo", "is_algo_id", "iso_ns", "show_algo"]
