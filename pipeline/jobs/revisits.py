"""When a stored story is checked again for edits: often while it is young, rarely later.

Newsrooms edit a story mostly in its first hours. A story is due for a re-visit when
one of its checkpoints (1 h, 3 h, 12 h, 1 d, 3 d, 7 d after it was published, or first
fetched when it has no date; then once a week) has passed since it was last fetched,
and the checkpoint lies within the source's `refresh_after` days. At most one visit
per passed checkpoint: a run that comes after several missed ones visits once.
The schedule is pure (the clock is an argument); `due_stories` applies it to the
archive's candidates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipeline.models import Candidate
from pipeline.store import Archive
from pipeline.store.changes import revisit_candidates
from pipeline.times import parse

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
)
LATER = timedelta(days=7)  # after the last checkpoint, one a week while within the window


def checkpoints(window: timedelta) -> list[timedelta]:
    """The ages at which a story is checked, up to `window` (refresh_after)."""
    ages = [age for age in SCHEDULE if age <= window]
    age = SCHEDULE[-1] + LATER
    while age <= window:
        ages.append(age)
        age += LATER
    return ages


def last_checkpoint(anchor: datetime, now: datetime, window: timedelta) -> datetime | None:
    """The latest checkpoint of a story dated `anchor` that has passed at `now`."""
    passed = [anchor + age for age in checkpoints(window) if anchor + age <= now]
    return passed[-1] if passed else None


def due(anchor: datetime, checked: datetime, now: datetime, window: timedelta) -> bool:
    """Whether a story dated `anchor` and last fetched at `checked` is due at `now`."""
    point = last_checkpoint(anchor, now, window)
    return point is not None and checked < point


def due_iso(anchor: str, checked: str, now: datetime, window: timedelta) -> bool:
    """`due` for ISO 8601 strings as the archive keeps them (a date without a time or
    zone is taken as UTC; an unreadable one is never due)."""
    try:
        start, last = parse(anchor), parse(checked)
    except ValueError:
        return False
    return due(start, last, now, window)


def due_stories(
    archive: Archive,
    source: str,
    days: float,
    checked_by: datetime,
    now: datetime,
    size: int,
    cursor: list[int],
) -> list[Candidate]:
    """Stored stories of `source` whose latest checkpoint has passed since they were last
    fetched (and not fetched after `checked_by`: refresh_every), newest first. Pages down
    by id from `cursor[0]` (updated) until some are due or none are left."""
    window = timedelta(days=days)
    while True:
        rows = revisit_candidates(archive, source, now - window, checked_by, size, cursor[0])
        if not rows:
            return []
        cursor[0] = rows[-1].article_id
        chosen = [
            Candidate(url=row.url, source=source)
            for row in rows
            if due_iso(row.anchor, row.checked_at, now, window)
        ]
        if chosen:
            return chosen
