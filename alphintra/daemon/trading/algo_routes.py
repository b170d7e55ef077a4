"""``/api/v1/algos``: the execution algorithms (TWAP/VWAP) the engine runs -- list, one with its slices, its child
orders, and cancel. They start through ``POST /api/v1/orders`` with an ``algo`` spec; a cancel-all
(``POST /api/v1/orders/cancel-all``) cancels them too. Viewers read, traders cancel; a cancel is journaled
(``AlgoCanceled``) before the answer, like every order command.

Views carry decimals as plain strings and times as ISO-8601 UTC strings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from alphintra.daemon.auth import Principal, require_role
from alphintra.daemon.ownership import Visible
from alphintra.daemon.trading.schemas import OrderOut
from alphintra.daemon.trading.views import order_view
from alphintra.engine.algos import AlgoStatus

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.engine.algos import AlgoProgress
    from alphintra.engine.node import TradingNode

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Trader = Annotated[Principal, Depends(require_role("trader"))]


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")  # never exponent form ("0E-9")


def iso_ns(ns: int | None) -> str | None:
    """Nanoseconds since the epoch as ISO-8601 UTC text (to the microsecond), e.g. ``2026-01-31T17:00:00.250000Z``."""
    if ns is None:
        return None
    seconds, rest = divmod(ns, 1_000_000_000)
    when = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def algo_view(progress: AlgoProgress, *, detail: bool = False) -> dict[str, Any]:
    """One algorithm as JSON; ``detail`` adds the ids of its child orders."""
    view: dict[str, Any] = {
        "algo_id": progress.algo_id,
        "kind": progress.kind,
        "account": progress.account,
        "strategy": progress.strategy,
        "symbol": progress.symbol,
        "side": progress.side.value,
        "status": progress.status.value,
        "quantity": _plain(progress.quantity),
        "filled": _plain(progress.filled),
        "remaining": _plain(progress.remaining),
        "average_price": _plain(progress.average_price),
        "limit_price": _plain(progress.limit_price),
        "guard": progress.guard.value,
        "slices_total": progress.slices_total,
        "slices_sent": progress.slices_sent,
        "slices_done": progress.slices_done,
        "working_order_id": progress.working_order_id,
        "created_at": iso_ns(progress.created_ns),
        "start_at": iso_ns(progress.start_ns),
        "end_at": iso_ns(progress.end_ns),
        "ended_at": iso_ns(progress.ended_ns),
        "reason": progress.reason,
    }
    if detail:
        view["child_order_ids"] = list(progress.child_order_ids)
    return view


def slices_view(node: TradingNode, algo_id: str) -> list[dict[str, Any]]:
    """Each slice of the plan: when it is due, its planned quantity, the child it sent or why it sent none."""
    algos = node.algos
    sent = {}
    for child in algos.children(algo_id):
        _, _, k = (child.client_order_id or "").rpartition("/")
        if k.isdigit():
            sent[int(k)] = child.id
    notes = algos.notes(algo_id)
    return [
        {
            "slice": k,
            "due_at": iso_ns(s.due_ns),
            "quantity": _plain(s.quantity),
            "order_id": sent.get(k),
            "note": notes.get(k),
        }
        for k, s in enumerate(algos.plan(algo_id))
    ]


def algo_router(host: Host) -> APIRouter:
    r = APIRouter(prefix="/algos", tags=["algos"])

    def node() -> TradingNode:
        assert host.node is not None
        return host.node

    @r.get("")
    def list_algos(
        who: Viewer,
        seen: Visible,
        status: Annotated[AlgoStatus | None, Query()] = None,
        symbol: str | None = None,
        strategy: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    ) -> list[dict[str, Any]]:
        """Newest first."""

        def run() -> list[dict[str, Any]]:
            out = []
            for p in reversed(node().algos.list_algos(status)):
                if (
                    (symbol is None or p.symbol == symbol)
                    and (strategy is None or p.strategy == strategy)
                    and seen.sees(p.account)
                ):
                    out.append(algo_view(p))
                    if len(out) >= limit:
                        break
            return out

        return host.call(run)

    @r.get("/{algo_id}")
    async def get_algo(algo_id: str, who: Viewer) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            view = algo_view(node().algos.progress(algo_id), detail=True)
            view["slices"] = slices_view(node(), algo_id)
            return view

        return await host.acall(run)

    @r.get("/{algo_id}/orders", response_model=list[OrderOut])  # the shape of /orders' listing
    async def algo_orders(
        algo_id: str, who: Viewer, limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000
    ) -> JSONResponse:
        """The algorithm's child orders, newest first, as the full views /orders lists (tags, trade ids, notional,
        venue id): passing them through the response model would drop what OrderOut does not name, and
        `order list --children --json` would then show a child differently from `order list --json`."""
        views = await host.acall(
            lambda: [order_view(o, node()) for o in reversed(node().algos.children(algo_id))][:limit]
        )
        return JSONResponse(views)

    def cancel(algo_id: str) -> dict[str, Any]:
        return algo_view(node().algos.cancel(algo_id), detail=True)

    @r.delete("/{algo_id}")
    async def delete_algo(algo_id: str, who: Trader) -> dict[str, Any]:
        return await host.acall(lambda: cancel(algo_id))

    @r.post("/{algo_id}/cancel")
    async def cancel_algo(algo_id: str, who: Trader) -> dict[str, Any]:
        return await host.acall(lambda: cancel(algo_id))

    return r


__all__ = ["algo_router", "algo_view", "iso_ns", "slices_view"]
