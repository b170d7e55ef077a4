"""The ``/api/v1`` routers of the trading engine (plan §5.1). Handlers validate with pydantic, then run their
work on the engine thread through ``Host.call``; what they change is journaled and synced before they
answer. Roles: viewers read, traders trade, admins move the paper market and change risk limits.

The order-entry handlers are ``async`` and await the engine (``Host.acall``) instead of blocking a worker
thread, and answer with JSON they encode themselves: the views are already plain JSON values, and FastAPI's
response-model pass would validate and copy each of them again (the models stay declared for the OpenAPI).

``/api/v1/orders/entry`` is an order-entry WebSocket for clients that send many orders: each text frame is
``{"ref": <anything>, "order": OrderCreate}``; each answer is ``{"ref", "order": Order}`` (or ``"algo"``) or
``{"ref", "error": {...}}``, in the order the requests came. A client may send without waiting for answers:
requests go to the engine as they arrive (so they share its batches and fsyncs), answers only once durable.
It needs the trader role."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import ValidationError as SchemaError
from starlette.requests import HTTPConnection
from starlette.responses import StreamingResponse

from alphintra.config.logs import get_logger
from alphintra.daemon.access import AUDITED_KEY, audit_fields, stream_audited_by_handler
from alphintra.daemon.auth import WS_FORBIDDEN, Principal, Role, principal_of, require_role
from alphintra.daemon.limits import ApiLimits
from alphintra.daemon.ownership import AccountScope, Visible, scope_of
from alphintra.daemon.protocol import error_body, json_bytes
from alphintra.daemon.trading.listing import (
    DEFAULT_PAGE,
    MAX_PAGE,
    NEXT_CURSOR_HEADER,
    OrderFilter,
    OrderJsonCache,
    OrderPick,
    array_chunks,
    fill_views,
    pick_fills,
    pick_orders,
)
from alphintra.daemon.trading.schemas import (
    BatchCreate,
    BatchOut,
    CancelAll,
    CancelAllOut,
    OrderCreate,
    OrderLeg,
    OrderModify,
    OrderOut,
    PriceTick,
    TradeOut,
)
from alphintra.daemon.trading.trade_totals import caught_up_rows, summarise
from alphintra.daemon.trading.views import fill_view, order_view
from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import OrderStatus
from alphintra.errors import AlphintraError, NotFoundError, ValidationError
from alphintra.formatting import bar_price, iso_dt, iso_ns

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.engine.node import TradingNode

log = get_logger("daemon.routes")

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Trader = Annotated[Principal, Depends(require_role("trader"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


_ENCODE_CHUNK = 250  # views per encoder call in a listing (well under a millisecond each)


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(json_bytes(data), status_code=status_code, media_type="application/json")


async def _page_response(encode: Callable[[], list[bytes]], next_cursor: str | None) -> Response:
    """A picked page's JSON, made by ``encode`` on a worker thread (the engine thread has already moved on), in the
    pieces ``encode`` cut it into (listing.array_chunks), one write each: the event loop serves other requests
    between them. The length is known up front, so the answer is a plain body, not a chunked transfer."""
    pieces = await asyncio.to_thread(encode)
    headers = {"content-length": str(sum(map(len, pieces)))}
    if next_cursor is not None:
        headers[NEXT_CURSOR_HEADER] = next_cursor
    if len(pieces) == 1:
        return Response(pieces[0], media_type="application/json", headers=headers)

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
            await asyncio.sleep(0)  # let the requests that came meanwhile run before the next piece

    return StreamingResponse(body(), media_type="application/json", headers=headers)


def _encoded_views(views: list[dict[str, Any]]) -> list[bytes]:
    # One encoder call per few hundred views, not one for the list: the C encoder holds the GIL for a whole call,
    # and a 10,000-item list in one call would stall the engine thread for its whole length.
    groups = [json_bytes(views[i : i + _ENCODE_CHUNK])[1:-1] for i in range(0, len(views), _ENCODE_CHUNK)]
    return array_chunks(groups)


def _body_json(raw: bytes) -> Any:
    """A request body as the audit entry records it (FastAPI has parsed it once already; this is its JSON value)."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return {"unparsed_bytes": len(raw)}


def _charge_orders(conn: HTTPConnection, who: Principal, n: int) -> None:
    """Count ``n`` orders against the caller's order rate ([api] settings); raises RateLimitedError (429)."""
    limits: ApiLimits | None = getattr(conn.app.state, "limits", None)
    if limits is not None:
        limits.take_orders(who.listener, who.user, n)


def _request(body: OrderLeg, account: str) -> OrderRequest:
    return OrderRequest(
        symbol=body.symbol,
        side=body.side,
        quantity=body.quantity,
        order_type=body.type,
        price=body.price,
        stop_price=body.stop_price,
        time_in_force=body.time_in_force,
        expires_at=body.expires_at_ns,
        trailing_offset=body.trailing_offset,
        trailing_offset_type=body.trailing_offset_type,
        display_quantity=body.display_quantity,
        post_only=body.post_only,
        reduce_only=body.reduce_only,
        allow_immediate=body.allow_immediate,
        client_order_id=body.client_order_id,
        strategy=body.strategy,
        account=account,
    )


def place(node: TradingNode, body: OrderCreate, account: str) -> tuple[dict[str, Any], bool]:
    """Engine thread: route an OrderCreate to the right node command; returns (order view, created?)."""
    req = _request(body, account)
    if body.client_order_id is not None:
        existing = node.by_client_id(account, body.client_order_id)
        if existing is not None:
            return order_view(existing, node), False
    if body.algo is not None:
        from alphintra.engine.algos import TwapRequest, VwapRequest

        spec = body.algo
        duration = spec.duration_s * 1_000_000_000
        if spec.kind == "twap":
            progress = node.submit_twap(
                TwapRequest(
                    symbol=body.symbol,
                    side=body.side,
                    quantity=body.quantity,
                    duration_ns=duration,
                    slices=spec.slices,
                    limit_price=spec.limit_price,
                    account=account,
                    strategy=body.strategy,
                )
            )
        else:
            weights = tuple(Decimal(1) for _ in range(spec.slices))  # a flat profile when no history is given
            progress = node.submit_vwap(
                VwapRequest(
                    symbol=body.symbol,
                    side=body.side,
                    quantity=body.quantity,
                    duration_ns=duration,
                    weights=weights,
                    limit_price=spec.limit_price,
                    account=account,
                    strategy=body.strategy,
                )
            )
        from alphintra.daemon.trading.algo_routes import algo_view

        return {"algo": algo_view(progress, detail=True)}, True
    if body.take_profit is not None or body.stop_loss is not None:
        if body.take_profit is None or body.stop_loss is None:
            raise ValidationError("take_profit", "a bracket needs both take_profit and stop_loss")
        entry, tp, sl = node.submit_bracket(BracketRequest(req, body.take_profit, body.stop_loss))
        view = order_view(entry, node)
        view["linked_order_ids"] = [tp.id, sl.id]
        return view, True
    if body.oco_with is not None:
        first, second = node.submit_oco(req, _request(body.oco_with, account))
        view = order_view(first, node)
        view["linked_order_ids"] = [second.id]
        return view, True
    return order_view(node.submit(req), node), True


def _observe_latency(host: Host, started: float, orders: int = 1) -> None:
    """Request receipt to acknowledgement (the order durable and answered) into order_latency_seconds."""
    metrics = None if host.app is None else getattr(host.app.state, "metrics", None)
    if metrics is not None:
        elapsed = time.perf_counter() - started
        for _ in range(orders):
            metrics.order_latency_seconds.observe(elapsed)


def _acknowledged(host: Host, started: float, outcome: asyncio.Future[Any]) -> None:
    if not outcome.cancelled() and outcome.exception() is None:
        _observe_latency(host, started)


def build_routers(host: Host) -> list[APIRouter]:
    from alphintra.daemon.trading.algo_routes import algo_router
    from alphintra.daemon.trading.backtest_routes import backtest_router
    from alphintra.daemon.trading.risk_routes import risk_router
    from alphintra.daemon.trading.routing_routes import routing_router
    from alphintra.daemon.trading.scheduler import schedules_router
    from alphintra.daemon.trading.strategies import strategies_router
    from alphintra.daemon.trading.venue_routes import venue_router

    return [
        routing_router(host),  # before _orders: /orders/routed is not an order id
        _orders(host),
        _order_entry(host),
        algo_router(host),
        _trades(host),
        _portfolio(host),
        _market(host),
        strategies_router(host),
        schedules_router(host),
        risk_router(host),
        backtest_router(host),
        venue_router(host),
    ]


def _node(host: Host) -> TradingNode:
    assert host.node is not None
    return host.node


def _orders(host: Host) -> APIRouter:
    r = APIRouter(prefix="/orders", tags=["orders"])
    order_json = OrderJsonCache()  # listings join the JSON of orders unchanged since an earlier listing

    @r.post("", response_model=OrderOut | dict[str, Any], status_code=201)
    async def create_order(body: OrderCreate, who: Trader, request: Request) -> Response:
        started = time.perf_counter()
        _charge_orders(request, who, 1)
        audit = audit_fields(request.scope, request=_body_json(await request.body()))

        def run() -> tuple[dict[str, Any], bool]:
            view, created = place(_node(host), *host.order_target(body))
            if audit is not None:  # the entry goes with the batch: one fsync's wait, not two (durability.BatchAudit)
                entry = {**audit, "status": 201 if created else 200, "after": view}
                request.scope[AUDITED_KEY] = host.audit_batch.add(entry)
            return view, created

        view, created = await host.acall(run)
        _observe_latency(host, started)
        return _json(view, 201 if created else 200)

    @r.post("/batch", response_model=BatchOut)
    async def create_batch(body: BatchCreate, who: Trader, request: Request) -> Response:
        started = time.perf_counter()
        _charge_orders(request, who, len(body.orders))
        audit = audit_fields(request.scope, request=_body_json(await request.body()))

        def run() -> dict[str, Any]:
            items: list[dict[str, Any]] = []
            for item in body.orders:
                try:
                    view, _ = place(_node(host), *host.order_target(item))
                    items.append({"order": view if "algo" not in view else None, "error": None})
                except AlphintraError as exc:
                    items.append({"order": None, "error": exc.to_dict()})
                except Exception:  # a bug: answer this item, keep the answers of those already placed
                    incident = secrets.token_hex(4)
                    log.exception("batch order failed", extra={"incident": incident})
                    detail = f"internal error (incident {incident}; details are in the engine log)"
                    items.append({"order": None, "error": error_body("internal_error", detail)})
            answer = {"results": items}
            if audit is not None:
                request.scope[AUDITED_KEY] = host.audit_batch.add({**audit, "status": 200, "after": answer})
            return answer

        answer = await host.acall(run)
        _observe_latency(host, started, sum(1 for item in answer["results"] if item["order"] is not None))
        return _json(answer)

    @r.get("", response_model=list[OrderOut])
    async def list_orders(
        who: Viewer,
        seen: Visible,
        status: Annotated[OrderStatus | None, Query()] = None,
        symbol: str | None = None,
        strategy: str | None = None,
        open: bool = False,
        children: bool = True,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=128)] = None,
    ) -> Response:
        """Newest first, one page; ``X-Next-Cursor`` names the next page when there is one (listing.py).
        ``children=false`` leaves out the child orders of execution algorithms."""

        def pick() -> tuple[list[OrderPick], str | None]:
            node = _node(host)
            hidden = frozenset() if children else frozenset(a.algo_id for a in node.algos.list_algos())
            where = OrderFilter(
                status=status,
                symbol=symbol,
                strategy=strategy,
                open=open,
                hide_children_of=hidden,
                accounts=seen.accounts,
            )
            return pick_orders(node, where, limit, cursor)

        picks, next_cursor = await host.acall(pick)
        node = host.node
        return await _page_response(lambda: array_chunks(order_json.items(picks, node)), next_cursor)

    @r.post("/cancel-all", response_model=CancelAllOut)
    async def cancel_all(body: CancelAll, who: Trader, seen: Visible) -> CancelAllOut:
        """Every working order and running algorithm the caller may see (a non-admin user's own accounts)."""

        def run() -> CancelAllOut:
            node = _node(host)
            algos: list[str] = []
            done: list[Any] = []
            for account in [None] if seen.accounts is None else sorted(seen.accounts):
                algos += node.algos.running(symbol=body.symbol, strategy=body.strategy, account=account)
                # the algorithms first, then orders
                done += node.cancel_all(symbol=body.symbol, strategy=body.strategy, account=account)
            return CancelAllOut(canceled=[o.id for o in done], canceled_algos=algos)

        return await host.acall(run)

    @r.get("/{order_id}", response_model=OrderOut)
    async def get_order(order_id: str, who: Viewer) -> Response:
        try:
            return _json(await host.acall(lambda: order_view(_node(host).order(order_id), _node(host))))
        except NotFoundError:
            # A finished order past the engine's retention: the projection still has it (read off the engine).
            archived = await asyncio.to_thread(host.archive.order, order_id)
            if archived is None:
                raise
            if archived.get("venue") is None and host.node is not None:  # the projection knows no venues
                archived["venue"] = host.node.venue_for(str(archived["symbol"])).name
            return _json(archived)

    @r.put("/{order_id}", response_model=OrderOut)
    async def modify_order(order_id: str, body: OrderModify, who: Trader) -> Response:
        if body.quantity is None and body.price is None and body.stop_price is None:
            raise ValidationError("body", "give at least one of quantity, price, stop_price")
        return _json(
            await host.acall(
                lambda: order_view(
                    _node(host).modify(order_id, quantity=body.quantity, price=body.price, stop_price=body.stop_price),
                    _node(host),
                )
            )
        )

    @r.delete("/{order_id}", response_model=OrderOut)
    async def delete_order(order_id: str, who: Trader) -> Response:
        return _json(await host.acall(lambda: order_view(_node(host).cancel(order_id), _node(host))))

    @r.post("/{order_id}/cancel", response_model=OrderOut)
    async def cancel_order(order_id: str, who: Trader) -> Response:
        return _json(await host.acall(lambda: order_view(_node(host).cancel(order_id), _node(host))))

    return r


_ENTRY_BACKLOG = 1000  # answers not yet sent before the stream stops reading requests (back-pressure)
ENTRY_MAX_FRAME = 64 * 1024  # characters: an order is a few hundred; bigger frames are answered with an error


def _entry_error(ref: Any, code: str, detail: str, field: str | None) -> dict[str, Any]:
    return {"ref": ref, "error": {"error": code, "detail": detail, "field": field}}


def _entry_request(
    host: Host, text: str, charge: Callable[[], None], seen: AccountScope, audit: dict[str, Any] | None
) -> tuple[Any, asyncio.Future[Any] | dict[str, Any]]:
    """One frame of the order-entry stream: (ref, the engine's future) or (ref, an error answer).

    Whatever a frame holds (not JSON, nested too deeply for the parser, too big, the wrong shape or types), the
    answer is an error for that frame; the stream stays open."""
    if len(text) > ENTRY_MAX_FRAME:
        detail = f"a message is at most {ENTRY_MAX_FRAME} characters"
        return None, _entry_error(None, "too_large", detail, None)
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a frame nested deeper than the parser goes
        return None, _entry_error(None, "bad_request", "message is not valid JSON (or is nested too deeply)", None)
    if not isinstance(message, dict) or not isinstance(message.get("order"), dict):
        return None, _entry_error(None, "validation_error", 'a message is {"ref": ..., "order": {...}}', "order")
    ref = message.get("ref")
    if not (ref is None or isinstance(ref, int | float | bool) or (isinstance(ref, str) and len(ref) <= 256)):
        detail = "ref must be a string of at most 256 characters, a number or null"
        return None, _entry_error(None, "validation_error", detail, "ref")
    try:
        body = OrderCreate.model_validate(message["order"])
    except SchemaError as exc:
        first = exc.errors()[0]
        # Named inside the order, like the engine's own refusals on this stream (``symbol``, ``price``).
        field = ".".join(str(p) for p in first.get("loc", ())) or "order"
        return ref, _entry_error(ref, "validation_error", f"{field}: {first.get('msg', 'invalid value')}", field)
    try:
        target, account = host.order_target(body)
        seen.check(account)  # another user's account: this frame is refused (forbidden), the stream stays open
        charge()  # over the order rate: this frame is answered rate_limited, the stream stays open

        def run() -> tuple[dict[str, Any], Any]:
            view, _ = place(_node(host), target, account)
            reply = {"ref": ref, **(view if "algo" in view else {"order": view})}
            ticket = None if audit is None else host.audit_batch.add({**audit, "after": reply})
            return reply, ticket

        return ref, host.submit(run)
    except AlphintraError as exc:
        return ref, {"ref": ref, "error": exc.to_dict()}


def _order_entry(host: Host) -> APIRouter:
    r = APIRouter(prefix="/orders", tags=["orders"])

    @r.websocket("/entry")
    async def order_entry(websocket: WebSocket) -> None:
        await websocket.accept()
        who = principal_of(websocket)
        if not who.role.allows(Role.TRADER):
            await websocket.close(WS_FORBIDDEN, "trader role required")
            return
        seen = scope_of(websocket)
        answers: asyncio.Queue[tuple[Any, asyncio.Future[Any] | dict[str, Any]] | None] = asyncio.Queue(_ENTRY_BACKLOG)
        fields = audit_fields(websocket.scope, action="order.create")
        log_ = websocket.app.state.audit if fields is not None and stream_audited_by_handler(websocket.scope) else None
        audit = None if log_ is None or fields is None else {**fields, "status": 201}

        async def answer() -> None:
            while (item := await answers.get()) is not None:
                ref, outcome = item
                if isinstance(outcome, dict):
                    reply = outcome
                else:
                    try:
                        reply, ticket = await outcome
                        if ticket is not None and not ticket.number and log_ is not None and audit is not None:
                            # Not written with its batch (the log refused it there): written now, synced by the hook.
                            ticket.number = log_.write(log_.entry(**audit, after=reply))
                    except AlphintraError as exc:
                        reply = {"ref": ref, "error": exc.to_dict()}
                    except Exception:  # a bug must not end the stream without an answer
                        reply = _entry_error(ref, "internal_error", "internal error", None)
                await websocket.send_text(json_bytes(reply).decode())

        sender = asyncio.create_task(answer())
        try:
            while True:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                text = frame.get("text")
                if text is None:
                    await answers.put((None, _entry_error(None, "bad_request", "send JSON in text frames", None)))
                    continue
                received = time.perf_counter()
                request = _entry_request(host, text, lambda: _charge_orders(websocket, who, 1), seen, audit)
                if not isinstance(request[1], dict):
                    request[1].add_done_callback(partial(_acknowledged, host, received))
                await answers.put(request)
        except WebSocketDisconnect:
            pass
        finally:
            try:
                answers.put_nowait(None)  # answer what is queued (each order is placed anyway), then end
            except asyncio.QueueFull:
                sender.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(sender, 30)

    return r


def _trades(host: Host) -> APIRouter:
    r = APIRouter(prefix="/trades", tags=["trades"])

    def _one(trade_id: str) -> dict[str, Any] | None:
        node = _node(host)
        for fill in reversed(node.fills):
            if fill.trade_id == trade_id:
                return fill_view(fill, node.orders[fill.order_id])
        return None

    @r.get("", response_model=list[TradeOut])
    async def list_trades(
        who: Viewer,
        seen: Visible,
        symbol: str | None = None,
        order_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=128)] = None,
    ) -> Response:
        """Newest first, one page; ``X-Next-Cursor`` names the next page when there is one (listing.py)."""
        picks, next_cursor = await host.acall(
            lambda: pick_fills(_node(host), symbol, order_id, limit, cursor, seen.accounts)
        )
        return await _page_response(lambda: _encoded_views(fill_views(picks)), next_cursor)

    @r.get("/summary")
    async def summary(who: Viewer, seen: Visible, symbol: str | None = None) -> dict[str, Any]:
        quotes = {inst.symbol: inst.quote for inst in _node(host).instruments}  # instruments never change
        rows = await asyncio.to_thread(caught_up_rows, host, symbol, seen.accounts)
        return summarise(rows, quotes)

    @r.get("/{trade_id}", response_model=TradeOut)
    def get_trade(trade_id: str, who: Viewer) -> dict[str, Any]:
        found = host.call(lambda: _one(trade_id))
        if found is None:
            found = host.archive.trade(trade_id)  # a fill of an order past the engine's retention
        if found is None:
            raise NotFoundError(f"trade {trade_id!r} not found")
        return found

    return r


def _portfolio(host: Host) -> APIRouter:
    r = APIRouter(prefix="/portfolio", tags=["portfolio"])

    def _account(account: str | None) -> str:
        if account is None:
            return host.account
        if account not in host.settings.accounts:
            raise NotFoundError(f"no account {account!r} (configured: {', '.join(host.settings.accounts)})")
        return account

    def _valuation(account: str) -> dict[str, Any]:
        node = _node(host)
        equity = host.equity(account)
        v = node.ledger.valuation(account)
        return {
            "account": account,
            "venue": host.settings.accounts[account].venue,
            "currency": v.currency,
            "cash": str(v.cash),
            "positions_value": str(v.positions_value),
            "equity": str(equity),
            "exposure": str(v.exposure),
            "unrealised_pnl": str(v.unrealised_pnl),
            "realised_pnl": str(v.realised_pnl),
        }

    @r.get("")
    def portfolio(who: Viewer, account: str | None = None) -> dict[str, Any]:
        name = _account(account)
        return host.call(lambda: _valuation(name))

    @r.get("/accounts")
    def accounts(who: Viewer, seen: Visible) -> list[dict[str, Any]]:
        """Every configured account's valuation the caller may see, the default one first."""
        return host.call(lambda: [_valuation(name) for name in seen.only(host.settings.accounts)])

    @r.get("/positions")
    def positions(who: Viewer, account: str | None = None) -> list[dict[str, Any]]:
        name = _account(account)

        def run() -> list[dict[str, Any]]:
            node = _node(host)
            host.equity(name)  # refresh marks
            out = []
            for symbol, p in node.ledger.positions(name).items():
                out.append(
                    {
                        "symbol": symbol,
                        "quantity": str(p.quantity),
                        "average_price": str(p.average_price),
                        "mark": None if p.mark is None else str(p.mark),
                        "market_value": None if p.market_value is None else str(p.market_value),
                        "unrealised_pnl": None if p.unrealised_pnl is None else str(p.unrealised_pnl),
                        "realised_pnl": str(p.realised_pnl),
                        "fees": {k: str(v) for k, v in p.fees.items()},
                    }
                )
            return out

        return host.call(run)

    @r.get("/balances")
    def balances(who: Viewer, account: str | None = None) -> list[dict[str, Any]]:
        name = _account(account)
        return host.call(
            lambda: [
                {"asset": a, "total": str(b.total), "available": str(b.available), "locked": str(b.locked)}
                for a, b in _node(host).ledger.balances(name).items()
            ]
        )

    @r.get("/performance")
    def performance(who: Viewer) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            equity = host.equity()
            start = host.start_equity or equity
            return {
                "start_equity": str(start),
                "equity": str(equity),
                "pnl": str(equity - start),
                "return_pct": float((equity - start) / start * 100) if start else None,
            }

        view = host.call(run)
        # Fees and the trade count cover the whole history (the projection), not only the orders kept in memory.
        totals = summarise(caught_up_rows(host, None), {})
        return view | {"fees": totals["fees"], "trades": totals["count"]}

    return r


def _market(host: Host) -> APIRouter:
    r = APIRouter(prefix="/market-data", tags=["market-data"])

    def _symbol(symbol: str) -> str:
        _node(host).instruments.get(symbol)
        return symbol

    @r.get("/symbols")
    def symbols(who: Viewer) -> list[dict[str, Any]]:
        return host.call(
            lambda: [
                {k: (str(v) if isinstance(v, Decimal) else v) for k, v in inst.to_mapping().items()}
                for inst in _node(host).instruments
            ]
        )

    @r.get("/ticker")
    def ticker(who: Viewer, symbol: str | None = None) -> Any:
        if symbol is not None:
            return host.call(lambda: host.ticker(_symbol(symbol)))
        return host.call(lambda: [host.ticker(s) for s in _node(host).instruments.symbols()])

    @r.get("/orderbook")
    def orderbook(who: Viewer, symbol: str, depth: Annotated[int, Query(ge=1, le=500)] = 20) -> dict[str, Any]:
        return host.call(lambda: host.book(_symbol(symbol), depth))

    @r.get("/ohlcv")
    def ohlcv(
        who: Viewer, symbol: str, timeframe: str = "1m", limit: Annotated[int, Query(ge=1, le=5000)] = 200
    ) -> list[dict[str, Any]]:
        if timeframe == "1m":

            def run() -> list[dict[str, Any]]:
                _symbol(symbol)
                feed = host.feed.symbols.get(symbol) if host.feed is not None else None
                bars = list(feed.bars)[-limit:] if feed is not None else []
                return [
                    {
                        "time": iso_ns(b.ts),
                        "open": str(b.open),
                        "high": str(b.high),
                        "low": str(b.low),
                        "close": str(b.close),
                        "volume": str(b.volume),
                    }
                    for b in bars
                ]

            return host.call(run)
        from alphintra.storage.market import MarketData

        df = MarketData(host.settings.paths.market).bars(symbol, timeframe, limit=limit, newest=True)
        return [
            {
                "time": iso_dt(row["time"]),
                **{k: str(bar_price(row[k])) for k in ("open", "high", "low", "close", "volume")},
            }
            for row in df.iter_rows(named=True)
        ]

    @r.get("/trades")
    def recent_trades(
        who: Viewer, symbol: str, limit: Annotated[int, Query(ge=1, le=5000)] = 100
    ) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            _symbol(symbol)
            fills = [f for f in _node(host).fills if f.symbol == symbol][-limit:]
            return [
                {"ts": iso_ns(f.ts), "price": str(f.last_px), "quantity": str(f.last_qty), "side": f.side.value}
                for f in reversed(fills)
            ]

        return host.call(run)

    @r.post("/ticks")
    def tick(body: PriceTick, who: Admin) -> dict[str, Any]:
        return host.call(lambda: host.move_price(_symbol(body.symbol), body.price))

    return r
