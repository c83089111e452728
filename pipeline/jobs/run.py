"""The run loop: sources -> discover -> fetch -> extract (workers) -> store.

Sources run concurrently. For each: discovery records candidate URLs in the
frontier, then the due URLs are fetched (politeness is the fetcher's), extracted in
worker processes, and saved in small batches, each batch one transaction. Work in
flight is bounded per source and overall, so memory stays flat however long the
run. A stop request (SIGTERM/SIGINT) lets pages in flight finish, saves them, writes
the run record and returns; what was not started stays pending for the next run.
One page's fetch and extraction is page.py's; counts and batched saves are tally.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from pipeline.config.loader import Config, Source
from pipeline.discover.discoverer import discover
from pipeline.errors import (
    ArchiveBusyError,
    CaptureError,
    DiskFullError,
    NewsarchiveError,
    StoreError,
    UsageError,
)
from pipeline.extract.access import judge_challenge
from pipeline.extract.boilerplate import learn
from pipeline.extract.workers import ExtractPool
from pipeline.fetch.credentials import Credentials
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.fetch.netguard import AddressPolicy, make_client, opted_in
from pipeline.jobs import revisits
from pipeline.jobs.page import Capturer, Pages
from pipeline.jobs.tally import Batcher, RunReport, SourceCounts
from pipeline.models import Candidate, PageResult
from pipeline.store import Archive, Saved
from pipeline.store.health import health
from pipeline.times import Timing
from pipeline.times import iso as _iso
from pipeline.warc.capture import CaptureThread, WarcWriter

log = logging.getLogger(__name__)

LEARN_FROM = 200  # a source's latest stories that boilerplate is learnt from
LEARN_EVERY = 50  # new stories after which it is learnt again
LEARN_MIN = 20  # stories before it is learnt at all
# A run tries at most this many new URLs per story it may store (max_articles), so a
# sitemap of dead links or non-story pages cannot make one run request them all.
ATTEMPTS_PER_ARTICLE = 4
LEARN_MIN_PAGES, LEARN_MIN_SHARE = 5, 0.2  # a line on 5+ and 20%+ of pages is the site's


Event = Callable[[str, str, str], None]  # (kind, source, detail)


class Runner:
    """One `newsarchive run`."""

    def __init__(
        self,
        config: Config,
        archive: Archive,
        fetcher: Fetcher,
        pool: ExtractPool,
        *,
        sources: Sequence[Source] | None = None,
        refresh_after: float | None = None,
        timing: Timing | None = None,
        on_event: Event | None = None,
        capturer: Capturer | None = None,
        retry_failed: bool = False,
    ) -> None:
        self.config = config
        self.archive = archive
        self.fetcher = fetcher
        self.pool = pool
        self.sources = list(sources if sources is not None else config.sources)
        self.refresh_after = refresh_after
        self.timing = timing or Timing()
        self.on_event = on_event or (lambda kind, source, detail: None)
        self.capturer = capturer
        self.retry_failed = retry_failed  # failed URLs of the sources are pending again
        self.counts = {s.name: SourceCounts() for s in self.sources}
        # Each source fetches through its own view: its configured hosts are opted in
        # to private addresses for its own fetches only (netguard).
        self._fetchers = {
            s.name: fetcher.for_source(
                opted_in((s.url, *s.feeds, *s.sitemaps, *s.listings)), Credentials.of(s)
            )
            for s in self.sources
        }
        self.stop_signal: int | None = None
        self.failure: NewsarchiveError | None = None  # what stopped the run early
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._started = self.timing.utcnow()
        self._first_new_id = 1
        self._pages = asyncio.Semaphore(config.fetch.concurrency + 2 * max(1, pool.processes))
        self._work = Pages(fetcher, self._fetchers, archive, pool, capturer, self.timing, self.fail)

    def stop(self, signum: int) -> None:
        """Finish what is in flight, start nothing new."""
        if self.stop_signal is None:
            log.warning("stopping: finishing pages in flight (signal %d)", signum)
        self.stop_signal = signum
        self._stopped.set()
        self._wake.set()

    def fail(self, exc: NewsarchiveError) -> None:
        """The machine failed the run (a capture or the archive cannot be written): the
        first failure is kept, nothing new starts, pages in flight finish."""
        if self.failure is None:
            self.failure = exc
        self._stopped.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None or self.failure is not None

    async def run(self) -> RunReport:
        started = self._started = self.timing.utcnow()
        self._first_new_id = self.archive.next_article_id()
        cpu0 = time.process_time()
        clock0 = self.timing.monotonic()
        self.archive.close_abandoned_runs(started)
        if self.retry_failed:
            again = self.archive.retry_failed([s.name for s in self.sources])
            log.info("%d failed URLs are pending again (--retry-failed)", again)
        self.archive.near_threshold = self.config.near_duplicate_threshold
        self.archive.hold_room()  # a full disk can still record the run's end
        run_id = self.archive.begin_run(
            started, os.getpid(), socket.gethostname(), [s.name for s in self.sources]
        )
        self._batcher = Batcher(self.archive, run_id, self.timing, on_failure=self.fail)
        for source in self.sources:
            rules = HostRules(source.delay, source.host_concurrency, source.respect_robots)
            for url in (source.url, *source.feeds, *source.sitemaps, *source.listings):
                self.fetcher.set_rules(url, rules)
            self.pool.register(source.name, source.extract_options(self._boilerplate(source)))
        try:
            await asyncio.gather(*(self._source(s) for s in self.sources))
        finally:
            self._batcher.flush()
        status = "interrupted" if self.stopping else "finished"
        exit_code = (
            128 + self.stop_signal
            if self.stop_signal is not None
            else (1 if any(c.broken for c in self.counts.values()) else 0)
        )
        if self.failure is not None:
            status, exit_code = f"failed: {_cause(self.failure)}", 1
        report = RunReport(
            run_id=run_id,
            status=status,
            exit_code=exit_code,
            started=_iso(started),
            seconds=self.timing.monotonic() - clock0,
            requests=self.fetcher.requests,
            sources=self.counts,
            cpu_main=time.process_time()
            - cpu0
            - (self.pool.cpu if self.pool.processes <= 0 else 0.0),
            cpu_extract=self.pool.cpu,
            workers_replaced=self.pool.replaced,
            cpu_store=self._batcher.cpu,
            cpu_capture=self.capturer.cpu if self.capturer is not None else 0.0,
            failure=str(self.failure) if self.failure is not None else None,
        )
        try:
            if self.failure is not None:  # e.g. a full disk: the space set aside at the start
                self.archive.give_back_room()
            try:
                self._finish(run_id, status, exit_code, report)
            except DiskFullError:  # the WAL may have room once checkpointed
                self.archive.make_room()
                self._finish(run_id, status, exit_code, report)
        except (StoreError, DiskFullError) as exc:  # the run row is closed as killed, later
            log.info("cannot record the end of run %d: %s", run_id, exc)
            if self.failure is not None:
                return report
            return replace(report, status=f"failed: {_cause(exc)}", exit_code=1, failure=str(exc))
        finally:
            self.archive.give_back_room()
        flagged = health(self.archive, [s.name for s in self.sources], self.timing.utcnow())
        for name, h in flagged.items():
            for reason in h.reasons:
                log.warning("%s is unhealthy: %s", name, reason)
        return replace(report, health={n: h.reasons for n, h in flagged.items() if h.flags})

    def _finish(self, run_id: int, status: str, exit_code: int, report: RunReport) -> None:
        self.archive.finish_run(
            run_id,
            self.timing.utcnow(),
            status,
            exit_code,
            {
                "requests": report.requests,
                **{
                    k: report.total(k) for k in ("new", "duplicate", "skipped", "failed", "revised")
                },
            },
            {name: c.as_record() for name, c in self.counts.items()},
        )

    def _boilerplate(self, source: Source) -> frozenset[str]:
        """The source's learnt boilerplate lines, learnt again from its latest stories
        once LEARN_EVERY new ones have arrived (kept keys stay: stored texts no longer
        contain the lines already learnt)."""
        keys, up_to = self.archive.boilerplate(source.name)
        needed = LEARN_EVERY if up_to else LEARN_MIN
        if self.archive.stories_after(source.name, up_to, needed) >= needed:
            texts, newest = self.archive.recent_texts(source.name, LEARN_FROM)
            keys = keys | learn(texts, min_pages=LEARN_MIN_PAGES, min_share=LEARN_MIN_SHARE)
            self.archive.save_boilerplate(source.name, keys, newest, self.timing.utcnow())
            log.info(
                "%s: %d boilerplate lines learnt from %d stories",
                source.name,
                len(keys),
                len(texts),
            )
        return keys

    # --- one source -------------------------------------------------------------------

    async def _source(self, source: Source) -> None:
        try:
            await self._one_source(source)
        except (StoreError, DiskFullError) as exc:  # the archive cannot be written
            self.fail(exc)

    async def _one_source(self, source: Source) -> None:
        counts = self.counts[source.name]
        now = self.timing.utcnow()
        revalidate = timedelta(hours=self.config.fetch.revalidate_hours)
        discovery = asyncio.create_task(
            discover(source, self._fetchers[source.name], self.archive, now, revalidate)
        )
        stopped = asyncio.create_task(self._stopped.wait())
        await asyncio.wait({discovery, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not discovery.done():  # a stop request: discovery is abandoned, not finished
            discovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await discovery
            return
        stats = discovery.result()
        counts.found, counts.discovered = stats.found, stats.new
        counts.feed_errors = len(stats.errors)
        counts.feeds_unchanged = stats.not_modified
        for error in stats.errors:
            counts.errors.append(str(error))
            log.warning("%s: %s", source.name, error)
        self.on_event("discovered", source.name, f"{stats.found} found, {stats.new} new")
        await self._drain(source, counts, refresh=False)
        # --refresh-after sweeps every young story now; the configured refresh_after
        # follows the revisit schedule (jobs/revisits.py). Both stop at max_revisits.
        scheduled = self.refresh_after is None
        days = source.refresh_after if scheduled else (self.refresh_after or 0.0)
        if days > 0 and source.max_revisits > 0 and not self.stopping:
            await self._drain(source, counts, refresh=True, days=days, scheduled=scheduled)
        self.on_event("done", source.name, "")

    def _due(
        self,
        source: Source,
        refresh: bool,
        days: float,
        size: int,
        cursor: list[int],
        scheduled: bool = False,
    ) -> list[Candidate]:
        now = self.timing.utcnow()
        if not refresh:
            return self.archive.due(source.name, size, now)
        if scheduled:
            checked_by = self._started - timedelta(hours=source.refresh_every)
            return revisits.due_stories(
                self.archive, source.name, days, checked_by, now, size, cursor
            )
        # Re-visit stored stories dated within `days`, each at most every `refresh_every`
        # hours, paging by id (`cursor`) so a run never selects a story twice.
        rows = self.archive.refresh_due(
            source.name,
            now - timedelta(days=days),
            self._started - timedelta(hours=source.refresh_every),
            size,
            below_id=cursor[0],
        )
        if rows:
            cursor[0] = rows[-1][0]
        return [cand for _, cand in rows]

    async def _drain(
        self,
        source: Source,
        counts: SourceCounts,
        *,
        refresh: bool,
        days: float = 0.0,
        scheduled: bool = False,
    ) -> None:
        """Fetch the source's due URLs: never more than max_articles new stories (nor more
        than ATTEMPTS_PER_ARTICLE x max_articles attempts at new URLs), never more than a
        few pages in flight, results saved in batches."""
        limit = max(2, source.host_concurrency * 2)
        inflight = 0  # pages being fetched or extracted
        unsaved = 0  # their results, waiting in the batcher
        attempted: set[str] = set()
        cursor = [self._first_new_id]  # refresh pages down from stories older than this run
        chunk = max(50, min(500, source.max_articles * 2))

        def within_budget() -> bool:  # unsaved results may yet be new stories
            return refresh or counts.new + inflight + unsaved < source.max_articles

        def spent() -> bool:
            if refresh:  # revisits never crowd out the next run's new stories
                return len(attempted) >= source.max_revisits
            if len(attempted) >= source.max_articles * ATTEMPTS_PER_ARTICLE:
                return True  # a run of dead or non-story links: the rest wait for the next run
            return counts.new >= source.max_articles

        def finished(saved: Saved) -> None:
            nonlocal unsaved
            unsaved -= 1
            self._count(source, counts, saved)
            self._wake.set()

        async def one(cand: Candidate) -> None:
            nonlocal inflight, unsaved
            try:
                result = await self._page(source, cand, refresh)
            finally:
                inflight -= 1
            if result is not None:
                unsaved += 1
                self._batcher.add(result, finished)
            self._wake.set()

        while not self.stopping and not spent():
            batch = [
                c
                for c in self._due(source, refresh, days, chunk, cursor, scheduled)
                if c.url not in attempted
            ]
            if not batch:
                break
            tasks: list[asyncio.Task[None]] = []
            for cand in batch:
                while not self.stopping and not spent():
                    if inflight < limit and within_budget():
                        break
                    if not within_budget() and self._batcher.pending:
                        self._batcher.flush()  # their outcomes decide what budget is left
                        continue
                    self._wake.clear()
                    await self._wake.wait()
                if self.stopping or spent():
                    break
                attempted.add(cand.url)
                inflight += 1
                tasks.append(asyncio.create_task(one(cand)))
            await asyncio.gather(*tasks)
            self._batcher.flush()

    def _count(self, source: Source, counts: SourceCounts, saved: Saved) -> None:
        outcome = saved.outcome
        if outcome in ("retry", "failed"):
            counts.failed += 1
        elif hasattr(counts, outcome):
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        self.on_event("page", source.name, outcome)

    # --- one page ---------------------------------------------------------------------

    async def _page(self, source: Source, cand: Candidate, refresh: bool) -> PageResult | None:
        """Fetch and extract one page; None when a stop came before it started."""
        counts = self.counts[source.name]
        async with self._pages:
            if self.stopping:
                return None  # not started: it stays pending for the next run
            counts.attempted += 1
            result = await self._work.fetch_and_extract(source, cand, refresh)
        if result.article is not None and not refresh:
            counts.text_chars += len(result.article.text)
        return result


def _cause(exc: NewsarchiveError) -> str:
    """A short cause for the run record."""
    if isinstance(exc, DiskFullError):
        return "disk full"
    if isinstance(exc, ArchiveBusyError):
        return "archive locked by another process"
    return "cannot write captures" if isinstance(exc, CaptureError) else "cannot write the archive"


def select_sources(config: Config, names: Sequence[str]) -> list[Source]:
    """The sources named on the command line (all when none are)."""
    if not names:
        return list(config.sources)
    unknown = [n for n in names if config.source(n) is None]
    if unknown:
        known = ", ".join(s.name for s in config.sources)
        raise UsageError(
            f"unknown source {', '.join(map(repr, unknown))}; sources in {config.path}: {known}"
        )
    return [s for s in config.sources if s.name in names]


async def run_archive(
    config: Config,
    archive: Archive,
    *,
    sources: Sequence[Source] | None = None,
    refresh_after: float | None = None,
    workers: int | None = None,
    on_event: Event | None = None,
    on_runner: Callable[[Runner], None] | None = None,
    retry_failed: bool = False,
) -> RunReport:
    """A whole run: the one AsyncClient, the fetcher, the worker pool and the WARC
    writer are made here and handed down. SIGTERM and SIGINT ask the run to stop
    gracefully."""
    selected = list(sources if sources is not None else config.sources)
    policy = AddressPolicy(config.fetch.allow_private)  # opt-ins are per source (Runner)
    capturer = None
    if any(s.capture for s in selected):
        capturer = CaptureThread(
            WarcWriter(
                config.warc_dir(archive.path),
                archive.path.parent,
                max_file_bytes=config.warc.max_file_mb * 1_000_000,
                level=config.warc.compression,
            )
        )
    async with make_client(
        policy,
        user_agent=config.fetch.user_agent,
        timeout=config.fetch.timeout,
        max_connections=config.fetch.concurrency,
    ) as client:
        fetcher = Fetcher(client, config.fetch, robots_cache=archive, challenge=judge_challenge)
        with ExtractPool(workers) as pool:
            runner = Runner(
                config,
                archive,
                fetcher,
                pool,
                sources=selected,
                refresh_after=refresh_after,
                on_event=on_event,
                capturer=capturer,
                retry_failed=retry_failed,
            )
            if on_runner is not None:
                on_runner(runner)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, runner.stop, signum)
            try:
                return await runner.run()
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)
                if capturer is not None:
                    capturer.close()
