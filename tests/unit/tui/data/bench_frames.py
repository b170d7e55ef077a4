"""What one frame costs on the Trade screen at 1,000 book messages a second (30 frames/s, 34 messages each).

    python tests/unit/tui/data/bench_frames.py

Measures the app's own work per frame (draining the buffer, folding into the state, redrawing the panels that
changed); Textual's compositing comes on top. Not a test.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_fixed import SIZE, fixed_app, settle


def book(i: int) -> dict[str, Any]:
    mid = 800 + i / 100
    return {
        "symbol": "GOOG",
        "bids": [[f"{mid - k * 0.4:.2f}", "6", 1] for k in range(20)],
        "asks": [[f"{mid + 1 + k * 0.4:.2f}", "6", 1] for k in range(20)],
        "ts": i,
    }


async def main(frames: int = 300) -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        costs = []
        for frame in range(frames):
            for i in range(34):
                app.buffer.put("book", "GOOG", book(frame * 34 + i))
                app.buffer.put("ticker", "GOOG", {"symbol": "GOOG", "last": "801", "bid": "800", "ask": "801", "ts": i})
            started = time.perf_counter()
            app.flush()
            costs.append(time.perf_counter() - started)
            await pilot.pause()
        costs.sort()
        median, p99 = statistics.median(costs) * 1e3, costs[int(len(costs) * 0.99)] * 1e3
        print(f"{frames} frames of 34 book + 34 ticker messages: median {median:.2f} ms, p99 {p99:.2f} ms per frame")


if __name__ == "__main__":
    asyncio.run(main())
