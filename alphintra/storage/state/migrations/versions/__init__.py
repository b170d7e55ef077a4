"""One module per revision of the state database's schema (loaded by Alembic, not imported by the package)."""
