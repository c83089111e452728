"""Timestamps as the archive writes them: ISO 8601, UTC, whole seconds, a trailing Z
("2026-11-25T09:30:00Z"), so that stored times compare correctly as text."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import struct_time

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso(moment: datetime) -> str:
    """`moment` in the archive's form (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(FORMAT)


def now() -> str:
    return iso(datetime.now(UTC))


def parse(stamp: str) -> datetime:
    """An ISO 8601 time (with Z or an offset; naive means UTC). Raises ValueError."""
    moment = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def normalise(value: str | struct_time | None, *, utc: bool = True) -> str | None:
    """The archive's one date normaliser: an ISO 8601 date or time (a struct_time is
    taken as UTC) in its stored form, None when it is not one.

    With a zone, `utc=True` gives the archive's UTC form ("2026-11-25T09:30:00Z") and
    `utc=False` keeps the publisher's offset ("2026-11-25T10:30:00+01:00", whole
    seconds). A time without a zone stays local ("2026-11-25T10:30:00"), a date
    alone stays a date ("2026-11-25")."""
    if value is None:
        return None
    try:
        if isinstance(value, struct_time):
            return iso(datetime(*value[:6], tzinfo=UTC))
        text = value.strip()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    if len(text) <= 10:
        return moment.strftime("%Y-%m-%d")
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if utc:
        return iso(moment)
    return moment.replace(microsecond=0).isoformat()


def to_utc(value: str | None) -> str | None:
    """A page's ISO 8601 time with an offset in the archive's UTC form; a date alone, a
    time without a zone, or text that is not a time is kept as it is."""
    return normalise(value) or value


_WHEN = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Timing:
    """The fetcher's sense of time; tests pass instant, recorded sleeps."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.random
    utcnow: _WHEN = _utcnow
