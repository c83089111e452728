"""The store: the only package that speaks SQL. See archive.py (writes; with
frontier.py, records.py and connection.py), queries.py (search, show, export),
stats.py (statistics), health.py, changes.py, imports.py, fts.py, opening.py and
schema.py (migrations)."""

from pipeline.store.archive import Archive, Saved
from pipeline.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Archive", "Saved"]
