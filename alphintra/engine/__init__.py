"""The engines: the trading node (one code path for backtest, paper and live), the order emulator, execution
algorithms, the simulated venue, risk and the clock. The pure domain lives in ``engine.core``.

Submodules are imported where they are used (``from alphintra.engine.node import TradingNode``) so that importing
the package stays cheap for the CLI; the names below are the public surface.
"""

__all__ = ["algos", "clock", "commands", "core", "data", "emulator", "node", "risk", "venue"]
