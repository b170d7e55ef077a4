"""The project's one exception tree.

It lives in ``engine.core`` because the core may import nothing of the project, while every other layer may
import the core. ``alphintra.errors`` re-exports it for the outer layers.

Each error knows whether retrying can help and which CLI exit code it maps to: 2 for usage and validation
errors, 1 for an operation that failed.
"""

from __future__ import annotations

from decimal import Decimal


class AlphintraError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code: int = 1
    retryable: bool = False
    code: str = "error"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.code, "detail": self.message, "field": None}


class ValidationError(AlphintraError):
    """Input broke a rule; names the field, the offending value and the rule."""

    exit_code = 2
    code = "validation_error"

    def __init__(self, field: str, rule: str, value: object = None, *, reason: str | None = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        self.reason = reason or "invalid"
        # A Decimal as the number a trader typed (0.00001), never its Python repr (Decimal('0.00001')).
        shown = "" if value is None else f" (got {format(value, 'f') if isinstance(value, Decimal) else repr(value)})"
        super().__init__(f"{field}: {rule}{shown}")

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.code, "detail": self.message, "field": self.field}


class ConfigError(ValidationError):
    """A setting in the TOML file or the environment is invalid."""

    code = "config_error"


class NotFoundError(AlphintraError):
    code = "not_found"


class UnknownNameError(NotFoundError):
    """A name the user typed (a strategy, a risk limit) is not one of the known ones: a usage error on the command
    line (exit 2, as the README promises for validation errors); still 404 in the API."""

    exit_code = 2


class ConflictError(AlphintraError):
    """The request contradicts current state (duplicate id, already running, ...)."""

    code = "conflict"


class OperationFailed(AlphintraError):
    code = "operation_failed"


class RetryableError(OperationFailed):
    """A transient failure (venue timeout, lock held); the same call may succeed later."""

    retryable = True
    code = "retryable"


class StorageUnavailable(RetryableError):
    """A change could not be made durable (disk full, I/O error): nothing of it was kept or applied.

    The daemon answers 503 ``storage_unavailable`` and refuses new orders until a write succeeds again.
    """

    code = "storage_unavailable"


class InvalidTransition(ConflictError):
    """An event does not fit its order's current state (illegal status change, overfill, repeated trade id).

    Raised by ``Order.apply`` before anything is changed, so the order stays exactly as it was.
    """

    code = "invalid_transition"

    def __init__(self, order_id: str, event: str, from_status: str, to_status: str | None, why: str) -> None:
        self.order_id = order_id
        self.event = event
        self.from_status = from_status
        self.to_status = to_status
        # A trader's sentence: what could not happen to the order, in which state, and why (no event class names).
        action = _ACTIONS.get(event, "changed")
        state = str(getattr(from_status, "value", from_status)).lower().replace("_", " ")
        reason = "" if why == "not in the transition table" else f": {why}"
        super().__init__(f"order {order_id} cannot be {action} while it is {state}{reason}")


_ACTIONS = {
    "OrderInitialized": "created again",
    "OrderSubmitted": "submitted",
    "OrderAccepted": "accepted",
    "OrderRejected": "rejected",
    "OrderTriggered": "triggered",
    "OrderUpdated": "modified",
    "OrderPendingCancel": "canceled",
    "OrderCancelRejected": "refused a cancel",
    "OrderCanceled": "canceled",
    "OrderExpired": "expired",
    "OrderFilled": "filled",
}


class OrderRejectedError(ValidationError):
    """An order request broke a rule of its instrument or venue; ``reason`` is the stable reject code."""

    code = "order_rejected"

    def __init__(self, field: str, rule: str, value: object = None, *, reason: str) -> None:
        super().__init__(field, rule, value, reason=reason)

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.code, "detail": self.message, "field": self.field, "reason": self.reason}


__all__ = [
    "AlphintraError",
    "ConfigError",
    "ConflictError",
    "InvalidTransition",
    "NotFoundError",
    "OperationFailed",
    "OrderRejectedError",
    "RetryableError",
    "StorageUnavailable",
    "ValidationError",
]
