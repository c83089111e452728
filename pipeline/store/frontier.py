"""The frontier: URLs discovered and waiting, due for a fetch (new, retried with
back-off, or revisited), and what the archive has seen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from pipeline.models import Candidate
from pipeline.store.connection import Connection
from pipeline.times import iso as _iso


class Frontier(Connection):
    """The frontier's reads and writes (the `urls` table)."""

    # --- the frontier ---------------------------------------------------------------

    def add_candidates(self, candidates: Iterable[Candidate], now: datetime) -> int:
        """Remember discovered URLs as pending; known URLs are left as they are.
        Returns how many were new."""
        stamp = _iso(now)
        rows = [
            (c.url, c.source, c.found_on, c.published, c.title, stamp, c.fetch_url, c.summary)
            for c in candidates
        ]
        if not rows:
            return 0
        with self._writing():
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO urls (url, source, state, found_on, hint_published,"
                " hint_title, discovered_at, fetch_url, hint_summary)"
                " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self.db.conn.total_changes - before

    def due(self, source: str, limit: int, now: datetime) -> list[Candidate]:
        """URLs of `source` to fetch now: pending ones, newest first, then transient
        failures whose back-off has passed. (Two index ranges: the cost follows the
        backlog, not the archive.)"""
        pending = self.execute(
            "SELECT url, found_on, hint_published, hint_title, fetch_url, hint_summary FROM urls"
            " WHERE source = ? AND state = 'pending'"
            " ORDER BY hint_published IS NULL, hint_published DESC, discovered_at DESC LIMIT ?",
            (source, limit),
        ).fetchall()
        retry = self.execute(
            "SELECT url, found_on, hint_published, hint_title, fetch_url, hint_summary FROM urls"
            " WHERE source = ? AND state = 'retry' AND next_attempt_at <= ? LIMIT ?",
            (source, _iso(now), max(0, limit - len(pending))),
        ).fetchall()
        return [
            Candidate(
                r[0], source, r[1] or "", published=r[2], title=r[3], fetch_url=r[4], summary=r[5]
            )
            for r in (*pending, *retry)
        ]

    def retry_failed(self, sources: Sequence[str]) -> int:
        """Make the failed URLs of `sources` (given up on, or waiting out a back-off)
        pending again, with their attempts counted afresh. Returns how many."""
        marks = ",".join("?" * len(sources))
        if not marks:
            return 0
        with self._writing("cannot make failed URLs pending again"):
            cursor = self.db.conn.execute(
                "UPDATE urls SET state = 'pending', attempts = 0, next_attempt_at = NULL"
                f" WHERE state IN ('failed', 'retry') AND source IN ({marks})",
                tuple(sources),
            )
            return cursor.rowcount

    def refresh_due(
        self,
        source: str,
        younger_than: datetime,
        checked_by: datetime,
        limit: int,
        below_id: int | None = None,
    ) -> list[tuple[int, Candidate]]:
        """Stored stories of `source` dated after `younger_than` and last checked at or
        before `checked_by`, newest first, as (id, candidate); page with `below_id`."""
        rows = self.execute(
            "SELECT id, url FROM articles WHERE source = ? AND id < ?"
            " AND coalesce(published_utc, fetched_at) >= ?"
            " AND coalesce(checked_at, fetched_at) <= ? ORDER BY id DESC LIMIT ?",
            (
                source,
                below_id if below_id is not None else 2**62,
                _iso(younger_than),
                _iso(checked_by),
                limit,
            ),
        ).fetchall()
        return [(int(r[0]), Candidate(url=r[1], source=source)) for r in rows]

    def known(self, urls: Sequence[str]) -> set[str]:
        """Which of `urls` the archive has seen in any state."""
        found: set[str] = set()
        for start in range(0, len(urls), 500):
            chunk = list(urls[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self.execute(f"SELECT url FROM urls WHERE url IN ({marks})", chunk)
            )
        return found

    def article_conditional(self, url: str) -> tuple[str | None, str | None]:
        row = self.execute(
            "SELECT etag, last_modified FROM articles WHERE canonical_url = ? OR url = ? LIMIT 1",
            (url, url),
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)
