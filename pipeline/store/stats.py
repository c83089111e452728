"""The archive's statistics for `newsarchive stats`: per-source counts of stories,
recent additions, frontier states and stored bytes, stories per month, the latest runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.store.archive import Archive
from pipeline.times import iso


@dataclass
class SourceStats:
    name: str
    articles: int = 0
    new_24h: int = 0
    new_7d: int = 0
    last_new: str | None = None
    duplicates: int = 0
    pending: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    text_chars: int = 0
    text_bytes: int = 0  # UTF-8 size of the stored texts
    capture_bytes: int = 0  # compressed size of the stories' WARC response records
    months: dict[str, int] = field(default_factory=dict)


def stats(archive: Archive, now: datetime | None = None) -> dict[str, SourceStats]:
    """Per-source counts: stories, recent additions, frontier states, by month; every
    source that has stored a story or been run is there."""
    now = now or datetime.now(UTC)
    day = iso(now - timedelta(days=1))
    week = iso(now - timedelta(days=7))
    db = archive.db
    out: dict[str, SourceStats] = {}

    def entry(name: str) -> SourceStats:
        return out.setdefault(name, SourceStats(name))

    for name, total, d1, d7, last, chars in db.execute(
        "SELECT source, count(*), sum(fetched_at >= ?), sum(fetched_at >= ?), max(fetched_at),"
        " sum(length(text)) FROM articles GROUP BY source",
        (day, week),
    ):
        s = entry(name)
        s.articles, s.new_24h, s.new_7d, s.last_new, s.text_chars = total, d1, d7, last, chars
    for name, state, count in db.execute(
        "SELECT source, state, count(*) FROM urls GROUP BY source, state"
    ):
        s = entry(name)
        if state == "pending":
            s.pending = count
        elif state == "retry":
            s.retrying = count
        elif state == "failed":
            s.failed = count
        elif state == "skipped":
            s.skipped = count
    for (name,) in db.execute("SELECT DISTINCT source FROM run_sources"):
        entry(name)  # a source that ran but never stored anything is there too
    for name, count in db.execute("SELECT source, count(*) FROM duplicates GROUP BY source"):
        entry(name).duplicates = count
    for name, text_bytes, capture_bytes in db.execute(
        "SELECT source, sum(length(CAST(text AS BLOB))), sum(coalesce(warc_length, 0)) FROM ("
        " SELECT source, text, warc_length FROM articles"
        " UNION ALL SELECT a.source, r.text, r.warc_length FROM revisions r"
        " JOIN articles a ON a.id = r.article_id"
        " UNION ALL SELECT source, '', warc_length FROM duplicates) GROUP BY source"
    ):
        s = entry(name)
        s.text_bytes, s.capture_bytes = text_bytes or 0, capture_bytes or 0
    for name, month, count in db.execute(
        "SELECT source, substr(coalesce(published, fetched_at), 1, 7) AS month, count(*)"
        " FROM articles GROUP BY source, month ORDER BY month"
    ):
        entry(name).months[month] = count
    return dict(sorted(out.items()))


def months(per_source: dict[str, SourceStats]) -> dict[str, int]:
    """Stories per month (YYYY-MM of the story's date) over the whole archive."""
    total: dict[str, int] = {}
    for s in per_source.values():
        for month, count in s.months.items():
            total[month] = total.get(month, 0) + count
    return dict(sorted(total.items()))


def recent_runs(archive: Archive, limit: int = 5) -> list[dict[str, Any]]:
    """The latest runs, newest first."""
    cols = (
        "id",
        "started_at",
        "finished_at",
        "status",
        "exit_code",
        "requests",
        "articles_new",
        "duplicates",
        "skipped",
        "failed",
        "revised",
    )
    rows = archive.db.execute(
        f"SELECT {', '.join(cols)} FROM runs ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]
