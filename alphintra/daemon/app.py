"""The daemon's FastAPI app: health, readiness, metrics, engine control, WebSocket streams, and the hook through
which the trading node's routers join under ``/api/v1``.

The app does not start anything itself (no lifespan): the server owns the order of events (listen, start the
host, serve, stop the host, remove files), so the same app can be served on two listeners and driven by
TestClient in tests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, WebSocket
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from alphintra import __version__
from alphintra.daemon.access import AuditMiddleware, enforce
from alphintra.daemon.audit import AuditLog
from alphintra.daemon.auth import (
    LISTENER_KEY,
    WS_FORBIDDEN,
    Authenticator,
    AuthMiddleware,
    Listener,
    Principal,
    Role,
    principal_of,
    require_role,
)
from alphintra.daemon.errors import install_error_handlers
from alphintra.daemon.lifecycle import EngineHost
from alphintra.daemon.limits import ApiLimits, BodyLimitMiddleware, RequestLimitMiddleware
from alphintra.daemon.metrics import EngineMetrics
from alphintra.daemon.openapi import install_openapi
from alphintra.daemon.ownership import is_account_topic, scope_of
from alphintra.daemon.protocol import NotReadyError
from alphintra.daemon.ws import WebSocketHub
from alphintra.errors import OperationFailed

API_PREFIX = "/api/v1"


@dataclass
class DaemonInfo:
    """Facts about the serving process that ``/api/v1/engine/status`` reports; the server fills them in."""

    pid: int = field(default_factory=os.getpid)
    version: str = __version__
    socket: str | None = None
    tcp: str | None = None
    started_at_ns: int = field(default_factory=time.time_ns)
    request_stop: Callable[[], None] | None = None


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    ready: bool
    state: str | None = None


class EngineStatus(BaseModel):
    running: bool
    pid: int
    version: str
    started_at_ns: int
    uptime_seconds: float
    socket: str | None
    tcp: str | None
    ready: bool
    websocket_clients: int
    host: dict[str, Any]


class StopResponse(BaseModel):
    stopping: bool


class WhoAmIResponse(BaseModel):
    user: str
    role: Role
    listener: str


def _jsonable(data: Mapping[str, object]) -> dict[str, Any]:
    return {
        str(k): v if isinstance(v, str | int | float | bool | None | list | dict) else str(v) for k, v in data.items()
    }


def create_app(
    host: EngineHost,
    *,
    metrics: EngineMetrics | None = None,
    hub: WebSocketHub | None = None,
    authenticator: Authenticator | None = None,
    info: DaemonInfo | None = None,
    routers: Sequence[APIRouter] = (),
    clock: Callable[[], int] = time.time_ns,
    limits: ApiLimits | None = None,
    audit: AuditLog | None = None,
) -> FastAPI:
    """Build the app around ``host``; ``routers`` are mounted under ``/api/v1`` (see ``include_api_router``).

    Without an ``authenticator`` (no token secret) TCP callers are always refused; unix-socket callers are
    admins either way.
    """
    metrics = metrics if metrics is not None else EngineMetrics()
    hub = hub if hub is not None else WebSocketHub(metrics=metrics, clock=clock)
    authenticator = authenticator if authenticator is not None else Authenticator(None)
    info = info if info is not None else DaemonInfo(started_at_ns=clock())
    limits = limits if limits is not None else ApiLimits()

    app = FastAPI(
        title="Alphintra engine",
        version=__version__,
        description="Local trading engine daemon: orders, portfolio, strategies, market data and risk.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(enforce)],  # the role table of every operation (access.py)
    )
    app.state.host = host
    app.state.metrics = metrics
    app.state.hub = hub
    app.state.auth = authenticator
    app.state.info = info
    app.state.limits = limits
    app.state.users = authenticator.users
    app.state.audit = audit
    install_error_handlers(app)
    # Each added middleware wraps the ones before it. From the outside in: the request rate (every request, so a
    # flood of bad tokens is throttled too), authentication (nothing else runs for an anonymous TCP caller), the
    # body cap (read only for an authenticated caller), then the audit hook (it sees the caller and the outcome).
    app.add_middleware(AuditMiddleware, audit=audit)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(AuthMiddleware, authenticator=authenticator)
    app.add_middleware(RequestLimitMiddleware, limits=limits)

    @app.get("/health", response_model=HealthResponse, tags=["observability"])
    def health() -> HealthResponse:
        """The process is alive and serving (no engine state involved)."""
        return HealthResponse(status="ok")

    @app.get(
        "/ready",
        response_model=ReadyResponse,
        tags=["observability"],
        responses={503: {"description": "engine starting, stopping, failed, or read-only (journal not writable)"}},
    )
    def ready() -> ReadyResponse:
        """The engine is started and its journal replayed; 503 until then."""
        status = host.status()
        state = str(status.get("state", "")) or None
        if not host.ready:
            reason = status.get("reason")  # e.g. read-only after a failed journal write
            why = f": {reason}" if reason else ""
            raise NotReadyError(f"engine is not ready (state {state or 'unknown'}){why}")
        return ReadyResponse(ready=True, state=state)

    @app.get("/metrics", tags=["observability"], response_class=Response)
    def prometheus() -> Response:
        """Prometheus text exposition of this daemon's registry."""
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    control = APIRouter(tags=["engine"])

    @control.get("/engine/status", response_model=EngineStatus)
    def engine_status(_: Annotated[Principal, Depends(require_role(Role.VIEWER))]) -> EngineStatus:
        now = clock()
        return EngineStatus(
            running=True,
            pid=info.pid,
            version=info.version,
            started_at_ns=info.started_at_ns,
            uptime_seconds=round(max(0, now - info.started_at_ns) / 1e9, 3),
            socket=info.socket,
            tcp=info.tcp,
            ready=host.ready,
            websocket_clients=hub.subscriber_count(),
            host=_jsonable(host.status()),
        )

    @control.post("/engine/stop", response_model=StopResponse, status_code=202)
    def engine_stop(_: Annotated[Principal, Depends(require_role(Role.ADMIN))]) -> StopResponse:
        """Ask the daemon to stop gracefully (strategies stopped, journal flushed)."""
        if info.request_stop is None:
            raise OperationFailed("this engine cannot be stopped over the API")
        info.request_stop()
        return StopResponse(stopping=True)

    @control.get("/auth/whoami", response_model=WhoAmIResponse)
    def whoami(principal: Annotated[Principal, Depends(require_role(Role.VIEWER))]) -> WhoAmIResponse:
        return WhoAmIResponse(user=principal.user, role=principal.role, listener=principal.listener)

    @control.get("/audit")
    def audit_log(
        _: Annotated[Principal, Depends(require_role(Role.ADMIN))],
        user: str | None = None,
        since: Annotated[str | None, Query(description="ISO-8601 UTC time; entries at or after it")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[dict[str, Any]]:
        """The audit log (audit.py), oldest first: the newest ``limit`` entries."""
        if audit is None:
            return []
        return audit.read(user=user, since=since, limit=limit)

    @control.get("/users")
    def list_users(_: Annotated[Principal, Depends(require_role(Role.ADMIN))]) -> list[dict[str, Any]]:
        users = authenticator.users
        return [] if users is None else [u.to_dict() for u in users.users().values()]

    include_api_router(app, control)

    @app.websocket("/ws/{topic:path}")
    async def stream(websocket: WebSocket, topic: str) -> None:
        await websocket.accept()
        # AuthMiddleware has already refused anonymous TCP clients; every authenticated role may read streams.
        principal = principal_of(websocket)
        if not principal.role.allows(Role.VIEWER):
            await websocket.close(WS_FORBIDDEN, "viewer role required")
            return
        # Account data (orders, fills, account alerts) reaches a non-admin user for their own accounts only.
        accounts = scope_of(websocket).accounts if is_account_topic(topic) else None
        await hub.serve(websocket, topic, accounts)

    for router in routers:
        include_api_router(app, router)
    install_openapi(app)
    return app


def include_api_router(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """Mount ``router`` under ``/api/v1`` (plus ``prefix``); guard its routes with ``Depends(require_role(...))``."""
    app.include_router(router, prefix=API_PREFIX + prefix)


class ListenerApp:
    """Tags every request with the listener it arrived on; the server wraps the app once per listener."""

    def __init__(self, app: ASGIApp, listener: Listener) -> None:
        self.app = app
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, LISTENER_KEY: self.listener}
        await self.app(scope, receive, send)


__all__ = [
    "API_PREFIX",
    "DaemonInfo",
    "EngineStatus",
    "ListenerApp",
    "create_app",
    "include_api_router",
]
