"""The daemon's Prometheus metrics, one registry per app.

A registry per app (not the library's global one) lets several apps live in one test process and keeps
``/metrics`` limited to what this daemon owns. Engine components receive the ``EngineMetrics`` instance (from
``app.state.metrics`` or from whoever builds the node) and update it directly; every metric is thread-safe.

Exposed names carry the ``alphintra_`` namespace (Prometheus practice), e.g. ``alphintra_orders_total``.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

NAMESPACE = "alphintra"

# Order latency spans in-process paper fills (tens of microseconds) to exchange round trips (seconds).
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class EngineMetrics:
    """Every metric named in issue 7; attribute names match the exposed names without the namespace."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.orders_total = Counter(
            "orders", "Order state changes by the status reached", ["status"], namespace=NAMESPACE, registry=reg
        )
        self.order_latency_seconds = Histogram(
            "order_latency_seconds",
            "Seconds from order submission to the venue's acknowledgement",
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.fills_total = Counter("fills", "Fills received", namespace=NAMESPACE, registry=reg)
        self.active_strategies = Gauge(
            "active_strategies", "Strategies currently running", namespace=NAMESPACE, registry=reg
        )
        self.portfolio_value = Gauge(
            "portfolio_value",
            "Portfolio value in the account's base currency",
            ["account"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.risk_alerts_total = Counter(
            "risk_alerts", "Risk alerts raised, by the rule that fired", ["rule"], namespace=NAMESPACE, registry=reg
        )
        self.websocket_clients = Gauge(
            "websocket_clients", "WebSocket clients connected", namespace=NAMESPACE, registry=reg
        )
        self.storage_read_only = Gauge(
            "storage_read_only",
            "1 while the engine is read-only because its journal could not be written (disk full, I/O error)",
            namespace=NAMESPACE,
            registry=reg,
        )
        if process:
            ProcessCollector(registry=reg)
            PlatformCollector(registry=reg)

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


__all__ = ["LATENCY_BUCKETS", "NAMESPACE", "EngineMetrics"]
