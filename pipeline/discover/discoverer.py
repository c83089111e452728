"""Discovery: a source -> candidate article URLs, recorded as pending in the frontier.

Order of sources of URLs: configured feeds (else feeds autodiscovered from the home
page, re-checked daily); configured sitemaps (else robots.txt `Sitemap:` lines,
else /sitemap.xml), sitemap indexes followed newest child first; configured listing
pages, and the home page's links when nothing else yields. Feeds and sitemaps are
fetched with conditional GET; one that fails is recorded and the rest go on, and a 304
to one whose content was unusable counts as that failure again. A sitemap damaged part
way gives what came before the damage. Documents of a host that several sources share
are fetched once per run (Fetcher.fetch_once). A URL keeps the address the site wrote
(Entry.address), which is what is requested; its canonical form is its identity.
See docs/discovery.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pipeline.config.loader import Source
from pipeline.decode import TooLarge, gunzip_bounded
from pipeline.discover.feeds import (
    ChildSitemap,
    Entry,
    article_links,
    feed_links,
    iter_sitemap,
    parse_feed,
    parse_json_feed,
    robots_sitemaps,
    sniff,
)
from pipeline.errors import (
    DiscoveryError,
    FetchError,
    HostNotFound,
    HTTPStatusError,
    UnsafeXMLError,
)
from pipeline.fetch.fetcher import Fetcher
from pipeline.models import Candidate, FeedState, Fetched
from pipeline.times import iso as _iso
from pipeline.times import parse
from pipeline.urls import origin_of

log = logging.getLogger(__name__)

MAX_SITEMAP_DEPTH = 3  # index -> index -> urlset
MAX_CHILD_SITEMAPS = 50  # child sitemaps fetched per source per run
BATCH = 1000  # candidates handed to the frontier at a time


class Frontier(Protocol):
    """What discovery needs of the archive (implemented by store.Archive)."""

    def feed_states(self, source: str) -> list[FeedState]: ...
    def save_feed_state(self, state: FeedState) -> None: ...
    def forget_feeds(self, source: str, keep: Iterable[str]) -> None: ...
    def add_candidates(self, candidates: Iterable[Candidate], now: datetime) -> int: ...


@dataclass
class DiscoveryStats:
    found: int = 0  # URLs accepted by the source's filters
    new: int = 0  # of which not seen before
    not_modified: int = 0  # feeds/sitemaps answering 304
    documents: int = 0  # feeds/sitemaps/listings fetched
    errors: list[DiscoveryError | FetchError] = field(default_factory=list)


def _older_than(stamp: str | None, now: datetime, age: timedelta) -> bool:
    if not stamp:
        return True
    return parse(stamp) <= now - age


class Discoverer:
    """Discovery for one source within one run."""

    def __init__(
        self,
        source: Source,
        fetcher: Fetcher,
        frontier: Frontier,
        now: datetime,
        revalidate: timedelta,
    ) -> None:
        self.source = source
        self.fetcher = fetcher
        self.frontier = frontier
        self.now = now
        self.revalidate = revalidate
        self.stats = DiscoveryStats()
        self._states = {s.url: s for s in frontier.feed_states(source.name)}
        self._batch: list[Candidate] = []
        self._seen_docs: set[str] = set()
        self._home: Fetched | None = None

    # --- the whole pass -----------------------------------------------------------------

    async def run(self) -> DiscoveryStats:
        yielded = False
        for url in await self._feed_urls():
            yielded |= await self._feed(url)
        children = 0
        for url in await self._sitemap_urls():
            ok, children = await self._sitemap(url, 0, children)
            yielded |= ok
        for url in self.source.listings:
            yielded |= await self._listing(url)
        if not yielded and not self.source.listings:
            # Nothing worked or nothing exists: fall back to the home page's links.
            log.debug(
                "%s: no feed or sitemap yielded: using the home page's links", self.source.name
            )
            await self._listing(self.source.url)
        self._flush()
        log.info(
            "%s: discovery read %d documents (%d unchanged): %d URLs kept, %d new to the frontier",
            self.source.name,
            self.stats.documents,
            self.stats.not_modified,
            self.stats.found,
            self.stats.new,
        )
        return self.stats

    def _accept(self, entries: Iterable[Entry], found_on: str) -> int:
        count = rejected = 0
        for entry in entries:
            if not self.source.accepts(entry.url):
                rejected += 1
                continue
            count += 1
            self._batch.append(
                Candidate(
                    entry.url,
                    self.source.name,
                    found_on,
                    _not_future(entry.published, self.now),
                    entry.title,
                    entry.address,
                    entry.summary,
                )
            )
            if len(self._batch) >= BATCH:
                self._flush()
        self.stats.found += count
        log.debug(
            "%s: %s: %d URLs kept, %d left out by the include/exclude patterns",
            self.source.name,
            found_on,
            count,
            rejected,
        )
        return count

    def _flush(self) -> None:
        if self._batch:
            self.stats.new += self.frontier.add_candidates(self._batch, self.now)
            self._batch = []

    # --- which documents ------------------------------------------------------------------

    async def _home_page(self) -> Fetched | None:
        if self._home is None:
            try:
                self._home = await self.fetcher.fetch_once(self.source.url, kind="page")
            except FetchError as exc:
                self._error(exc)
                return None
            self.stats.documents += 1
        return self._home

    async def _feed_urls(self) -> list[str]:
        if self.source.feeds:
            log.debug("%s: feeds as configured: %s", self.source.name, ", ".join(self.source.feeds))
            return list(self.source.feeds)
        home = self._states.get(self.source.url)
        known = [s.url for s in self._states.values() if s.kind == "feed" and s.discovered]
        if home is not None and not _older_than(home.checked_at, self.now, self.revalidate):
            log.debug("%s: feeds found earlier: %s", self.source.name, ", ".join(known) or "none")
            return known
        page = await self._home_page()
        if page is None:
            return known  # keep using what we knew while the home page is down
        try:
            found = feed_links(page.text(), page.url)
        except DiscoveryError as exc:  # a page too deeply nested to parse
            state = home or FeedState(self.source.url, self.source.name, "home", discovered=True)
            self._failed(state, exc)
            return known
        self.frontier.forget_feeds(self.source.name, [*found, self.source.url])
        self._save(
            FeedState(
                self.source.url,
                self.source.name,
                "home",
                discovered=True,
                checked_at=_iso(self.now),
                full_at=_iso(self.now),
                status="ok",
                entries=len(found),
            )
        )
        for url in found:
            if url not in self._states:
                self._states[url] = FeedState(url, self.source.name, "feed", discovered=True)
        log.debug(
            "%s: feeds linked from the home page: %s", self.source.name, ", ".join(found) or "none"
        )
        return found

    async def _sitemap_urls(self) -> list[str]:
        if self.source.sitemaps:
            return list(self.source.sitemaps)
        try:
            robots = await self.fetcher.robots(self.source.url)
        except FetchError as exc:
            self._error(exc)
            return []
        listed = robots_sitemaps(list(robots.sitemaps), self.source.url) if robots else []
        if not listed:
            log.debug("%s: robots.txt names no sitemap: trying /sitemap.xml", self.source.name)
        return listed or [origin_of(self.source.url) + "/sitemap.xml"]

    # --- fetching one document ------------------------------------------------------------

    def _save(self, state: FeedState) -> None:
        self._states[state.url] = state
        self.frontier.save_feed_state(state)

    async def _get(self, url: str, kind: str, optional: bool = False) -> Fetched | None:
        """Fetch a feed/sitemap conditionally; None when unchanged (304) or failed."""
        state = self._states.get(url) or FeedState(
            url, self.source.name, kind, discovered=url not in self._configured()
        )
        full = _older_than(state.full_at, self.now, self.revalidate)
        try:
            fetched = await self.fetcher.fetch_once(
                url,
                kind="feed",
                etag=None if full else state.etag,
                last_modified=None if full else state.last_modified,
            )
        except FetchError as exc:
            if optional and isinstance(exc, HTTPStatusError):
                return None  # a guessed /sitemap.xml that does not exist is no error
            self._failed(state, exc)
            return None
        self.stats.documents += 1
        stamp = _iso(self.now)
        if fetched.not_modified:
            log.debug("%s: %s unchanged since the last run (304)", self.source.name, url)
            verdict = _content_verdict(state)
            if verdict is not None:  # a 304 confirms the content, and so its verdict
                self._failed(state, DiscoveryError(url, verdict))
                return None
            self.stats.not_modified += 1
            self._save(
                replace(state, checked_at=stamp, status="not_modified", error=None, failures=0)
            )
            return None
        self._states[url] = replace(
            state,
            etag=fetched.header("etag"),
            last_modified=fetched.header("last-modified"),
            checked_at=stamp,
            full_at=stamp if full else state.full_at,
        )
        return fetched

    def _configured(self) -> set[str]:
        return {*self.source.feeds, *self.source.sitemaps, *self.source.listings}

    def _error(self, exc: DiscoveryError | FetchError) -> None:
        """Report `exc`, unless it is a host that does not resolve, already reported."""
        if isinstance(exc, HostNotFound) and any(
            isinstance(e, HostNotFound) and e.host == exc.host for e in self.stats.errors
        ):
            return
        self.stats.errors.append(exc)

    def _failed(self, state: FeedState, exc: DiscoveryError | FetchError) -> None:
        self._error(exc)
        if isinstance(exc, FetchError) and _content_verdict(state) is not None:
            # The validators are those of content found unusable: ask for it in full
            # next time, so that its verdict is not forgotten behind a 304.
            state = replace(state, etag=None, last_modified=None)
        self._save(
            replace(
                state,
                checked_at=_iso(self.now),
                status="error",
                error=f"{exc.kind}: {exc.reason}"
                if isinstance(exc, FetchError)
                else _INVALID + exc.reason,
                failures=state.failures + 1,
            )
        )

    def _succeeded(self, url: str, entries: int) -> None:
        self._save(replace(self._states[url], status="ok", error=None, failures=0, entries=entries))

    async def _feed(self, url: str) -> bool:
        fetched = await self._get(url, "feed")
        if fetched is None:
            return self._states[url].status == "not_modified" if url in self._states else False
        kind = sniff(fetched.body)
        try:
            if kind in ("sitemap", "sitemapindex") or (kind == "text" and fetched.body.strip()):
                ok, _ = await self._parse_sitemap(fetched, 0, 0)
                return ok
            if kind == "json":
                entries = parse_json_feed(fetched.body, fetched.url)
            else:
                entries = parse_feed(fetched.body, fetched.url, fetched.header("content-type"))
        except DiscoveryError as exc:
            self._failed(self._states[url], exc)
            return False
        self._succeeded(url, self._accept(entries, url))
        return True

    async def _sitemap(self, url: str, depth: int, children: int) -> tuple[bool, int]:
        if url in self._seen_docs:
            return False, children  # a loop, or listed twice
        self._seen_docs.add(url)
        guessed = (
            url.endswith("/sitemap.xml")
            and url not in self._configured()
            and url not in self._states
        )
        fetched = await self._get(url, "sitemap", optional=guessed)
        if fetched is None:
            return (
                self._states.get(url) is not None and self._states[url].status == "not_modified"
            ), children
        return await self._parse_sitemap(fetched, depth, children)

    async def _parse_sitemap(self, fetched: Fetched, depth: int, children: int) -> tuple[bool, int]:
        url = fetched.requested_url
        body = fetched.body
        entries: list[Entry] = []
        nested: list[ChildSitemap] = []
        count = 0
        damage: DiscoveryError | None = None
        try:
            if body[:2] == b"\x1f\x8b":  # a .xml.gz served without Content-Encoding
                try:
                    body = gunzip_bounded(body, self.fetcher.max_bytes)
                except TooLarge:
                    raise DiscoveryError(url, "larger than max_bytes once decompressed") from None
            kind = sniff(body)
            if kind in ("feed", "json"):
                found = (
                    parse_json_feed(body, fetched.url)
                    if kind == "json"
                    else parse_feed(body, fetched.url)
                )
                self._succeeded(url, self._accept(found, url))
                return True, children
            try:
                for item in iter_sitemap(body, fetched.url):
                    if isinstance(item, ChildSitemap):
                        nested.append(item)
                        continue
                    entries.append(item)
                    if len(entries) >= BATCH:
                        count += self._accept(entries, url)
                        entries = []
            except UnsafeXMLError:
                raise
            except DiscoveryError as exc:
                if not (count or entries or nested):
                    raise
                # Damaged part way (cut off, a bad byte): what came before it is kept.
                kept = count + len(entries) + len(nested)
                damage = DiscoveryError(url, f"damaged: {exc.reason}; kept the {kept} before it")
            count += self._accept(entries, url)
        except DiscoveryError as exc:
            self._failed(self._states[url], exc)
            return False, children
        if damage is not None:
            self._failed(replace(self._states[url], entries=count + len(nested)), damage)
        else:
            self._succeeded(url, count + len(nested))
        if nested and depth + 1 >= MAX_SITEMAP_DEPTH:
            self._failed(
                self._states[url],
                DiscoveryError(
                    url, f"sitemap indexes nested deeper than {MAX_SITEMAP_DEPTH} levels"
                ),
            )
            return count > 0, children
        # Newest children first; skip those unchanged since we last read them.
        nested.sort(key=lambda c: _latest(c.lastmod) or _EPOCH, reverse=True)
        for child in nested:
            if children >= MAX_CHILD_SITEMAPS:
                break
            state = self._states.get(child.address or child.url)
            modified = _latest(child.lastmod)
            if state and modified and state.checked_at and modified < parse(state.checked_at):
                continue
            children += 1
            _, children = await self._sitemap(child.address or child.url, depth + 1, children)
        return True, children

    async def _listing(self, url: str) -> bool:
        if url == self.source.url:
            page = await self._home_page()
        else:
            try:
                page = await self.fetcher.fetch_once(url, kind="page")
                self.stats.documents += 1
            except FetchError as exc:
                self._error(exc)
                return False
        if page is None:
            return False
        try:
            links = article_links(page.text(), page.url)
        except DiscoveryError as exc:  # a page too deeply nested to parse
            self._error(exc)
            return False
        return self._accept(links, url) > 0


_INVALID = "invalid: "  # how a document's unusable content is recorded (FeedState.error)


def _content_verdict(state: FeedState) -> str | None:
    """Why the document's last content was unusable, None when it was not judged so."""
    if state.status == "error" and state.error and state.error.startswith(_INVALID):
        return state.error.removeprefix(_INVALID)
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The end of a calendar day, wherever on Earth it is that day: midnight at UTC-12.
_DAY_END = timedelta(days=1, hours=12)


def _latest(lastmod: str | None) -> datetime | None:
    """The latest instant a sitemap `lastmod` may stand for. A date alone means "that
    day, time unknown" — up to the day's end in its last time zone — and a time without
    a zone may be up to 12 hours behind UTC; None for no or an unusable lastmod."""
    if not lastmod:
        return None
    try:
        moment = datetime.fromisoformat(lastmod.replace("Z", "+00:00"))
    except ValueError:
        return None
    if len(lastmod) <= 10:  # a date alone
        return moment.replace(tzinfo=UTC) + _DAY_END
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) + timedelta(hours=12)
    return moment


def _not_future(published: str | None, now: datetime) -> str | None:
    """A feed date in the future is a publisher's mistake; keep it as no hint."""
    if published and published > _iso(now + timedelta(days=1)):
        return None
    return published


async def discover(
    source: Source, fetcher: Fetcher, frontier: Frontier, now: datetime, revalidate: timedelta
) -> DiscoveryStats:
    """Discover `source`'s article URLs into the frontier; never raises for one bad
    feed, sitemap or page (they are in the returned stats' errors)."""
    return await Discoverer(source, fetcher, frontier, now, revalidate).run()
