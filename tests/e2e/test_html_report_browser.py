"""The interactive HTML pages open in a real browser: Debian's headless Chromium, driven over the DevTools protocol.

One page load checks everything a reader relies on: no console message or exception, no network request other
than the file itself (the library is inlined), and every chart pane drew (its canvases hold non-blank pixels).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Per pane: the number of its canvases with a pixel that is neither transparent nor the white background.
_DRAWN = """
(() => Array.from(document.querySelectorAll('#charts .pane')).map(pane =>
  Array.from(pane.querySelectorAll('canvas')).filter(c => {
    if (!c.width || !c.height) return false;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] && (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250)) return true;
    }
    return false;
  }).length))()
"""


class Browser:
    """A headless Chromium and one DevTools session on one page."""

    def __init__(self, profile: Path) -> None:
        from websockets.sync.client import connect

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1200,1000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        url = None
        for line in self.proc.stderr:  # Chromium prints the endpoint once it listens
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "chromium did not start its DevTools endpoint"
        self.ws = connect(url, max_size=None, open_timeout=10).__enter__()
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=15))
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        assert "exceptionDetails" not in reply, reply
        return reply["result"].get("value")

    def close(self) -> None:
        self.ws.__exit__(None, None, None)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is missing: apt-get install chromium (.ci/run installs it)"
    b = Browser(tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def _next_frames(browser: Browser) -> None:
    """Lightweight Charts paints on the next animation frame: wait for two of them."""
    frames = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    browser.call("Runtime.evaluate", session=True, expression=frames, awaitPromise=True)


def _open(browser: Browser, page: Path) -> tuple[list[int], list[dict[str, Any]], list[str]]:
    """Load ``page``; return the drawn canvases per pane, the console/exception/log events and the requested URLs."""
    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.call(f"{domain}.enable", session=True)
    browser.events.clear()
    browser.call("Page.navigate", session=True, url=page.as_uri())
    deadline = time.monotonic() + 15
    while browser.evaluate("document.body && document.body.dataset.chartsReady") is None:
        assert time.monotonic() < deadline, "the charts never finished drawing"
        browser.call(
            "Runtime.evaluate", session=True, expression="new Promise(r => setTimeout(r, 50))", awaitPromise=True
        )
    _next_frames(browser)
    drawn = browser.evaluate(_DRAWN)
    noise = [
        e
        for e in browser.events
        if e.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")
    ]
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    return drawn, noise, requests


def test_backtest_report_draws_offline_without_errors(run_cli, isolated_home: Path, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    page = isolated_home / "report.html"
    args = ("backtest", "run", "sma_cross", "-s", "GOOG", "--start", "2011-01-01", "--html", str(page))
    assert run_cli(*args, "--json").code == 0
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"?https?:", text)
    drawn, noise, requests = _open(browser, page)
    # Panes: GOOG candles (with both SMAs and the trades), equity, drawdown; each draws at least one canvas.
    assert len(drawn) == 3 and all(count > 0 for count in drawn), drawn
    assert noise == []
    assert requests == [page.as_uri()]
    # Hovering a candle shows its values in every pane's legend (the crosshair is mirrored).
    read = "Array.from(document.querySelectorAll('#charts .legend')).map(l => l.textContent)"
    before = browser.evaluate(read)
    box = browser.evaluate(
        "(() => { const c = document.querySelector('#charts .chart'); c.scrollIntoView();"
        " const r = c.getBoundingClientRect();"
        " return [r.left + r.width / 3, r.top + r.height / 2]; })()"
    )
    for dx in (0, 5):  # the first move enters the chart, the second moves the crosshair
        browser.call("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=box[0] + dx, y=box[1])
    _next_frames(browser)
    after = browser.evaluate(read)
    assert [a.split(" ")[0] for a in after] == ["GOOG", "equity", "drawdown"]
    assert all(a != b for a, b in zip(after, before, strict=True)), (before, after)
    legend = browser.evaluate("document.querySelector('#charts .legend').textContent")
    assert legend.startswith("GOOG O ") and "sma(10) " in legend and "sma(20) " in legend, legend
    # Daily bars: the time axis and crosshair show dates, never a time of day.
    assert browser.evaluate("JSON.parse(document.getElementById('chart-spec').textContent).timeVisible") is False


def test_plot_page_draws_each_indicator_pane(run_cli, isolated_home: Path, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    page = isolated_home / "plot.html"
    result = run_cli("plot", "GOOG", "-t", "1d", "--indicators", "sma:20,rsi:14", "--html", str(page))
    assert result.code == 0, result.err
    drawn, noise, requests = _open(browser, page)
    assert len(drawn) == 2 and all(count > 0 for count in drawn), drawn  # price with sma(20), then rsi(14)
    assert noise == [] and requests == [page.as_uri()]
    titles = browser.evaluate("Array.from(document.querySelectorAll('#charts h3')).map(h => h.textContent)")
    assert titles == ["GOOG price", "rsi(14)"]
