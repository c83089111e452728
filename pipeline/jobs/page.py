"""One page of a run: fetched (conditionally when it is a revisit), its raw response
captured while a worker extracts it, and the outcome said as a PageResult.

Page-level failures are results, not exceptions: a fetch or extraction error becomes
a "failed" PageResult the batcher records, and the run goes on. Only a capture that
cannot be written stops the run (through `on_failure`), and the story is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.config.loader import Source
from pipeline.errors import (
    CaptureError,
    ChallengeError,
    DiskFullError,
    ExtractionError,
    FetchError,
    NewsarchiveError,
    ServerError,
)
from pipeline.extract.access import WALLS
from pipeline.extract.workers import ExtractPool, Job
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.models import Candidate, Capture, Fetched, PageResult
from pipeline.store import Archive
from pipeline.times import Timing
from pipeline.times import iso as _iso

log = logging.getLogger(__name__)


class Capturer(Protocol):
    """Keeps raw responses (capture.CaptureThread)."""

    cpu: float  # CPU seconds spent writing

    async def write(self, fetched: Fetched) -> Capture: ...


@dataclass(frozen=True)
class Pages:
    """What a run fetches and extracts its pages with."""

    fetcher: Fetcher  # the run's: host rules are set on it
    fetchers: Mapping[str, Fetcher]  # each source's view of it (netguard opt-ins)
    archive: Archive
    pool: ExtractPool
    capturer: Capturer | None
    timing: Timing
    on_failure: Callable[[NewsarchiveError], None]  # a capture cannot be written

    async def _captured(self, capturing: asyncio.Future[Capture] | None) -> Capture | None:
        if capturing is None:
            return None
        try:
            return await capturing
        except (CaptureError, DiskFullError) as exc:  # stop the run, keep the story
            self.on_failure(exc)
            return None

    async def fetch_and_extract(self, source: Source, cand: Candidate, refresh: bool) -> PageResult:
        self.fetcher.ensure_rules(
            cand.address, HostRules(source.delay, source.host_concurrency, source.respect_robots)
        )
        etag = last_modified = None
        if refresh:
            etag, last_modified = self.archive.article_conditional(cand.url)
        try:
            fetched = await self.fetchers[source.name].fetch(  # as the site wrote it
                cand.address, etag=etag, last_modified=last_modified
            )
        except FetchError as exc:
            log.info("%s: %s", source.name, exc)
            return PageResult(
                cand,
                "failed",
                _iso(self.timing.utcnow()),
                reason=exc.reason,
                error_kind=exc.kind,
                permanent=exc.permanent,
                retry_after=exc.retry_after
                if isinstance(exc, ServerError | ChallengeError)
                else None,
            )
        if fetched.not_modified:
            return PageResult(cand, "not_modified", fetched.fetched_at)
        capturing = None
        if self.capturer is not None and source.capture:  # written while extraction runs
            capturing = asyncio.ensure_future(self.capturer.write(fetched))
        try:
            outcome = await self.pool.extract(
                Job(
                    fetched.url,
                    fetched.body,
                    fetched.encoding,
                    source.name,
                    fetched.fetched_at,
                    cand.summary,
                )
            )
        except ExtractionError as exc:
            capture = await self._captured(capturing)
            log.warning("%s: %s", source.name, exc)
            return PageResult(
                cand,
                "failed",
                fetched.fetched_at,
                final_url=fetched.url,
                reason=exc.reason,
                error_kind=type(exc).__name__,
                permanent=exc.permanent,  # a worker killed from outside is retried
                capture=capture,
            )
        capture = await self._captured(capturing)
        article = outcome.article
        log.debug(
            "%s: %s: %s (%.0f ms extraction CPU)",
            source.name,
            fetched.url,
            f"article, {len(article.text)} characters" if article else "not an article",
            1000 * outcome.cpu,
        )
        common: dict[str, Any] = {
            "final_url": fetched.url,
            "capture": capture,
            "etag": fetched.header("etag"),
            "last_modified": fetched.header("last-modified"),
        }
        if article is None and outcome.access in WALLS:
            # The site served a wall in place of the story: not stored, tried again later.
            log.info("%s: %s: %s", source.name, fetched.url, outcome.reason)
            return PageResult(
                cand,
                "failed",
                fetched.fetched_at,
                reason=outcome.reason,
                error_kind=outcome.access,
                **common,
            )
        if article is None:
            return PageResult(
                cand,
                "skipped",
                fetched.fetched_at,
                reason=outcome.reason or "not an article (too little text)",
                **common,
            )
        if source.language and article.language and article.language != source.language:
            return PageResult(
                cand,
                "skipped",
                fetched.fetched_at,
                reason=f"language {article.language}, not {source.language}",
                **common,
            )
        return PageResult(cand, "article", fetched.fetched_at, article=article, **common)
