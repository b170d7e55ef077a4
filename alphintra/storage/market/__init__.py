"""Market data: a Parquet store with a DuckDB catalog, importers, validation, resampling and synthetic data."""
