"""`alphintra venue add|list|show|test|remove` as real processes against the fake exchange: the real ccxt client,
one clear message per failure, and the secret nowhere in any output or file of the session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from alphintra.venues.fake.testing import FakeHandle

PASSPHRASE = "a passphrase for tests"


def cli(home: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    environ.update({"ALPHINTRA_HOME": str(home), "ALPHINTRA_PASSPHRASE": PASSPHRASE, "COLUMNS": "400", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "alphintra", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_session_never_shows_the_secret(fake: FakeHandle, tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret, key = fake.api_secret, fake.api_key
    outputs: list[str] = []

    def run(*args: str, code: int = 0, **kw: object) -> subprocess.CompletedProcess[str]:
        result = cli(home, *args, **kw)  # type: ignore[arg-type]
        outputs.extend([result.stdout, result.stderr])
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result

    added = run(
        "venue",
        "add",
        "fakebin",
        "--exchange",
        "binance",
        "--url",
        fake.base_url,
        "--secret-stdin",
        "--json",
        stdin=f"{key}\n{secret}\n",
    )
    assert json.loads(added.stdout)["api_key"] == "…" + key[-4:]
    assert json.loads(added.stdout)["protection"] == "scrypt"  # this machine has no OS keyring
    listed = json.loads(run("venue", "list", "--json").stdout)
    assert (
        [(v["name"], v["exchange"], v["url"], v["api_key"], v["state"]) for v in listed]
        == [
            ("sim", None, None, None, "not running"),  # the built-in simulated venue: one list of every venue
            ("fakebin", "binance", fake.rest_url, "…" + key[-4:], "not running"),
        ]
    )
    shown = json.loads(run("venue", "show", "fakebin", "--json").stdout)
    assert shown["urls"]["api"]["private"] == fake.rest_url and shown["rate_limit_ms"] == 50
    tested = json.loads(run("-vv", "venue", "test", "fakebin", "--json").stdout)
    assert tested["ok"] is True and tested["markets"] == 2 and tested["endpoint"] == fake.base_url
    exact = {a: v["free"] for a, v in fake.admin("GET", f"balances?api_key={key}").items()}
    assert {a: float(v) for a, v in tested["balances"].items()} == {a: float(v) for a, v in exact.items() if float(v)}
    run("venue", "show", "fakebin")  # the tables too
    run("venue", "list")
    # the same pair from the environment, and a wrong secret: refused by the exchange (-1022), exit 2
    env = {"ALPHINTRA_VENUE_FROM_ENV_API_KEY": key, "ALPHINTRA_VENUE_FROM_ENV_API_SECRET": secret}
    run("venue", "add", "from-env", "--exchange", "binance", "--url", fake.base_url, "--from-env", env=env)
    run("venue", "test", "from-env", env=env)
    run(
        "venue",
        "add",
        "badsecret",
        "--exchange",
        "binance",
        "--url",
        fake.base_url,
        "--secret-stdin",
        stdin=f"{key}\n{secret[::-1]}\n",
    )
    bad = run("venue", "test", "badsecret", code=2)
    assert "credentials of venue 'badsecret': were refused by " + fake.base_url + " (exchange code -1022)" in bad.stderr
    run(
        "venue",
        "add",
        "badkey",
        "--exchange",
        "binance",
        "--url",
        fake.base_url,
        "--secret-stdin",
        stdin=f"{key[::-1]}\n{secret}\n",
    )
    assert "(exchange code -2015)" in run("venue", "test", "badkey", code=2).stderr
    port = closed_port()
    run(
        "venue",
        "add",
        "down",
        "--exchange",
        "binance",
        "--url",
        f"http://127.0.0.1:{port}",
        "--secret-stdin",
        stdin=f"{key}\n{secret}\n",
    )
    down = run("venue", "test", "down", code=1)
    assert f"venue 'down': cannot reach http://127.0.0.1:{port} while trying to load its markets" in down.stderr
    wrong = cli(home, "venue", "test", "fakebin", env={"ALPHINTRA_PASSPHRASE": "not the passphrase"})
    outputs.extend([wrong.stdout, wrong.stderr])
    assert wrong.returncode == 2 and "passphrase: does not unlock" in wrong.stderr
    for name in ("fakebin", "from-env", "badsecret", "badkey", "down"):
        run("venue", "remove", name, "--yes")
    assert [v["name"] for v in json.loads(run("venue", "list", "--json").stdout)] == ["sim"]
    refused = run("venue", "remove", "sim", "--yes", code=2)
    assert "NAME: is defined in " in refused.stderr and "edit it there" in refused.stderr
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"venues.toml", "credentials"}
    everything = "\n".join(outputs) + "\n".join(p.read_bytes().decode(errors="replace") for p in files)
    for needle in (secret, key, secret[::-1], key[::-1], PASSPHRASE):
        assert needle not in everything


def test_bad_input_gets_one_message_and_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cases = [
        (
            ["venue", "add", "x", "--exchange", "nosuchexchange", "--secret-stdin"],
            "k\ns\n",
            "--exchange: must be an exchange id known to ccxt",
        ),
        (
            ["venue", "add", "x", "--exchange", "binance", "--secret-stdin"],
            "only-one-line\n",
            "--secret-stdin: expects exactly two lines on stdin",
        ),
        (["venue", "add", "x", "--exchange", "binance"], "", "API key: cannot be asked for without a terminal"),
        (
            ["venue", "add", "x", "--exchange", "binance", "--from-env"],
            "",
            "--from-env: needs ALPHINTRA_VENUE_X_API_KEY and ALPHINTRA_VENUE_X_API_SECRET set",
        ),
        (["venue", "show", "missing"], "", "NAME: names no venue (configured: sim"),
        (["venue", "test", "missing"], "", "NAME: names no venue (configured: sim"),
        (["venue", "remove", "missing", "--yes"], "", "NAME: names no venue (configured: sim"),
    ]
    for args, stdin, message in cases:
        result = cli(home, *args, stdin=stdin)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr
        assert result.returncode == 2
    assert not (home / "venues.toml").exists() and not (home / "credentials").exists()


def test_keys_and_passphrase_are_asked_on_the_terminal_without_echo(tmp_path: Path) -> None:
    import fcntl
    import pty
    import select
    import termios

    home = tmp_path / "home"
    key, secret, passphrase = "KEYvisible0123456789", "SECRETvisible0123456789", "typed passphrase"
    master, slave = pty.openpty()

    def controlling_tty() -> None:  # the CLI gets the pty as its terminal, as in a shell
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    environ = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphintra", "venue", "add", "tty", "--exchange", "binance", "--url", "http://127.0.0.1:1"],
        stdin=slave, stdout=slave, stderr=slave, env={**environ, "ALPHINTRA_HOME": str(home)},
        preexec_fn=controlling_tty, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 120
        while text not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 1)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break

    for prompt, answer in [
        (b"API key: ", key),
        (b"API secret: ", secret),
        (b"New passphrase for the credentials file: ", passphrase),
        (b"Repeat for confirmation: ", passphrase),
    ]:
        until(prompt)
        os.write(master, answer.encode() + b"\n")
    until(b"added venue 'tty'")
    assert proc.wait(timeout=60) == 0, seen
    os.close(master)
    for needle in (key, secret, passphrase):
        assert needle.encode() not in seen  # nothing typed was echoed
    from alphintra.venues.credentials import ApiCredentials, CredentialStore

    stored = CredentialStore(home, environ={"ALPHINTRA_PASSPHRASE": passphrase}, use_keyring=False).get("tty")
    assert stored == ApiCredentials(key, secret)
