"""The app factory through TestClient: health/ready, the error wire format, metrics, engine control."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

from alphintra.daemon.app import DaemonInfo, ListenerApp, create_app, include_api_router
from alphintra.daemon.auth import Principal, require_role
from alphintra.daemon.lifecycle import LifecycleHost
from alphintra.daemon.metrics import EngineMetrics
from alphintra.errors import (
    ConflictError,
    NotFoundError,
    OperationFailed,
    RetryableError,
    StorageUnavailable,
    ValidationError,
)

with warnings.catch_warnings():  # starlette's TestClient announces a future httpx change on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


class OrderIn(BaseModel):
    symbol: str
    qty: Decimal = Field(gt=0)


def _failing_router() -> APIRouter:
    router = APIRouter()

    @router.get("/boom/{kind}")
    def boom(kind: str) -> dict[str, str]:
        errors: dict[str, Exception] = {
            "validation": ValidationError("qty", "must be a multiple of the lot size 0.01", "0.015"),
            "notfound": NotFoundError("order o-1 not found"),
            "conflict": ConflictError("client_order_id c-1 already used"),
            "retry": RetryableError("venue timed out"),
            "storage": StorageUnavailable("the journal could not be written: No space left on device"),
            "failed": OperationFailed("insufficient balance"),
            "bug": RuntimeError("secret internals"),
        }
        raise errors[kind]

    @router.post("/orders")
    def create(order: OrderIn, _: Annotated[Principal, Depends(require_role("trader"))]) -> dict[str, str]:
        return {"symbol": order.symbol, "qty": str(order.qty)}

    return router


@pytest.fixture
def host() -> LifecycleHost:
    return LifecycleHost()


class FakeClock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000 * 10**9)


@pytest.fixture
def app(host: LifecycleHost, clock: FakeClock) -> FastAPI:
    return create_app(
        host,
        info=DaemonInfo(pid=4242, socket="/tmp/x.sock", tcp=None, started_at_ns=clock.now),
        routers=[_failing_router()],
        clock=clock,
    )


@pytest.fixture
def local(app: FastAPI) -> Iterator[TestClient]:
    """A client on the unix-socket listener (trusted peer)."""
    with TestClient(ListenerApp(app, "unix"), raise_server_exceptions=False) as client:
        yield client


def test_health_answers_before_the_engine_is_ready(local: TestClient) -> None:
    response = local.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_503_with_error_shape_until_started(local: TestClient, host: LifecycleHost) -> None:
    response = local.get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"error": "not_ready", "detail": "engine is not ready (state created)", "field": None}
    host.start()
    response = local.get("/ready")
    assert (response.status_code, response.json()) == (200, {"ready": True, "state": "running"})
    host.stop()
    assert local.get("/ready").json()["detail"] == "engine is not ready (state stopped)"


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        (
            "validation",
            422,
            {
                "error": "validation_error",
                "detail": "qty: must be a multiple of the lot size 0.01 (got '0.015')",
                "field": "qty",
            },
        ),
        ("notfound", 404, {"error": "not_found", "detail": "order o-1 not found", "field": None}),
        ("conflict", 409, {"error": "conflict", "detail": "client_order_id c-1 already used", "field": None}),
        ("retry", 503, {"error": "retryable", "detail": "venue timed out", "field": None}),
        ("failed", 400, {"error": "operation_failed", "detail": "insufficient balance", "field": None}),
        (
            "storage",
            503,
            {
                "error": "storage_unavailable",
                "detail": "the journal could not be written: No space left on device",
                "field": None,
            },
        ),
    ],
)
def test_project_errors_map_to_status_and_json(
    local: TestClient, kind: str, status: int, body: dict[str, object]
) -> None:
    response = local.get(f"/api/v1/boom/{kind}")
    assert response.status_code == status
    assert response.json() == body
    if status == 503:  # retryable: the client is told when to come back
        assert response.headers["Retry-After"] == ("5" if kind == "storage" else "1")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_unexpected_exception_is_500_json_without_internals(local: TestClient) -> None:
    logger = logging.getLogger("alphintra.daemon.errors")
    captured = _Records()
    logger.addHandler(captured)
    try:
        response = local.get("/api/v1/boom/bug")
    finally:
        logger.removeHandler(captured)
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal_error"
    assert body["field"] is None
    assert "secret internals" not in response.text and "Traceback" not in response.text
    incident = body["detail"].split("incident ")[1].split(";")[0]
    [record] = captured.records
    assert record.incident == incident  # type: ignore[attr-defined]
    assert record.exc_info is not None and "secret internals" in str(record.exc_info[1])


def test_request_validation_names_the_field(local: TestClient) -> None:
    response = local.post("/api/v1/orders", json={"symbol": "BTCUSD", "qty": "-1"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["field"] == "qty"
    assert body["detail"].startswith("qty: Input should be greater than 0")


def test_missing_fields_are_counted(local: TestClient) -> None:
    body = local.post("/api/v1/orders", json={}).json()
    assert body["field"] == "symbol"
    assert body["detail"] == "symbol: Field required (and 1 more problem)"


def test_malformed_json_is_400(local: TestClient) -> None:
    response = local.post("/api/v1/orders", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": "request body is not valid JSON", "field": "body"}


def test_unknown_route_and_method_use_the_same_shape(local: TestClient) -> None:
    missing = local.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "not_found", "detail": "no such endpoint: GET /api/v1/nothing-here", "field": None},
    )
    wrong = local.delete("/health")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


def test_registered_router_is_served_under_api_v1(local: TestClient) -> None:
    response = local.post("/api/v1/orders", json={"symbol": "BTCUSD", "qty": "0.5"})
    assert (response.status_code, response.json()) == (200, {"symbol": "BTCUSD", "qty": "0.5"})


def test_include_api_router_adds_routes_after_creation(app: FastAPI, local: TestClient) -> None:
    router = APIRouter()

    @router.get("/limits")
    def limits() -> dict[str, str]:
        return {"max_notional": "1000"}

    include_api_router(app, router, prefix="/risk")
    assert local.get("/api/v1/risk/limits").json() == {"max_notional": "1000"}


def test_openapi_lists_the_control_endpoints(local: TestClient) -> None:
    paths = local.get("/openapi.json").json()["paths"]
    assert {"/health", "/ready", "/metrics", "/api/v1/engine/status", "/api/v1/engine/stop"} <= set(paths)


def test_status_reports_process_facts_with_injected_clock(
    local: TestClient, host: LifecycleHost, clock: FakeClock
) -> None:
    host.start()
    clock.now += 3_725_250_000_000
    data = local.get("/api/v1/engine/status").json()
    assert data["pid"] == 4242
    assert data["socket"] == "/tmp/x.sock"
    assert data["tcp"] is None
    assert data["ready"] is True
    assert data["running"] is True
    assert data["host"]["state"] == "running"
    assert data["uptime_seconds"] == 3725.25
    assert data["started_at_ns"] == 1_700_000_000 * 10**9


def test_stop_endpoint_requests_a_stop(app: FastAPI, local: TestClient) -> None:
    calls: list[str] = []
    app.state.info.request_stop = lambda: calls.append("stop")
    response = local.post("/api/v1/engine/stop")
    assert (response.status_code, response.json(), calls) == (202, {"stopping": True}, ["stop"])


def test_stop_endpoint_without_a_server_is_refused(local: TestClient) -> None:
    response = local.post("/api/v1/engine/stop")
    assert response.status_code == 400
    assert response.json()["detail"] == "this engine cannot be stopped over the API"


def test_metrics_exposition(app: FastAPI, local: TestClient) -> None:
    metrics: EngineMetrics = app.state.metrics
    metrics.orders_total.labels(status="filled").inc(2)
    metrics.orders_total.labels(status="rejected").inc()
    metrics.order_latency_seconds.observe(0.0003)
    metrics.fills_total.inc(3)
    metrics.active_strategies.set(2)
    metrics.portfolio_value.labels(account="main").set(100250.5)
    metrics.risk_alerts_total.labels(rule="max_drawdown").inc()
    with local.websocket_connect("/ws/orders/updates") as ws:
        ws.receive_json()
        text = local.get("/metrics").text
    lines = set(text.splitlines())
    assert 'alphintra_orders_total{status="filled"} 2.0' in lines
    assert 'alphintra_orders_total{status="rejected"} 1.0' in lines
    assert 'alphintra_order_latency_seconds_bucket{le="0.0005"} 1.0' in lines
    assert 'alphintra_order_latency_seconds_bucket{le="0.00025"} 0.0' in lines
    assert "alphintra_fills_total 3.0" in lines
    assert "alphintra_active_strategies 2.0" in lines
    assert 'alphintra_portfolio_value{account="main"} 100250.5' in lines
    assert 'alphintra_risk_alerts_total{rule="max_drawdown"} 1.0' in lines
    assert "alphintra_websocket_clients 1.0" in lines
    assert "alphintra_websocket_clients 0.0" in local.get("/metrics").text.splitlines()
    assert local.get("/metrics").headers["content-type"].startswith("text/plain")


def test_two_apps_have_separate_registries(host: LifecycleHost) -> None:
    first, second = create_app(host), create_app(LifecycleHost())
    first.state.metrics.fills_total.inc()
    with TestClient(ListenerApp(second, "unix")) as client:
        assert "alphintra_fills_total 0.0" in client.get("/metrics").text.splitlines()


def test_openapi_document_declares_the_real_error_body_and_bearer_security(local: TestClient) -> None:
    doc = local.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error", "detail", "field"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "required over TCP (`alphintra auth token create`); the unix socket needs none",
    }
    post = doc["paths"]["/api/v1/orders"]["post"]
    for status in ("400", "401", "403", "404", "405", "409", "413", "422", "429", "500", "503"):
        assert post["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    assert "Retry-After" in post["responses"]["429"]["headers"]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert doc["paths"]["/ready"]["get"]["security"] == []


def test_probes_answer_over_tcp_without_a_token(host: LifecycleHost) -> None:
    tcp = TestClient(ListenerApp(create_app(host), "tcp"))
    assert tcp.get("/health").json() == {"status": "ok"}
    assert tcp.get("/ready").json()["error"] == "not_ready"  # the answer, not a 401
    assert tcp.get("/metrics").status_code == 401


def test_405_lists_every_documented_method_of_the_path(local: TestClient) -> None:
    r = local.request("OPTIONS", "/api/v1/orders")
    assert (r.status_code, r.headers["Allow"]) == (405, "POST")
    assert r.json() == {
        "error": "method_not_allowed",
        "detail": "method OPTIONS is not allowed on /api/v1/orders",
        "field": None,
    }
