"""The `import_files` table of `import-warc --cluster` (one row per input file), and the
learnt boilerplate of every source, which the cluster's tasks get as a snapshot."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from pipeline.store.archive import Archive
from pipeline.store.opening import store_error


@dataclass(frozen=True, slots=True)
class ImportFile:
    input: str
    state: str  # running, extracted, loaded, failed
    shard: str | None
    counts: dict[str, Any]
    error: str | None
    attempts: int


def import_files(archive: Archive, inputs: list[str]) -> dict[str, ImportFile]:
    """The recorded state of those of `inputs` this archive has seen."""
    found: dict[str, ImportFile] = {}
    for start in range(0, len(inputs), 500):
        chunk = inputs[start : start + 500]
        rows = archive.execute(
            "SELECT input, state, shard, counts, error, attempts FROM import_files"
            f" WHERE input IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        for row in rows:
            found[row[0]] = ImportFile(
                row[0], row[1], row[2], json.loads(row[3] or "{}"), row[4], int(row[5] or 0)
            )
    return found


def record_import(
    archive: Archive,
    input: str,
    state: str,
    at: str,
    *,
    shard: str | None = None,
    counts: dict[str, Any] | None = None,
    error: str | None = None,
    cpu: float | None = None,
    attempt: bool = False,
) -> None:
    """Set an input's state (and whatever else is given), creating its row if need be."""
    try:
        with archive.db.conn:
            archive.db.conn.execute(
                "INSERT INTO import_files (input, state, shard, counts, error, attempts, cpu,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(input) DO UPDATE SET state = excluded.state,"
                " shard = coalesce(excluded.shard, import_files.shard),"
                " counts = coalesce(excluded.counts, import_files.counts),"
                " error = excluded.error,"
                " attempts = import_files.attempts + excluded.attempts,"
                " cpu = coalesce(excluded.cpu, import_files.cpu),"
                " updated_at = excluded.updated_at",
                (
                    input,
                    state,
                    shard,
                    json.dumps(counts, sort_keys=True) if counts is not None else None,
                    error,
                    int(attempt),
                    cpu,
                    at,
                ),
            )
    except sqlite3.DatabaseError as exc:
        raise store_error(archive.path, exc, f"cannot record import of {input}") from None


def learnt_boilerplate(archive: Archive) -> dict[str, frozenset[str]]:
    """Every source's learnt boilerplate keys (see Archive.boilerplate)."""
    return {
        row[0]: frozenset(json.loads(row[1]))
        for row in archive.execute("SELECT source, keys FROM boilerplate").fetchall()
    }
