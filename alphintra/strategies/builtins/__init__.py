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
    "triangular",
    "portfolio",
    "ml_lightgbm",
)

# Built-in strategies that live above this package, by name -> module (the ``ml`` strategy serves the models of
# ``alphintra.ml``, which may import strategies but not the other way round): the registry imports them by name,
# like plug-ins, and shell completion offers their names.
ELSEWHERE = {"ml": "alphintra.ml.serving"}
