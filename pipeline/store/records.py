"""Feed and robots.txt state between runs, and the run records."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.models import FeedState
from pipeline.store.connection import Connection
from pipeline.times import iso as _iso

RESERVE_BYTES = 256 * 1024  # set aside during a run, so that a full disk can record its end


class Records(Connection):
    """The `feeds`, `robots`, `runs` and `run_sources` tables."""

    # --- feeds and robots -----------------------------------------------------------

    def feed_states(self, source: str) -> list[FeedState]:
        rows = self.execute(
            "SELECT url, source, kind, discovered, etag, last_modified, checked_at, full_at,"
            " status, error, failures, entries FROM feeds WHERE source = ? ORDER BY rowid",
            (source,),
        ).fetchall()
        return [
            FeedState(
                url=r[0],
                source=r[1],
                kind=r[2],
                discovered=bool(r[3]),
                etag=r[4],
                last_modified=r[5],
                checked_at=r[6],
                full_at=r[7],
                status=r[8],
                error=r[9],
                failures=r[10] or 0,
                entries=r[11] or 0,
            )
            for r in rows
        ]

    def save_feed_state(self, state: FeedState) -> None:
        with self._writing():
            self.db.conn.execute(
                "INSERT OR REPLACE INTO feeds (url, source, kind, discovered, etag,"
                " last_modified, checked_at, full_at, status, error, failures, entries)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    state.url,
                    state.source,
                    state.kind,
                    int(state.discovered),
                    state.etag,
                    state.last_modified,
                    state.checked_at,
                    state.full_at,
                    state.status,
                    state.error,
                    state.failures,
                    state.entries,
                ),
            )

    def forget_feeds(self, source: str, keep: Iterable[str]) -> None:
        """Drop discovered feed records of `source` that discovery no longer finds."""
        keep = list(keep)
        marks = ",".join("?" * len(keep)) or "''"
        with self._writing():
            self.db.conn.execute(
                f"DELETE FROM feeds WHERE source = ? AND discovered = 1 AND url NOT IN ({marks})",
                (source, *keep),
            )

    def robots(self, origin: str) -> tuple[str | None, int, str] | None:
        row = self.execute(
            "SELECT body, status, fetched_at FROM robots WHERE origin = ?", (origin,)
        ).fetchone()
        return (row[0], int(row[1]), row[2]) if row else None

    def save_robots(self, origin: str, body: str | None, status: int, fetched_at: str) -> None:
        with self._writing():
            self.db.conn.execute(
                "INSERT OR REPLACE INTO robots (origin, body, status, fetched_at)"
                " VALUES (?, ?, ?, ?)",
                (origin, body, status, fetched_at),
            )

    # --- runs -----------------------------------------------------------------------

    def begin_run(self, started: datetime, pid: int, hostname: str, sources: Sequence[str]) -> int:
        with self._writing():
            cursor = self.db.conn.execute(
                "INSERT INTO runs (started_at, pid, hostname, status, sources)"
                " VALUES (?, ?, ?, 'running', ?)",
                (_iso(started), pid, hostname, json.dumps(list(sources))),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        finished: datetime,
        status: str,
        exit_code: int,
        totals: dict[str, int],
        per_source: dict[str, dict[str, Any]],
    ) -> None:
        with self._writing():
            self.db.conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, requests = ?,"
                " articles_new = ?, duplicates = ?, skipped = ?, failed = ?, revised = ?"
                " WHERE id = ?",
                (
                    _iso(finished),
                    status,
                    exit_code,
                    totals.get("requests", 0),
                    totals.get("new", 0),
                    totals.get("duplicate", 0),
                    totals.get("skipped", 0),
                    totals.get("failed", 0),
                    totals.get("revised", 0),
                    run_id,
                ),
            )
            for source, counts in per_source.items():
                self.db.conn.execute(
                    "INSERT OR REPLACE INTO run_sources (run_id, source, discovered, new,"
                    " duplicate, skipped, failed, revised, unchanged, feed_errors, error,"
                    " avg_text_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        source,
                        counts.get("discovered", 0),
                        counts.get("new", 0),
                        counts.get("duplicate", 0),
                        counts.get("skipped", 0),
                        counts.get("failed", 0),
                        counts.get("revised", 0),
                        counts.get("unchanged", 0),
                        counts.get("feed_errors", 0),
                        counts.get("error"),
                        counts.get("avg_text_length"),
                    ),
                )

    def _reserve(self) -> Path:
        return self.path.with_name(self.path.name + "-reserve")

    def hold_room(self) -> None:
        """Set aside RESERVE_BYTES of disk beside the archive for the length of a run
        (best effort: on a disk already full there is nothing to set aside)."""
        reserve = self._reserve()
        try:
            with open(reserve, "wb") as fh:
                fh.write(bytes(RESERVE_BYTES))  # written, not sparse: the blocks are taken
        except OSError:
            with suppress(OSError):
                reserve.unlink(missing_ok=True)

    def give_back_room(self) -> None:
        """The end of a run: the space set aside is free again."""
        with suppress(OSError):
            self._reserve().unlink(missing_ok=True)

    def make_room(self) -> None:
        """After a full disk: give back the space set aside and checkpoint the WAL, so
        that the run's end can still be written (best effort)."""
        self.give_back_room()
        with suppress(sqlite3.DatabaseError):
            self.db.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()

    def close_abandoned_runs(self, now: datetime) -> int:
        """Runs still marked running (their process was killed) are marked so."""
        with self._writing():
            cursor = self.db.conn.execute(
                "UPDATE runs SET status = 'killed', finished_at = ? WHERE status = 'running'",
                (_iso(now),),
            )
        return cursor.rowcount
