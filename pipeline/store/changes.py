"""The read side of revisions (what changed in stored stories), the candidates for
scheduled re-visits, and a story's stored capture (for `try --id`). SQL only; the
diffs themselves are made in jobs/diffs.py.

A story's versions: the `revisions` rows hold the earlier ones (revision k, its text
and title, and `fetched_at`: when version k was first seen); the `articles` row holds
the current one (`revision` n, first seen at `updated_at`, or `fetched_at` for n = 1).
So the change from version k to k + 1 happened when version k + 1 was first seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.models import Capture
from pipeline.store.archive import Archive
from pipeline.times import iso as _iso


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a story's text."""

    revision: int
    seen_at: str | None  # when this version was first fetched (ISO 8601 UTC)
    title: str | None
    text: str


@dataclass(frozen=True, slots=True)
class StoryChange:
    """An edit of a stored story: `before` became `after` at `after.seen_at`."""

    article_id: int
    source: str
    url: str
    before: Version
    after: Version


@dataclass(frozen=True, slots=True)
class RevisitCandidate:
    """A stored story that may be due for a scheduled re-visit."""

    article_id: int
    url: str
    anchor: str  # when the story was published (else first fetched), ISO 8601
    checked_at: str  # when it was last fetched


def changes(
    archive: Archive,
    since: str | None = None,
    sources: Sequence[str] = (),
    limit: int = 1000,
) -> list[StoryChange]:
    """Edits of stored stories that happened at or after `since`, newest first."""
    clauses = ["changed_at IS NOT NULL"]
    params: list[Any] = []
    if since:
        clauses.append("changed_at >= ?")
        params.append(since)
    if sources:
        clauses.append(f"source IN ({', '.join('?' * len(sources))})")
        params.extend(sources)
    sql = (
        "SELECT * FROM (SELECT r.article_id, a.source, a.url,"
        " r.revision, r.fetched_at, r.title, r.text,"
        " coalesce(n.revision, a.revision), coalesce(n.fetched_at, a.updated_at) AS changed_at,"
        " coalesce(n.title, a.title), coalesce(n.text, a.text)"
        " FROM revisions r JOIN articles a ON a.id = r.article_id"
        " LEFT JOIN revisions n ON n.article_id = r.article_id AND n.revision = r.revision + 1)"
        f" WHERE {' AND '.join(clauses)} ORDER BY changed_at DESC, article_id DESC LIMIT ?"
    )
    return [
        StoryChange(
            article_id=int(row[0]),
            source=row[1],
            url=row[2],
            before=Version(int(row[3]), row[4], row[5], row[6] or ""),
            after=Version(int(row[7]), row[8], row[9], row[10] or ""),
        )
        for row in archive.execute(sql, [*params, limit]).fetchall()
    ]


def versions(archive: Archive, article_id: int) -> list[Version]:
    """Every version of one story, oldest first (empty when there is no such story)."""
    row = archive.execute(
        "SELECT revision, coalesce(updated_at, fetched_at), title, text FROM articles WHERE id = ?",
        (article_id,),
    ).fetchone()
    if row is None:
        return []
    earlier = archive.execute(
        "SELECT revision, fetched_at, title, text FROM revisions WHERE article_id = ?"
        " ORDER BY revision",
        (article_id,),
    ).fetchall()
    return [Version(int(r[0]), r[1], r[2], r[3] or "") for r in (*earlier, row)]


def story_origin(archive: Archive, article_id: int) -> tuple[str, str]:
    """(source, url) of a stored story; empty strings when there is no such story."""
    row = archive.execute("SELECT source, url FROM articles WHERE id = ?", (article_id,)).fetchone()
    return (str(row[0]), str(row[1])) if row else ("", "")


def stored_capture(archive: Archive, article_id: int) -> tuple[str, str, Capture | None] | None:
    """(source, url, capture) of a stored story; None when there is no such story."""
    row = archive.execute(
        "SELECT source, url, warc_file, warc_offset, warc_length FROM articles WHERE id = ?",
        (article_id,),
    ).fetchone()
    if row is None:
        return None
    capture = Capture(row[2], int(row[3]), int(row[4] or 0)) if row[2] else None
    return str(row[0]), str(row[1]), capture


def revisit_candidates(
    archive: Archive,
    source: str,
    younger_than: datetime,
    checked_by: datetime,
    limit: int,
    below_id: int,
) -> list[RevisitCandidate]:
    """Stored stories of `source` published (else first fetched) after `younger_than`
    and last checked at or before `checked_by`, newest first; page with `below_id`.
    Which of them are due is the revisit schedule's decision (jobs/revisits.py)."""
    rows = archive.execute(
        "SELECT id, url, coalesce(published, fetched_at), coalesce(checked_at, fetched_at)"
        " FROM articles WHERE source = ? AND id < ?"
        " AND coalesce(published, fetched_at) >= ?"
        " AND coalesce(checked_at, fetched_at) <= ? ORDER BY id DESC LIMIT ?",
        (source, below_id, _iso(younger_than), _iso(checked_by), limit),
    ).fetchall()
    return [RevisitCandidate(int(r[0]), r[1], r[2], r[3]) for r in rows]


CANNED_QUERIES: dict[str, dict[str, str]] = {
    "recent_changes": {
        "title": "Recent changes",
        "description": (
            "Stories whose text or title changed after they were first archived, newest "
            "edit first: the earlier and the new title, and when the edit was found. "
            "`newsarchive changes` and `newsarchive show ID --diff` show the words that "
            "changed."
        ),
        "sql": (
            "SELECT a.id, a.source, coalesce(n.fetched_at, a.updated_at) AS changed_at,\n"
            "  r.revision AS from_revision, coalesce(n.revision, a.revision) AS to_revision,\n"
            "  r.title AS earlier_title, coalesce(n.title, a.title) AS title,\n"
            "  length(coalesce(n.text, a.text)) - length(r.text) AS chars_added, a.url\n"
            "FROM revisions r JOIN articles a ON a.id = r.article_id\n"
            "LEFT JOIN revisions n ON n.article_id = r.article_id"
            " AND n.revision = r.revision + 1\n"
            "WHERE (:source = '' OR a.source = :source)\n"
            "ORDER BY changed_at DESC\n"
            "LIMIT 200"
        ),
    },
}
