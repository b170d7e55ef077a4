"""``/api/v1/venues``: the engine's venues, their capabilities and state; reconcile one; clear its halt.

A reconciliation difference no fill explains halts new orders on that venue (journaled ``VenueHalted``);
``POST /venues/{name}/resume`` clears it (journaled ``VenueResumed``, so a restart keeps it cleared).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from alphintra.daemon.auth import Principal, require_role
from alphintra.errors import NotFoundError

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.engine.node import TradingNode
    from alphintra.engine.venue.base import Venue, VenueCapabilities

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


class ReconcileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: StrictBool = False  # strict: 0 or "yes" is not a flag (what the OpenAPI document says)


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


def capabilities_view(caps: VenueCapabilities) -> dict[str, Any]:
    """A venue's declared capabilities as JSON (sets sorted, decimals as strings)."""
    data = asdict(caps)
    data["order_types"] = sorted(t.value for t in caps.order_types)
    data["time_in_force"] = sorted(t.value for t in caps.time_in_force)
    data["market_collar_bps"] = None if caps.market_collar_bps is None else str(caps.market_collar_bps)
    return data


def venue_view(host: Host, node: TradingNode, venue: Venue) -> dict[str, Any]:
    """Engine thread: one venue as the API shows it."""
    settings = host.settings
    configured = settings.venues.get(venue.name)
    halted = node.venue_halts.get(venue.name)
    # an exchange's own connection state (connected, reconnecting, disconnected); a simulated venue is always there
    connection = getattr(venue, "connection", "connected")
    return {
        "name": venue.name,
        "kind": None if configured is None else configured.kind,
        "default": venue is node.venue,
        "state": "halted" if halted is not None else connection,
        "halted": halted,
        "accounts": [n for n, a in settings.accounts.items() if a.venue == venue.name],
        "symbols": sorted(s for s in node.instruments.symbols() if node.venue_for(s) is venue),
        "capabilities": capabilities_view(venue.capabilities),
    }


def venue_router(host: Host) -> APIRouter:
    r = APIRouter(prefix="/venues", tags=["venues"])

    def node() -> TradingNode:
        assert host.node is not None
        return host.node

    def named(name: str) -> Venue:
        venue = node().venues.get(name)
        if venue is None:
            raise NotFoundError(f"no venue {name!r} in the engine (venues: {', '.join(node().venues)})")
        return venue

    @r.get("")
    async def list_venues(who: Viewer) -> list[dict[str, Any]]:
        return await host.acall(lambda: [venue_view(host, node(), v) for v in node().venues.values()])

    @r.get("/{name}")
    async def get_venue(name: str, who: Viewer) -> dict[str, Any]:
        return await host.acall(lambda: venue_view(host, node(), named(name)))

    @r.post("/{name}/reconcile")
    async def reconcile(name: str, body: ReconcileBody, who: Admin) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            venue = named(name)
            report = node().reconcile(venue.name, dry_run=body.dry_run)
            host.event(
                "WARNING" if report.differences else "INFO",
                f"venue {name} reconciled{' (dry run)' if body.dry_run else ''}: "
                f"{len(report.differences)} difference(s), {len(report.fills_booked)} fill(s) to book",
            )
            return {
                "venue": venue.name,
                "dry_run": body.dry_run,
                "clean": report.clean,
                **asdict(report),
                "halted": node().venue_halts.get(venue.name),
            }

        return await host.acall(run)

    @r.post("/{name}/resume")
    async def resume(name: str, body: ResumeBody, who: Admin) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            was = node().resume_venue(named(name).name, body.reason)
            if was is not None:
                host.event(
                    "WARNING", f"trading on venue {name} resumed by {who.user}: {body.reason or 'no reason given'}"
                )
            return {"venue": name, "resumed": was is not None, "was": was}

        return await host.acall(run)

    return r


__all__ = ["capabilities_view", "venue_router"]
