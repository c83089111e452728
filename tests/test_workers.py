"""Extraction workers: a stuck or exploding page fails alone; the worker is replaced."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.demo.pages import article_page
from pipeline.errors import ExtractionTimeout, WorkerCrashed
from pipeline.extract.workers import ExtractPool, Job
from pipeline.models import ExtractOptions
from tests.synth import synthetic_articles

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
