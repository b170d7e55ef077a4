from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from trading_support import Engine


@pytest.fixture
def engine(isolated_home: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A started trading host in an isolated home, its paper feed off (prices move only by ``engine.tick``)."""
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()
    eng = Engine()
    try:
        yield eng
    finally:
        eng.close()
