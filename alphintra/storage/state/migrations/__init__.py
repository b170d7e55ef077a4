"""Alembic migrations of the state database, shipped inside the package and run from code (no alembic.ini).

``versions/`` holds one module per schema change; :mod:`alphintra.storage.state.schema` runs them. A migration
spells out its column types instead of importing the models, so that it keeps creating the schema of its own
revision after the models move on.
"""
