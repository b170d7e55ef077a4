"""What travels between the daemon and its clients, with no web framework imported.

Errors cross the wire as ``{"error": code, "detail": message, "field": field-or-null}`` (the shape of
``AlphintraError.to_dict``). The server picks the HTTP status from the exception class; the client rebuilds an
exception of the same family from the status and the code, so the CLI's one error handler prints a remote
failure exactly like a local one (same message, same exit code).

Status codes:

==========================================  ======  ==========================================
exception                                   status  when
==========================================  ======  ==========================================
ValidationError (and request validation)    422     input broke a rule; ``field`` names it
malformed request body (not JSON)           400     the request could not be parsed at all
AuthenticationError                         401     TCP request without a valid bearer token
PermissionDeniedError                       403     the token's role is too low
NotFoundError (and unknown routes)          404
ConflictError                               409     duplicate id, already running, ...
body over ``[api] max_body_bytes``          413     refused before it is read whole
RateLimitedError (and request rate limits)  429     over an ``[api]`` rate (``Retry-After`` is set)
RetryableError, NotReadyError               503     try again later (``Retry-After`` is set)
OperationFailed and any other AlphintraError 400    the operation was refused
anything else                               500     a bug; logged with an incident id
==========================================  ======  ==========================================

422 rather than 400 for validation: the request was well-formed but its content is wrong, which is also
what FastAPI's own request validation returns, so both kinds of bad input look the same to a client.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import orjson

from alphintra.errors import (
    AlphintraError,
    ConflictError,
    NotFoundError,
    OperationFailed,
    RetryableError,
    StorageUnavailable,
    ValidationError,
)


class Role(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, value: str, field: str = "role") -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValidationError(field, "must be one of viewer, trader, admin", value) from None


_RANK = {Role.VIEWER: 0, Role.TRADER: 1, Role.ADMIN: 2}


class AuthenticationError(AlphintraError):
    """No valid credentials: missing, malformed, badly signed or expired bearer token."""

    code = "unauthorized"


class PermissionDeniedError(AlphintraError):
    """Valid credentials whose role is too low for the operation."""

    code = "forbidden"


class NotReadyError(RetryableError):
    """The daemon is up but the engine has not finished starting (journal replay) or is stopping."""

    code = "not_ready"


class RateLimitedError(AlphintraError):
    """Over a rate limit (``[api]`` settings): answered 429 with ``Retry-After``; the same call works later."""

    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RemoteValidationError(ValidationError):
    """A ValidationError rebuilt on the client: keeps the server's message verbatim."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.rule = message
        self.value = None
        self.reason = "remote"
        AlphintraError.__init__(self, message)


def status_for(exc: AlphintraError) -> int:
    """The HTTP status the daemon answers with for one of the project's errors."""
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, RateLimitedError):
        return 429
    if isinstance(exc, RetryableError):
        return 503
    return 400


def error_body(code: str, detail: str, field: str | None = None) -> dict[str, str | None]:
    return {"error": code, "detail": detail, "field": field}


_BY_CODE: dict[str, type[AlphintraError]] = {
    AuthenticationError.code: AuthenticationError,
    PermissionDeniedError.code: PermissionDeniedError,
    NotFoundError.code: NotFoundError,
    ConflictError.code: ConflictError,
    NotReadyError.code: NotReadyError,
    RateLimitedError.code: RateLimitedError,
    RetryableError.code: RetryableError,
    StorageUnavailable.code: StorageUnavailable,
    OperationFailed.code: OperationFailed,
}

_BY_STATUS: dict[int, type[AlphintraError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
    503: RetryableError,
}


def error_from_response(status: int, body: Any, text: str = "") -> AlphintraError:
    """Rebuild the exception a daemon response describes; never raises itself."""
    if not isinstance(body, dict) or "error" not in body:
        snippet = " ".join(text.split())[:200] or "(empty body)"
        return OperationFailed(f"engine answered HTTP {status}: {snippet}")
    code = str(body.get("error"))
    detail = str(body.get("detail") or code)
    field = body.get("field")
    if status in (400, 422) and (field is not None or code.endswith("validation_error") or code == "bad_request"):
        return RemoteValidationError(str(field) if field is not None else "request", detail)
    if status >= 500 and code not in _BY_CODE:
        return OperationFailed(f"engine failed: {detail}")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or OperationFailed
    return cls(detail)


def json_bytes(data: Any) -> bytes:
    """Compact JSON of an answer (orjson: the order path encodes several per order); what orjson refuses (an
    integer over 64 bits, a key that is not a string) goes through the stdlib instead. Parse requests with
    ``json.loads``: orjson reads a big integer as a float, and a quantity must stay exact."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


__all__ = [
    "AuthenticationError",
    "NotReadyError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RemoteValidationError",
    "Role",
    "error_body",
    "error_from_response",
    "json_bytes",
    "status_for",
]
