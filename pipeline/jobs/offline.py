"""Work from WARC files, without the network: re-extraction of stored captures, and
import of WARC files written by other tools (wget --warc-file, Common Crawl's
CC-NEWS, ArchiveBox, Browsertrix).

Both stream records through the extraction workers with a bounded number in flight
and save results in small transactions, as a run does.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.config.loader import Config
from pipeline.decode import BadEncoding, TooLarge
from pipeline.errors import CaptureError, ExtractionError, UsageError
from pipeline.extract.workers import ExtractPool, Job
from pipeline.jobs.tally import Batcher
from pipeline.models import Candidate, ExtractOptions, PageResult
from pipeline.sniff import is_html
from pipeline.store import Archive, Saved
from pipeline.times import Timing, normalise
from pipeline.times import iso as _iso
from pipeline.urls import canonicalize, site_of
from pipeline.warc.capture import (
    CaptureThread,
    Damage,
    Payload,
    Truncated,
    WarcWriter,
    check_warc,
    iter_records,
    payload_of,
    read_capture,
)


def warc_date(value: str | None) -> str:
    """A WARC-Date as our ISO form (seconds precision, UTC); now when unreadable."""
    return normalise(value) or _iso(datetime.now(UTC))


class _Flow:
    """At most `limit` tasks in flight; `submit` waits for room."""

    def __init__(self, limit: int) -> None:
        self._room = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, work: Callable[[], Awaitable[None]]) -> None:
        await self._room.acquire()

        async def run() -> None:
            try:
                await work()
            finally:
                self._room.release()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks))


def extract_options(config: Config | None, archive: Archive, source: str) -> ExtractOptions:
    configured = config.source(source) if config is not None else None
    keys, _ = archive.boilerplate(source)
    return configured.extract_options(keys) if configured else ExtractOptions(boilerplate=keys)


# --- re-extraction --------------------------------------------------------------------


@dataclass
class ReextractReport:
    examined: int = 0
    revised: int = 0  # text changed: the previous text is now a revision
    updated: int = 0  # metadata changed
    unchanged: int = 0
    not_article: int = 0  # the current extractor finds no article; the stored text stays
    failed: int = 0  # capture unreadable or extraction failed
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


async def reextract(
    config: Config | None,
    archive: Archive,
    *,
    sources: Sequence[str] = (),
    since: str | None = None,
    workers: int | None = None,
    max_bytes: int = 10_000_000,
) -> ReextractReport:
    """Extraction again, from the stored captures, with the current code and settings."""
    report = ReextractReport()
    started = time.monotonic()
    root = archive.path.parent
    now = _iso(datetime.now(UTC))
    with ExtractPool(workers) as pool:
        flow = _Flow(max(4, 2 * pool.processes + 2))
        registered: set[str] = set()

        async def one(article_id: int, source: str, payload: Payload) -> None:
            try:
                outcome = await pool.extract(
                    Job(
                        payload.url,
                        payload.body,
                        payload.encoding,
                        source,
                        warc_date(payload.date),
                    )
                )
            except ExtractionError as exc:
                report.failed += 1
                report.errors.append(str(exc))
                return
            if outcome.article is None:
                report.not_article += 1
                return
            result = archive.reextracted(article_id, outcome.article, now)
            setattr(report, result, getattr(report, result) + 1)

        for article_id, source, _url, capture in archive.captures(sources, since):
            report.examined += 1
            if source not in registered:
                pool.register(source, extract_options(config, archive, source))
                registered.add(source)
            try:
                payload = read_capture(root, capture, max_bytes)
            except CaptureError as exc:
                report.failed += 1
                report.errors.append(str(exc))
                continue
            await flow.submit(functools.partial(one, article_id, source, payload))
        await flow.drain()
    report.seconds = time.monotonic() - started
    return report


# --- import ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    files: int = 0
    records: int = 0
    responses: int = 0
    new: int = 0
    duplicate: int = 0  # same text as a stored story
    known: int = 0  # URL already in the archive
    revised: int = 0
    unchanged: int = 0
    skipped: int = 0  # not a 200 HTML response, or not an article
    damaged: int = 0  # corrupt or truncated records, skipped
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def source_for(url: str, config: Config | None, given: str | None) -> str:
    """--source, else the configured source of the same site, else a name from the host."""
    return source_name(url, configured_sites(config), given)


def configured_sites(config: Config | None) -> tuple[tuple[str, str], ...]:
    """(site, source name) of the configured sources, in the config's order."""
    return tuple((site_of(s.url), s.name) for s in config.sources) if config else ()


def source_name(url: str, sites: Sequence[tuple[str, str]], given: str | None) -> str:
    """See source_for; `sites` from configured_sites."""
    if given:
        return given
    site = site_of(url)
    for configured, name in sites:
        if configured == site:
            return name
    return re.sub(r"[^a-z0-9]+", "-", site.lower()).strip("-") or "imported"


def html_pages(
    path: Path, max_bytes: int, report: ImportReport
) -> Iterator[tuple[int, str, Payload]]:
    """(offset, canonical URL, payload) of the 200 HTML responses of a WARC file; the
    rest is counted in `report` (damaged records are skipped). Raises OSError."""
    for item in iter_records(path):
        if isinstance(item, Damage):
            report.damaged += 1
            report.errors.append(f"{path}@{item.offset}: {item.error}")
            continue
        record, offset = item
        report.records += 1
        target = record.rec_headers.get_header("WARC-Target-URI") or ""
        if record.rec_type != "response" or target.startswith("dns:"):
            continue  # (a crawler's DNS lookups are `response` records too)
        report.responses += 1
        if record.http_headers is None:  # warcio parses HTTP only for http(s) addresses
            report.skipped += 1
            report.errors.append(f"{path}@{offset}: {target!r} is not an http(s) address")
            continue
        try:
            payload = payload_of(record, max_bytes)
        except Truncated as exc:
            report.damaged += 1
            report.errors.append(f"{path}@{offset}: {exc}")
            continue
        except (TooLarge, BadEncoding, ValueError) as exc:
            report.skipped += 1
            report.errors.append(f"{path}: {type(exc).__name__} {exc}")
            continue
        url = canonicalize(payload.url)
        if (
            url is None
            or payload.status != 200
            or not is_html(payload.body, payload.header("content-type"))
        ):
            report.skipped += 1
            continue
        yield offset, url, payload


def expand_inputs(args: Sequence[str], base_url: str | None = None) -> list[str]:
    """The input files named on the command line: `@FILE` is a manifest of paths or
    URLs, one a line (gzipped or plain, `#` comments), like Common Crawl's
    warc.paths.gz; its relative entries are taken from `base_url` when given."""
    inputs: list[str] = []
    for arg in args:
        if not arg.startswith("@"):
            inputs.append(arg)
            continue
        manifest = Path(arg[1:])
        try:
            with open(manifest, "rb") as fh:
                data = fh.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            lines = data.decode("utf-8").splitlines()
        except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
            raise UsageError(f"manifest {manifest}: cannot read it ({exc})") from None
        for line in lines:
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            if base_url and "://" not in entry and not entry.startswith("/"):
                entry = base_url.rstrip("/") + "/" + entry.lstrip("/")
            inputs.append(entry)
    return inputs


async def import_warcs(
    paths: Iterable[Path],
    config: Config | None,
    archive: Archive,
    *,
    source: str | None = None,
    workers: int | None = None,
    max_bytes: int = 10_000_000,
) -> ImportReport:
    """Store the HTML responses of WARC files like fetched pages, deduplicated."""
    paths = list(paths)
    for path in paths:  # all of them before anything is imported
        check_warc(path)
    report = ImportReport()
    started = time.monotonic()
    root = archive.path.parent
    warc_dir = config.warc_dir(archive.path) if config is not None else root / "warc"
    level = config.warc.compression if config is not None else 3
    capturer = CaptureThread(WarcWriter(warc_dir, root, prefix="imported", level=level))
    batcher = Batcher(archive, None, Timing())
    if config is not None:
        archive.near_threshold = config.near_duplicate_threshold
    registered: set[str] = set()

    def saved(result: Saved) -> None:
        name = {"retry": "failed"}.get(result.outcome, result.outcome)
        if hasattr(report, name):
            setattr(report, name, getattr(report, name) + 1)

    try:
        with ExtractPool(workers) as pool:
            flow = _Flow(max(4, 2 * pool.processes + 2))

            async def one(name: str, url: str, payload: Payload) -> None:
                date = warc_date(payload.date)
                capture = await capturer.write_payload(payload)
                try:
                    outcome = await pool.extract(
                        Job(url, payload.body, payload.encoding, name, date)
                    )
                except ExtractionError as exc:
                    report.failed += 1
                    report.errors.append(str(exc))
                    return
                cand = Candidate(url, name, found_on="import")
                if outcome.article is None:
                    report.skipped += 1
                    batcher.add(
                        PageResult(
                            cand,
                            "skipped",
                            date,
                            reason=outcome.reason or "not an article",
                            capture=capture,
                        ),
                        lambda _: None,
                    )
                    return
                batcher.add(
                    PageResult(
                        cand,
                        "article",
                        date,
                        article=outcome.article,
                        final_url=url,
                        capture=capture,
                    ),
                    saved,
                )

            for path in paths:
                report.files += 1
                try:
                    for _offset, url, payload in html_pages(path, max_bytes, report):
                        if archive.known([url]):
                            report.known += 1
                            continue
                        name = source_for(url, config, source)
                        if name not in registered:
                            pool.register(name, extract_options(config, archive, name))
                            registered.add(name)
                        await flow.submit(functools.partial(one, name, url, payload))
                except OSError as exc:
                    report.failed += 1
                    report.errors.append(f"{path}: {exc.strerror or exc}")
            await flow.drain()
            batcher.flush()
    finally:
        capturer.close()
    report.seconds = time.monotonic() - started
    return report
