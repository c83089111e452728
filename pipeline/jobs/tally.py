"""What a run counts and how its results reach the archive: the per-source counts, the
run report, and the batcher that saves page results in small transactions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import DiskFullError, NewsarchiveError, StoreError
from pipeline.models import PageResult
from pipeline.store import Archive, Saved
from pipeline.times import Timing

BATCH_SIZE = 50  # page results per transaction
BATCH_SECONDS = 1.0  # ... or whatever arrived within this long


@dataclass
class SourceCounts:
    found: int = 0  # article URLs discovery accepted
    discovered: int = 0  # of which new to the archive
    attempted: int = 0  # pages fetched (or tried) this run
    new: int = 0
    duplicate: int = 0
    revised: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0  # permanent failures, and transient ones left for a later run
    feed_errors: int = 0
    feeds_unchanged: int = 0  # feeds/sitemaps answering 304: they work, nothing is new
    text_chars: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        """The source yielded nothing because it failed: discovery found nothing
        because of errors, or every page it tried failed."""
        discovery_failed = (
            self.feed_errors > 0
            and self.found == 0
            and self.attempted == 0
            and self.feeds_unchanged == 0
        )
        pages_failed = self.attempted > 0 and self.failed == self.attempted
        return discovery_failed or pages_failed

    def as_record(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "new": self.new,
            "duplicate": self.duplicate,
            "skipped": self.skipped,
            "failed": self.failed,
            "revised": self.revised,
            "unchanged": self.unchanged,
            "feed_errors": self.feed_errors,
            "error": "; ".join(self.errors[:3]) or None,
            "avg_text_length": round(self.text_chars / self.new, 1) if self.new else None,
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: int
    status: str  # finished, interrupted
    exit_code: int
    started: str
    seconds: float
    requests: int
    sources: dict[str, SourceCounts]
    cpu_main: float  # CPU seconds of this process
    cpu_extract: float  # CPU seconds of the extraction workers
    workers_replaced: int
    health: dict[str, list[str]] = field(default_factory=dict)  # unhealthy: reasons
    cpu_store: float = 0.0  # of cpu_main: saving to SQLite
    cpu_capture: float = 0.0  # of cpu_main: writing WARC records
    failure: str | None = None  # why the run stopped early (disk full, archive busy)

    def total(self, name: str) -> int:
        return sum(int(getattr(c, name)) for c in self.sources.values())


class Batcher:
    """Collects page results and saves them in small transactions."""

    def __init__(
        self,
        archive: Archive,
        run_id: int | None,
        timing: Timing,
        on_failure: Callable[[NewsarchiveError], None] | None = None,
    ) -> None:
        self.archive = archive
        self.run_id = run_id
        self.timing = timing
        # A batch the archive cannot take (disk full, locked by another writer) goes to
        # `on_failure` and is dropped: its URLs stay due for the next run. Without
        # `on_failure` the error is raised.
        self.on_failure = on_failure
        self.pending: list[tuple[PageResult, Callable[[Saved], None]]] = []
        self.cpu = 0.0  # CPU seconds spent saving
        self.last = timing.monotonic()

    def add(self, result: PageResult, done: Callable[[Saved], None]) -> None:
        self.pending.append((result, done))
        if len(self.pending) >= BATCH_SIZE or self.timing.monotonic() - self.last > BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.last = self.timing.monotonic()
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        started = time.thread_time()
        try:
            saved = self.archive.save([r for r, _ in batch], self.run_id)
        except (StoreError, DiskFullError) as exc:
            if self.on_failure is None:
                raise
            self.on_failure(exc)
            return
        finally:
            self.cpu += time.thread_time() - started
        for (_, done), outcome in zip(batch, saved, strict=True):
            done(outcome)
