"""The fetcher's small pure checks: whether a request can be made to an address, whether
its origin is one the fetching source opted in, and how long an answer's Retry-After asks
to wait. Moved out of fetcher.py to keep it under ~500 lines."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import httpx

from pipeline.errors import InvalidURLError
from pipeline.fetch.netguard import Origin, origin_key


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def check_address(url: str) -> None:
    """Raise InvalidURLError for an http(s) URL no request can be made to: one httpx
    cannot parse, a host it cannot IDNA-decode ("xn--", "xn--ls8h.la"), or a host name
    DNS cannot carry (a label over 63 letters, a name over 253)."""
    try:
        parsed = httpx.URL(url)
        if not parsed.host:  # .host IDNA-decodes, as httpx does for every request
            raise InvalidURLError(url, "no host")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise InvalidURLError(url, f"unusable address: {exc}") from None
    host = parsed.raw_host.decode("ascii")
    if ":" not in host and (len(host) > 253 or any(len(x) > 63 for x in host.split("."))):
        raise InvalidURLError(url, f"{host} is too long for a DNS name")


def opted(url: str, opt_in: frozenset[Origin]) -> bool:
    """Whether `url`'s origin is one the fetching source opted in (netguard.opted_in)."""
    try:
        return origin_key(httpx.URL(url)) in opt_in
    except (httpx.InvalidURL, UnicodeError):
        return False
