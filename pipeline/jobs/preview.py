"""`newsarchive try`: one page extracted with a source's settings, explained, and
nothing written anywhere.

The page comes from the network (through the same Fetcher, address policy and
robots.txt rules as a run, for one request), from a saved file, or from a story's
stored capture. Its bytes go through the byte-level check a run makes
(story.page_text: binary data and JSON are no page), then it is extracted in this
process with `extractor.explain`, with the source's `drop` selectors and learnt
boilerplate, as a run would extract it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.config.loader import Config, FetchSettings, Source
from pipeline.decode import decide_encoding
from pipeline.errors import UsageError
from pipeline.extract.access import judge_challenge
from pipeline.extract.explain import Explanation, Trace
from pipeline.extract.extractor import explain
from pipeline.extract.story import page_text
from pipeline.fetch.credentials import Credentials
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.fetch.netguard import AddressPolicy, make_client, opted_in
from pipeline.models import Article, ExtractOptions, Fetched
from pipeline.store import Archive
from pipeline.store.changes import stored_capture
from pipeline.times import now as _now
from pipeline.urls import host_of
from pipeline.warc.capture import read_capture


@dataclass(frozen=True, slots=True)
class Preview:
    url: str
    source: str | None
    origin: str  # "fetched", "file PATH" or "capture of story #N"
    article: Article | None
    explanation: Explanation
    boilerplate_lines: int  # learnt boilerplate lines the source has


def pick_source(config: Config | None, name: str | None, url: str) -> Source | None:
    """The source named with --source (an error when unknown), else the configured
    source whose addresses share the URL's host, else none (default settings)."""
    if name:
        source = config.source(name) if config is not None else None
        if source is None:
            where = f" in {config.path}" if config is not None else " (no sources.yaml found)"
            known = ", ".join(s.name for s in config.sources) if config is not None else ""
            known = f"; known: {known}" if known else ""
            raise UsageError(f"unknown source {name!r}{where}{known}")
        return source
    if config is None:
        return None
    host = host_of(url)
    for source in config.sources:
        if any(host_of(u) == host for u in (source.url, *source.feeds, *source.sitemaps)):
            return source
    return None


def _options(source: Source | None, keys: frozenset[str], now: str) -> ExtractOptions:
    base = source.extract_options(keys) if source is not None else ExtractOptions(boilerplate=keys)
    return replace(base, now=now)


def _explain(
    body: bytes, encoding: str | None, url: str, options: ExtractOptions
) -> tuple[Article | None, Explanation]:
    """Explain the page as a run extracts it: bytes that are no page (binary data, JSON)
    are skipped first by the same byte-level check (story.page_text), with its reason
    as the verdict."""
    html, reason = page_text(body, encoding)
    if html is None:
        return None, Trace(verdict=reason).freeze()
    return explain(html, url, options)


def learnt(archive: Archive | None, source: Source | None) -> frozenset[str]:
    if archive is None or source is None:
        return frozenset()
    return archive.boilerplate(source.name)[0]


async def _fetch(config: Config | None, source: Source | None, url: str) -> Fetched:
    settings = config.fetch if config is not None else FetchSettings()
    policy = AddressPolicy(settings.allow_private)
    async with make_client(
        policy, user_agent=settings.user_agent, timeout=settings.timeout, max_connections=2
    ) as client:
        # robots.txt fetched for this page, not kept
        fetcher = Fetcher(client, settings, challenge=judge_challenge)
        if source is not None:
            fetcher = fetcher.for_source(
                opted_in((source.url, *source.feeds, *source.sitemaps, *source.listings)),
                Credentials.of(source),
            )
            fetcher.set_rules(
                url, HostRules(source.delay, source.host_concurrency, source.respect_robots)
            )
        return await fetcher.fetch(url)


def from_network(
    config: Config | None, source: Source | None, url: str, keys: frozenset[str]
) -> Preview:
    """Fetch `url` politely (raises a FetchError subclass) and explain it."""
    fetched = asyncio.run(_fetch(config, source, url))
    options = _options(source, keys, fetched.fetched_at)
    article, why = _explain(fetched.body, fetched.encoding, fetched.url, options)
    name = source.name if source else None
    return Preview(fetched.url, name, "fetched", article, why, len(keys))


def from_file(source: Source | None, url: str, path: Path, keys: frozenset[str]) -> Preview:
    """Explain a saved page; `url` is the address it was saved from."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    options = _options(source, keys, _now())
    article, why = _explain(body, decide_encoding(body, None), url, options)
    name = source.name if source else None
    return Preview(url, name, f"file {path}", article, why, len(keys))


def from_capture(
    config: Config | None, archive: Archive, article_id: int, source_name: str | None
) -> Preview:
    """Explain a stored story's capture, offline (raises CaptureError when it is
    missing or unreadable)."""
    found = stored_capture(archive, article_id)
    if found is None:
        raise UsageError(f"no article {article_id} in {archive.path}")
    stored_source, url, capture = found
    if capture is None:
        raise UsageError(f"story #{article_id} has no stored capture (captures were off)")
    if source_name:
        source = pick_source(config, source_name, url)
    else:
        source = config.source(stored_source) if config is not None else None
    limit = config.fetch.max_bytes if config is not None else FetchSettings().max_bytes
    payload = read_capture(archive.path.parent, capture, limit)
    keys = archive.boilerplate(source.name if source else stored_source)[0]
    options = _options(source, keys, payload.date or _now())
    article, why = _explain(payload.body, payload.encoding, payload.url, options)
    name = source.name if source else stored_source
    return Preview(payload.url, name, f"capture of story #{article_id}", article, why, len(keys))
