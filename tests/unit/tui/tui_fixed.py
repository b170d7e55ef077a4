"""The recorded data set and an app built on it, shared by the TUI's unit and snapshot tests."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from alphintra.tui.app import AlphintraApp
from alphintra.tui.recorded import RecordedDataSource

DATASET = Path(__file__).parent / "data" / "dataset.json"
SIZE = (140, 42)
SMALL = (100, 30)


def fixed_app(**kwargs: object) -> AlphintraApp:
    kwargs.setdefault("symbol", "GOOG")
    return AlphintraApp(RecordedDataSource.load(DATASET), **kwargs)  # type: ignore[arg-type]


async def settle(pilot: Pilot[None]) -> None:
    """Until every pending command has run and its data is on screen (no timers involved)."""
    app = pilot.app
    assert isinstance(app, AlphintraApp)
    for _ in range(3):
        await app.workers.wait_for_complete()
        app.flush()
        await pilot.pause()
