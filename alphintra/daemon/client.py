"""The one client of the daemon: httpx over the unix socket (or TCP with a bearer token), WebSockets for streams.

Failures come back as the project's own exceptions, rebuilt from the daemon's JSON error body
(``protocol.error_from_response``), so a command that calls the daemon needs no error handling of its own:
the CLI's handler prints the daemon's message and exits with the matching code.

    with EngineClient.local() as engine:
        engine.get("/api/v1/engine/status")
        with engine.subscribe("orders/updates") as stream:
            for message in stream:          # WsMessage(type, topic, seq, ts, data)
                ...
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from alphintra.daemon.protocol import (
    AuthenticationError,
    PermissionDeniedError,
    error_from_response,
)
from alphintra.daemon.ws import SLOW_CONSUMER_CODE, UNKNOWN_TOPIC_CODE, WsMessage
from alphintra.errors import AlphintraError, NotFoundError, OperationFailed, RetryableError

if TYPE_CHECKING:
    from alphintra.config.settings import Settings

DEFAULT_TIMEOUT = 10.0
# Over a unix socket the host part of the URL is never resolved; it only has to be a valid name.
SOCKET_BASE_URL = "http://engine"
Params = Mapping[str, str | int | float | bool | None]


def _no_engine(socket_path: Path) -> OperationFailed:
    return OperationFailed(f"no engine is running (socket {socket_path}); start it with `alphintra engine start`")


class _Target:
    """Where the daemon is and how to reach it; shared by the sync and async clients."""

    def __init__(self, socket_path: Path | None, url: str | None, token: str | None) -> None:
        if (socket_path is None) == (url is None):
            raise ValueError("give exactly one of socket_path or url")
        self.socket_path = socket_path
        self.url = url.rstrip("/") if url else None
        self.token = token

    @property
    def base_url(self) -> str:
        return self.url or SOCKET_BASE_URL

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def describe(self) -> str:
        return f"socket {self.socket_path}" if self.socket_path else f"{self.url}"

    def connect_error(self, exc: Exception) -> AlphintraError:
        if self.socket_path is not None:
            return _no_engine(self.socket_path)
        return OperationFailed(f"cannot reach the engine at {self.url}: {exc}")

    def ws_uri(self, topic: str) -> str:
        path = "/ws/" + topic.strip("/")
        if self.url is None:
            return "ws://engine" + path
        return "ws" + self.url.removeprefix("http") + path

    def check(self, response: httpx.Response) -> Any:
        if response.is_success:
            if not response.content:
                return None
            if response.headers.get("content-type", "").startswith("application/json"):
                return response.json()
            return response.text
        try:
            body = response.json()
        except ValueError:
            body = None
        raise error_from_response(response.status_code, body, response.text)


def _close_error(code: int, reason: str) -> AlphintraError | None:
    """The error a WebSocket close code stands for; None for a normal end of stream."""
    if code in (1000, 1001):
        return None
    if code == 4401:
        return AuthenticationError(reason or "authentication required")
    if code == 4403:
        return PermissionDeniedError(reason or "forbidden")
    if code == UNKNOWN_TOPIC_CODE:
        return NotFoundError(reason or "unknown topic")
    if code == SLOW_CONSUMER_CODE:
        return RetryableError(f"the engine disconnected this stream: {reason or 'slow consumer'}")
    return OperationFailed(f"stream closed by the engine (code {code}{': ' + reason if reason else ''})")


class EngineClient:
    """Synchronous client; use ``local()`` for this data home's socket or ``remote(url, token)`` for TCP."""

    def __init__(
        self,
        *,
        socket_path: Path | None = None,
        url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.target = _Target(socket_path, url, token)
        self.timeout = timeout
        if transport is None:
            transport = httpx.HTTPTransport(uds=str(socket_path)) if socket_path else httpx.HTTPTransport()
        self._http = httpx.Client(
            base_url=self.target.base_url, transport=transport, timeout=timeout, headers=self.target.headers
        )

    @classmethod
    def local(cls, settings: Settings | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> EngineClient:
        from alphintra.config.settings import get_settings
        from alphintra.daemon.server import socket_path_for

        return cls(socket_path=socket_path_for(settings or get_settings()), timeout=timeout)

    @classmethod
    def remote(cls, url: str, token: str | None, *, timeout: float = DEFAULT_TIMEOUT) -> EngineClient:
        return cls(url=url, token=token, timeout=timeout)

    def request(self, method: str, path: str, *, json: Any = None, params: Params | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.ConnectError as exc:
            raise self.target.connect_error(exc) from None
        except httpx.TimeoutException:
            raise RetryableError(
                f"the engine did not answer {method} {path} within {self.timeout:g} s ({self.target.describe()})"
            ) from None
        except httpx.TransportError as exc:
            raise OperationFailed(f"connection to the engine failed during {method} {path}: {exc}") from None
        return self.target.check(response)

    def get(self, path: str, *, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, *, params: Params | None = None) -> Any:
        return self.request("POST", path, json=json, params=params)

    def put(self, path: str, json: Any = None, *, params: Params | None = None) -> Any:
        return self.request("PUT", path, json=json, params=params)

    def delete(self, path: str, *, params: Params | None = None) -> Any:
        return self.request("DELETE", path, params=params)

    def health(self) -> dict[str, Any]:
        return dict(self.get("/health"))

    def ready(self) -> bool:
        """True when the engine is ready; False while it starts; raises when no daemon answers."""
        try:
            self.get("/ready")
        except RetryableError:
            return False
        return True

    def status(self) -> dict[str, Any]:
        return dict(self.get("/api/v1/engine/status"))

    def stop(self) -> None:
        self.post("/api/v1/engine/stop")

    def subscribe(self, topic: str, *, open_timeout: float | None = None) -> Subscription:
        return Subscription(self.target, topic, open_timeout if open_timeout is not None else self.timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription:
    """One WebSocket stream; a context manager and an iterator of ``WsMessage``.

    Iteration ends when the engine closes the stream normally (it stops); any other close raises the matching
    project error (e.g. RetryableError for "slow consumer", NotFoundError for an unknown topic).
    """

    def __init__(self, target: _Target, topic: str, open_timeout: float) -> None:
        self.target = target
        self.topic = topic.strip("/")
        self.open_timeout = open_timeout
        self._ws: Any = None

    def __enter__(self) -> Subscription:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect, unix_connect

        uri = self.target.ws_uri(self.topic)
        headers = self.target.headers or None
        try:
            if self.target.socket_path is not None:
                cm = unix_connect(
                    str(self.target.socket_path), uri, additional_headers=headers, open_timeout=self.open_timeout
                )
            else:
                cm = connect(uri, additional_headers=headers, open_timeout=self.open_timeout, proxy=None)
            self._ws = cm.__enter__()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise self.target.connect_error(exc) from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise OperationFailed(f"the engine refused the stream {self.topic}: HTTP {status}") from None
        except TimeoutError:
            raise RetryableError(f"the engine did not open the stream {self.topic} in time") from None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def recv(self, timeout: float | None = None) -> WsMessage | None:
        """The next message, or None when the engine ended the stream normally."""
        from websockets.exceptions import ConnectionClosed

        if self._ws is None:
            raise OperationFailed("the subscription is not open; use it in a `with` block")
        try:
            raw = self._ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            received = exc.rcvd
            error = _close_error(received.code, received.reason) if received else OperationFailed("stream lost")
            if error is not None:
                raise error from None
            return None
        return WsMessage.model_validate(json.loads(raw))

    def __iter__(self) -> Iterator[WsMessage]:
        while (message := self.recv()) is not None:
            yield message


class AsyncEngineClient:
    """The asyncio twin of ``EngineClient`` (for the TUI and async tools)."""

    def __init__(
        self,
        *,
        socket_path: Path | None = None,
        url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.target = _Target(socket_path, url, token)
        self.timeout = timeout
        if transport is None:
            transport = httpx.AsyncHTTPTransport(uds=str(socket_path)) if socket_path else httpx.AsyncHTTPTransport()
        self._http = httpx.AsyncClient(
            base_url=self.target.base_url, transport=transport, timeout=timeout, headers=self.target.headers
        )

    @classmethod
    def local(cls, settings: Settings | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> AsyncEngineClient:
        from alphintra.config.settings import get_settings
        from alphintra.daemon.server import socket_path_for

        return cls(socket_path=socket_path_for(settings or get_settings()), timeout=timeout)

    async def request(self, method: str, path: str, *, json: Any = None, params: Params | None = None) -> Any:
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except httpx.ConnectError as exc:
            raise self.target.connect_error(exc) from None
        except httpx.TimeoutException:
            raise RetryableError(f"the engine did not answer {method} {path} within {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise OperationFailed(f"connection to the engine failed during {method} {path}: {exc}") from None
        return self.target.check(response)

    async def get(self, path: str, *, params: Params | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None, *, params: Params | None = None) -> Any:
        return await self.request("POST", path, json=json, params=params)

    async def put(self, path: str, json: Any = None, *, params: Params | None = None) -> Any:
        return await self.request("PUT", path, json=json, params=params)

    async def delete(self, path: str, *, params: Params | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    async def subscribe(self, topic: str) -> AsyncGenerator[WsMessage, None]:
        """Messages of ``topic`` until the engine ends the stream; abnormal closes raise like ``Subscription``."""
        from websockets.asyncio.client import connect, unix_connect
        from websockets.exceptions import ConnectionClosed

        uri = self.target.ws_uri(topic)
        headers = self.target.headers or None
        try:
            if self.target.socket_path is not None:
                cm = unix_connect(str(self.target.socket_path), uri, additional_headers=headers)
            else:
                cm = connect(uri, additional_headers=headers, proxy=None)
            ws = await cm
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise self.target.connect_error(exc) from None
        try:
            while True:
                try:
                    raw = await ws.recv()
                except ConnectionClosed as exc:
                    received = exc.rcvd
                    error = _close_error(received.code, received.reason) if received else None
                    if error is not None:
                        raise error from None
                    return
                yield WsMessage.model_validate(json.loads(raw))
        finally:
            await ws.close()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncEngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["AsyncEngineClient", "EngineClient", "Subscription"]
