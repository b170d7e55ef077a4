"""Who may do what: JWT bearer tokens on TCP, trusted peers on the unix socket.

The unix socket is mode 0600 inside the owner's data home, so whoever can connect to it is the owner, who is
the admin. Over TCP every request except the probes ``/health`` and ``/ready`` must carry
``Authorization: Bearer <jwt>`` (HS256, claims ``sub``, ``role``, ``iat``, ``exp``). Roles are ordered
viewer < trader < admin: a viewer reads, a trader also places and cancels orders and runs strategies, an admin
also changes risk limits and stops the daemon.

Once users are registered (``users.py``), a token must name a registered, enabled user, and that user's current
role applies, not the one in the token: disabling a user or lowering a role takes effect on the next request.

Expiry is checked against an injected clock (not PyJWT's own ``time.time()``) so tests are exact.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jwt
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from alphintra.daemon.protocol import AuthenticationError, PermissionDeniedError, Role, error_body
from alphintra.errors import OperationFailed, ValidationError

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.daemon.users import UserStore

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32
SECRET_FILE = "jwt.secret"
LISTENER_KEY = "alphintra.listener"
PRINCIPAL_KEY = "alphintra.principal"
Listener = Literal["unix", "tcp"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    sub: str
    role: Role
    iat: int
    exp: int


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request."""

    user: str
    role: Role
    listener: Listener


_TTL = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_TTL_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_TTL_SECONDS = 366 * 86400


def parse_ttl(text: str, field: str = "--ttl") -> int:
    """``30m``, ``8h``, ``7d`` (also ``s`` and ``w``) to seconds; at most a year, at least one second."""
    match = _TTL.match(text)
    if not match:
        raise ValidationError(field, "must be a number followed by s, m, h, d or w (e.g. 30m, 8h, 7d)", text)
    seconds = int(match.group(1)) * _TTL_UNIT[match.group(2).lower()]
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise ValidationError(field, "must be between 1 second and 366 days", text)
    return seconds


def issue_token(secret: str, user: str, role: Role | str, ttl_seconds: int, *, now: int) -> str:
    """A signed token for ``user``; ``now`` is in seconds since the epoch."""
    if not user.strip():
        raise ValidationError("--user", "must not be empty", user)
    if ttl_seconds <= 0:
        raise ValidationError("--ttl", "must be positive", ttl_seconds)
    parsed = role if isinstance(role, Role) else Role.parse(role, "--role")
    claims = {"sub": user, "role": parsed.value, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str, *, now: int) -> TokenClaims:
    """Check signature, required claims, role and expiry; raise AuthenticationError with the reason."""
    try:
        raw = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "role", "iat", "exp"]},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise AuthenticationError(f"invalid token: missing claim {exc.claim!r}") from None
    except jwt.InvalidSignatureError:
        raise AuthenticationError("invalid token: bad signature (was it created for another engine?)") from None
    except jwt.PyJWTError as exc:
        raise AuthenticationError(f"invalid token: {exc}") from None
    try:
        role = Role(str(raw["role"]))
        iat, exp = int(raw["iat"]), int(raw["exp"])
    except (ValueError, TypeError):
        raise AuthenticationError("invalid token: bad role, iat or exp claim") from None
    if now >= exp:
        raise AuthenticationError("token expired; create a new one with `alphintra auth token create`")
    return TokenClaims(sub=str(raw["sub"]), role=role, iat=iat, exp=exp)


def load_or_create_secret(settings: Settings) -> str:
    """The HMAC secret: ``engine.jwt_secret`` when set, else ``$ALPHINTRA_HOME/jwt.secret`` (created once, 0600)."""
    configured = settings.engine.jwt_secret
    if configured is not None:
        value = configured.get_secret_value()
        if len(value) < MIN_SECRET_LENGTH:
            raise ValidationError("engine.jwt_secret", f"must be at least {MIN_SECRET_LENGTH} characters long")
        return value
    return _secret_file(settings.paths.root / SECRET_FILE)


def _secret_file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret_file(path)
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def _read_secret_file(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OperationFailed(
            f"{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`",
            detail="anyone who can read the secret can mint admin tokens",
        )
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise OperationFailed(f"{path} holds a secret shorter than {MIN_SECRET_LENGTH} characters")
    return value


class Authenticator:
    """Turns a connection into a Principal; installed on ``app.state.auth`` by ``create_app``."""

    def __init__(
        self, secret: str | None, *, clock: Callable[[], float] = time.time, users: UserStore | None = None
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._owner = owner_name()
        self.users = users

    def authenticate(self, listener: Listener, authorization: str | None) -> Principal:
        if listener == "unix":
            return Principal(self._owner, Role.ADMIN, "unix")
        if not authorization:
            raise AuthenticationError("a bearer token is required over TCP (alphintra auth token create)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header must be `Bearer <token>`")
        if self._secret is None:
            raise AuthenticationError("this engine has no token secret configured")
        claims = verify_token(self._secret, token.strip(), now=int(self._clock()))
        if self.users is None or not self.users.registered():
            return Principal(claims.sub, claims.role, "tcp")
        # Registered users: the token names one, and that user's current role and state decide (users.py).
        user = self.users.get(claims.sub)
        if user is None:
            raise AuthenticationError(f"invalid token: no user {claims.sub!r} (alphintra user list)")
        if not user.enabled:
            raise AuthenticationError(f"user {claims.sub!r} is disabled")
        return Principal(user.name, user.role, "tcp")


def owner_name() -> str:
    """The OS user running this process: the unix socket's trusted owner, and the author of CLI changes."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def listener_of(scope: Scope | dict[str, Any]) -> Listener:
    """Which listener a request came through; untagged scopes count as TCP so the default is the strict one."""
    return "unix" if scope.get(LISTENER_KEY) == "unix" else "tcp"


def principal_of(conn: HTTPConnection) -> Principal:
    principal = conn.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise AuthenticationError("request was not authenticated")
    return principal


def require_role(role: Role | str) -> Callable[[HTTPConnection], Awaitable[Principal]]:
    """A FastAPI dependency: ``Depends(require_role("trader"))`` yields the caller or answers 401/403."""
    needed = role if isinstance(role, Role) else Role.parse(role)

    async def dependency(conn: HTTPConnection) -> Principal:
        principal = principal_of(conn)
        if not principal.role.allows(needed):
            raise PermissionDeniedError(f"role {principal.role.value} may not do this; {needed.value} is required")
        return principal

    dependency.__name__ = f"require_{needed.value}"
    return dependency


# Probes: a load balancer or supervisor asks these without a token; they reveal only "alive" and "ready".
PUBLIC_PATHS = frozenset({"/health", "/ready"})
# Application-defined close codes (4000-4999), mirroring the HTTP statuses.
WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403


class AuthMiddleware:
    """Authenticates every HTTP request and WebSocket handshake before any route runs.

    Doing it here rather than only in route dependencies means a router added later without a
    ``require_role`` dependency is still closed to anonymous TCP callers; the role table (``access.py``) then
    keeps an operation it does not list to admins.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator, public_paths: frozenset[str] = PUBLIC_PATHS) -> None:
        self.app = app
        self.authenticator = authenticator
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        listener = listener_of(scope)
        header: str | None = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        try:
            scope[PRINCIPAL_KEY] = self.authenticator.authenticate(listener, header)
        except AuthenticationError as exc:
            if scope["type"] == "http" and scope.get("path") in self.public_paths:
                await self.app(scope, receive, send)
                return
            if scope["type"] == "websocket":
                await refuse_websocket(receive, send, WS_UNAUTHORIZED, exc.message)
                return
            body = error_body(exc.code, exc.message, None)
            response = JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def refuse_websocket(receive: Receive, send: Send, code: int, reason: str) -> None:
    """Accept then close with a reason: a bare handshake rejection would only tell the client "403"."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    # A close reason is limited to 123 bytes by the protocol.
    await send({"type": "websocket.close", "code": code, "reason": reason.encode()[:123].decode(errors="ignore")})


__all__ = [
    "ALGORITHM",
    "LISTENER_KEY",
    "MIN_SECRET_LENGTH",
    "PRINCIPAL_KEY",
    "WS_FORBIDDEN",
    "WS_UNAUTHORIZED",
    "AuthMiddleware",
    "Authenticator",
    "Principal",
    "Role",
    "TokenClaims",
    "issue_token",
    "listener_of",
    "load_or_create_secret",
    "owner_name",
    "parse_ttl",
    "principal_of",
    "refuse_websocket",
    "require_role",
    "verify_token",
]
