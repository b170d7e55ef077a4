"""Build a venue's real ccxt client and turn ccxt's exceptions into the project's errors, scrubbed.

ccxt's exception messages can carry the request URL (with its signed query) and, in verbose mode, headers with
the API key; they are never passed on. :func:`venue_error` keeps only the exception's class, the exchange's
numeric error code and the host, and words the rest itself.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from alphintra.errors import AlphintraError, OperationFailed, RetryableError, ValidationError
from alphintra.venues.credentials import ApiCredentials
from alphintra.venues.registry import VenueDefinition

_CODE = re.compile(r'"code"\s*:\s*(-?\d{1,6})\b')


def create_client(definition: VenueDefinition, creds: ApiCredentials | None = None) -> Any:
    """A synchronous ccxt client of ``definition`` (rate limiter on), signed with ``creds`` when given."""
    import ccxt

    cls = getattr(ccxt, definition.exchange)
    if creds is None:
        client = cls(definition.ccxt_config())
    else:
        client = cls(definition.ccxt_config(creds.api_key, creds.api_secret))
    if definition.sandbox:
        client.set_sandbox_mode(True)
    return client


def endpoint(client: Any) -> str:
    """scheme://host[:port] of the client's REST API, for messages (never a path or query)."""
    api = client.urls.get("api") if isinstance(getattr(client, "urls", None), dict) else None
    candidates = [api.get("public"), api.get("rest")] if isinstance(api, dict) else [api]
    for url in candidates:
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.hostname:
                return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return "its API"


def exchange_code(exc: BaseException) -> int | None:
    match = _CODE.search(str(exc))
    return int(match.group(1)) if match else None


def venue_error(exc: Exception, venue: str, action: str, where: str) -> AlphintraError:
    """One clear message for a ccxt failure of ``action`` on ``venue`` (at ``where``), with nothing secret in it."""
    import ccxt

    code = exchange_code(exc)
    coded = f" (exchange code {code})" if code is not None else ""
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied):
        return ValidationError(
            f"credentials of venue {venue!r}",
            f"were refused by {where}{coded} while trying to {action}: the API key is unknown, its secret does not "
            "match, or it lacks permission; store the right pair with `alphintra venue remove` and `venue add`",
        )
    if isinstance(exc, ccxt.InvalidNonce):
        return OperationFailed(
            f"venue {venue!r}: {where} refused the request time{coded} while trying to {action}: "
            "the local clock is off; synchronise it (NTP) and try again"
        )
    if isinstance(exc, ccxt.BadSymbol):
        return ValidationError("--symbol", f"is not listed by venue {venue!r}")
    if isinstance(exc, ccxt.DDoSProtection):
        return RetryableError(
            f"venue {venue!r}: {where} is rate limiting us{coded} while trying to {action}; try later"
        )
    if isinstance(exc, ccxt.RequestTimeout):
        return RetryableError(f"venue {venue!r}: {where} did not answer in time while trying to {action}")
    if isinstance(exc, ccxt.ExchangeNotAvailable):
        return RetryableError(f"venue {venue!r}: {where} is not available{coded} while trying to {action}")
    if isinstance(exc, ccxt.NetworkError):
        return OperationFailed(
            f"venue {venue!r}: cannot reach {where} while trying to {action} (connection failed): "
            "check the URL with `alphintra venue show` and that the exchange is up"
        )
    if isinstance(exc, ccxt.BaseError):
        return OperationFailed(f"venue {venue!r}: {where} refused to {action}{coded} ({type(exc).__name__})")
    return OperationFailed(f"venue {venue!r}: {action} failed ({type(exc).__name__})")


def probe(definition: VenueDefinition, creds: ApiCredentials) -> dict[str, Any]:
    """Load the markets and fetch the balance with the real client: what `venue test` reports."""
    from decimal import Decimal

    client = create_client(definition, creds)
    where = endpoint(client)
    try:
        markets = client.load_markets()
    except Exception as exc:
        raise venue_error(exc, definition.name, "load its markets", where) from None
    try:
        balance = client.fetch_balance()
    except Exception as exc:
        raise venue_error(exc, definition.name, "fetch the balance", where) from None
    totals = balance.get("total") or {}
    # ccxt hands amounts over as floats parsed from the exchange's decimal strings: repr gives that string back
    held = {asset: str(Decimal(repr(v))) for asset, v in sorted(totals.items()) if v}
    return {
        "venue": definition.name,
        "exchange": definition.exchange,
        "endpoint": where,
        "markets": len(markets),
        "balances": held,
    }


__all__ = ["create_client", "endpoint", "exchange_code", "probe", "venue_error"]
