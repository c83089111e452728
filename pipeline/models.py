"""The small frozen records the stages hand each other.

discover -> Candidate -> fetch -> Fetched -> extract -> Article -> store
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.times import to_utc


def find_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of the HTTP header `name` (case-insensitive), None when absent:
    the one header lookup of fetched responses and WARC payloads."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


# Access labels (extract/access.py decides them): what the site served in place of, or
# as, the story. Walls are never stored as stories; paywalled stories are, labelled.
ACCESS_LABELS = ("ok", "paywalled", "consent_wall", "bot_challenge", "login_wall")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A URL that discovery believes is an article of `source`."""

    url: str  # canonical form (see urls.canonicalize)
    source: str
    found_on: str = ""  # the feed, sitemap or listing page it came from
    published: str | None = None  # a hint from the feed or sitemap, ISO 8601
    title: str | None = None  # a hint from the feed
    fetch_url: str | None = None  # the address as found, to request; None: `url` itself
    summary: str | None = None  # the feed's summary of the story, as plain text

    @property
    def address(self) -> str:
        """What to request: the URL as the site wrote it (robots.txt rules are matched
        against it), not its canonical form."""
        return self.fetch_url or self.url


@dataclass(frozen=True, slots=True)
class Fetched:
    """One successful HTTP response, as the server sent it and decoded for use."""

    url: str  # the final URL, after redirects
    requested_url: str  # the URL first asked for
    status: int
    headers: tuple[tuple[str, str], ...]  # response headers as received, in order
    raw_body: bytes  # the payload as transmitted (still content-encoded)
    body: bytes  # the payload after content-decoding
    encoding: str | None  # the charset decided for `body` (None: not text)
    fetched_at: str  # ISO 8601 UTC
    http_version: str = "HTTP/1.1"
    reason: str = "OK"
    request_headers: tuple[tuple[str, str], ...] = ()
    not_modified: bool = False  # a 304 answer to a conditional GET

    def header(self, name: str) -> str | None:
        return find_header(self.headers, name)

    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """What extraction needs to know about the page's source. Picklable and small."""

    drop: tuple[str, ...] = ()  # CSS selectors removed before extraction
    min_text_length: int = 200  # characters; shorter pages are not articles
    include_tables: bool = True
    # Hashes (see text.line_key) of lines that repeat across many pages of the same
    # source: site boilerplate learnt from the archive, removed from the text.
    boilerplate: frozenset[str] = field(default_factory=frozenset)
    # The fetch time (ISO 8601): publication dates later than this are not believed.
    # Extraction never reads the clock itself.
    now: str | None = None
    # Embedded social posts (X/Twitter, Instagram, TikTok, Facebook blockquotes) are
    # quotes the story makes: their text is kept (their widget chrome is not). Link
    # cards of other pages ("Name on X: ...") always go. False drops the posts too.
    keep_social_posts: bool = True


@dataclass(frozen=True, slots=True)
class Article:
    """The extracted story."""

    url: str
    canonical_url: str
    text: str  # paragraphs separated by one blank line
    content_hash: str
    title: str | None = None
    authors: tuple[str, ...] = ()  # people
    agencies: tuple[str, ...] = ()  # news agencies and organisations credited
    published: str | None = None  # ISO 8601
    modified: str | None = None
    language: str | None = None
    sitename: str | None = None
    description: str | None = None
    # The lead under the headline (extract/standfirst.py): the story's own words, kept
    # apart from its body `text` (story_text joins them).
    standfirst: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    minhash: bytes = b""  # MinHash signature of the text's shingles, for near-duplicates
    access: str = "ok"  # "ok" or "paywalled": the story as the site served it (extract/access.py)

    @property
    def author(self) -> str | None:
        """The people credited, as one string ("A; B"), agencies only when no person is."""
        names = self.authors or self.agencies
        return "; ".join(names) if names else None


@dataclass(frozen=True, slots=True)
class Capture:
    """Where the raw response of a page is kept: a WARC file and the record's offset."""

    file: str  # relative to the archive's directory
    offset: int
    length: int


def story_columns(art: Article) -> dict[str, Any]:
    """The columns that come from extraction, as the archive, the Parquet shards and the
    export store them (lists as lists; `modified` in UTC, `published` with the
    publisher's own offset): the one row builder of store/archive.py and warc/shards.py."""
    return {
        "title": art.title,
        "author": art.author,
        "authors": list(art.authors),
        "agencies": list(art.agencies),
        "published": art.published,  # ISO 8601 with the publisher's own offset
        "modified": to_utc(art.modified),
        "language": art.language,
        "sitename": art.sitename,
        "description": art.description,
        "standfirst": art.standfirst,
        "tags": list(art.tags),
        "image": art.image,
        "text": art.text,
        "word_count": len(art.text.split()),
        "content_hash": art.content_hash,
        "minhash": art.minhash or None,
    }


@dataclass(frozen=True, slots=True)
class PageResult:
    """What became of one candidate page in a run; the store records it."""

    candidate: Candidate
    status: str  # "article", "skipped", "failed", "not_modified"
    checked_at: str  # ISO 8601 UTC: when the page was fetched or given up on
    article: Article | None = None
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    reason: str | None = None  # why skipped or failed
    error_kind: str | None = None  # the error's class name
    permanent: bool = False  # a failure that retrying will not cure
    retry_after: float | None = None  # seconds the server asked us to wait
    capture: Capture | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    url: str
    source: str
    kind: str  # feed, sitemap, listing
    discovered: bool = False  # found by autodiscovery/robots, not configured
    etag: str | None = None
    last_modified: str | None = None
    checked_at: str | None = None  # last request, conditional or not
    full_at: str | None = None  # last unconditional request
    status: str | None = None  # ok, not_modified, error
    error: str | None = None
    failures: int = 0  # consecutive failed checks
    entries: int = 0
