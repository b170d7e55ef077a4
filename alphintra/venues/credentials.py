"""API keys of trading venues, encrypted at rest in ``$ALPHINTRA_HOME/credentials``.

Envelope encryption: each venue's key pair is sealed with AES-256-GCM under one random *data key* (the venue name
is the associated data, so an entry cannot be moved to another venue unnoticed); the data key itself is sealed
under a *key-encryption key* (KEK) that never touches the disk:

- ``keyring``: a random KEK kept in the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service),
  chosen when a real keyring backend is available when the file is created;
- ``scrypt``: a KEK derived from a passphrase (scrypt, n=2**15, r=8, p=1, random salt), asked without echo or read
  from ``ALPHINTRA_PASSPHRASE`` for non-interactive use (daemon, scripts).

A wrong passphrase fails the GCM tag of the data key, so it is told apart from a damaged entry. The file is
replaced atomically (temp file, fsync, rename, fsync of the directory) and is created 0600. Secrets never appear
in an exception message, a ``repr`` or a log line: :class:`ApiCredentials` hides them from ``repr``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alphintra.errors import ConfigError, NotFoundError, OperationFailed, ValidationError

FILE_NAME = "credentials"
FORMAT_VERSION = 1
PASSPHRASE_ENV = "ALPHINTRA_PASSPHRASE"
KEYRING_SERVICE = "alphintra"
MIN_PASSPHRASE = 8
# scrypt's cost: ~32 MiB and ~0.1 s per unlock; stored in the file so that it can be raised later
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1

# asks for the passphrase; the argument says whether a new one is being set (ask twice) or an existing one entered
PassphrasePrompt = Callable[[bool], str]


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """A venue's key pair. ``repr`` shows the key's last four characters only, never the secret."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        for name, value in (("API key", self.api_key), ("API secret", self.api_secret)):
            if not value or value != value.strip() or any(ord(c) < 32 for c in value):
                # the value itself is never shown: it is a secret
                raise ValidationError(name, "must be non-empty, without spaces at either end or control characters")

    @property
    def hint(self) -> str:
        return key_hint(self.api_key)

    def __repr__(self) -> str:
        return f"ApiCredentials(api_key={self.hint!r})"


def key_hint(api_key: str) -> str:
    """What may be shown of an API key: its last four characters (nothing of a key shorter than 12)."""
    return "…" + api_key[-4:] if len(api_key) >= 12 else "…"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def keyring_available() -> bool:
    """A real OS keyring backend is configured (not keyring's ``fail`` backend or a null one)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:  # pragma: no cover - keyring is a dependency
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:
        return False
    if isinstance(backend, fail.Keyring):
        return False
    try:
        from keyring.backends import null

        if isinstance(backend, null.Keyring):
            return False
    except ImportError:  # pragma: no cover
        pass
    return float(getattr(backend, "priority", 1)) > 0


def atomic_write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old file or the new one, never a mix (0600)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class CredentialStore:
    """The encrypted credentials file of one data home. Unlocks lazily: listing hints needs no passphrase."""

    def __init__(
        self,
        home: Path,
        *,
        prompt: PassphrasePrompt | None = None,
        use_keyring: bool | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.path = home / FILE_NAME
        self._prompt = prompt
        self._use_keyring = keyring_available() if use_keyring is None else use_keyring
        self._environ = os.environ if environ is None else environ
        self._data_key: bytes | None = None

    # ---- the file -------------------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise OperationFailed(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            doc = json.loads(raw)
            if doc.get("version") != FORMAT_VERSION or not isinstance(doc.get("entries"), dict):
                raise ValueError
            return dict(doc)
        except (ValueError, AttributeError):
            raise ConfigError(
                str(self.path), f"is not an Alphintra credentials file (format {FORMAT_VERSION})"
            ) from None

    def _write(self, doc: dict[str, Any]) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            atomic_write_private(self.path, json.dumps(doc, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise OperationFailed(f"cannot write {self.path}: {exc.strerror}; nothing was changed") from None

    def hints(self) -> dict[str, str]:
        """Venue name -> the shown part of its API key, without unlocking anything."""
        doc = self._read()
        if doc is None:
            return {}
        return {name: str(entry.get("hint", "…")) for name, entry in doc["entries"].items()}

    def protection(self) -> str | None:
        """``keyring`` or ``scrypt`` for an existing file, None when there is none yet."""
        doc = self._read()
        return None if doc is None else str(doc["kek"]["kind"])

    # ---- keys ------------------------------------------------------------------------------------------------

    def _passphrase(self, new: bool) -> str:
        given = self._environ.get(PASSPHRASE_ENV)
        if given is None:
            if self._prompt is None:
                raise ValidationError(
                    PASSPHRASE_ENV,
                    f"is required to {'protect' if new else 'unlock'} {self.path}: no OS keyring is available and "
                    "there is no terminal to ask on",
                )
            given = self._prompt(new)
        if new and len(given) < MIN_PASSPHRASE:
            raise ValidationError("passphrase", f"must be at least {MIN_PASSPHRASE} characters")
        if not given:
            raise ValidationError("passphrase", "must not be empty")
        return given

    @staticmethod
    def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))

    def _new_file(self) -> dict[str, Any]:
        """A fresh document with a new data key sealed under a new KEK (keyring, or a passphrase)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        file_id = str(uuid.uuid4())
        kek_info: dict[str, Any]
        kek: bytes | None = None
        if self._use_keyring:
            import keyring

            candidate = secrets.token_bytes(32)
            try:
                keyring.set_password(KEYRING_SERVICE, f"credentials:{file_id}", _b64(candidate))
                kek, kek_info = (
                    candidate,
                    {"kind": "keyring", "service": KEYRING_SERVICE, "user": f"credentials:{file_id}"},
                )
            except Exception:  # a keyring that is installed but locked or unreachable: fall back to a passphrase
                kek = None
        if kek is None:
            salt = secrets.token_bytes(16)
            kek = self._scrypt(self._passphrase(True), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            kek_info = {"kind": "scrypt", "salt": _b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(kek).encrypt(nonce, data_key, file_id.encode())
        self._data_key = data_key
        return {
            "version": FORMAT_VERSION,
            "id": file_id,
            "kek": kek_info,
            "data_key": {"nonce": _b64(nonce), "sealed": _b64(sealed)},
            "entries": {},
        }

    def _unlock(self, doc: dict[str, Any]) -> bytes:
        if self._data_key is not None:
            return self._data_key
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        info = doc["kek"]
        try:
            if info["kind"] == "keyring":
                import keyring

                try:
                    stored = keyring.get_password(str(info["service"]), str(info["user"]))
                except Exception as exc:
                    raise OperationFailed(
                        f"the OS keyring that protects {self.path} cannot be reached ({type(exc).__name__})"
                    ) from None
                if stored is None:
                    raise OperationFailed(
                        f"the OS keyring holds no key for {self.path} (entry {info['user']!r} of service "
                        f"{info['service']!r}); the credentials cannot be decrypted: remove the file and add the "
                        "venues again"
                    )
                kek = _unb64(stored)
            else:
                salt = _unb64(info["salt"])
                kek = self._scrypt(self._passphrase(False), salt, int(info["n"]), int(info["r"]), int(info["p"]))
            sealed = doc["data_key"]
            data_key = AESGCM(kek).decrypt(_unb64(sealed["nonce"]), _unb64(sealed["sealed"]), str(doc["id"]).encode())
        except InvalidTag:
            if info["kind"] == "scrypt":
                raise ValidationError("passphrase", f"does not unlock {self.path} (wrong passphrase)") from None
            raise OperationFailed(f"the key in the OS keyring does not unlock {self.path}") from None
        except (KeyError, ValueError, TypeError):
            raise ConfigError(str(self.path), "is damaged: its key section cannot be read") from None
        self._data_key = data_key
        return data_key

    # ---- entries ---------------------------------------------------------------------------------------------

    def put(self, name: str, creds: ApiCredentials) -> None:
        """Store (or replace) ``name``'s key pair."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        doc = self._read()
        if doc is None:
            doc = self._new_file()
        data_key = self._unlock(doc)
        nonce = secrets.token_bytes(12)
        plain = json.dumps({"api_key": creds.api_key, "api_secret": creds.api_secret}).encode()
        sealed = AESGCM(data_key).encrypt(nonce, plain, f"venue:{name}".encode())
        doc["entries"][name] = {"nonce": _b64(nonce), "sealed": _b64(sealed), "hint": creds.hint}
        self._write(doc)

    def get(self, name: str) -> ApiCredentials:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        doc = self._read()
        entry = None if doc is None else doc["entries"].get(name)
        if doc is None or entry is None:
            raise NotFoundError(f"no credentials stored for venue {name!r} in {self.path}")
        data_key = self._unlock(doc)
        try:
            plain = AESGCM(data_key).decrypt(_unb64(entry["nonce"]), _unb64(entry["sealed"]), f"venue:{name}".encode())
            values = json.loads(plain)
            return ApiCredentials(str(values["api_key"]), str(values["api_secret"]))
        except (InvalidTag, KeyError, ValueError, TypeError):
            raise ConfigError(str(self.path), f"is damaged: the entry of venue {name!r} does not decrypt") from None

    def remove(self, name: str) -> bool:
        """Drop ``name``'s entry (no unlock needed); False when there was none."""
        doc = self._read()
        if doc is None or name not in doc["entries"]:
            return False
        del doc["entries"][name]
        self._write(doc)
        return True


__all__ = [
    "PASSPHRASE_ENV",
    "ApiCredentials",
    "CredentialStore",
    "atomic_write_private",
    "key_hint",
    "keyring_available",
]
