"""Several venues at once: the consolidated book of a symbol and routed (parent) orders.

``GET /market-data/consolidated?symbol=BTC/USDT&venues=a,b``: the venues' books of the symbol merged and fee-adjusted
(:mod:`alphintra.engine.book_merge`). ``POST /orders/routed``: a parent order routed ``best`` or ``split`` over the
venues (:mod:`alphintra.engine.routing`); the answer, and ``GET /orders/routed/{route_id}``, is its execution report
(children, average price, fees, slippage against the consolidated mid at entry, the best single venue's cost).
``GET /portfolio/by-venue``: each venue's accounts and balances, and the total over the venues.
The engine's :class:`~alphintra.engine.routing.Router` reads each venue's book from the host's market driver.
"""

from __future__ import annotations

import weakref
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from alphintra.daemon.auth import Principal, require_role
from alphintra.daemon.ownership import AccountScope, Visible
from alphintra.engine.book_merge import num
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.routing import Router, RouteRequest
from alphintra.errors import ValidationError
from alphintra.formatting import iso_ns

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.engine.node import TradingNode

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Trader = Annotated[Principal, Depends(require_role("trader"))]
BOOK_LEVELS = 100  # each venue's levels the router may walk
_ROUTERS: weakref.WeakKeyDictionary[TradingNode, Router] = weakref.WeakKeyDictionary()


class RoutedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=40)
    side: OrderSide
    quantity: Decimal = Field(gt=0)
    route: Literal["best", "split"] = "best"
    venues: list[str] = Field(default_factory=list, max_length=20)
    limit: Decimal | None = Field(default=None, gt=0)
    strategy: str | None = Field(default=None, max_length=255)


def router_of(host: Host) -> Router:
    """Engine thread: the node's router (made once per node; it follows the children through the node)."""
    node = host.node
    assert node is not None
    router = _ROUTERS.get(node)
    if router is None:
        driver = host.driver
        if driver is None:
            raise ValidationError("venues", "the engine has no market driver to read books from")
        router = _ROUTERS[node] = Router(node, lambda key: driver.depth(key, BOOK_LEVELS))
    return router


def _node(host: Host) -> TradingNode:
    assert host.node is not None
    return host.node


def balances_by_venue(node: TradingNode) -> dict[str, Any]:
    """Engine thread: each venue's accounts and their balances summed per asset, and the total over the venues."""
    venues: list[dict[str, Any]] = []
    total: dict[str, list[Decimal]] = {}
    for venue in node.venues:
        accounts = [a for a in node.ledger.accounts() if node.account_venues.get(a, node.venue.name) == venue]
        sums: dict[str, list[Decimal]] = {}
        for account in accounts:
            for asset, bal in node.ledger.balances(account).items():
                for into in (sums, total):
                    row = into.setdefault(asset, [Decimal(0), Decimal(0)])
                    row[0] += bal.total
                    row[1] += bal.locked
        venues.append({"venue": venue, "accounts": accounts, "balances": _rows(sums)})
    return {"venues": venues, "total": _rows(total)}


def _rows(sums: dict[str, list[Decimal]]) -> list[dict[str, str]]:
    return [
        {"asset": asset, "total": num(t), "available": num(t - locked), "locked": num(locked)}
        for asset, (t, locked) in sorted(sums.items())
        if t or locked
    ]


def _reaches(seen: AccountScope, report: dict[str, Any]) -> str | None:
    """An account of the routed order's children the caller may not see, if any: a route is shown to a caller only
    when every account it traded in is theirs."""
    for child in report["children"]:
        if not seen.sees(child["account"]):
            return str(child["account"])
    return None


def _venues(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def routing_router(host: Host) -> APIRouter:
    r = APIRouter(tags=["routing"])

    @r.get("/market-data/consolidated")
    def consolidated(
        who: Viewer,
        symbol: str,
        venues: str | None = None,
        depth: Annotated[int, Query(ge=1, le=500)] = 20,
    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            router = router_of(host)
            return {**router.book(symbol, _venues(venues)).to_dict(depth), "ts": iso_ns(router.node.clock.now_ns())}

        return host.call(run)

    @r.get("/portfolio/by-venue")
    def by_venue(who: Viewer) -> dict[str, Any]:
        return host.call(lambda: balances_by_venue(_node(host)))

    @r.post("/orders/routed", status_code=201)
    def create_routed(body: RoutedCreate, who: Trader) -> dict[str, Any]:
        request = RouteRequest(
            body.symbol, body.side, body.quantity, body.route, tuple(body.venues), body.limit, body.strategy
        )

        def run() -> dict[str, Any]:
            router = router_of(host)
            return router.report(router.submit(request).id)

        return host.call(run)

    @r.get("/orders/routed")
    def list_routed(who: Viewer, seen: Visible) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            router = router_of(host)
            return [router.report(route_id) for route_id in router.parents]

        return [report for report in host.call(run) if _reaches(seen, report) is None]

    @r.get("/orders/routed/{route_id}")
    def get_routed(who: Viewer, seen: Visible, route_id: str) -> dict[str, Any]:
        report = host.call(lambda: router_of(host).report(route_id))
        hidden = _reaches(seen, report)
        if hidden is not None:
            seen.check(hidden)
        return report

    return r


__all__ = ["RoutedCreate", "balances_by_venue", "router_of", "routing_router"]
