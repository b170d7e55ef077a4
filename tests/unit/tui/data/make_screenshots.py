"""Render the PNG screenshots in docs/screenshots from the recorded data set.

    python tests/unit/tui/data/make_screenshots.py docs/screenshots

Each screen is saved as SVG by Textual and converted to PNG by headless Chromium (`apt-get install chromium`),
at the SVG's own size so that nothing is scaled.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_fixed import SIZE, fixed_app, settle

SHOTS = {
    "dashboard": (),
    "trade": ("2", "f", "f", "f", "f"),
    "strategies": ("3",),
    "risk": ("4",),
    "backtests": ("5",),
    "help": ("f1",),
}


async def shoot(name: str, keys: tuple[str, ...], folder: Path) -> Path:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        path = folder / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"Alphintra — {name}"))
    return path


def to_png(svg: Path, png: Path) -> None:
    box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg.read_text())
    assert box is not None, f"no viewBox in {svg}"
    width, height = (round(float(v)) for v in box.groups())
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            svg.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, keys in SHOTS.items():
            svg = asyncio.run(shoot(name, keys, Path(tmp)))
            to_png(svg, out / f"{name}.png")
            print(out / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
