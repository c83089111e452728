"""robots.txt (RFC 9309): the product token its groups are matched against, the cache
that keeps the files between runs, and how a host's file is loaded. The fetcher asks
for it once per host per run and applies it (fetcher.Fetcher.robots: allowed URLs,
Crawl-delay and Request-rate).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from protego import Protego

from pipeline.errors import (
    FetchError,
    HostNotFound,
    HTTPStatusError,
    NotHTMLError,
    RedirectError,
    TooLargeError,
    TransientFetchError,
)
from pipeline.models import Fetched
from pipeline.times import iso, parse
from pipeline.urls import origin_of

MAX_ROBOTS_BYTES = 512_000
MAX_CRAWL_DELAY = 60.0
ROBOTS_MAX_AGE = timedelta(hours=24)  # RFC 9309: a cached robots.txt is used up to a day


def robots_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against ("newsarchive")."""
    return user_agent.split("/")[0].split()[0] if user_agent.strip() else "*"


class RobotsCache(Protocol):
    """Where robots.txt files are kept between runs (store.Archive)."""

    def robots(self, origin: str) -> tuple[str | None, int, str] | None: ...
    def save_robots(self, origin: str, body: str | None, status: int, fetched_at: str) -> None: ...


async def load_robots(
    url: str,
    fetch: Callable[[str], Awaitable[Fetched]],
    cache: RobotsCache | None,
    now: datetime,
) -> tuple[Protego | None, FetchError | None]:
    """The parsed robots.txt of `url`'s origin (None: there is none, everything allowed),
    from `cache` while younger than ROBOTS_MAX_AGE, else through `fetch` and kept in
    `cache`; or the error that stands for it while it is unavailable."""
    origin = origin_of(url)
    cached = cache.robots(origin) if cache is not None else None
    if cached is not None:
        body, _status, fetched_at = cached
        age = now - parse(fetched_at)
        if age < ROBOTS_MAX_AGE:
            return (Protego.parse(body) if body is not None else None), None
    try:
        fetched = await fetch(origin + "/robots.txt")
    except (HTTPStatusError, NotHTMLError, TooLargeError, RedirectError) as exc:
        _remember(cache, origin, None, getattr(exc, "status", 0), now)
        return None, None  # no usable robots.txt: everything is allowed
    except HostNotFound as exc:
        return None, exc  # the host, not its robots.txt, is what is missing
    except TransientFetchError as exc:
        return None, TransientFetchError(url, f"robots.txt unavailable ({exc.reason})")
    _remember(cache, origin, fetched.text(), fetched.status, now)
    return Protego.parse(fetched.text()), None


def _remember(
    cache: RobotsCache | None, origin: str, body: str | None, status: int, now: datetime
) -> None:
    if cache is not None:
        cache.save_robots(origin, body, status, iso(now))
