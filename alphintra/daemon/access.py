"""Who may call which operation, on which account, and the audit entry each change leaves: declared in one table.

:data:`OPERATIONS` maps every HTTP operation of the daemon (method, full path template) to the role it needs, the
audit action it records when it changes something, whether it works on an account (then the caller must own or be
granted it: ``?account=``, the body's or the engine's account, or the account of the order, trade or algorithm it
names; admins reach every account, see ``ownership.py``), and what its "before" value is. Listings are not refused
but filtered to the caller's accounts by their handlers (``ownership.Visible``).
:func:`enforce` is a dependency of the whole app: it refuses (403, the JSON error body) before any handler, body
validation or side effect runs, and an operation missing from the table is admin-only (fail closed). The routers'
own ``require_role`` dependencies stay; tests/unit/daemon/test_role_matrix.py walks every OpenAPI operation for
every role and fails if the two ever disagree or an operation is unlisted.

:class:`AuditMiddleware` writes the audit entry of a successful change (a 2xx answer to a non-GET operation that has
an action) and only then lets the answer go out; the order-entry WebSocket's answers are audited the same way, one
entry per order acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alphintra.config.logs import get_logger
from alphintra.daemon.audit import AuditLog
from alphintra.daemon.auth import PRINCIPAL_KEY, PUBLIC_PATHS, principal_of
from alphintra.daemon.ownership import AccountScope, scope_of
from alphintra.daemon.protocol import PermissionDeniedError, Role, error_body
from alphintra.errors import AlphintraError, StorageUnavailable

log = get_logger("daemon.access")

OPERATION_KEY = "alphintra.operation"
BEFORE_KEY = "alphintra.audit_before"
# An order handler that hands its audit entry to the engine's batch (durability.BatchAudit) leaves the ticket here;
# on the order-entry stream the hook leaves itself here, and the handler marks it.
AUDITED_KEY = "alphintra.audited"
ENTRY_PATH = "/api/v1/orders/entry"

V, T, A = Role.VIEWER, Role.TRADER, Role.ADMIN


@dataclass(frozen=True, slots=True)
class Op:
    role: Role
    action: str | None = None  # the audit action of a change; None for reads
    account: bool = False  # works on the account its body or ``?account=`` names, else the engine's
    before: str | None = None  # what is read as the "before" value (see _BEFORE)
    of: str | None = None  # works on an existing order/trade/algorithm: its own account (see _OWNER)
    halt: bool = False  # a halt: what it reaches must be the caller's (see _check_halt)


OPERATIONS: dict[tuple[str, str], Op] = {
    ("GET", "/health"): Op(V),
    ("GET", "/ready"): Op(V),
    ("GET", "/metrics"): Op(V),
    ("GET", "/api/v1/engine/status"): Op(V),
    ("POST", "/api/v1/engine/stop"): Op(A, "engine.stop"),
    ("GET", "/api/v1/auth/whoami"): Op(V),
    ("GET", "/api/v1/audit"): Op(A),
    ("GET", "/api/v1/users"): Op(A),
    ("POST", "/api/v1/orders"): Op(T, "order.create", account=True),
    ("GET", "/api/v1/orders"): Op(V),
    ("POST", "/api/v1/orders/batch"): Op(T, "order.batch", account=True),
    ("POST", "/api/v1/orders/routed"): Op(T, "order.route", account=True),
    ("GET", "/api/v1/orders/routed"): Op(V),
    ("GET", "/api/v1/orders/routed/{route_id}"): Op(V),
    ("POST", "/api/v1/orders/cancel-all"): Op(T, "order.cancel_all"),
    ("GET", "/api/v1/orders/{order_id}"): Op(V, of="order"),
    ("PUT", "/api/v1/orders/{order_id}"): Op(T, "order.modify", before="order", of="order"),
    ("DELETE", "/api/v1/orders/{order_id}"): Op(T, "order.cancel", before="order", of="order"),
    ("POST", "/api/v1/orders/{order_id}/cancel"): Op(T, "order.cancel", before="order", of="order"),
    ("GET", "/api/v1/algos"): Op(V),
    ("GET", "/api/v1/algos/{algo_id}"): Op(V, of="algo"),
    ("DELETE", "/api/v1/algos/{algo_id}"): Op(T, "algo.cancel", of="algo"),
    ("GET", "/api/v1/algos/{algo_id}/orders"): Op(V, of="algo"),
    ("POST", "/api/v1/algos/{algo_id}/cancel"): Op(T, "algo.cancel", of="algo"),
    ("GET", "/api/v1/trades"): Op(V),
    ("GET", "/api/v1/trades/summary"): Op(V),
    ("GET", "/api/v1/trades/{trade_id}"): Op(V, of="trade"),
    ("GET", "/api/v1/portfolio"): Op(V, account=True),
    ("GET", "/api/v1/portfolio/positions"): Op(V, account=True),
    ("GET", "/api/v1/portfolio/balances"): Op(V, account=True),
    ("GET", "/api/v1/portfolio/performance"): Op(V, account=True),
    ("GET", "/api/v1/portfolio/accounts"): Op(V),
    ("GET", "/api/v1/portfolio/by-venue"): Op(V),
    ("GET", "/api/v1/venues"): Op(V),
    ("GET", "/api/v1/venues/{name}"): Op(V),
    ("POST", "/api/v1/venues/{name}/reconcile"): Op(A, "venue.reconcile"),
    ("POST", "/api/v1/venues/{name}/resume"): Op(A, "venue.resume"),
    ("GET", "/api/v1/market-data/symbols"): Op(V),
    ("GET", "/api/v1/market-data/ticker"): Op(V),
    ("GET", "/api/v1/market-data/orderbook"): Op(V),
    ("GET", "/api/v1/market-data/consolidated"): Op(V),
    ("GET", "/api/v1/market-data/ohlcv"): Op(V),
    ("GET", "/api/v1/market-data/trades"): Op(V),
    ("POST", "/api/v1/market-data/ticks"): Op(A, "market.tick"),
    ("POST", "/api/v1/strategies"): Op(T, "strategy.create", account=True),
    ("GET", "/api/v1/strategies"): Op(V),
    ("POST", "/api/v1/strategies/run-once"): Op(T, "strategy.run_once", account=True),
    ("GET", "/api/v1/strategies/{key}"): Op(V, of="strategy"),
    ("PUT", "/api/v1/strategies/{key}"): Op(T, "strategy.update", of="strategy"),
    ("DELETE", "/api/v1/strategies/{key}"): Op(T, "strategy.delete", of="strategy"),
    ("POST", "/api/v1/strategies/{key}/start"): Op(T, "strategy.start", of="strategy"),
    ("POST", "/api/v1/strategies/{key}/stop"): Op(T, "strategy.stop", of="strategy"),
    ("GET", "/api/v1/strategies/{key}/signals"): Op(V, of="strategy"),
    ("GET", "/api/v1/strategies/{key}/status"): Op(V, of="strategy"),
    ("GET", "/api/v1/schedules"): Op(V),
    ("POST", "/api/v1/schedules"): Op(T, "schedule.add", account=True),
    ("GET", "/api/v1/schedules/{job_id}"): Op(V, of="schedule"),
    ("DELETE", "/api/v1/schedules/{job_id}"): Op(T, "schedule.remove", of="schedule"),
    ("POST", "/api/v1/schedules/{job_id}/pause"): Op(T, "schedule.pause", of="schedule"),
    ("POST", "/api/v1/schedules/{job_id}/resume"): Op(T, "schedule.resume", of="schedule"),
    ("POST", "/api/v1/schedules/{job_id}/run"): Op(T, "schedule.run", of="schedule"),
    ("GET", "/api/v1/risk/limits"): Op(V),
    ("PUT", "/api/v1/risk/limits"): Op(A, "risk.limits", before="limits"),
    ("GET", "/api/v1/risk/metrics"): Op(V, account=True),
    ("GET", "/api/v1/risk/alerts"): Op(V),
    ("POST", "/api/v1/risk/alerts"): Op(T, "risk.alert"),
    ("POST", "/api/v1/risk/alerts/{alert_id}/ack"): Op(T, "risk.alert_ack"),
    ("POST", "/api/v1/risk/halt"): Op(T, "risk.halt", before="halts", halt=True),
    ("POST", "/api/v1/risk/resume"): Op(A, "risk.resume", before="halts"),
    ("GET", "/api/v1/backtests"): Op(V),
    ("GET", "/api/v1/backtests/{run_id}"): Op(V),
}
_UNLISTED = Op(A, "unlisted")


def route_template(scope: Scope) -> str | None:
    """The full path template of the route that matched (``/api/v1/orders/{order_id}``).

    The matched route knows its path below the prefix it was included with; the prefix is what the request path
    has before the route's own part."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return None
    params = scope.get("path_params") or {}
    try:
        own = str(route.url_path_for(route.name, **params))  # type: ignore[union-attr]
    except Exception:  # a route whose parameters do not rebuild; fail closed (unlisted)
        return None
    request_path = str(scope.get("path", ""))
    if not request_path.endswith(own):
        return None
    return request_path[: len(request_path) - len(own)] + path


def operation(scope: Scope) -> tuple[tuple[str, str] | None, Op]:
    template = route_template(scope)
    key = None if template is None else (str(scope.get("method", "GET")).upper(), template)
    return key, OPERATIONS.get(key, _UNLISTED) if key is not None else _UNLISTED


async def enforce(conn: HTTPConnection) -> None:
    """App-wide dependency: the caller's role and accounts against :data:`OPERATIONS`; the before value."""
    if conn.scope["type"] != "http":
        return  # WebSocket handlers check their role themselves (accept, then close 4403 with a reason)
    if PRINCIPAL_KEY not in conn.scope and conn.scope.get("path") in PUBLIC_PATHS:
        return  # the probes answer anyone (auth.py)
    key, op = operation(conn.scope)
    principal = principal_of(conn)
    if not principal.role.allows(op.role):
        raise PermissionDeniedError(f"role {principal.role.value} may not do this; {op.role.value} is required")
    conn.scope[OPERATION_KEY] = (key, op)
    scope = scope_of(conn)
    named = conn.query_params.get("account")
    if named:
        scope.check(named)  # any operation: an account asked for by name must be the caller's
    if op.of is not None and not scope.everything:
        owner = await _owner_of(op.of, conn)
        if owner is not None:  # an unknown id: the handler answers 404 itself
            scope.check(owner)
    elif op.account and not scope.everything:
        for account in await _accounts_of(conn):
            if account is not None:
                scope.check(account)
    if op.halt and not scope.everything:
        await _check_halt(conn, scope)
    before = None
    if op.before is not None:
        reader = _BEFORE.get(op.before)
        if reader is not None:
            try:
                before = await reader(conn)
            except Exception:  # no before value (e.g. unknown order): the handler answers the error itself
                before = None
    conn.scope[BEFORE_KEY] = before


async def _accounts_of(conn: HTTPConnection) -> list[str | None]:
    """The accounts a request works on: ``?account=``, the accounts the body's orders trade in
    (``host.account_for(symbol, account)`` where the host routes symbols to accounts), else the engine's."""
    named = conn.query_params.get("account")
    if named:
        return [named]
    if not isinstance(conn, Request) or conn.method not in ("POST", "PUT"):
        return [_engine_account(conn)]
    try:
        body = json.loads(await conn.body() or b"null")
    except ValueError:
        return [None]  # the handler refuses the body itself
    legs: list[Any] = [body]
    if isinstance(body, dict) and isinstance(body.get("orders"), list):
        legs = body["orders"]
    host = getattr(conn.app.state, "host", None)
    route: Callable[..., Any] | None = getattr(host, "accounts_touched", None)
    account_for: Callable[..., Any] | None = getattr(host, "account_for", None)
    found: list[str | None] = []
    for leg in legs:
        if not isinstance(leg, dict):
            continue
        named = leg.get("account") if isinstance(leg.get("account"), str) else None
        symbol = leg.get("symbol")
        touched: list[str | None] = [named]
        if route is not None and isinstance(symbol, str):
            with contextlib.suppress(Exception):  # an unknown symbol: the handler answers it
                touched = list(route(leg))  # a routed order trades in the account of each venue it may use
        elif account_for is not None and isinstance(leg.get("symbols"), list) and leg["symbols"]:
            # a strategy trades each symbol in the account on its venue (or all in the account it names)
            each: list[str | None] = []
            for sym in leg["symbols"]:
                with contextlib.suppress(Exception):  # an unknown symbol: the handler answers it
                    each.append(str(account_for(str(sym), named)))
            touched = each or [named]
        found += [account or _engine_account(conn) for account in touched]
    return list(dict.fromkeys(found)) or [_engine_account(conn)]


async def _check_halt(conn: HTTPConnection, scope: AccountScope) -> None:
    """A user limited to their accounts halts an account only if it is theirs (a strategy: if its account is), and
    cancels or flattens only there: a global or symbol halt with ``cancel_orders``/``flatten`` reaches every
    account, which is an admin's to do. Stopping new orders alone stays in every trader's hand (the kill switch)."""
    if not isinstance(conn, Request):
        return
    try:
        body = json.loads(await conn.body() or b"null")
    except ValueError:
        return  # the handler refuses the body itself
    if not isinstance(body, dict):
        return
    kind, target = body.get("scope", "global"), body.get("scope_id", "*")
    if kind == "account" and isinstance(target, str):
        scope.check(target)
        return
    if kind == "strategy" and isinstance(target, str):
        owner = await _saved_strategy_account(conn, target)
        if owner is not None:
            scope.check(owner)
            return
    if body.get("cancel_orders") is True or body.get("flatten") is True:
        raise PermissionDeniedError(
            f"user {scope.user} may halt {kind} trading but may not cancel or flatten in other users' accounts;"
            " halt scope account with one of yours to cancel or flatten it"
        )


async def _saved_strategy_account(conn: HTTPConnection, key: str) -> str | None:
    """The account of a saved strategy; None when ``key`` names none (its reach is then unknown: everyone's)."""
    from alphintra.daemon.trading.strategies import manager_of

    manager = manager_of(conn.app.state.host)

    def find() -> str | None:
        try:
            return str(manager.row_account(manager.row(key)))
        except AlphintraError:
            return None

    return await asyncio.to_thread(find)


def _engine_account(conn: HTTPConnection) -> str | None:
    host = getattr(conn.app.state, "host", None)
    account = getattr(host, "account", None)
    return account if isinstance(account, str) else None


# -- owners: the account an existing order, trade or algorithm belongs to ------------------------------------


async def _order_owner(conn: HTTPConnection) -> str | None:
    host = conn.app.state.host
    order_id = conn.path_params["order_id"]

    def live() -> str | None:
        found = host.node.orders.get(order_id) if host.node is not None else None
        return None if found is None else str(found.account)

    # A finished order past the engine's retention: the projection has it.
    return await _live_or_archived(host, live, lambda: host.archive.order(order_id))


async def _trade_owner(conn: HTTPConnection) -> str | None:
    host = conn.app.state.host
    trade_id = conn.path_params["trade_id"]

    def live() -> str | None:
        for fill in reversed(host.node.fills):
            if fill.trade_id == trade_id:
                return str(fill.account)
        return None

    return await _live_or_archived(host, live, lambda: host.archive.trade(trade_id))


async def _live_or_archived(
    host: Any, live: Callable[[], str | None], archived: Callable[[], dict[str, Any] | None]
) -> str | None:
    owner: str | None = await host.acall(live)
    if owner is None:
        row = await asyncio.to_thread(archived)
        owner = None if row is None or row.get("account") is None else str(row["account"])
    return owner


async def _algo_owner(conn: HTTPConnection) -> str | None:
    host = conn.app.state.host
    algo_id = conn.path_params["algo_id"]

    def live() -> str | None:
        try:
            return str(host.node.algos.progress(algo_id).account)
        except Exception:  # unknown: the handler answers 404
            return None

    owner: str | None = await host.acall(live)
    return owner


async def _strategy_owner(conn: HTTPConnection) -> str | None:
    return await _saved_strategy_account(conn, conn.path_params["key"])


async def _schedule_owner(conn: HTTPConnection) -> str | None:
    from alphintra.daemon.trading.scheduler import scheduler_of

    scheduler = scheduler_of(conn.app.state.host)
    job_id = conn.path_params["job_id"]
    return await asyncio.to_thread(lambda: scheduler.manager.account_of(scheduler.get(job_id)["symbols"]))


_OWNER: dict[str, Callable[[HTTPConnection], Awaitable[str | None]]] = {
    "order": _order_owner,
    "trade": _trade_owner,
    "algo": _algo_owner,
    "strategy": _strategy_owner,
    "schedule": _schedule_owner,
}


async def _owner_of(kind: str, conn: HTTPConnection) -> str | None:
    try:
        return await _OWNER[kind](conn)
    except PermissionDeniedError:
        raise
    except Exception:  # the engine not running or the id malformed: the handler answers the error itself
        return None


# -- before values ---------------------------------------------------------------------------------------------


async def _before_order(conn: HTTPConnection) -> Any:
    from alphintra.daemon.trading.views import order_view

    host = conn.app.state.host
    order_id = conn.path_params["order_id"]
    return await host.acall(lambda: order_view(host.node.order(order_id)))


async def _before_limits(conn: HTTPConnection) -> Any:
    host = conn.app.state.host
    keeper = host.risk_keeper
    return await asyncio.to_thread(lambda: {"limits": _jsonable(keeper.state.limits)})


async def _before_halts(conn: HTTPConnection) -> Any:
    host = conn.app.state.host
    return await host.acall(lambda: {"halts": [h.to_dict() for h in host.node.risk.halts]})


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


_BEFORE: dict[str, Callable[[HTTPConnection], Awaitable[Any]]] = {
    "order": _before_order,
    "limits": _before_limits,
    "halts": _before_halts,
}


# -- the audit hook --------------------------------------------------------------------------------------------


def _who(scope: Scope) -> dict[str, Any]:
    principal = scope.get(PRINCIPAL_KEY)
    client = scope.get("client")
    listener = getattr(principal, "listener", None)
    peer = f"{client[0]}:{client[1]}" if listener == "tcp" and client else None
    return {
        "user": getattr(principal, "user", None),
        "role": getattr(getattr(principal, "role", None), "value", None),
        "via": listener,
        "peer": peer,
    }


def audit_fields(scope: Scope, **fields: Any) -> dict[str, Any] | None:
    """What an order handler's audit entry holds besides ``after`` (and ``status``), as the hook would write it;
    None when this request is not audited (no audit log, or no action)."""
    app = scope.get("app")
    if getattr(getattr(app, "state", None), "audit", None) is None:
        return None
    if "action" not in fields:
        found = scope.get(OPERATION_KEY)
        if found is None or found[1].action is None:
            return None
        fields["action"] = found[1].action
    return {**_who(scope), "target": str(scope.get("path")), "before": scope.get(BEFORE_KEY), **fields}


def stream_audited_by_handler(scope: Scope) -> bool:
    """The order-entry handler: its answers' entries go with the engine's batches; True when the hook agreed."""
    answers = scope.get(AUDITED_KEY)
    if isinstance(answers, _EntryAnswers):
        answers.by_handler = True
        return True
    return False


class AuditMiddleware:
    """Writes the audit entry of each successful change before its answer leaves (see the module docstring)."""

    def __init__(self, app: ASGIApp, audit: AuditLog | None) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.audit is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            if scope.get("path") == ENTRY_PATH:
                answers = _EntryAnswers(self.audit, scope, send)
                scope[AUDITED_KEY] = answers
                try:
                    await self.app(scope, receive, answers.send)
                finally:
                    with contextlib.suppress(Exception):
                        await answers.drain()
            else:
                await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.audit is not None
        body: list[bytes] = []
        held: list[Message] = []

        async def tap(message: Message) -> Message:
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        async def receive_tapped() -> Message:
            return await tap(await receive())

        async def send_held(message: Message) -> None:
            if message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                try:
                    await self._record(scope, held, b"".join(body))
                except OSError as exc:
                    # Not acknowledged: the answer is withheld. The change itself may stand (it was made first), so
                    # the caller is told to look before retrying.
                    log.error("audit entry not written", extra={"path": scope.get("path"), "error": str(exc)})
                    detail = (
                        f"the audit log could not be written ({exc.strerror or exc}); the change may have been "
                        "applied: check before retrying"
                    )
                    held[:] = _json_answer(503, error_body(StorageUnavailable.code, detail))
                for m in held:
                    await send(m)
                held.clear()

        await self.app(scope, receive_tapped, send_held)

    async def _record(self, scope: Scope, held: list[Message], request: bytes) -> None:
        assert self.audit is not None
        start = held[0] if held and held[0]["type"] == "http.response.start" else None
        status = int(start["status"]) if start is not None else 0
        found = scope.get(OPERATION_KEY)
        if found is None or not 200 <= status < 300:
            return
        _, op = found
        if op.action is None:
            return
        number: int = getattr(scope.get(AUDITED_KEY), "number", 0)
        if number:
            # Written with the engine's batch and (normally) fsync-ed beside its journal: nothing left but a check.
            if not self.audit.covers(number):
                await asyncio.to_thread(self.audit.sync, number)
            return
        answer = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        entry = self.audit.entry(
            **_who(scope),
            action=op.action,
            target=str(scope.get("path")),
            status=status,
            before=scope.get(BEFORE_KEY),
            after=_parse(answer),
            request=_parse(request),
        )
        # Written before the answer goes out; a failure to write is a failed request (503), not a silent gap.
        await asyncio.to_thread(self.audit.append, entry)


class _EntryAnswers:
    """The order-entry stream's answers, each held until the audit entry of the order it acknowledges is on disk.

    The stream answers in order and one at a time; waiting for an fsync per answer would cap a connection at the
    disk's fsync rate. Instead answers queue while one fsync runs and all go out after the next, which covers all of
    their entries (group commit), in the order they came; at most ``_HELD`` answers wait before the stream itself
    waits (back-pressure, as before)."""

    _HELD = 1000

    def __init__(self, audit: AuditLog, scope: Scope, send: Send) -> None:
        self.audit = audit
        self.scope = scope
        self.inner = send
        self.pending: list[Message] = []
        self.highest = 0
        self.flusher: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None
        self.by_handler = False  # the handler writes each answer's entry with the engine's batch

    async def send(self, message: Message) -> None:
        if self.failed is not None:
            raise self.failed
        if message["type"] != "websocket.send":
            await self.drain()  # accept, close: after every answer before them
            await self.inner(message)
            return
        if self.by_handler:
            # The entry of an order's answer was written before the answer was made: whatever is written covers it.
            self.highest = self.audit.written
            if not self.pending and self.audit.covers(self.highest) and (self.flusher is None or self.flusher.done()):
                await self.inner(message)
                return
        else:
            self._entry_of(message)
        self.pending.append(message)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        if len(self.pending) >= self._HELD:
            await self.drain()

    def _entry_of(self, message: Message) -> None:
        answer = _parse((message.get("text") or "").encode())
        if isinstance(answer, dict) and ("order" in answer or "algo" in answer):
            entry = self.audit.entry(
                **_who(self.scope), action="order.create", target=ENTRY_PATH, status=201, after=answer
            )
            self.highest = self.audit.write(entry)

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                if self.highest and not self.audit.covers(self.highest):
                    await asyncio.to_thread(self.audit.sync, self.highest)
                for message in batch:
                    await self.inner(message)
        except BaseException as exc:  # a gone client or a failed sync: nothing more is answered on this stream
            self.failed = exc
            self.pending.clear()

    async def drain(self) -> None:
        while self.flusher is not None and not self.flusher.done():
            await asyncio.shield(self.flusher)
        if self.failed is not None:
            raise self.failed


def _json_answer(status: int, body: Any) -> list[Message]:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if status == 503:
        headers.append((b"retry-after", b"5"))
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": data, "more_body": False},
    ]


def _parse(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return {"unparsed_bytes": len(data)}


__all__ = [
    "AUDITED_KEY",
    "OPERATIONS",
    "AuditMiddleware",
    "Op",
    "audit_fields",
    "enforce",
    "operation",
    "route_template",
    "stream_audited_by_handler",
]
