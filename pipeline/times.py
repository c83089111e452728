"""Timestamps as the archive writes them: ISO 8601, UTC, whole seconds, a trailing Z
("2026-11-25T09:30:00Z"), so that stored times compare correctly as text."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

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


def to_utc(value: str | None) -> str | None:
    """A page's ISO 8601 time with an offset in the archive's UTC form; a date alone, a
    time without a zone, or text that is not a time is kept as it is."""
    if not value or len(value) <= 10:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return iso(moment) if moment.tzinfo is not None else value


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
