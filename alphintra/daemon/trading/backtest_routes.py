"""``/api/v1/backtests``: past backtest runs for the TUI and other clients (read-only; runs start from the CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query

from alphintra.daemon.auth import Principal, require_role

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host

Viewer = Annotated[Principal, Depends(require_role("viewer"))]


def backtest_router(host: Host) -> APIRouter:
    r = APIRouter(prefix="/backtests", tags=["backtests"])

    @r.get("")
    def list_backtests(
        who: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 50, strategy: str | None = None
    ) -> list[dict[str, Any]]:
        from alphintra.strategies.runs import list_runs

        return list_runs(host.state_db.store(), limit=limit, strategy=strategy)

    @r.get("/{run_id}")
    def get_backtest(run_id: str, who: Viewer) -> dict[str, Any]:
        from alphintra.strategies.result_view import result_view
        from alphintra.strategies.runs import load_run

        return result_view(load_run(host.settings.paths.reports, run_id).to_dict())

    return r
