"""Make the OpenAPI document say what the daemon really answers.

FastAPI documents only the success answer and its own 422 shape (``HTTPValidationError``), which this daemon never
sends. Every failure here is ``{"error", "detail", "field"}`` (``errors.py``), with statuses that middlewares and
handlers may give to any operation: 400 (unparsable body, refused operation), 401 (TCP without a valid token),
403 (role too low), 404, 405, 409, 413 (body cap), 422 (bad value), 429 (rate limits, ``Retry-After``), 500 and
503 (not ready, storage unavailable; ``Retry-After``). The document gets one ``Error`` schema, these responses on
every operation, the bearer security scheme that TCP requires (``/health`` and ``/ready`` need none), and the
``X-Next-Cursor`` header of paged listings. schemathesis checks the result against a running daemon
(tests/integration/daemon/test_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from alphintra.daemon.auth import PUBLIC_PATHS

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "machine-readable code, e.g. validation_error"},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "the field at fault, if any"},
        "reason": {"type": "string", "description": "an order rejection's reason code"},
    },
    "required": ["error", "detail", "field"],
}

_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}},
}
_ERRORS: dict[str, tuple[str, bool]] = {
    "400": ("the request could not be parsed, or the operation was refused", False),
    "401": ("a valid bearer token is required (TCP)", False),
    "403": ("the token's role is too low", False),
    "404": ("no such resource", False),
    "405": ("method not allowed", False),
    "409": ("conflict with the current state", False),
    "413": ("request body over the limit ([api] max_body_bytes)", False),
    "422": ("a value broke a rule; `field` names it", False),
    "429": ("over a rate limit ([api] settings)", True),
    "500": ("internal error (an incident id is in the detail and the engine log)", False),
    "503": ("not ready, or storage unavailable", True),
}
_PUBLIC_ERRORS = ("405", "429", "500", "503")
_PAGED = {("/api/v1/orders", "get"), ("/api/v1/trades", "get")}
BEARER = "bearerAuth"


def _error_response(description: str, retry: bool) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry:
        response["headers"] = dict(_RETRY_AFTER)
    return response


def fix_document(doc: dict[str, Any], public_paths: frozenset[str] = PUBLIC_PATHS) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "required over TCP (`alphintra auth token create`); the unix socket needs none",
        }
    }
    doc["security"] = [{BEARER: []}]
    for path, item in doc.get("paths", {}).items():
        public = path in public_paths
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in ("get", "post", "put", "delete", "patch"):
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, retry) in _ERRORS.items():
                if public and status not in _PUBLIC_ERRORS:
                    responses.pop(status, None)
                    continue
                responses[status] = _error_response(description, retry)
            if public:
                operation["security"] = []
            if (path, method) in _PAGED:
                ok = responses.get("200", {})
                ok["headers"] = {
                    "X-Next-Cursor": {
                        "description": "cursor of the next page (pass it as `cursor`); absent on the last page",
                        "schema": {"type": "string"},
                    }
                }
    return doc


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that builds the corrected document once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = fix_document(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["BEARER", "ERROR_SCHEMA", "fix_document", "install_openapi"]
