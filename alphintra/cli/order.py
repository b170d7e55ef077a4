"""`alphintra order`: place, list, show, cancel and modify orders through the running daemon.

Every command is a request to the daemon over its unix socket (``EngineClient.local()``); with no daemon the
client's error says so and how to start one. The order type follows from the flags: ``--limit`` makes a limit
order, ``--stop`` a stop (a stop-limit with ``--limit``), ``--trail`` a trailing stop, ``--iceberg`` an iceberg
(needs ``--limit``), ``--twap``/``--vwap`` an execution algorithm, ``--tp`` with ``--sl`` a bracket.
Execution algorithms (``ALGO-...``) are first-class here: ``order list`` shows each as a parent row with its child
orders hidden (``--children`` lists them under it), ``order show``/``order cancel`` take an algorithm id, and
``order cancel --all`` cancels running algorithms before the orders.
Orders whose notional exceeds ``engine.confirm_notional`` ask before they go out (``--yes`` skips the question).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import (
    JsonOption,
    NumberArgsCommand,
    emit,
    err_console,
    info,
    ns_time,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from alphintra.daemon.client import EngineClient

app = typer.Typer(help="Place, list, cancel and modify orders (needs a running engine).", no_args_is_help=True)

ORDERS = "/api/v1/orders"
ORDER_COLUMNS = [
    "time",
    "id",
    "symbol",
    "side",
    "type",
    "quantity",
    "price",
    "stop",
    "tif",
    "status",
    "filled",
    "avg_price",
]
_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Price = str | None


def engine_client() -> EngineClient:
    """The client of this data home's daemon (its errors already explain a missing daemon)."""
    from alphintra.daemon.client import EngineClient

    return EngineClient.local()


# -- parsing ---------------------------------------------------------------------------------------------------


def parse_decimal(text: str, field: str, *, positive: bool = True) -> Decimal:
    from alphintra.errors import ValidationError

    try:
        value = Decimal(text.strip().replace("_", ""))
    except (InvalidOperation, AttributeError):
        raise ValidationError(field, "must be a decimal number", text) from None
    if not value.is_finite():
        raise ValidationError(field, "must be a finite number", text)
    if positive and value <= 0:
        raise ValidationError(field, "must be greater than 0", text)
    return value


def parse_duration(text: str, field: str) -> int:
    """Seconds in ``30m``, ``1h``, ``1h30m``, ``90s``, ``2d`` or a bare number of seconds."""
    from alphintra.errors import ValidationError

    raw = text.strip()
    if raw.isdigit():
        seconds = int(raw)
    else:
        parts = _DURATION.findall(raw)
        if not parts or _DURATION.sub("", raw).strip():
            raise ValidationError(field, "must be a duration like 90s, 30m, 1h30m or 2d", text)
        seconds = sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)
    if seconds <= 0:
        raise ValidationError(field, "must be longer than 0 seconds", text)
    return seconds


def parse_trail(text: str) -> tuple[Decimal, str]:
    """``1%`` trails by a percentage of the price, ``50`` by an absolute price distance."""
    raw = text.strip()
    if raw.endswith("%"):
        return parse_decimal(raw[:-1], "--trail"), "PERCENT"
    return parse_decimal(raw, "--trail"), "PRICE"


def parse_expiry(text: str, now_ns: int) -> int:
    """Nanoseconds since the epoch of ``--expires``: an ISO 8601 time (UTC unless it says otherwise), a duration
    from now (``+10m`` or ``10m``), or an integer of nanoseconds."""
    from alphintra.errors import ValidationError

    raw = text.strip()
    if raw.isdigit() and len(raw) > 12:
        return int(raw)
    if _DURATION.search(raw) and not any(c in raw for c in "-:T"):
        return now_ns + parse_duration(raw.lstrip("+"), "--expires") * 1_000_000_000
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            "--expires", "must be an ISO time (2026-01-31T17:00), a duration (+30m) or nanoseconds", text
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ns = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
    if ns <= now_ns:
        raise ValidationError("--expires", "must be in the future", text)
    return ns


def build_order(
    side: str,
    symbol: str,
    quantity: str,
    *,
    limit: str | None = None,
    stop: str | None = None,
    trail: str | None = None,
    iceberg: str | None = None,
    twap: str | None = None,
    vwap: str | None = None,
    slices: int | None = None,
    tif: str | None = None,
    expires: str | None = None,
    take_profit: str | None = None,
    stop_loss: str | None = None,
    post_only: bool = False,
    reduce_only: bool = False,
    allow_immediate: bool = False,
    client_id: str | None = None,
    strategy: str | None = None,
    account: str | None = None,
    venue: str | None = None,
    now_ns: int = 0,
) -> dict[str, Any]:
    """The daemon's OrderCreate body for the flags of ``order buy|sell`` (flag combinations checked here, so a
    mistake is named by its flag rather than by a body field)."""
    from alphintra.errors import ValidationError

    body: dict[str, Any] = {"symbol": symbol, "side": side, "quantity": str(parse_decimal(quantity, "QTY"))}
    limit_px = None if limit is None else parse_decimal(limit, "--limit")
    stop_px = None if stop is None else parse_decimal(stop, "--stop")
    if twap is not None and vwap is not None:
        raise ValidationError("--twap", "give either --twap or --vwap, not both")
    algo = "twap" if twap is not None else "vwap" if vwap is not None else None
    if slices is not None and algo is None:
        raise ValidationError("--slices", "only applies to --twap or --vwap")
    kinds = [name for name, given in (("--stop", stop), ("--trail", trail), ("--iceberg", iceberg)) if given]
    if algo is not None:
        kinds.append(f"--{algo}")
    if take_profit is not None or stop_loss is not None:
        kinds.append("--tp/--sl")
    if len(kinds) > 1:
        raise ValidationError(kinds[1], f"cannot be combined with {kinds[0]}")

    if algo is not None:
        duration = parse_duration((twap if algo == "twap" else vwap) or "", f"--{algo}")
        spec: dict[str, Any] = {"kind": algo, "duration_s": duration, "slices": slices if slices is not None else 10}
        if limit_px is not None:
            spec["limit_price"] = str(limit_px)  # a price guard: no slice trades beyond it
        body["algo"] = spec
    elif trail is not None:
        if limit_px is not None:
            raise ValidationError("--trail", "a trailing stop cannot carry --limit")
        offset, kind = parse_trail(trail)
        body.update(type="TRAILING_STOP", trailing_offset=str(offset), trailing_offset_type=kind)
    elif iceberg is not None:
        if limit_px is None:
            raise ValidationError("--iceberg", "an iceberg needs --limit")
        body.update(type="ICEBERG", price=str(limit_px), display_quantity=str(parse_decimal(iceberg, "--iceberg")))
    elif stop_px is not None:
        body.update(type="STOP_LIMIT" if limit_px is not None else "STOP", stop_price=str(stop_px))
        if limit_px is not None:
            body["price"] = str(limit_px)
    elif limit_px is not None:
        body.update(type="LIMIT", price=str(limit_px))
    else:
        body["type"] = "MARKET"

    if take_profit is not None or stop_loss is not None:
        if take_profit is None or stop_loss is None:
            raise ValidationError("--tp" if take_profit is None else "--sl", "a bracket needs both --tp and --sl")
        body["take_profit"] = str(parse_decimal(take_profit, "--tp"))
        body["stop_loss"] = str(parse_decimal(stop_loss, "--sl"))

    if tif is not None:
        tif = tif.upper()
        if tif not in ("GTC", "IOC", "FOK", "GTD"):
            raise ValidationError("--tif", "must be one of GTC, IOC, FOK, GTD", tif)
    if expires is not None:
        if tif not in (None, "GTD"):
            raise ValidationError("--expires", f"only applies to GTD orders, not {tif}")
        tif = "GTD"
        body["expires_at_ns"] = parse_expiry(expires, now_ns)
    elif tif == "GTD":
        raise ValidationError("--expires", "a GTD order needs --expires")
    if tif is not None:
        body["time_in_force"] = tif
    if post_only:
        body["post_only"] = True
    if reduce_only:
        body["reduce_only"] = True
    if allow_immediate:
        body["allow_immediate"] = True
    if client_id is not None:
        body["client_order_id"] = client_id
    if strategy is not None:
        body["strategy"] = strategy
    if account is not None:
        body["account"] = account
    if venue is not None:
        body["venue"] = venue
    return body


def order_notional(client: EngineClient, body: dict[str, Any]) -> Decimal | None:
    """What the order is worth at its own price, or at the last price for market orders and algorithms."""
    qty = Decimal(body["quantity"])
    algo = body.get("algo") or {}
    price = body.get("price") or body.get("stop_price") or algo.get("limit_price")
    if price is None:
        ticker = client.get("/api/v1/market-data/ticker", params={"symbol": body["symbol"]})
        price = ticker.get("last") or ticker.get("ask") or ticker.get("bid")
    return None if price is None else qty * Decimal(price)


# -- display ---------------------------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def order_row(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": ns_time(order.get("created_at"), millis=False),  # when it was placed (UTC)
        "id": order["id"],
        "symbol": order["symbol"],
        "side": order["side"],
        "type": order["order_type"],
        "quantity": _dec(order["quantity"]),
        "price": _dec(order.get("price")),
        "stop": _dec(order.get("stop_price")),
        "tif": order["time_in_force"],
        "status": order["status"],
        "filled": _dec(order["filled_quantity"]),
        "avg_price": _dec(order.get("average_price")),
        "updated": ns_time(order.get("updated_at")),
    }


def show_order(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    if "algo" in data:
        emit(data["algo"], False, title="algorithm")
        return
    shown = {k: v for k, v in data.items() if v not in (None, [], {}, "") and k not in ("fees",)}
    for key in ("created_at", "updated_at", "expires_at"):
        if key in shown:
            shown[key] = ns_time(shown[key])
    fees = data.get("fees") or {}
    if fees:
        shown["fees"] = ", ".join(f"{amount} {asset}" for asset, amount in fees.items())
    emit(shown, False, title=f"order {data['id']}")


# -- commands --------------------------------------------------------------------------------------------------


def _place(
    side: str,
    symbol: str,
    quantity: str,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    import time

    from alphintra.config.settings import get_settings

    route, venues = flags.pop("route", None), flags.pop("venues", None)
    if route is not None or venues is not None:
        from alphintra.cli.routed import place_routed, routed_body, show_report

        routed = routed_body(side, symbol, quantity, route or "best", venues, **flags)
        with engine_client() as client:
            report = place_routed(client, routed)
        show_report(report, as_json)
        if report.get("status") == "UNFILLED":
            raise typer.Exit(1)
        return
    body = build_order(side, symbol, quantity, now_ns=time.time_ns(), **flags)
    threshold = get_settings().engine.confirm_notional
    with engine_client() as client:
        if not yes:
            notional = order_notional(client, body)
            if notional is not None and notional > threshold:
                typer.confirm(
                    f"{side} {body['quantity']} {symbol} is worth about {notional:,.2f} "
                    f"(above the confirmation threshold {threshold:,}). Send it?",
                    abort=True,
                    err=True,
                )
        data = client.post(ORDERS, body)
    show_order(data, as_json)
    if data.get("status") == "REJECTED":
        # The order exists (and is shown) but the venue refused it: the operation failed, exit 1 (README).
        reason = data.get("reject_reason") or "rejected"
        message = data.get("status_message") or ""
        err_console.print(
            f"[bold red]error:[/bold red] order {data.get('id')} rejected: {reason} {message}".rstrip(), highlight=False
        )
        raise typer.Exit(1)


def _order_command(side: str) -> Any:
    def command(
        symbol: Annotated[str, typer.Argument(metavar="SYMBOL", help="Instrument, e.g. BTC/USD.")],
        quantity: Annotated[str, typer.Argument(metavar="QTY", help="Quantity in the base asset.")],
        limit: Annotated[
            Price, typer.Option("--limit", help="Limit price (with --stop: the stop-limit's price).")
        ] = None,
        stop: Annotated[Price, typer.Option("--stop", help="Stop (trigger) price.")] = None,
        trail: Annotated[
            str | None,
            typer.Option("--trail", metavar="OFFSET", help="Trailing stop offset: 1% or a price distance like 50."),
        ] = None,
        iceberg: Annotated[
            str | None, typer.Option("--iceberg", metavar="DISPLAY", help="Iceberg: the quantity shown at once.")
        ] = None,
        twap: Annotated[
            str | None, typer.Option("--twap", metavar="DURATION", help="Work the order by TWAP over e.g. 30m.")
        ] = None,
        vwap: Annotated[
            str | None, typer.Option("--vwap", metavar="DURATION", help="Work the order by VWAP over e.g. 1h.")
        ] = None,
        slices: Annotated[
            int | None, typer.Option("--slices", min=1, max=10_000, help="Child orders of --twap/--vwap [10].")
        ] = None,
        tif: Annotated[
            str | None, typer.Option("--tif", metavar="GTC|IOC|FOK|GTD", help="Time in force [GTC].")
        ] = None,
        expires: Annotated[
            str | None,
            typer.Option("--expires", metavar="TIME", help="GTD expiry: ISO time (UTC), +30m, or nanoseconds."),
        ] = None,
        take_profit: Annotated[Price, typer.Option("--tp", help="Bracket: take-profit price (with --sl).")] = None,
        stop_loss: Annotated[Price, typer.Option("--sl", help="Bracket: stop-loss price (with --tp).")] = None,
        post_only: Annotated[bool, typer.Option("--post-only", help="Refuse to take liquidity.")] = False,
        reduce_only: Annotated[bool, typer.Option("--reduce-only", help="Only reduce a position.")] = False,
        allow_immediate: Annotated[
            bool, typer.Option("--allow-immediate", help="Send a stop the market has already reached (fills at once).")
        ] = False,
        client_id: Annotated[
            str | None, typer.Option("--client-id", help="Your id; resending it never duplicates the order.")
        ] = None,
        strategy: Annotated[str | None, typer.Option("--strategy", help="Tag the order with a strategy.")] = None,
        account: Annotated[
            str | None,
            typer.Option("--account", help="Trade in this account (default: the first on the symbol's venue)."),
        ] = None,
        venue: Annotated[
            str | None,
            typer.Option("--venue", help="Venue of a symbol listed on several [the account's]."),
        ] = None,
        route: Annotated[
            str | None,
            typer.Option(
                "--route", metavar="best|split", help="Route over the venues listing SYMBOL: one best venue, or split."
            ),
        ] = None,
        venues: Annotated[
            str | None, typer.Option("--venues", metavar="A,B", help="With --route: only these venues [all].")
        ] = None,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm large orders.")] = False,
        as_json: JsonOption = False,
    ) -> None:
        _place(
            side,
            symbol,
            quantity,
            yes,
            as_json,
            limit=limit,
            stop=stop,
            trail=trail,
            iceberg=iceberg,
            twap=twap,
            vwap=vwap,
            slices=slices,
            tif=tif,
            expires=expires,
            take_profit=take_profit,
            stop_loss=stop_loss,
            post_only=post_only,
            reduce_only=reduce_only,
            allow_immediate=allow_immediate,
            client_id=client_id,
            strategy=strategy,
            account=account,
            venue=venue,
            route=route,
            venues=venues,
        )

    command.__doc__ = (
        f"{'Buy' if side == 'BUY' else 'Sell'} QTY of SYMBOL: market by default, or limit/stop/trailing/iceberg, "
        "TWAP/VWAP, bracket."
    )
    return command


app.command("buy", cls=NumberArgsCommand)(_order_command("BUY"))
app.command("sell", cls=NumberArgsCommand)(_order_command("SELL"))


@app.command("routed")
def routed(
    route_id: Annotated[str | None, typer.Argument(help="A routed order's id (all when omitted).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Routed orders (``--route``): children per venue and the execution report."""
    from alphintra.cli.routed import ROUTED, show_report

    with engine_client() as client:
        data = client.get(f"{ROUTED}/{route_id}" if route_id else ROUTED)
    if route_id is not None:
        show_report(data, as_json)
    elif as_json:
        print_json(data)
    else:
        for report in data:
            show_report(report, False)


def _when(value: Any) -> int:
    """An order's or algorithm's creation time as ns, whether the API gave nanoseconds or ISO text."""
    from alphintra.cli.algo import iso_ns

    if isinstance(value, int):
        return value
    return (iso_ns(value) or 0) if isinstance(value, str) else 0


def algo_parent_row(algo: dict[str, Any]) -> dict[str, Any]:
    """An algorithm as a parent row of the order table: its kind as the type, slices sent of the plan's."""
    return {
        "time": ns_time(algo.get("created_at"), millis=False),  # when it started, like an order's placement
        "id": algo["algo_id"],
        "symbol": algo["symbol"],
        "side": algo["side"],
        "type": algo["kind"],
        "quantity": _dec(algo["quantity"]),
        "price": _dec(algo.get("limit_price")),
        "tif": None,
        "status": algo["status"],
        "filled": _dec(algo["filled"]),
        "avg_price": _dec(algo.get("average_price")),
        "slices": f"{algo['slices_sent']}/{algo['slices_total']}",
    }


@app.command("list")
def list_orders(
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status, e.g. ACCEPTED, FILLED, CANCELED.")
    ] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this instrument.")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="Only this strategy's orders.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only working orders (and running algorithms).")] = False,
    children: Annotated[
        bool, typer.Option("--children", help="List each algorithm's child orders under it (hidden by default).")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Orders and execution algorithms, newest first; an algorithm's child orders only with --children."""
    from alphintra.cli.algo import ALGO_STATUSES, ALGOS

    params: dict[str, Any] = {"limit": limit, "children": False}
    algo_params: dict[str, Any] = {"limit": limit}
    if status is not None:
        params["status"] = status.upper()
        algo_params["status"] = status.upper()
    if symbol is not None:
        params["symbol"] = algo_params["symbol"] = symbol
    if strategy is not None:
        params["strategy"] = algo_params["strategy"] = strategy
    if open_only:
        params["open"] = True
        algo_params["status"] = "RUNNING"
    with engine_client() as client:
        orders = client.get(ORDERS, params=params)
        wanted = algo_params.get("status")
        algos = client.get(ALGOS, params=algo_params) if wanted is None or wanted in ALGO_STATUSES else []
        kids = {a["algo_id"]: client.get(f"{ALGOS}/{a['algo_id']}/orders") for a in algos} if children else {}
    entries = sorted(
        [(_when(o.get("created_at")), o, None) for o in orders]
        + [(_when(a.get("created_at")), None, a) for a in algos],
        key=lambda e: -e[0],
    )[:limit]
    if as_json:  # orders only (algorithms: `algo list --json`); with --children, each algorithm's in its place
        flat: list[dict[str, Any]] = []
        for _, order, algo in entries:
            if order is not None:
                flat.append(order)
            elif algo is not None:
                flat.extend(kids.get(algo["algo_id"], []))
        print_json(flat)
        return
    rows: list[dict[str, Any]] = []
    hidden = parents = 0
    for _, order, algo in entries:
        if order is not None:
            rows.append(order_row(order))
            continue
        assert algo is not None
        parents += 1
        rows.append(algo_parent_row(algo))
        if not children:
            hidden += int(algo["slices_sent"])  # one child order per slice sent
            continue
        for child in kids[algo["algo_id"]]:
            row = order_row(child)
            row["id"] = f"└ {child['id']}"
            row["parent"] = algo["algo_id"]
            rows.append(row)
    columns = ORDER_COLUMNS + (["slices"] if parents else []) + (["parent"] if children and parents else [])
    print_table(rows, columns, title="orders", empty="no orders")
    if hidden:
        info(f"{hidden} child order(s) of {parents} algorithm(s) not shown; --children lists them")


@app.command("show")
def show(order_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False) -> None:
    """One order with every field (or an execution algorithm: ALGO-...)."""
    from alphintra.cli.algo import fetch_algo, is_algo_id, show_algo

    with engine_client() as client:
        if is_algo_id(order_id):
            show_algo(fetch_algo(client, order_id), as_json)
            return
        data = client.get(f"{ORDERS}/{order_id}")
    show_order(data, as_json)


@app.command("cancel")
def cancel(
    order_id: Annotated[str | None, typer.Argument(metavar="ID", help="The order to cancel.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Cancel every working order.")] = False,
    symbol: Annotated[str | None, typer.Option("--symbol", help="With --all: only this instrument.")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="With --all: only this strategy.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel one order or algorithm (ID) or every working order and running algorithm (--all)."""
    from alphintra.cli.algo import cancel_algo, is_algo_id
    from alphintra.errors import ValidationError

    if (order_id is None) == (not all_):
        raise ValidationError("ID", "give an order ID or --all (not both)")
    if not all_ and (symbol is not None or strategy is not None):
        raise ValidationError("--symbol", "only applies with --all")
    with engine_client() as client:
        if all_:
            data = client.post(f"{ORDERS}/cancel-all", {"symbol": symbol, "strategy": strategy})
            if as_json:
                print_json(data)
            else:
                algos = data.get("canceled_algos") or []
                ids = algos + data["canceled"]
                shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
                info(
                    f"canceled {len(algos)} algorithm(s); cancel requested for {len(data['canceled'])} order(s)"
                    + (f": {shown}" if ids else "")
                )
            return
        assert order_id is not None
        if is_algo_id(order_id):
            cancel_algo(client, order_id, as_json)
            return
        data = client.post(f"{ORDERS}/{order_id}/cancel")
    if as_json:
        print_json(data)
    else:
        info(f"order {data['id']}: {data['status']}")


@app.command("modify")
def modify(
    order_id: Annotated[str, typer.Argument(metavar="ID")],
    price: Annotated[Price, typer.Option("--price", help="New limit price.")] = None,
    qty: Annotated[str | None, typer.Option("--qty", help="New total quantity (above what has filled).")] = None,
    stop: Annotated[Price, typer.Option("--stop", help="New stop price.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a working order's price, quantity or stop price."""
    from alphintra.errors import ValidationError

    body: dict[str, str] = {}
    if price is not None:
        body["price"] = str(parse_decimal(price, "--price"))
    if qty is not None:
        body["quantity"] = str(parse_decimal(qty, "--qty"))
    if stop is not None:
        body["stop_price"] = str(parse_decimal(stop, "--stop"))
    if not body:
        raise ValidationError("--price", "give at least one of --price, --qty, --stop")
    with engine_client() as client:
        data = client.put(f"{ORDERS}/{order_id}", body)
    show_order(data, as_json)


__all__ = [
    "app",
    "build_order",
    "engine_client",
    "order_row",
    "parse_decimal",
    "parse_duration",
    "parse_expiry",
    "parse_trail",
]
