"""Source health: the quiet failures a cron operator must hear about.

A source is flagged when
- feed-failing: one of its feeds or sitemaps failed its last FEED_FAILURES checks in a row;
- failing: its last FAILED_RUNS runs each ended with errors and no new story;
- stale: no new story for much longer than usual — over STALE_FACTOR times its 90th
  percentile gap between new stories (and at least MIN_STALE), once it has history;
- no-text: since its last new story, at least MIN_SKIPPED pages and SKIP_SHARE of the
  pages it fetched were too short to be articles, where it used to yield stories — the
  classic redesign breakage;
- blocked: since its last new story, at least MIN_BLOCKED pages and BLOCKED_SHARE of the
  pages it fetched were walls in place of the story (bot challenges, consent or login
  walls: docs/access.md) — the site has stopped letting the archive read it;
- short-texts: the stories of its latest productive runs (at least MIN_RECENT stories,
  at most RECENT_RUNS runs) are on average under SHORT_SHARE of the source's usual length.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.store.archive import Archive
from pipeline.times import iso
from pipeline.times import parse as _parse

FEED_FAILURES = 3
FAILED_RUNS = 3
STALE_FACTOR = 3.0
MIN_STALE = timedelta(hours=12)
MIN_HISTORY = 10  # stories before "stale" and "short-texts" are judged
RECENT_RUNS = 3  # productive runs whose story lengths count as "recent"...
MIN_RECENT = 3  # ...once they hold this many stories
SKIP_SHARE = 0.5
MIN_SKIPPED = 3
SHORT_SHARE = 0.5
MIN_BLOCKED = 3
BLOCKED_SHARE = 0.5
WALL_KINDS = ("bot_challenge", "consent_wall", "login_wall")  # failures.kind of walls


@dataclass
class SourceHealth:
    name: str
    flags: list[str] = field(default_factory=list)  # short codes, e.g. "no-text"
    reasons: list[str] = field(default_factory=list)  # one sentence per flag
    last_new: str | None = None
    last_run: str | None = None
    last_error: str | None = None  # the error of its latest run, if that run had one
    feed_errors: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.flags

    def flag(self, code: str, reason: str) -> None:
        self.flags.append(code)
        self.reasons.append(reason)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def health(
    archive: Archive, sources: list[str] | None = None, now: datetime | None = None
) -> dict[str, SourceHealth]:
    now = now or datetime.now(UTC)
    db = archive.db
    names = sources or [
        r[0]
        for r in db.execute(
            "SELECT source FROM run_sources UNION SELECT source FROM articles ORDER BY 1"
        )
    ]
    out: dict[str, SourceHealth] = {}
    for name in names:
        h = SourceHealth(name)
        out[name] = h
        _feeds(archive, h)
        _runs(archive, h)
        _stale(archive, h, now)
        _blocked(archive, h)
        _text(archive, h)
    return out


def _feeds(archive: Archive, h: SourceHealth) -> None:
    for url, failures, error in archive.db.execute(
        "SELECT url, failures, error FROM feeds WHERE source = ? AND failures >= ? ORDER BY url",
        (h.name, FEED_FAILURES),
    ):
        h.feed_errors.append(f"{url}: {error}")
        h.flag("feed-failing", f"{url} failed its last {failures} checks ({error})")


def _recent_runs(archive: Archive, name: str, limit: int) -> list[tuple[Any, ...]]:
    return archive.db.execute(
        "SELECT r.started_at, rs.new, rs.skipped, rs.failed, rs.duplicate, rs.unchanged,"
        " rs.error, rs.avg_text_length, rs.feed_errors FROM run_sources rs"
        " JOIN runs r ON r.id = rs.run_id WHERE rs.source = ? AND r.status != 'running'"
        " ORDER BY rs.run_id DESC LIMIT ?",
        (name, limit),
    ).fetchall()


def _runs(archive: Archive, h: SourceHealth) -> None:
    runs = _recent_runs(archive, h.name, FAILED_RUNS)
    if runs:
        h.last_run = str(runs[0][0])
        h.last_error = runs[0][6] or None
    if len(runs) == FAILED_RUNS and all(r[6] and not r[1] for r in runs):
        h.flag(
            "failing",
            f"its last {FAILED_RUNS} runs had errors and found nothing new (latest: {runs[0][6]})",
        )


def _stale(archive: Archive, h: SourceHealth, now: datetime) -> None:
    stamps = [
        _parse(r[0])
        for r in archive.db.execute(
            "SELECT fetched_at FROM articles WHERE source = ? ORDER BY fetched_at DESC LIMIT 50",
            (h.name,),
        )
    ]
    if not stamps:
        return
    h.last_new = iso(stamps[0])
    if len(stamps) < MIN_HISTORY:
        return
    gaps = sorted(a - b for a, b in itertools.pairwise(stamps))
    usual = gaps[int(0.9 * (len(gaps) - 1))]
    quiet_for = now - stamps[0]
    if quiet_for > max(usual * STALE_FACTOR, MIN_STALE):
        h.flag(
            "stale",
            f"no new story for {_hours(quiet_for)}; usually one every {_hours(usual)} or less",
        )


def _blocked(archive: Archive, h: SourceHealth) -> None:
    """Flag a source whose pages, since its last new story, were mostly walls. Times
    are whole seconds and a run can store stories and meet walls within one: a wall in
    the second of the last new story counts as after it, a page answered in that second
    does not (it is most likely one of those last stories)."""
    db = archive.db
    since = (
        db.execute("SELECT max(fetched_at) FROM articles WHERE source = ?", (h.name,)).fetchone()[0]
        or ""
    )
    marks = ", ".join("?" * len(WALL_KINDS))
    walls, other_failures = db.execute(
        f"SELECT count(*) FILTER (WHERE kind IN ({marks})),"
        f" count(*) FILTER (WHERE kind IS NULL OR kind NOT IN ({marks}))"
        " FROM failures WHERE source = ? AND at >= ?",
        (*WALL_KINDS, *WALL_KINDS, h.name, since),
    ).fetchone()
    if walls < MIN_BLOCKED:
        return
    answered = db.execute(
        "SELECT count(*) FROM urls WHERE source = ? AND last_attempt_at > ?"
        " AND state IN ('stored', 'duplicate', 'skipped')",
        (h.name, since),
    ).fetchone()[0]
    pages = walls + other_failures + answered
    if walls >= BLOCKED_SHARE * pages:
        kinds = db.execute(
            f"SELECT kind, count(*) FROM failures WHERE source = ? AND at >= ?"
            f" AND kind IN ({marks}) GROUP BY kind ORDER BY 2 DESC",
            (h.name, since, *WALL_KINDS),
        ).fetchall()
        what = ", ".join(f"{n} {kind}" for kind, n in kinds)
        h.flag(
            "blocked",
            f"{walls} of the {pages} pages fetched since its last new story were walls"
            f" in place of the story ({what}): the site is not letting the archive read it",
        )


def _text(archive: Archive, h: SourceHealth) -> None:
    runs = [r for r in _recent_runs(archive, h.name, 50) if (r[1] or 0) + (r[2] or 0) > 0]
    if not runs:
        return
    # The latest streak of runs that stored nothing new but skipped pages as too short.
    streak = []
    for run in runs:
        if run[1]:
            break
        streak.append(run)
    worked_before = len(streak) < len(runs)  # an earlier run did store stories
    skipped = sum(int(r[2] or 0) for r in streak)
    fetched = sum(int(r[2] or 0) + int(r[3] or 0) + int(r[4] or 0) + int(r[5] or 0) for r in streak)
    if worked_before and skipped >= MIN_SKIPPED and skipped >= SKIP_SHARE * fetched:
        h.flag(
            "no-text",
            f"{skipped} of the {fetched} pages fetched since its last new story "
            "were too short to be articles: has the site changed its layout?",
        )
        return
    # The latest productive runs, until they hold MIN_RECENT stories (at most RECENT_RUNS).
    lengths: list[tuple[float, int]] = []
    for run in runs:
        if run[1] and run[7]:
            lengths.append((float(run[7]), int(run[1])))
            if sum(n for _, n in lengths) >= MIN_RECENT or len(lengths) >= RECENT_RUNS:
                break
    newest = sum(n for _, n in lengths)
    if newest < MIN_RECENT:
        return
    norm = archive.db.execute(
        "SELECT length(text) FROM articles WHERE source = ? ORDER BY id DESC LIMIT 500 OFFSET ?",
        (h.name, newest),
    ).fetchall()
    if len(norm) < MIN_HISTORY:
        return
    usual_length = statistics.median(r[0] for r in norm)
    current = sum(length * n for length, n in lengths) / newest
    if current < SHORT_SHARE * usual_length:
        h.flag(
            "short-texts",
            f"its latest stories average {current:.0f} characters, "
            f"against {usual_length:.0f} usually: extraction may be "
            "missing most of the text",
        )
