"""A source's own request headers and cookies (the user's credentials, docs/access.md):
which of them a request carries, and how a captured request shows them (redacted)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config.cookies import Cookie, cookie_header
from pipeline.config.loader import Source
from pipeline.urls import same_site

_SECRET = frozenset({"cookie", "authorization", "proxy-authorization"})
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A source's own request headers and cookies (the user's: docs/access.md), sent
    only to the sites of its configured URLs, never recorded or logged."""

    own: tuple[str, ...] = ()  # the source's configured URLs: their sites get these
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cookies: tuple[Cookie, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, source: Source) -> Credentials:
        own = (source.url, *source.feeds, *source.sitemaps, *source.listings)
        return cls(own, source.headers, source.cookies)

    def for_url(self, url: str) -> dict[bytes, bytes]:
        if not (self.headers or self.cookies) or not any(same_site(url, o) for o in self.own):
            return {}
        out = {k.encode("latin-1"): v.encode("latin-1") for k, v in self.headers}
        cookie = cookie_header(self.cookies, url)
        if cookie:
            out[b"Cookie"] = cookie.encode("latin-1", "replace")
        return out

    def recorded(self, raw: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
        """Request headers as sent, credentials redacted (for WARC request records)."""
        pairs = ((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        return tuple((k, REDACTED if self.secret(k) else v) for k, v in pairs)

    def secret(self, name: str) -> bool:
        """Whether a request header's value is a credential, never to be recorded."""
        lowered = name.lower()
        return lowered in _SECRET or any(lowered == k.lower() for k, _ in self.headers)
