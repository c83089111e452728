"""The store: the only package that speaks SQL. See archive.py (writes),
queries.py (search, show, export) and stats.py (statistics)."""

from pipeline.store.archive import Archive, Saved
from pipeline.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Archive", "FeedState", "Saved"]
