"""Request signing as Binance checks it: the API key header, an HMAC-SHA256 of the exact parameter string, and a
timestamp inside the request's ``recvWindow`` of the server's clock."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from alphintra.venues.fake import errors as E
from alphintra.venues.fake.errors import BinanceError
from alphintra.venues.fake.state import Account, Exchange

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000
_AHEAD_MS = 1_000  # how far a request's timestamp may run ahead of the server's clock


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` component (order kept, nothing re-encoded), and that signature."""
    kept: list[str] = []
    signature = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def account_for(exchange: Exchange, api_key: str | None) -> Account:
    if not api_key or len(api_key) > 128 or not api_key.isprintable():
        raise BinanceError(-2014, E.KEY_FORMAT, 401)
    acct = exchange.accounts.get(api_key)
    if acct is None:
        raise BinanceError(-2015, E.BAD_KEY, 401)
    return acct


def check_time(params: Mapping[str, str], server_ms: int) -> None:
    raw_ts = params.get("timestamp")
    if not raw_ts:
        raise E.missing("timestamp")
    if not raw_ts.isdigit():
        raise E.bad_param("timestamp")
    window = params.get("recvWindow")
    recv = DEFAULT_RECV_WINDOW
    if window:
        if not window.isdigit():
            raise E.bad_param("recvWindow")
        recv = int(window)
        if recv > MAX_RECV_WINDOW:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
    ts = int(raw_ts)
    if ts > server_ms + _AHEAD_MS:
        raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - ts > recv:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def verify_rest(exchange: Exchange, api_key: str | None, query: str, body: str, params: Mapping[str, str]) -> Account:
    """Check a signed REST call; the signed payload is the query string followed by the body, as sent."""
    acct = account_for(exchange, api_key)
    q, sig_q = _strip_signature(query)
    b, sig_b = _strip_signature(body)
    signature = sig_q or sig_b
    if not signature:
        raise E.missing("signature")
    if not hmac.compare_digest(sign(acct.secret, q + b), signature):
        raise BinanceError(-1022, E.BAD_SIGNATURE)
    check_time(params, exchange.clock())
    return acct


def verify_ws(exchange: Exchange, params: Mapping[str, object]) -> Account:
    """Check a signed WebSocket API request: the payload is ``k=v`` of every parameter but the signature, sorted."""
    api_key = params.get("apiKey")
    acct = account_for(exchange, api_key if isinstance(api_key, str) else None)
    signature = params.get("signature")
    if not isinstance(signature, str):
        raise E.missing("signature")
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    if not hmac.compare_digest(sign(acct.secret, payload), signature):
        raise BinanceError(-1022, E.BAD_SIGNATURE)
    check_time({k: str(v) for k, v in params.items()}, exchange.clock())
    return acct
