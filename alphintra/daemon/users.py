"""Who may use a shared engine: named users, each with a role, an enabled flag and the accounts granted to them.

Home: ``$ALPHINTRA_HOME/users.json`` (mode 0600), not the journal. Users are not trading state: nothing replays
them, and ``alphintra user add`` must work with no daemon running, while the journal has one writer (the daemon)
that the CLI may only borrow with its lock. A small file the CLI and the daemon both read is the simpler home:

* every change rewrites the file whole and atomically (a private temporary file, fsync, rename, fsync of the
  directory) under an exclusive ``flock`` of ``users.lock``, so a crash leaves the old or the new file, never half;
* the daemon re-reads the file whenever its inode, size or mtime changes (one ``stat`` per request), so a disabled
  user's tokens, and a lowered role, stop working on the next request, with no restart and no token list;
* every change is also an audit entry (``audit.py``) with its before and after values.

While no user is registered, tokens carry their own role (the single-owner setup this engine started with); from
the first ``alphintra user add`` on, a token works only for a registered, enabled user, with that user's current role.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from alphintra.daemon.protocol import Role
from alphintra.errors import ConflictError, NotFoundError, OperationFailed, ValidationError
from alphintra.lockfile import locked

USERS_FILE = "users.json"
_LOCK_FILE = "users.lock"
_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def check_name(name: str, field: str = "name") -> str:
    if not _NAME.match(name):
        raise ValidationError(
            field, "must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name
        )
    return name


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    enabled: bool = True
    accounts: tuple[str, ...] = ()  # the accounts this user owns or was granted (admins reach every account)
    created_at: str = ""
    updated_at: str = ""

    def may_use(self, account: str) -> bool:
        return self.role is Role.ADMIN or account in self.accounts

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "enabled": self.enabled,
            "accounts": list(self.accounts),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        return cls(
            name=str(data["name"]),
            role=Role(str(data["role"])),
            enabled=bool(data.get("enabled", True)),
            accounts=tuple(str(a) for a in data.get("accounts", ())),
            created_at=str(data.get("created_at", "")),
            updated_at=str(data.get("updated_at", "")),
        )


Change = tuple[User | None, User]  # (before, after) of one change


class UserStore:
    """The users file of one home; safe to share between the daemon and CLI processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / USERS_FILE
        self._cache: dict[str, User] = {}
        self._signature: tuple[int, int, int] | None = None
        self._mutex = threading.Lock()

    # -- reading -------------------------------------------------------------------------------------------------

    def users(self) -> dict[str, User]:
        """Every user, re-read when the file changed since the last call (a stat, no read, when it did not)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        signature = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._mutex:
            if signature != self._signature:
                self._cache = self._read()
                self._signature = signature
            return self._cache

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    def registered(self) -> bool:
        """True once any user exists: tokens then have to name one."""
        return bool(self.users())

    def _read(self) -> dict[str, User]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {u["name"]: User.from_dict(u) for u in raw["users"]}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as exc:
            # Fail closed: a damaged users file must not turn into "no users" (which would trust every token).
            raise OperationFailed(f"{self.path} is damaged ({exc}); restore it from a backup") from None

    # -- changes -------------------------------------------------------------------------------------------------

    def add(self, name: str, role: Role, accounts: tuple[str, ...], *, now: str) -> Change:
        check_name(name)
        for account in accounts:
            check_name(account, "--account")

        def change(users: dict[str, User]) -> Change:
            if name in users:
                raise ConflictError(f"user {name!r} already exists")
            user = User(name, role, True, tuple(dict.fromkeys(accounts)), now, now)
            return None, user

        return self._update(change)

    def set_role(self, name: str, role: Role, *, now: str) -> Change:
        return self._modify(name, lambda u: replace(u, role=role, updated_at=now))

    def set_enabled(self, name: str, enabled: bool, *, now: str) -> Change:
        return self._modify(name, lambda u: replace(u, enabled=enabled, updated_at=now))

    def grant(self, name: str, account: str, *, now: str) -> Change:
        check_name(account, "account")
        return self._modify(
            name, lambda u: replace(u, accounts=tuple(dict.fromkeys((*u.accounts, account))), updated_at=now)
        )

    def revoke(self, name: str, account: str, *, now: str) -> Change:
        def change(u: User) -> User:
            if account not in u.accounts:
                raise NotFoundError(f"user {name!r} has no account {account!r}")
            return replace(u, accounts=tuple(a for a in u.accounts if a != account), updated_at=now)

        return self._modify(name, change)

    def _modify(self, name: str, edit: Callable[[User], User]) -> Change:
        def change(users: dict[str, User]) -> Change:
            before = users.get(name)
            if before is None:
                raise NotFoundError(f"no user {name!r} (alphintra user list)")
            return before, edit(before)

        return self._update(change)

    def _update(self, change: Callable[[dict[str, User]], Change]) -> Change:
        with locked(self.root / _LOCK_FILE):
            users = dict(self._read())
            before, after = change(users)
            users[after.name] = after
            self._write(users)
            return before, after

    def _write(self, users: dict[str, User]) -> None:
        data = json.dumps({"format": _FORMAT, "users": [u.to_dict() for u in users.values()]}, indent=2) + "\n"
        tmp = self.path.with_name(f".{USERS_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)


__all__ = ["USERS_FILE", "Change", "User", "UserStore", "check_name"]
