"""Every failure leaves the daemon as ``{"error", "detail", "field"}`` JSON, never as a traceback.

The mapping from exception to status lives in ``protocol.status_for`` (shared with the client). Unexpected
exceptions are caught by a middleware placed inside Starlette's ServerErrorMiddleware, which would otherwise
re-raise after answering and log every bug twice; it logs once with an incident id that the 500 body carries.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alphintra.config.logs import get_logger
from alphintra.daemon.limits import retry_after_header
from alphintra.daemon.protocol import RateLimitedError, error_body, status_for
from alphintra.errors import AlphintraError, StorageUnavailable

log = get_logger("daemon.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "not_ready",
}


# A full disk takes an operator to fix; a starting engine or a busy venue is back in a moment. The one value for
# every storage_unavailable answer (the engine's refusal and the read-only gate's alike).
STORAGE_RETRY_AFTER = "5"


def error_response(
    code: str, detail: str, field: str | None, status: int, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(error_body(code, detail, field), status_code=status, headers=headers)


def _field_name(loc: Sequence[Any]) -> str:
    """``("body", "order", "qty")`` -> ``order.qty``; the location kind is dropped unless it is all there is."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


async def _alphintra_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AlphintraError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = STORAGE_RETRY_AFTER if isinstance(exc, StorageUnavailable) else "1"
    elif status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, RateLimitedError):
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    body = exc.to_dict()
    return JSONResponse(body, status_code=status, headers=headers)  # with an order rejection's "reason" code


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:
        return error_response("validation_error", "invalid request", None, 422)
    first = errors[0]
    field = _field_name(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return error_response("bad_request", "request body is not valid JSON", "body", 400)
    message = f"{field}: {str(first.get('msg', 'invalid value')).removeprefix('Value error, ')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_response("validation_error", message, field, 422)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
        # Starlette's Allow names the methods of the first route matching the path; one path often has a route
        # per method (GET and POST /orders), and RFC 9110 wants them all.
        allowed = _allowed_methods(request)
        if allowed:
            return error_response("method_not_allowed", detail, None, 405, {"Allow": ", ".join(allowed)})
    else:
        detail = str(exc.detail)
    return error_response(code, detail, None, exc.status_code, dict(exc.headers or {}))


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for the request's path (the document is the contract)."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for template, item in request.app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{regex}$"), {m.upper() for m in item if m in _METHODS}))
        request.app.state.allow_table = table
    methods: set[str] = set()
    for pattern, verbs in table:
        if pattern.pattern == f"^{re.escape(request.url.path)}$":
            return sorted(verbs)  # a fixed path (``/orders/batch``) is its own resource, not an ``{order_id}``
        if pattern.match(request.url.path):
            methods |= verbs
    return sorted(methods)


_METHODS = frozenset({"get", "post", "put", "delete", "patch"})


class CatchAllMiddleware:
    """Answers 500 JSON for any exception a route did not expect, once the response has not started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception(
                "unhandled error in %s %s", scope.get("method"), scope.get("path"), extra={"incident": incident}
            )
            if started:
                raise  # too late for a clean answer; the server closes the connection
            response = error_response(
                "internal_error", f"internal error (incident {incident}; details are in the engine log)", None, 500
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AlphintraError, _alphintra_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_middleware(CatchAllMiddleware)


__all__ = ["STORAGE_RETRY_AFTER", "CatchAllMiddleware", "error_response", "install_error_handlers"]
