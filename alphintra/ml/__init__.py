"""Machine learning on market data: feature sets computed the same way in batch and when serving, labels,
leakage-safe splits, LightGBM training and evaluation, a model registry under ``$ALPHINTRA_HOME/models``,
serving through the ``ml`` strategy, drift monitoring and market-data anomaly detection.

This package sits above ``strategies`` and ``storage``: it may import them, the engine never imports it.
Importing the package loads neither polars nor LightGBM; its modules do, when they are used.
"""

__all__: list[str] = []  # import from the modules (featureset, train, registry, pipeline, serving, drift, anomaly)
