"""The encrypted credentials file: round trips under a passphrase and under a keyring, refuses a wrong passphrase,
never holds or shows a secret in clear."""

from __future__ import annotations

import stat
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from alphintra.errors import ConfigError, NotFoundError, ValidationError
from alphintra.venues import credentials as cred_mod
from alphintra.venues.credentials import ApiCredentials, CredentialStore

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cred_mod, "SCRYPT_N", 2**10)  # the real cost (2**15) is for people, not for unit tests


def store(home: Path, passphrase: str | None = "correct horse", **kw: object) -> CredentialStore:
    env = {} if passphrase is None else {"ALPHINTRA_PASSPHRASE": passphrase}
    return CredentialStore(home, environ=env, use_keyring=False, **kw)  # type: ignore[arg-type]


def test_round_trip_under_a_passphrase_and_nothing_in_clear(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store(home).put("fakebin", ApiCredentials(KEY, SECRET))
    assert store(home).get("fakebin") == ApiCredentials(KEY, SECRET)
    raw = (home / "credentials").read_bytes()
    assert KEY.encode() not in raw and SECRET.encode() not in raw and b"correct horse" not in raw
    assert stat.S_IMODE((home / "credentials").stat().st_mode) == 0o600
    assert store(home).hints() == {"fakebin": "…Eh8A"}
    assert store(home, passphrase=None).protection() == "scrypt"
    assert [p.name for p in home.iterdir()] == ["credentials"]  # no temp file left behind


def test_wrong_passphrase_is_named_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store(home).put("a", ApiCredentials(KEY, SECRET))
    before = (home / "credentials").read_bytes()
    with pytest.raises(ValidationError, match=r"passphrase: does not unlock .*credentials \(wrong passphrase\)") as err:
        store(home, "wrong horse").put("b", ApiCredentials(KEY + "x", SECRET))
    assert err.value.exit_code == 2
    assert (home / "credentials").read_bytes() == before


def test_no_passphrase_and_no_terminal_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ALPHINTRA_PASSPHRASE: is required to protect"):
        store(tmp_path, passphrase=None).put("a", ApiCredentials(KEY, SECRET))
    assert not (tmp_path / "credentials").exists()


def test_prompt_is_asked_once_per_unlock_and_short_passphrases_are_refused(tmp_path: Path) -> None:
    asked: list[bool] = []

    def prompt(new: bool) -> str:
        asked.append(new)
        return "short" if len(asked) == 1 else "long enough"

    with pytest.raises(ValidationError, match="passphrase: must be at least 8 characters"):
        store(tmp_path, passphrase=None, prompt=prompt).put("a", ApiCredentials(KEY, SECRET))
    s = store(tmp_path, passphrase=None, prompt=prompt)
    s.put("a", ApiCredentials(KEY, SECRET))
    s.put("b", ApiCredentials(KEY + "b", SECRET))  # the data key stays unlocked within one store
    assert asked == [True, True]
    assert store(tmp_path, "long enough").get("b").api_key == KEY + "b"


def test_entries_are_bound_to_their_venue_name(tmp_path: Path) -> None:
    import json

    store(tmp_path).put("a", ApiCredentials(KEY, SECRET))
    doc = json.loads((tmp_path / "credentials").read_text())
    doc["entries"]["b"] = doc["entries"]["a"]  # moving a sealed entry to another venue is detected
    (tmp_path / "credentials").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="the entry of venue 'b' does not decrypt"):
        store(tmp_path).get("b")
    with pytest.raises(NotFoundError, match="no credentials stored for venue 'c'"):
        store(tmp_path).get("c")
    assert store(tmp_path).remove("a") and not store(tmp_path).remove("a")


def test_keyring_protects_the_file_when_one_is_available(tmp_path: Path) -> None:
    previous = keyring.get_keyring()  # chosen (and cached) before a backend class is defined: defining one registers it

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            del self.items[(service, username)]

    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        assert cred_mod.keyring_available()
        s = CredentialStore(tmp_path, environ={})  # no passphrase anywhere: the keyring is enough
        s.put("a", ApiCredentials(KEY, SECRET))
        assert CredentialStore(tmp_path, environ={}).get("a").api_secret == SECRET
        assert CredentialStore(tmp_path, environ={}).protection() == "keyring"
        ring.items.clear()  # the keyring lost its entry: say so, do not guess
        with pytest.raises(Exception, match="the OS keyring holds no key for"):
            CredentialStore(tmp_path, environ={}).get("a")
        keyring.set_keyring(fail.Keyring())
        assert not cred_mod.keyring_available()  # keyring's `fail` backend (this machine's) is no keyring
    finally:
        keyring.set_keyring(previous)


def test_repr_and_errors_never_show_the_secret() -> None:
    pair = ApiCredentials(KEY, SECRET)
    assert repr(pair) == "ApiCredentials(api_key='…Eh8A')"
    assert SECRET not in repr(pair) and KEY not in str(pair)
    with pytest.raises(ValidationError) as err:
        ApiCredentials(KEY, " " + SECRET)
    assert SECRET not in str(err.value) and str(err.value).startswith("API secret: must be non-empty")
