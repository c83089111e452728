"""Extraction workers: a stuck or exploding page fails alone; the worker is replaced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipeline.config.loader import load
from pipeline.demo.pages import article_page
from pipeline.demo.site import NewsSite
from pipeline.errors import ExtractionError, ExtractionTimeout, WorkerCrashed
from pipeline.extract import extractor
from pipeline.extract.workers import ExtractPool, Job
from pipeline.jobs.run import run_archive
from pipeline.models import ExtractOptions
from pipeline.store import Archive
from tests.synth import synthetic_articles

from .conftest import query, write_config

NORMAL = article_page(synthetic_articles(1, seed=1)[0], "Site", "http://s.example", [], [])
GIANT = "<html><body>" + "<p>word " * 400_000 + "</body></html>"  # ~3 MB of paragraphs


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


def test_normal_pages_extract_in_workers_and_report_cpu() -> None:
    with ExtractPool(2) as pool:
        results = run_jobs(pool, [NORMAL, NORMAL])
    assert all(getattr(r, "title", None) for r in results)
    assert pool.cpu > 0 and pool.replaced == 0


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
def test_inline_and_worker_extraction_agree(processes: int) -> None:
    with ExtractPool(processes) as pool:
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
    real = extractor.extract

    def faulty(html: str, url: str, options: ExtractOptions | None = None) -> object:
        if url.endswith(bad.path):
            raise ValueError("injected fault")
        return real(html, url, options)

    monkeypatch.setattr(extractor, "extract", faulty)
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
