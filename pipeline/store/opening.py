"""Opening an archive whatever the machine is like: a bounded wait for another
writer, read-only media, and SQLite's failures as the package's typed errors.

- Another process writing (holding SQLite's write lock) makes a write wait up to
  BUSY_TIMEOUT seconds (the environment variable NEWSARCHIVE_BUSY_TIMEOUT overrides
  it), then ArchiveBusyError.
- A read-only open first asks SQLite for `mode=ro`. On media where SQLite cannot make
  a WAL archive's side files (-wal, -shm: a read-only mount, a snapshot, a backup) it
  opens the file `immutable=1`: nothing is locked or written, and the archive must not
  change while it is open, which read-only media guarantee.
- An archive of an older schema is upgraded first where it can be written; where it
  cannot, schemas from READABLE_FROM on are read as they are (the read side copes with
  what later migrations add: see queries and fts).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from pipeline.errors import ArchiveBusyError, DiskFullError, NewsarchiveError, StoreError
from pipeline.store.schema import SCHEMA_VERSION

BUSY_TIMEOUT = 10.0  # seconds a write waits for another process's write to end
READABLE_FROM = 6  # the oldest schema the read commands can read without an upgrade

_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_FULL = 13  # SQLITE_FULL
_READONLY = 8  # SQLITE_READONLY
_CANTOPEN = 14  # SQLITE_CANTOPEN


def busy_seconds(given: float | None = None) -> float:
    """The busy timeout: `given`, else $NEWSARCHIVE_BUSY_TIMEOUT, else BUSY_TIMEOUT."""
    if given is not None:
        return given
    try:
        return max(0.0, float(os.environ.get("NEWSARCHIVE_BUSY_TIMEOUT", BUSY_TIMEOUT)))
    except ValueError:
        return BUSY_TIMEOUT


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def store_error(file: Path, exc: sqlite3.Error, doing: str) -> NewsarchiveError:
    """SQLite's `exc` as the package's error: the archive busy, the disk full, or a
    StoreError saying what could not be done."""
    code = _code(exc)
    message = str(exc)
    if code in _BUSY or "database is locked" in message:
        return ArchiveBusyError(str(file), busy_seconds())
    if code == _FULL or "database or disk is full" in message:
        return DiskFullError(str(file))
    if code == _READONLY or "readonly database" in message:
        return StoreError(f"{file}: {doing}: the archive is read-only here")
    return StoreError(f"{file}: {doing} ({message})")


def os_error(path: Path, exc: OSError, doing: str) -> NewsarchiveError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(str(path))
    return StoreError(f"{path}: {doing} ({exc.strerror or exc})")


def _uri(file: Path, immutable: bool) -> str:
    """An SQLite URI opening `file` read-only; as_uri() percent-encodes the path, so a
    name with ? or # in it opens that file and no other."""
    return file.resolve().as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")


def _connect(file: Path, immutable: bool) -> tuple[sqlite_utils.Database, int]:
    conn = sqlite3.connect(_uri(file, immutable), uri=True)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute("PRAGMA query_only=ON")
    except sqlite3.Error:
        conn.close()
        raise
    return sqlite_utils.Database(conn), version


def _connect_readable(file: Path) -> tuple[sqlite_utils.Database, int, bool]:
    try:
        return (*_connect(file, immutable=False), False)
    except sqlite3.OperationalError as exc:
        if _code(exc) not in (_CANTOPEN, _READONLY) and "unable to open" not in str(exc):
            raise
    return (*_connect(file, immutable=True), True)  # side files cannot be made here


def open_readonly(
    file: Path, upgrade: Callable[[Path], None]
) -> tuple[sqlite_utils.Database, bool]:
    """The archive at `file` opened for reading, and whether it is opened immutable.
    `upgrade` migrates an older archive (opening it for writing)."""
    if not file.exists():
        raise StoreError(f"{file}: no archive here (run `newsarchive run` first)")
    try:
        db, version, immutable = _connect_readable(file)
        if version < SCHEMA_VERSION and not immutable:
            db.conn.close()
            try:
                upgrade(file)
            except StoreError as exc:
                if version < READABLE_FROM:
                    raise StoreError(
                        f"{file}: the archive needs an upgrade this user cannot write ({exc})"
                    ) from None
            db, version, immutable = _connect_readable(file)
    except sqlite3.DatabaseError as exc:
        raise store_error(file, exc, "cannot open the archive") from None
    if version > SCHEMA_VERSION:
        db.conn.close()
        raise StoreError(f"{file}: archive schema {version} is newer than this newsarchive")
    if version < READABLE_FROM:
        db.conn.close()
        raise StoreError(f"{file}: archive schema {version} is old and could not be upgraded")
    return db, immutable
