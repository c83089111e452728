"""The writer of `import-warc --cluster`: loads Parquet shards into the archive.

The client is the archive's only writer. It loads each shard through the same save
path as the embedded import (Batcher -> Archive.save: URL, content-hash and MinHash
dedup), so a page is stored, counted a duplicate or skipped exactly as if it had
been extracted here. A URL the archive already knows is counted `known` and left
alone, which also makes loading a shard again (after the client was killed in the
middle of one) store nothing twice.

Nothing here imports Dask.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.jobs.offline import ImportReport
from pipeline.jobs.tally import Batcher
from pipeline.models import Candidate, Capture, PageResult
from pipeline.store import Archive, Saved
from pipeline.times import Timing
from pipeline.warc.shards import article_of, read_shard

_OUTCOMES = ("new", "duplicate", "known", "revised", "unchanged", "skipped", "failed")


@dataclass
class ClusterReport(ImportReport):
    """An import's counts, plus what the cluster did."""

    loaded_before: int = 0  # files a previous run loaded: not touched
    resumed: int = 0  # shards a previous run left: loaded without extracting again
    submitted: int = 0  # files sent to the cluster
    failed_files: int = 0  # files that could not be fetched or extracted
    workers: int = 0
    startup_seconds: float = 0.0  # until the cluster was ready for the first task
    cpu_extract: float = 0.0  # CPU seconds of the extraction processes (all workers)
    cpu_tasks: float = 0.0  # CPU seconds of the tasks' own threads (reading, writing)
    cpu_writer: float = 0.0  # CPU seconds the client's writing thread spent loading shards


class ShardLoader:
    """Loads shards of a shards directory into one archive, in the order given."""

    def __init__(self, archive: Archive, shards: Path, report: ClusterReport) -> None:
        self.archive = archive
        self.shards = shards
        self.report = report
        self.batcher = Batcher(archive, None, Timing())
        self.root = archive.path.parent

    def load(self, name: str) -> dict[str, int]:
        """Store the rows of shard `name`; returns what became of them."""
        started = time.thread_time()
        counts = dict.fromkeys(_OUTCOMES, 0)
        pending: set[str] = set()  # URLs in the batcher, not yet visible in the archive

        def saved(result: Saved) -> None:
            outcome = {"retry": "failed"}.get(result.outcome, result.outcome)
            if outcome in counts:
                counts[outcome] += 1

        for row in read_shard(self.shards / name):
            url = row["url"]
            if url in pending or self.archive.known([url]):
                counts["known"] += 1
                continue
            if row["status"] == "failed":
                counts["failed"] += 1
                self.report.errors.append(f"{row['input']}@{row['record_offset']}: {row['reason']}")
                continue
            pending.add(url)
            result = self._result(row)
            if result.status == "skipped":
                counts["skipped"] += 1
                self.batcher.add(result, lambda _: None)
            else:
                self.batcher.add(result, saved)
        self.batcher.flush()
        for key, value in counts.items():
            setattr(self.report, key, getattr(self.report, key) + value)
        self.report.cpu_writer += time.thread_time() - started
        return counts

    def _capture(self, row: dict[str, Any]) -> Capture | None:
        if not row.get("warc_file"):
            return None
        path = os.path.relpath(self.shards / row["warc_file"], self.root)
        return Capture(path, int(row["warc_offset"]), int(row["warc_length"]))

    def _result(self, row: dict[str, Any]) -> PageResult:
        cand = Candidate(row["url"], row["source"], found_on="import")
        if row["status"] != "article":
            return PageResult(
                cand,
                "skipped",
                row["fetched_at"],
                reason=row["reason"] or "not an article",
                capture=self._capture(row),
            )
        return PageResult(
            cand,
            "article",
            row["fetched_at"],
            article=article_of(row),
            final_url=row["url"],
            capture=self._capture(row),
        )
