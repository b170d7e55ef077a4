"""Start the fake exchange as a real separate process for a test, and talk to its admin endpoint.

    with running_fake(walk_ms=0) as fake:
        ex = ccxt.binance(fake.ccxt_config())
        ...
        fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})

The process is ``python -m alphintra venue fake --port 0 --json``; the one JSON line it prints carries the key
pair and the ccxt ``urls``. Leaving the block sends SIGTERM and waits for a clean exit.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

CCXT_OPTIONS: dict[str, object] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


@dataclass
class FakeHandle:
    api_key: str
    api_secret: str
    urls: dict[str, Any]
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def rest_url(self) -> str:
        return str(self.urls["api"]["public"])

    @property
    def base_url(self) -> str:
        return self.rest_url.rsplit("/api/", 1)[0]

    def ccxt_config(self, **extra: Any) -> dict[str, Any]:
        """The constructor config of a ccxt ``binance`` (sync, async or pro) pointed at this fake."""
        options = dict(CCXT_OPTIONS)
        options.update(extra.pop("options", {}))
        return {"apiKey": self.api_key, "secret": self.api_secret, "urls": self.urls, "options": options, **extra}

    def admin(self, method: str, action: str, body: dict[str, Any] | None = None, timeout: float = 10) -> Any:
        """Call ``/admin/<action>``; raises ``AdminCallError`` on a 4xx answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}/admin/{action}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise AdminCallError(exc.code, json.loads(exc.read() or b"{}")) from None


class AdminCallError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@contextmanager
def running_fake(*args: str, walk_ms: int = 0, seed: int = 1, start_timeout: float = 30.0) -> Iterator[FakeHandle]:
    """A fake exchange in its own process for the duration of the block (extra CLI ``args`` are passed on)."""
    cmd = [sys.executable, "-m", "alphintra", "venue", "fake", "--port", "0", "--json", "--seed", str(seed)]
    cmd += ["--walk-ms", str(walk_ms), *args]
    # stderr goes to a file, not a pipe: a pipe nobody reads would block the fake once it filled up
    errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the process ends
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errfile)
    try:
        line = _read_line(proc, start_timeout, errfile)
        record = json.loads(line)
        yield FakeHandle(record["api_key"], record["api_secret"], record["urls"], proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung fake must not hang the suite
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        errfile.close()


def _read_line(proc: subprocess.Popen[bytes], timeout: float, errfile: IO[bytes]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or (proc.poll() is not None and not sel.select(0)):
                errfile.seek(0)
                err = errfile.read().decode(errors="replace")
                raise RuntimeError(f"the fake exchange did not start (exit {proc.poll()}): {err.strip()}")
            if sel.select(left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    continue
                buf += chunk
    return buf.split(b"\n", 1)[0].decode()
