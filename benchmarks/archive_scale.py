"""Read-side benchmark: search latency and export throughput on a large archive.

    python benchmarks/archive_scale.py [--articles 100000] [--db PATH] [--json out.json]
                                       [--repeat 20] [--no-tree]

Builds an archive of N synthetic stories through the store API (Archive.save with
PageResult/Article records, in batches of 1,000: the real schema, FTS triggers and
indexes), unless --db names one that already holds N stories. Then:

- search: each query of QUERIES through `queries.search` (what `newsarchive search`
  runs), warm, --repeat times: median and p95 latency; plus the whole command
  (`newsarchive search ... --json`, a new process each time) for one query;
- export: `newsarchive export` as a child process, jsonl and csv of everything, jsonl
  of a full-text query, and the txt tree (first export and idempotent re-export): wall
  time, stories/s, MB/s and the child's peak resident memory (wait4's ru_maxrss),
  next to the peak of an export of nothing (the interpreter and imports).

Texts are ~450 words drawn from a Zipf-distributed vocabulary: a few real news words at
fixed document frequencies (so queries hit 50%, 5%, 0.5%… of the archive) amid 20,000
pseudo-words. Seeded: every run builds the same archive. Reads nothing from the network.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.models import Article, Candidate, PageResult
from pipeline.store import Archive, queries
from pipeline.store.stats import stats as source_stats
from pipeline.text import content_hash

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("gazette", "courier", "herald", "kurier", "tribune")
LANGUAGES = ("en", "en", "en", "de", "fr")  # per source
# Marker words and the share of stories that contain each (document frequency).
MARKERS = {
    "council": 0.5,
    "harbour": 0.05,
    "ferry": 0.05,
    "lighthouse": 0.005,
    "referendum": 0.0005,
}
QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "common word (50%)": ("council", {}),
    "mid word (5%)": ("harbour", {}),
    "rare word (0.5%)": ("lighthouse", {}),
    "very rare (0.05%)": ("referendum", {}),
    "phrase": ('"harbour council"', {}),
    "AND": ("harbour AND ferry", {}),
    "OR": ("lighthouse OR referendum", {}),
    "NOT": ("harbour NOT ferry", {}),
    "prefix": ("harb*", {}),
    "title:": ("title:harbour", {}),
    "filtered: source+since": ("harbour", {"sources": ("gazette",), "since": "2026-01-01"}),
    "no match": ("zzzqqq", {}),
}


@dataclass(frozen=True)
class Corpus:
    words: list[str]
    weights: list[float]


def corpus(rng: random.Random, size: int = 20000) -> Corpus:
    consonants, vowels = "bcdfghklmnprstvwz", "aeiou"
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < size:
        length = rng.choice((2, 2, 3, 3, 4))
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length))
        if word not in seen and word not in MARKERS:
            seen.add(word)
            words.append(word)
    weights = [1 / (rank + 1) for rank in range(size)]  # Zipf
    return Corpus(words, weights)


def story(i: int, count: int, rng: random.Random, words: Corpus) -> PageResult:
    source = SOURCES[i % len(SOURCES)]
    body = rng.choices(words.words, words.weights, k=450)
    title = rng.choices(words.words[:3000], k=rng.randint(6, 11))
    for marker, share in MARKERS.items():
        if rng.random() < share:
            body.insert(rng.randrange(len(body)), marker)
            if rng.random() < 0.2:
                title.insert(rng.randrange(len(title)), marker)
    if "harbour" in body and rng.random() < 0.3:
        at = body.index("harbour")
        body.insert(at + 1, "council")
    paragraphs = [" ".join(body[k : k + 75]).capitalize() + "." for k in range(0, 450, 75)]
    text = "\n\n".join(paragraphs) + f" Ref {i}."
    month = i * 24 // count  # 2025-01 to 2026-12, evenly
    day = 1 + i % 28
    published = f"{2025 + month // 12}-{month % 12 + 1:02d}-{day:02d}T{i % 24:02d}:00:00Z"
    url = f"https://{source}.example/{published[:7].replace('-', '/')}/story-{i}/"
    article = Article(
        url=url,
        canonical_url=url,
        text=text,
        content_hash=content_hash(text),
        title=" ".join(title).capitalize(),
        authors=(f"Reporter {i % 97}",),
        published=published,
        language=LANGUAGES[SOURCES.index(source)],
        sitename=source.title(),
        tags=(rng.choice(("politics", "business", "sport", "culture")),),
        minhash=rng.randbytes(256),  # random signatures: the near-duplicate index is exercised
    )
    fetched = f"{published[:10]}T23:00:00Z"
    return PageResult(Candidate(url, source), "article", fetched, article=article, final_url=url)


def build(db: Path, count: int, seed: int = 4) -> float:
    rng = random.Random(seed)
    words = corpus(rng)
    started = time.perf_counter()
    with Archive.open(db) as archive:
        for start in range(0, count, 1000):
            batch = [story(i, count, rng, words) for i in range(start, min(count, start + 1000))]
            archive.save(batch, None)
            done = min(count, start + 1000)
            if done % 10000 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  built {done:,} stories ({rate:,.0f}/s)", file=sys.stderr)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_search(db: Path, repeat: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with Archive.open(db, readonly=True) as archive:
        for label, (query, filters) in QUERIES.items():
            f = queries.Filters(**filters)
            hits = queries.search(archive, query, f, limit=20)  # warm-up
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                queries.search(archive, query, f, limit=20)
                times.append((time.perf_counter() - began) * 1000)
            every = queries.Filters(**{**filters, "query": query})
            matching = sum(1 for _ in queries.export_rows(archive, every, columns=("id",)))
            out[label] = {
                "query": query,
                "filters": filters,
                "matches": matching,
                "hits": len(hits),
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(percentile(times, 0.95), 2),
            }
    return out


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def child(command: list[str], cwd: Path) -> tuple[float, int, int, bytes]:
    """Run `command`; (seconds, exit code, peak RSS in bytes, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    began = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    return seconds, process.returncode, usage.ru_maxrss * 1024, err


def bench_cli_search(db: Path, work: Path, repeat: int = 5) -> dict[str, Any]:
    times = []
    for _ in range(repeat):
        seconds, code, rss, err = child(cli("search", "harbour", "--db", str(db), "--json"), work)
        assert code == 0, err
        times.append(seconds * 1000)
    return {
        "command": "newsarchive search harbour --json",
        "median_ms": round(statistics.median(times), 1),
        "peak_rss_mb": round(rss / 2**20, 1),
    }


def bench_export(db: Path, work: Path, count: int, tree: bool) -> dict[str, dict[str, Any]]:
    runs: list[tuple[str, list[str], Path | None]] = [
        ("nothing (baseline)", ["--source", "none", "-o", str(work / "none.jsonl")], None),
        ("jsonl, all", ["--format", "jsonl", "-o", str(work / "all.jsonl")], work / "all.jsonl"),
        ("csv, all", ["--format", "csv", "-o", str(work / "all.csv")], work / "all.csv"),
        (
            "jsonl, --query harbour",
            ["--query", "harbour", "-o", str(work / "q.jsonl")],
            work / "q.jsonl",
        ),
        ("jsonl, to stdout", ["--format", "jsonl"], None),
    ]
    if tree:
        runs += [
            ("txt tree, first", ["--format", "txt", "-o", str(work / "txt")], work / "txt"),
            ("txt tree, again", ["--format", "txt", "-o", str(work / "txt")], work / "txt"),
        ]
    out: dict[str, dict[str, Any]] = {}
    for label, args, target in runs:
        seconds, code, rss, err = child(cli("export", "--db", str(db), *args), work)
        assert code == 0, err
        if target is None:
            size = 0
        elif target.is_dir():
            size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        else:
            size = target.stat().st_size
        rows = {"nothing (baseline)": 0, "jsonl, --query harbour": None}.get(label, count)
        if rows is None:
            with Archive.open(db, readonly=True) as archive:
                f = queries.Filters(query="harbour")
                rows = sum(1 for _ in queries.export_rows(archive, f, columns=("id",)))
        out[label] = {
            "stories": rows,
            "seconds": round(seconds, 2),
            "stories_per_s": round(rows / seconds) if rows else 0,
            "mb_per_s": round(size / 2**20 / seconds, 1) if size else None,
            "output_mb": round(size / 2**20, 1),
            "peak_rss_mb": round(rss / 2**20, 1),
        }
        print(f"  export {label}: {seconds:.1f} s", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="archive to use (built there if missing)")
    parser.add_argument("--repeat", type=int, default=20, help="runs per search query")
    parser.add_argument("--no-tree", action="store_true", help="skip the txt tree export")
    parser.add_argument("--json", type=Path, default=Path("archive-scale.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="archive-scale-") as tmp:
        work = Path(tmp)
        db = args.db or work / "scale.db"
        report: dict[str, Any] = {"articles": args.articles}
        existing = 0
        if db.exists():
            Archive.open(db).close()  # migrates an archive made by an older newsarchive
            with Archive.open(db, readonly=True) as archive:
                existing = sum(s.articles for s in source_stats(archive).values())
        if existing != args.articles:
            if existing:
                sys.exit(f"{db} holds {existing} stories, not {args.articles}")
            print(f"building {args.articles:,} stories in {db}", file=sys.stderr)
            seconds = build(db, args.articles)
            report["build"] = {
                "seconds": round(seconds, 1),
                "stories_per_s": round(args.articles / seconds),
            }
        report["db_mb"] = round(db.stat().st_size / 2**20, 1)
        print("searching", file=sys.stderr)
        report["search"] = bench_search(db, args.repeat)
        report["search_cli"] = bench_cli_search(db, work)
        print("exporting", file=sys.stderr)
        report["export"] = bench_export(db, work, args.articles, not args.no_tree)

    print(f"\nArchive: {args.articles:,} stories, {report['db_mb']:,} MB")
    if "build" in report:
        b = report["build"]
        print(f"Built through Archive.save in {b['seconds']} s ({b['stories_per_s']:,}/s)")
    print(f"\nSearch (queries.search, warm, {args.repeat} runs, limit 20)")
    print(f"{'query':<26}{'matches':>9}{'median ms':>11}{'p95 ms':>9}")
    for label, r in report["search"].items():
        print(f"{label:<26}{r['matches']:>9,}{r['median_ms']:>11}{r['p95_ms']:>9}")
    c = report["search_cli"]
    print(f"whole command ({c['command']}): median {c['median_ms']} ms, {c['peak_rss_mb']} MB")
    print("\nExport (newsarchive export, a child process)")
    print(f"{'what':<24}{'stories':>9}{'s':>8}{'stories/s':>11}{'MB/s':>7}{'peak RSS MB':>13}")
    for label, r in report["export"].items():
        mbs = r["mb_per_s"] if r["mb_per_s"] is not None else "-"
        print(
            f"{label:<24}{r['stories']:>9,}{r['seconds']:>8}{r['stories_per_s']:>11,}"
            f"{mbs:>7}{r['peak_rss_mb']:>13}"
        )
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
