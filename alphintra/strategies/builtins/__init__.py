"""Built-in strategies; each module registers its class with ``alphintra.strategies.registry``.

``NAMES`` lists them without importing them (each module is named like the strategy it registers, which a test
checks): shell completion reads it on every Tab, where importing the strategies (pydantic, numpy) would be slow.
"""

NAMES = (
    "sma_cross",
    "donchian",
    "mean_reversion",
    "pairs",
    "grid",
    "dca",
    "market_making",
    "arbitrage",
    "portfolio",
    "ml_lightgbm",
)
