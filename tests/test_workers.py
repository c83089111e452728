"""Extraction workers: a stuck or exploding page fails alone; the worker is replaced."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

from pipeline.config.loader import load
from pipeline.demo.pages import article_page
from pipeline.demo.site import NewsSite
from pipeline.errors import ExtractionError, ExtractionTimeout, WorkerCrashed, WorkerStartError
from pipeline.extract import extractor
from pipeline.extract.workers import ExtractPool, Job, _Slot
from pipeline.jobs.run import run_archive
from pipeline.models import ExtractOptions
from pipeline.store import Archive
from tests.synth import synthetic_articles

from .conftest import query, write_config

NORMAL = article_page(synthetic_articles(1, seed=1)[0], "Site", "http://s.example", [], [])
GIANT = "<html><body>" + "<p>word " * 400_000 + "</body></html>"  # ~3 MB of paragraphs

# Worker processes come from this test process's forkserver: one xdist worker starts it.
pytestmark = pytest.mark.xdist_group("extract_workers")


def run_jobs(pool: ExtractPool, pages: list[str]) -> list[object]:
    pool.register("s", ExtractOptions())

    async def go() -> list[object]:
        out: list[object] = []
        for page in pages:  # one after the other, so the order of replacement is known
            try:
                result = await pool.extract(Job("http://s.example/a", page.encode(), "utf-8", "s"))
                out.append(result.article)
            except (ExtractionTimeout, WorkerCrashed) as exc:
                out.append(exc)
        return out

    return asyncio.run(go())


def test_normal_pages_extract_in_workers_and_report_cpu(extract_pool: ExtractPool) -> None:
    cpu, replaced = extract_pool.cpu, extract_pool.replaced  # a pool other tests used
    results = run_jobs(extract_pool, [NORMAL, NORMAL])
    assert all(getattr(r, "title", None) for r in results)
    assert extract_pool.cpu > cpu and extract_pool.replaced == replaced


def test_a_page_over_the_time_limit_fails_alone() -> None:
    with ExtractPool(1, timeout=0.3) as pool:
        results = run_jobs(pool, [GIANT, NORMAL])
    assert isinstance(results[0], ExtractionTimeout)
    assert getattr(results[1], "title", None)
    assert pool.replaced == 1


def test_a_page_over_the_memory_limit_fails_alone() -> None:
    with ExtractPool(1, timeout=60, memory_mb=40) as pool:
        results = run_jobs(pool, [GIANT * 4, NORMAL])
    assert isinstance(results[0], WorkerCrashed)
    assert getattr(results[1], "title", None)
    assert pool.replaced == 1


@pytest.mark.parametrize("processes", [0, 1])
def test_inline_and_worker_extraction_agree(processes: int, extract_pool: ExtractPool) -> None:
    if processes:
        (article,) = run_jobs(extract_pool, [NORMAL])
    else:
        with ExtractPool(0) as pool:
            (article,) = run_jobs(pool, [NORMAL])
    assert getattr(article, "text", "").startswith(synthetic_articles(1, seed=1)[0].paragraphs[0])


class Incomparable(int):
    """A min_text_length extraction cannot compare with: a fault injected into the
    options, which the pool pickles to its workers, so it fires in either mode."""

    def __gt__(self, other: object) -> bool:
        raise ValueError("injected fault")

    __lt__ = __ge__ = __le__ = __gt__


@pytest.mark.parametrize("processes", [0, 1])
def test_a_page_that_raises_fails_alone_the_same_way_inline_and_in_workers(
    processes: int,
) -> None:
    with ExtractPool(processes) as pool:
        pool.register("faulty", ExtractOptions(min_text_length=Incomparable(200)))
        pool.register("s", ExtractOptions())

        async def go() -> tuple[ExtractionError | None, object]:
            failed = None
            try:
                await pool.extract(Job("http://s.example/a", NORMAL.encode(), "utf-8", "faulty"))
            except ExtractionError as exc:
                failed = exc
            after = await pool.extract(Job("http://s.example/b", NORMAL.encode(), "utf-8", "s"))
            return failed, after.article

        failed, after = asyncio.run(go())
    assert type(failed) is ExtractionError
    assert failed.url == "http://s.example/a" and failed.reason == "ValueError: injected fault"
    assert getattr(after, "title", None)  # the next page extracts
    assert pool.replaced == 0


def test_an_inline_run_records_a_raising_page_and_finishes(
    tmp_path: Path, site: NewsSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--workers 0: a page whose extraction raises is a recorded page failure, the
    other pages are stored and the run is finished, as with worker processes."""
    bad = site.articles[0]
    real = extractor.extract_traced  # what extract_bytes calls

    def faulty(
        html: str, url: str, options: ExtractOptions | None = None, summary: str | None = None
    ) -> object:
        if url.endswith(bad.path):
            raise ValueError("injected fault")
        return real(html, url, options, summary)

    monkeypatch.setattr(extractor, "extract_traced", faulty)
    config = load(write_config(tmp_path, [{"name": "s", "url": site.base + "/"}]))
    with Archive.open(tmp_path / "news.db") as archive:
        report = asyncio.run(run_archive(config, archive, workers=0))
    assert report.status == "finished" and report.exit_code == 0
    db = tmp_path / "news.db"
    assert query(db, "SELECT status FROM runs") == [("finished",)]
    assert query(db, "SELECT url, kind, message FROM failures") == [
        (site.base + bad.path, "ExtractionError", "ValueError: injected fault")
    ]
    assert query(db, "SELECT count(*) FROM articles") == [(len(site.articles) - 1,)]


def test_a_supervisor_fault_fails_that_page_and_the_pool_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anything unexpected in a supervisor thread resolves the page's future (it used to
    stay unresolved and the run hung) and the slot serves the next job."""
    real = _Slot._send
    faults = iter([True])

    def send(self: _Slot, kind: str, payload: object) -> None:
        if kind == "job" and next(faults, False):
            raise RuntimeError("injected supervisor fault")
        real(self, kind, payload)

    monkeypatch.setattr(_Slot, "_send", send)
    with ExtractPool(1) as pool:
        pool.register("s", ExtractOptions())

        async def go() -> tuple[object, object]:
            first = pool.extract(Job("http://s.example/a", NORMAL.encode(), "utf-8", "s"))
            try:
                failed: object = await asyncio.wait_for(first, 60)
            except WorkerCrashed as exc:
                failed = exc
            after = await pool.extract(Job("http://s.example/b", NORMAL.encode(), "utf-8", "s"))
            return failed, after.article

        failed, after = asyncio.run(go())
    assert isinstance(failed, WorkerCrashed) and failed.url == "http://s.example/a"
    assert "RuntimeError: injected supervisor fault" in failed.reason
    assert getattr(after, "title", None)
    assert pool.replaced == 1


def test_replacements_counted_from_many_threads_are_all_counted() -> None:
    pool = ExtractPool(0)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [
            threading.Thread(target=lambda: [pool.note_replaced() for _ in range(20_000)])
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert pool.replaced == 160_000


def test_a_worker_that_cannot_start_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cause surfaces as WorkerStartError; close() no longer hides it behind
    "cannot join thread before it is started", and the started worker is stopped."""
    real = _Slot.start
    started: list[_Slot] = []

    def start(self: _Slot) -> None:
        if self.number == 1:
            raise OSError(24, "Too many open files")
        real(self)
        started.append(self)

    monkeypatch.setattr(_Slot, "start", start)

    async def go() -> None:
        with ExtractPool(2) as pool:
            pool.register("s", ExtractOptions())
            await pool.extract(Job("http://s.example/a", NORMAL.encode(), "utf-8", "s"))

    with pytest.raises(WorkerStartError) as raised:
        asyncio.run(go())
    assert str(raised.value) == (
        "extraction worker 1 could not be started: OSError: [Errno 24] Too many open files"
    )
    assert len(started) == 1 and started[0].process is None  # stopped again
    assert not started[0].thread.is_alive()


@pytest.mark.parametrize("processes", [0, 1])
def test_an_unexpected_extraction_fault_is_the_same_worker_crash_in_both_modes(
    processes: int,
) -> None:
    """An error outside the expected library errors (here selectolax's, from a selector
    config checks would refuse) is WorkerCrashed naming it, inline or in a worker."""
    with ExtractPool(processes) as pool:
        pool.register("bad", ExtractOptions(drop=("a[",)))
        pool.register("s", ExtractOptions())

        async def go() -> tuple[WorkerCrashed | None, object]:
            failed = None
            try:
                await pool.extract(Job("http://s.example/a", NORMAL.encode(), "utf-8", "bad"))
            except WorkerCrashed as exc:
                failed = exc
            after = await pool.extract(Job("http://s.example/b", NORMAL.encode(), "utf-8", "s"))
            return failed, after.article

        failed, after = asyncio.run(go())
    assert failed is not None and failed.url == "http://s.example/a"
    assert failed.reason == "SelectolaxError: Can't parse CSS selector."
    assert getattr(after, "title", None)
    assert pool.replaced == processes  # a worker is not trusted after a fault
