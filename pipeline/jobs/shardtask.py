"""One task of `import-warc --cluster`: one input WARC file to one Parquet shard.

The task fetches its input to local storage (fsspec: s3://, https://, file://...;
a local path is read where it is), extracts every 200 HTML response with the
worker's ExtractPool (so the per-page time and memory limits hold), copies each
response into a WARC file of its own named after the input, and writes one shard
row per page (see pipeline.warc.shards). It needs no archive: everything it must
know about the sources comes in a Snapshot taken once by the client. It returns
only counts, CPU seconds and the shard's name.

Nothing here imports Dask (see jobs/cluster.py for the Dask side).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import CaptureError, ExtractionError
from pipeline.extract.workers import ExtractPool, Job
from pipeline.jobs.offline import ImportReport, html_pages, source_name, warc_date
from pipeline.models import ExtractOptions
from pipeline.warc.capture import Payload, WarcWriter
from pipeline.warc.shards import ShardWriter, story_row

CHUNK = 64  # pages extracted together; their rows are written in record order


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the tasks need to know of the config and the archive, taken once."""

    given: str | None  # --source
    sites: tuple[tuple[str, str], ...]  # (site, source) of the configured sources
    options: dict[str, ExtractOptions]  # per source: config settings, learnt boilerplate
    max_bytes: int = 10_000_000
    level: int = 3  # WARC compression level
    version: str = __version__
    token: str = ""  # names this snapshot's options in long-lived extraction pools

    def options_for(self, source: str) -> ExtractOptions:
        return self.options.get(source) or ExtractOptions()


@dataclass
class TaskResult:
    """What a task sends back: counts, CPU seconds, the shard's file name."""

    input: str
    shard: str  # a file name in the shards directory
    counts: dict[str, int] = field(default_factory=dict)
    cpu_extract: float = 0.0  # the extraction processes
    cpu_task: float = 0.0  # reading, WARC and Parquet writing
    errors: list[str] = field(default_factory=list)  # the first few


def shard_name(input: str) -> str:
    """The shard's file name for an input: readable, and unique per input string."""
    stem = re.sub(r"\.(warc|arc)(\.gz)?$", "", input.rstrip("/").rsplit("/", 1)[-1])
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")[:80] or "input"
    digest = hashlib.sha1(input.encode("utf-8")).hexdigest()[:10]
    return f"{stem}-{digest}"


def is_url(input: str) -> bool:
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", input) is not None


@contextlib.contextmanager
def local_copy(input: str, scratch: Path) -> Iterator[Path]:
    """The input as a local file: a local path as it is, a URL fetched through fsspec
    to `scratch` (and removed afterwards). Raises CaptureError when it cannot be had."""
    if not is_url(input) or input.startswith("file://"):
        path = Path(input.removeprefix("file://"))
        if not path.is_file():
            raise CaptureError(f"{input}: no such file")
        yield path
        return
    import fsspec  # the cluster extra

    scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="newsarchive-", suffix=".warc", dir=scratch)
    os.close(fd)
    target = Path(name)
    try:
        try:
            filesystem, remote = fsspec.core.url_to_fs(input)
            filesystem.get_file(remote, str(target))
        except (OSError, ValueError, ImportError) as exc:
            raise CaptureError(f"cannot fetch {input}: {type(exc).__name__} {exc}") from None
        yield target
    finally:
        target.unlink(missing_ok=True)


def extract_file(
    input: str,
    snapshot: Snapshot,
    shards: Path,
    pool: ExtractPool,
    scratch: Path,
) -> TaskResult:
    """Run one task (see the module's docstring)."""
    started = time.thread_time()
    cpu_before = pool.cpu
    report = ImportReport(files=1)
    name = shard_name(input)
    rows = 0
    with local_copy(input, scratch) as path:
        warcs = WarcWriter(shards / "warc", shards, prefix=name, level=snapshot.level)
        writer = ShardWriter(shards / f"{name}.parquet", "import")
        try:
            pages = html_pages(path, snapshot.max_bytes, report)
            rows = asyncio.run(_extract(input, pages, snapshot, pool, warcs, writer, report))
            writer.close()
        except BaseException:
            writer.abort()
            raise
        finally:
            warcs.close()
    counts = {
        k: int(getattr(report, k)) for k in ("records", "responses", "skipped", "damaged", "failed")
    }
    counts["rows"] = rows
    return TaskResult(
        input,
        f"{name}.parquet",
        counts,
        cpu_extract=pool.cpu - cpu_before,
        cpu_task=time.thread_time() - started,
        errors=report.errors[:10],
    )


async def _extract(
    input: str,
    pages: Iterator[tuple[int, str, Payload]],
    snapshot: Snapshot,
    pool: ExtractPool,
    warcs: WarcWriter,
    writer: ShardWriter,
    report: ImportReport,
) -> int:
    registered = set(pool.options)
    rows = 0

    async def one(offset: int, url: str, payload: Payload) -> dict[str, Any]:
        source = source_name(url, snapshot.sites, snapshot.given)
        key = f"{snapshot.token}:{source}"
        if key not in registered:
            pool.register(key, snapshot.options_for(source))
            registered.add(key)
        date = warc_date(payload.date)
        capture = warcs.write_payload(payload)
        row: dict[str, Any] = {
            "url": url,
            "source": source,
            "fetched_at": date,
            "warc_file": capture.file,
            "warc_offset": capture.offset,
            "warc_length": capture.length,
            "input": input,
            "record_offset": offset,
        }
        try:
            outcome = await pool.extract(Job(url, payload.body, payload.encoding, key, date))
        except ExtractionError as exc:
            report.failed += 1
            report.errors.append(str(exc))
            return {**row, "status": "failed", "reason": str(exc)}
        if outcome.article is None:
            return {**row, "status": "skipped", "reason": outcome.reason or "not an article"}
        return {**row, **story_row(outcome.article), "status": "article"}

    chunk: list[tuple[int, str, Payload]] = []
    done = False
    while not done:
        chunk.clear()
        for page in pages:
            chunk.append(page)
            if len(chunk) >= CHUNK:
                break
        else:
            done = True
        for row in await asyncio.gather(*(one(*page) for page in chunk)):
            writer.add(row)
            rows += 1
    return rows
