"""The connection every part of the archive works through: one SQLite database, its
transactions, and SQLite's failures as the package's typed errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from pipeline.errors import StoreError
from pipeline.store import opening


class Connection:
    """One open archive database."""

    def __init__(self, db: sqlite_utils.Database, path: Path, *, immutable: bool = False) -> None:
        self.db = db
        self.path = path
        self.immutable = immutable  # opened with SQLite's immutable=1 (read-only media)

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def _writing(self, doing: str = "cannot write to the archive") -> Iterator[None]:
        """One transaction; SQLite's failures as typed errors (busy, disk full)."""
        try:
            with self.db.conn:
                yield
        except sqlite3.DatabaseError as exc:
            raise opening.store_error(self.path, exc, doing) from None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from None
