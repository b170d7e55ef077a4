"""An in-process trading host behind the real app (unix-socket admin client, TCP clients with tokens)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from alphintra.daemon.app import ListenerApp, create_app
from alphintra.daemon.audit import AuditLog
from alphintra.daemon.auth import Authenticator, issue_token
from alphintra.daemon.metrics import EngineMetrics
from alphintra.daemon.trading.host import TradingHost
from alphintra.daemon.users import UserStore
from alphintra.daemon.ws import WebSocketHub

SECRET = "s" * 40


class Engine:
    """A started TradingHost (paper feed off: prices move only by ``tick``) and clients of its app."""

    def __init__(self, audit: AuditLog | None = None, users: UserStore | None = None) -> None:
        from alphintra.config.settings import get_settings

        self.settings = get_settings()
        assert self.settings.paper.feed == "none"
        self.host = TradingHost(self.settings)
        self.metrics = EngineMetrics(process=False)
        self.hub = WebSocketHub(metrics=self.metrics)
        self.app = create_app(
            self.host,
            metrics=self.metrics,
            hub=self.hub,
            authenticator=Authenticator(SECRET, users=users),
            routers=self.host.routers(),
            audit=audit,
        )
        self.host.attach(self.app)
        self.host.start()
        self.client = TestClient(ListenerApp(self.app, "unix"))

    def tcp(self, user: str, role: str) -> TestClient:
        token = issue_token(SECRET, user, role, 3600, now=int(time.time()))
        return TestClient(ListenerApp(self.app, "tcp"), headers={"Authorization": f"Bearer {token}"})

    def tick(self, symbol: str, price: str) -> None:
        r = self.client.post("/api/v1/market-data/ticks", json={"symbol": symbol, "price": price})
        assert r.status_code == 200, r.text

    def order(self, **body: str) -> dict[str, Any]:
        """Place an order through the API (201 expected); the order's view."""
        r = self.client.post("/api/v1/orders", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def orders(self, strategy: str) -> list[dict[str, Any]]:
        r = self.client.get("/api/v1/orders", params={"strategy": strategy})
        assert r.status_code == 200, r.text
        return list(r.json())

    def gauge(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels or {})

    def close(self) -> None:
        self.host.stop()
