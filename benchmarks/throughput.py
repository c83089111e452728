"""Throughput and memory: `newsarchive run` against plain trafilatura on the same pages.

    python benchmarks/throughput.py [--articles 2000] [--page-kb 150] [--json out.json]
        [--tools] [--news-please PYTHON] [--no-capture] [--archive-scale 10000,200000]

Serves N synthetic but realistic news pages (about --page-kb each: inline scripts and
styles, a mega-menu, share bars, related lists, a comment form) on 127.0.0.1, then, in
one invocation, on the same machine state:

1. plain trafilatura using every core: a multiprocessing.Pool running
   trafilatura.extract(html, url, include_comments=False) over the same pages, already
   in memory (no HTTP, no storage: the strictest baseline), and the same with
   with_metadata=True;
2. `newsarchive run` (the real CLI, politeness relaxed: delay 0, host_concurrency 4)
   fetching, extracting, capturing (WARC) and storing them: articles/s, the ratio to
   (1), CPU seconds per article by stage, and the peak memory of the whole process tree
   (sum of RSS, and of PSS which counts shared pages once), sampled every 20 ms;
3. with --tools: trafilatura's own CLI (its downloader, SLEEP_TIME 0) and, with
   --news-please PYTHON (an interpreter that has news-please installed), news-please's
   NewsPlease.from_urls on the same URL list;
4. with --archive-scale A,B: the wall and CPU time of a run that finds 100 new articles
   when the archive already holds A, then B, stories.

Prints a table and writes JSON. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from proctree import process_tree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.synth

from pipeline.demo import pages
from pipeline.demo.site import NewsSite, Request, Response
from tests.synth import synthetic_articles

REPO = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1


# --- the pages ------------------------------------------------------------------------


class Pages:
    """N article pages of about `kb` KB, rendered on demand (never all in memory)."""

    def __init__(self, count: int, kb: int, base: str = "http://bench.invalid") -> None:
        self.articles = synthetic_articles(count, seed=2026)
        self.base = base
        self.padding = pages.bloat(0, "x")
        low, high = 0, 4 * kb
        while low < high:  # padding so that the average page is about `kb` KB
            middle = (low + high) // 2
            self.padding = pages.bloat(middle, "bench")
            if len(self.render(0)) < kb * 1024:
                low = middle + 1
            else:
                high = middle
        self.padding = pages.bloat(low, "bench")

    def render(self, index: int) -> bytes:
        a = self.articles[index]
        related = self.articles[index + 1 : index + 4]
        return pages.article_page(
            a, "Bench Gazette", self.base, related, related, padding=self.padding
        ).encode()

    def __len__(self) -> int:
        return len(self.articles)

    def path(self, index: int) -> str:
        return self.articles[index].path

    def url(self, index: int) -> str:
        return self.base + self.path(index)


class CorpusPages(Pages):
    """Real pages from a corpus folder (html/*.html.gz), cycled to `count` addresses.
    Repeats are the same text, so the archive stores them as duplicates: compare pages
    processed per second, not new stories."""

    def __init__(self, count: int, corpus: Path, base: str = "http://bench.invalid") -> None:
        import gzip

        self.html = [gzip.decompress(p.read_bytes()) for p in sorted(corpus.glob("html/*.gz"))]
        if not self.html:
            raise SystemExit(f"{corpus}: no html/*.html.gz pages")
        self.count = count
        self.base = base
        self.articles = []

    def __len__(self) -> int:
        return self.count

    def render(self, index: int) -> bytes:
        return self.html[index % len(self.html)]

    def path(self, index: int) -> str:
        return f"/corpus/{index}/"

    def url(self, index: int) -> str:
        return self.base + self.path(index)


def serve(source: Pages) -> NewsSite:
    site = NewsSite(source.articles, "Bench Gazette").start()
    source.base = site.base
    html = {"Content-Type": "text/html; charset=utf-8"}
    for index in range(len(source)):

        def page(request: Request, i: int = index) -> Response:
            return Response(200, source.render(i), html)

        site.routes[source.path(index)] = page
    if isinstance(source, CorpusPages):
        urls = "".join(f"<url><loc>{source.url(i)}</loc></url>" for i in range(len(source)))
        sitemap = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9">{urls}</urlset>'
        ).encode()
        site.routes["/sitemap_index.xml"] = lambda r: Response(
            200, sitemap, {"Content-Type": "application/xml"}
        )
        site.routes["/feed.xml"] = lambda r: Response(404)
    return site


# --- memory of a process tree ---------------------------------------------------------


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of one process."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss = self.pss = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            totals = [_memory(p) for p in process_tree(self.pid)]
            self.rss = max(self.rss, sum(t[0] for t in totals))
            self.pss = max(self.pss, sum(t[1] for t in totals))
            # Every 0.2 s: reading smaps_rollup walks each process's page tables, and
            # sampling much faster than this took ~10% of a core from the run measured.
            self._done.wait(0.2)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


# --- the contestants ------------------------------------------------------------------


def _trafilatura_one(job: tuple[bytes, str, bool]) -> int:
    import trafilatura

    html, url, metadata = job
    text = trafilatura.extract(html, url=url, include_comments=False, with_metadata=metadata)
    return len(text or "")


def plain_trafilatura(source: Pages, metadata: bool) -> dict[str, Any]:
    def jobs() -> Iterator[tuple[bytes, str, bool]]:
        for i in range(len(source)):
            yield source.render(i), source.url(i), metadata

    context = multiprocessing.get_context("forkserver")
    with context.Pool(CORES) as pool:
        pool.map(_trafilatura_one, [(source.render(0), source.url(0), metadata)] * CORES)
        started = time.perf_counter()
        extracted = sum(1 for n in pool.imap_unordered(_trafilatura_one, jobs(), 8) if n)
        wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "extracted": extracted,
        "articles_per_s": round(len(source) / wall, 1),
    }


def newsarchive_run(
    site: NewsSite, work: Path, capture: bool, db: str = "news.db", workers: int | None = None
) -> dict[str, Any]:
    config = {
        "archive": db,
        "fetch": {"concurrency": 64, "timeout": 60},
        "defaults": {
            "delay": 0,
            "host_concurrency": 4,
            "max_articles": 10_000_000,
            "capture": capture,
        },
        "sources": [
            {
                "name": "bench",
                "url": site.base + "/",
                "feeds": [site.base + "/feed.xml"],
                "sitemaps": [site.base + "/sitemap_index.xml"],
            }
        ],
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "sources.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "pipeline", "run", "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    sampler = Sampler(proc.pid)
    out, err = proc.communicate()
    sampler.stop()
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"newsarchive run failed ({proc.returncode}): {err[-2000:]}")
    summary = json.loads(out)
    new = summary["totals"]["new"]
    pages_done = summary["totals"]["attempted"]  # new stories, duplicates, skipped
    cpu = summary["cpu_seconds"]
    per = {k: round(1000 * v / max(pages_done, 1), 2) for k, v in cpu.items() if k != "main"}
    return {
        "wall_s": round(wall, 2),
        "new": new,
        "pages": pages_done,
        "articles_per_s": round(pages_done / wall, 1),
        "peak_rss_mb": round(sampler.rss / 2**20),
        "peak_pss_mb": round(sampler.pss / 2**20),
        "cpu_ms_per_article": per,
        "requests": summary["requests"],
    }


def trafilatura_cli(source: Pages, work: Path) -> dict[str, Any]:
    urls = work / "urls.txt"
    urls.write_text("\n".join(source.url(i) for i in range(len(source))) + "\n")
    settings = work / "trafilatura.cfg"
    settings.write_text(
        "[DEFAULT]\nDOWNLOAD_TIMEOUT = 30\nMAX_FILE_SIZE = 20000000\n"
        "MIN_FILE_SIZE = 10\nSLEEP_TIME = 0\nUSER_AGENTS =\nCOOKIE =\n"
        "MAX_REDIRECTS = 2\nSSRF_PROTECTION = off\nINSECURE_SSL_FALLBACK = on\n"
        "MIN_EXTRACTED_SIZE = 250\nMIN_OUTPUT_SIZE = 1\n"
        "MIN_OUTPUT_COMM_SIZE = 1\nMAX_TREE_SIZE =\nEXTRACTION_TIMEOUT = 0\n"
        "MIN_DUPLCHECK_SIZE = 100\nMAX_REPETITIONS = 2\nEXTENSIVE_DATE_SEARCH = on\n"
        "EXTERNAL_URLS = off\n"
    )
    out = work / "trafilatura-out"
    binary = Path(sys.executable).with_name("trafilatura")
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(binary),
            "-i",
            str(urls),
            "-o",
            str(out),
            "--parallel",
            str(CORES * 4),
            "--no-comments",
            "--config-file",
            str(settings),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    wall = time.perf_counter() - started
    # The CLI starts a new numbered sub-directory every 1,000 files.
    files = sum(1 for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    return {
        "wall_s": round(wall, 2),
        "extracted": files,
        "articles_per_s": round(files / wall, 1),
        "exit": done.returncode,
    }


def news_please(source: Pages, python: str) -> dict[str, Any]:
    script = (
        "import sys, time, json\nfrom newsplease import NewsPlease\n"
        "urls = [u.strip() for u in sys.stdin if u.strip()]\nt = time.perf_counter()\n"
        "got = NewsPlease.from_urls(urls, request_args={'timeout': 60}, fetch_images=False)\n"
        "ok = sum(1 for a in got.values() if getattr(a, 'maintext', None))\n"
        "print(json.dumps({'wall': time.perf_counter() - t, 'ok': ok}))\n"
    )
    urls = "\n".join(source.url(i) for i in range(len(source)))
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", script],
        input=urls,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "wall_s": round(wall, 2),
        "extracted": result["ok"],
        "articles_per_s": round(result["ok"] / wall, 1),
    }


def archive_scale(sizes: list[int], work: Path) -> list[dict[str, Any]]:
    """A run finding 100 new stories, against archives already holding `size` distinct
    stories of the same source (built through the store, with its real indexes)."""
    from datetime import UTC, datetime

    from pipeline.models import Article, Candidate, PageResult
    from pipeline.store import Archive
    from pipeline.text import fingerprints

    out = []
    fresh = Pages(100, 150)
    for size in sizes:
        db = work / f"scale-{size}.db"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with Archive.open(db) as archive:
            for chunk in range(0, size, 1000):
                batch = []
                for story in synthetic_articles(min(1000, size - chunk), seed=10_000 + chunk):
                    text = "\n\n".join(story.paragraphs)
                    digest, signature = fingerprints(text)
                    url = f"https://old.example/{chunk}{story.path}"
                    art = Article(
                        url=url,
                        canonical_url=url,
                        text=text,
                        content_hash=digest,
                        title=story.title,
                        minhash=signature,
                    )
                    batch.append(
                        PageResult(
                            Candidate(url, "bench"), "article", stamp, article=art, final_url=url
                        )
                    )
                archive.save(batch, None)
        site = serve(fresh)
        try:
            result = newsarchive_run(site, work, capture=True, db=db.name)
        finally:
            site.stop()
        out.append({"stored_before": size, **result})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--page-kb", type=int, default=150)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--no-capture", action="store_true", help="run without WARC captures")
    parser.add_argument("--tools", action="store_true", help="also trafilatura's own CLI")
    parser.add_argument("--news-please", metavar="PYTHON", help="a python with news-please")
    parser.add_argument("--archive-scale", metavar="A,B", help="archive sizes to test")
    parser.add_argument(
        "--corpus",
        type=Path,
        help="serve these real pages instead "
        "(a folder with html/*.html.gz, e.g. ../shared/corpus/dev)",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip plain trafilatura (for memory runs of many pages)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure plain trafilatura and newsarchive N times, alternating which goes "
        "first, and report medians (a shared machine's speed drifts by 20%% and more)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    source = (
        CorpusPages(args.articles, args.corpus)
        if args.corpus
        else Pages(args.articles, args.page_kb)
    )
    sizes = [len(source.render(i)) for i in range(min(100, args.articles))]
    result: dict[str, Any] = {
        "articles": args.articles,
        "cores": CORES,
        "pages": str(args.corpus) if args.corpus else "synthetic",
        "avg_page_kb": round(sum(sizes) / len(sizes) / 1024),
    }
    if not args.no_baseline:
        result["trafilatura_pool_metadata"] = plain_trafilatura(source, metadata=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = serve(source)
        try:
            baseline: list[dict[str, Any]] = []
            ours: list[dict[str, Any]] = []
            for round_ in range(max(1, args.repeat)):
                order = ["baseline", "ours"] if round_ % 2 == 0 else ["ours", "baseline"]
                for who in order:
                    if who == "baseline" and not args.no_baseline:
                        baseline.append(plain_trafilatura(source, metadata=False))
                    elif who == "ours":
                        ours.append(
                            newsarchive_run(
                                site,
                                work / f"run-{round_}",
                                capture=not args.no_capture,
                                workers=args.workers,
                            )
                        )
            result["newsarchive"] = _median_run(ours)
            if baseline:
                result["trafilatura_pool"] = _median_run(baseline)
                ratios = sorted(
                    o["articles_per_s"] / b["articles_per_s"]
                    for o, b in zip(ours, baseline, strict=True)
                )
                result["ratios"] = [round(r, 2) for r in ratios]
                result["ratio_to_trafilatura_pool"] = round(statistics.median(ratios), 2)
            if args.tools:
                result["trafilatura_cli"] = trafilatura_cli(source, work)
            if args.news_please:
                result["news_please"] = news_please(source, args.news_please)
        finally:
            site.stop()
        if args.archive_scale:
            result["archive_scale"] = archive_scale(
                [int(n) for n in args.archive_scale.split(",")], work
            )
    _table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median articles/s (the lower middle one of an even count)."""
    ranked = sorted(runs, key=lambda r: r["articles_per_s"])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        chosen["all_articles_per_s"] = [r["articles_per_s"] for r in runs]
    return chosen


def _table(result: dict[str, Any]) -> None:
    print(
        f"{result['articles']} {result['pages']} pages of ~{result['avg_page_kb']} KB, "
        f"{result['cores']} cores"
    )
    print(f"{'':38} {'pages/s':>10} {'wall s':>8} {'peak PSS/RSS MB':>16}")
    rows = [
        (label, result[key])
        for label, key in (
            ("trafilatura.extract, Pool(all cores)", "trafilatura_pool"),
            ("  ... with_metadata=True", "trafilatura_pool_metadata"),
            ("newsarchive run (fetch+extract+store)", "newsarchive"),
        )
        if key in result
    ]
    for name in ("trafilatura_cli", "news_please"):
        if name in result:
            rows.append((name.replace("_", " "), result[name]))
    for label, row in rows:
        memory = f"{row['peak_pss_mb']}/{row['peak_rss_mb']}" if "peak_pss_mb" in row else ""
        print(
            f"{label:38} {row.get('articles_per_s', '-'):>10} {row.get('wall_s', '-'):>8} "
            f"{memory:>16}"
        )
    for label, key in (("newsarchive", "newsarchive"), ("trafilatura", "trafilatura_pool")):
        if "all_articles_per_s" in result.get(key, {}):
            print(f"{label} pages/s over the rounds: {result[key]['all_articles_per_s']}")
    if "ratio_to_trafilatura_pool" in result:
        spread = f" (per round: {result['ratios']})" if len(result["ratios"]) > 1 else ""
        print(
            f"ratio newsarchive / trafilatura pool: {result['ratio_to_trafilatura_pool']}{spread}"
        )
    print("CPU ms per article by stage:", result["newsarchive"]["cpu_ms_per_article"])
    for row in result.get("archive_scale", []):
        print(
            f"archive of {row['stored_before']}: a run finding {row['new']} new: "
            f"{row['wall_s']} s wall, CPU ms/article {row['cpu_ms_per_article']}"
        )


if __name__ == "__main__":
    main()
