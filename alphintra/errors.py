"""Public home of the exception tree (defined in ``engine.core.errors`` so the core stays import-free)."""

from alphintra.engine.core.errors import (
    AlphintraError,
    ConfigError,
    ConflictError,
    NotFoundError,
    OperationFailed,
    RetryableError,
    StorageUnavailable,
    UnknownNameError,
    ValidationError,
)

__all__ = [
    "AlphintraError",
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "OperationFailed",
    "RetryableError",
    "StorageUnavailable",
    "UnknownNameError",
    "ValidationError",
]
