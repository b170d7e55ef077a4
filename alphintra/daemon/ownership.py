"""Which accounts a caller may see and act on: the one answer every route, listing and stream of the daemon uses.

A registered non-admin user (viewer or trader) reaches only the accounts they own or were granted
(``users.json``, :class:`alphintra.daemon.users.User`); an admin, the owner on the unix socket, and every caller
while no user is registered (the single-owner setup) reach every account. :func:`scope_of` makes that answer, an
:class:`AccountScope`, once per request or stream, and keeps it in the connection's scope:

* an operation on a named or resolved account (``access.py``: an order's, a trade's, an algorithm's, ``?account=``
  or the engine's) is refused with 403 and the JSON error body naming the account (:meth:`AccountScope.check`);
* a listing is filtered silently (:meth:`AccountScope.sees`): handlers take the scope as the :data:`Visible`
  dependency and pass :attr:`AccountScope.accounts` to what picks their rows;
* a WebSocket stream of account data (:func:`is_account_topic`: orders, fills, portfolio, alerts, strategies)
  delivers only the messages of visible accounts (``ws.py``); public market data and engine events stay visible to
  every role;
* a halt reaches into other users' accounts (cancel or flatten beyond the caller's own) only for an admin
  (``risk_routes.halt``); a routed order is shown only to the users of every account it traded in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from alphintra.daemon.auth import principal_of
from alphintra.daemon.protocol import PermissionDeniedError, Role
from alphintra.daemon.users import UserStore

SCOPE_KEY = "alphintra.account_scope"

# Streams whose messages belong to one account (their publisher names it); the other topics are public.
ACCOUNT_TOPICS = ("orders/updates", "trades/updates", "portfolio/updates", "risk/alerts")


def is_account_topic(topic: str) -> bool:
    """Whether a stream carries one account's messages: the topics above and every strategy's (and schedule's)
    signals and status, published with the account the strategy trades in."""
    topic = topic.strip("/")
    return topic in ACCOUNT_TOPICS or topic.startswith("strategies/")


@dataclass(frozen=True, slots=True)
class AccountScope:
    user: str
    accounts: frozenset[str] | None  # None: every account

    @property
    def everything(self) -> bool:
        return self.accounts is None

    def sees(self, account: str | None) -> bool:
        """Whether a row or message of ``account`` is shown; one of no account (engine-wide) always is."""
        return self.accounts is None or account is None or account in self.accounts

    def check(self, account: str) -> None:
        """Refuse (403, naming the account) an operation on an account the caller may not use."""
        if not self.sees(account):
            raise PermissionDeniedError(f"user {self.user} may not use account {account!r}")

    def only(self, accounts: Iterable[str]) -> list[str]:
        return [a for a in accounts if self.sees(a)]


EVERY_ACCOUNT = AccountScope("", None)


def scope_of(conn: HTTPConnection) -> AccountScope:
    """The caller's scope (computed once per connection; the users file is re-read when it changes)."""
    cached = conn.scope.get(SCOPE_KEY)
    if isinstance(cached, AccountScope):
        return cached
    principal = principal_of(conn)
    scope = EVERY_ACCOUNT
    users: UserStore | None = getattr(conn.app.state, "users", None)
    if principal.role is not Role.ADMIN and principal.listener != "unix" and users is not None and users.registered():
        user = users.get(principal.user)
        if user is None:
            scope = AccountScope(principal.user, frozenset())
        elif user.role is not Role.ADMIN:
            scope = AccountScope(principal.user, frozenset(user.accounts))
    conn.scope[SCOPE_KEY] = scope
    return scope


async def account_scope(conn: HTTPConnection) -> AccountScope:
    """FastAPI dependency form of :func:`scope_of`."""
    return scope_of(conn)


Visible = Annotated[AccountScope, Depends(account_scope)]

__all__ = [
    "ACCOUNT_TOPICS",
    "EVERY_ACCOUNT",
    "SCOPE_KEY",
    "AccountScope",
    "Visible",
    "account_scope",
    "is_account_topic",
    "scope_of",
]
