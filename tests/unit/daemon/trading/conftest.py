from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from trading_support import Engine


@pytest.fixture
def engine(isolated_home: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A started trading host in an isolated home, its paper feed off (prices move only by ``engine.tick``).

    ``@pytest.mark.parametrize("engine", ["spot"], indirect=True)`` makes its account a spot account (the default is
    margin, as in a backtest): a test of what a spot buy locks needs one."""
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    mode = getattr(request, "param", None)
    if mode is not None:
        monkeypatch.setenv("ALPHINTRA_ACCOUNTS__MAIN__MODE", mode)
    reset_settings_cache()
    eng = Engine()
    try:
        yield eng
    finally:
        eng.close()
