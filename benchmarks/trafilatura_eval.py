"""trafilatura's evaluation set scored the way its authors score it, ours against plain
trafilatura in the same run.

Usage:
    python benchmarks/trafilatura_eval.py CORPUS_DIR [--workers 2] [--output FILE.json]
        [--only ID ...] [--dump DIR] [--no-learn] [--cli]

CORPUS_DIR is ../shared/corpus/trafilatura-eval: `expected.json` mapping a page name to
{url, with: [snippets], without: [snippets], title?, author?, date?, ...} and the pages
as `html/<name>.html.gz` (UTF-8). Nothing from the corpus is copied anywhere.

Extractors, on the same pages, in one run (a multiprocessing Pool of --workers):
- ``trafilatura``: ``trafilatura.extract(html, url=url, fast=False,
  include_comments=False, include_tables=True)`` (its evaluation settings), asked for
  JSON with metadata so that one call gives the text and its title/author/date (the
  text is the same as the plain text output's);
- ``ours``: the story's whole text as the archive exports it (its standfirst, the lead
  under the headline, then its body: ``pipeline.text.story_text``), from
  ``pipeline.extract.extractor.extract`` with per-site boilerplate learnt
  as benchmarks/extraction.py does for corpus/dev: ``learn(min_pages=1,
  min_share=0.5)`` over our texts of the *other* pages of the same site (leave one out;
  most sites here have one page, so this rarely changes anything). --no-learn skips it.
  ``ours (body)`` is the body alone (``Article.text``, the column benchmarks/extraction.py
  scores against corpus/dev, whose truth leaves standfirsts out); this set's snippets
  count the lead as main text.

Snippets (the corpus README's method): for each page, a ``with`` snippet found in the
extracted text is a true positive, one missing a false negative; a ``without``
snippet found is a false positive, one absent a true negative; matching is on
whitespace-collapsed text, case-sensitive. Precision, recall and F1 are over all
snippets of all pages.

With --cli, the pages also go through the real CLI: written into one WARC (each page's
bytes as captured, under its URL, with the header ``Content-Type: text/html`` and no
charset), imported by ``newsarchive import-warc`` into a fresh archive, exported by
``newsarchive export --format jsonl``; ``ours (CLI)`` scores each page's exported story
(standfirst and text; nothing for a page stored as a copy of another, or not stored),
found by its address in canonical form. 37 entries of the corpus have no web address
(``hard::name.html``); a WARC record needs one, so they get
``https://<name>.invalid/page``.

Metadata, on the pages whose entry has a ``title`` key (851): agreement with the
expected value, an empty expected value agreeing only with an empty answer.
- title: equal after NFKC, case folding and whitespace folding;
- author: the same set of names (split at ";", ",", "&", " and ", " und "; a leading
  credit word like "By"/"Von" dropped; NFKC, case and whitespace folded). Ours is
  ``Article.author``, trafilatura's its author string;
- date: the same YYYY-MM-DD (ours is the page's local day: ``published`` keeps the
  publisher's offset).

Stages (ours): for each ``with`` snippet, whether it is in plain trafilatura's text of
the untouched page, in trafilatura's text of our pre-cleaned page (``Stages.extracted``),
after our line rules (``Stages.lines``) and in the final text (after the fallback to
plain extraction, ``Stages.text``) and in the stored article's text (``text``: empty
when the page was judged not a story). The table counts, per stage, the snippets it keeps
and the ones it loses or regains against the stage before.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.decode import decide_encoding, to_text
from pipeline.extract.boilerplate import learn
from pipeline.extract.extractor import extract_traced
from pipeline.models import ExtractOptions
from pipeline.text import story_text
from pipeline.urls import canonicalize, site_of

_NAME_SPLIT = re.compile(r"\s*(?:;|,|&|\band\b|\bund\b)\s*")
_CREDIT_WORD = re.compile(r"^(?:written by|by|von|par|por|di|autor|author)\b[:\s]*")
STAGES = ("plain", "extracted", "lines", "final", "text")


def collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def fold(text: str | list[str] | None) -> str:
    if isinstance(text, list):  # a few entries list their authors
        text = "; ".join(text)
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def author_key(value: str | list[str] | None) -> frozenset[str]:
    names = (_CREDIT_WORD.sub("", name).strip() for name in _NAME_SPLIT.split(fold(value)))
    return frozenset(name for name in names if name)


def snippet_hits(text: str, snippets: list[str]) -> list[bool]:
    flat = collapse(text)
    return [collapse(s) in flat for s in snippets]


def prf(tp: int, fn: int, fp: int, tn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (tp + tn) / (tp + fn + fp + tn) if tp + fn + fp + tn else 0.0,
    }


def read_page(corpus: Path, name: str) -> str:
    """The page decoded as the archive decodes a response whose header says only
    `text/html` (as `newsarchive import-warc` does with the corpus in a WARC)."""
    with gzip.open(corpus / "html" / f"{name}.html.gz", "rb") as handle:
        body = handle.read()
    return to_text(body, decide_encoding(body, "text/html"))


def run_trafilatura(html: str, url: str) -> dict[str, str]:
    out = trafilatura.extract(
        html,
        url=url or None,
        fast=False,
        include_comments=False,
        include_tables=True,
        output_format="json",
        with_metadata=True,
    )
    doc = json.loads(out) if out else {}
    return {
        "text": doc.get("text") or "",
        "title": doc.get("title") or "",
        "author": doc.get("author") or "",
        "date": doc.get("date") or "",
    }


def run_ours(html: str, url: str, options: ExtractOptions) -> dict[str, Any]:
    article, trace = extract_traced(html, url, options)
    return {
        "text": story_text(article.standfirst, article.text) if article else "",
        "body": article.text if article else "",
        "extracted": trace.extracted,
        "lines": "\n".join(trace.lines),
        "final": trace.text,
        "fallback": trace.fallback,
        "title": (article.title if article else "") or "",
        "author": (article.author if article else "") or "",
        "date": (article.published if article else "") or "",
    }


def _job(task: tuple[str, str, str, frozenset[str] | None, bool]) -> tuple[str, dict[str, Any]]:
    corpus, name, url, keys, with_plain = task
    html = read_page(Path(corpus), name)
    result: dict[str, Any] = {}
    start = time.perf_counter()
    if with_plain:
        result["trafilatura"] = run_trafilatura(html, url)
    middle = time.perf_counter()
    options = ExtractOptions(boilerplate=keys or frozenset())
    result["ours"] = run_ours(html, url, options)
    result["seconds"] = {"trafilatura": middle - start, "ours": time.perf_counter() - middle}
    return name, result


def run_pool(
    corpus: Path,
    tasks: list[tuple[str, str, str, frozenset[str] | None, bool]],
    workers: int,
) -> dict[str, dict[str, Any]]:
    if workers <= 1:
        return dict(_job(task) for task in tasks)
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        return dict(pool.imap_unordered(_job, tasks, chunksize=4))


def through_cli(
    corpus: Path, names: list[str], expected: dict[str, dict[str, Any]], workers: int
) -> dict[str, dict[str, str]]:
    """Each page's story (standfirst and text) and metadata as `newsarchive import-warc`
    stores it and `newsarchive export` writes it ("" for a page with no story of its own)."""
    repo = Path(__file__).resolve().parents[1]
    address = {n: web_address(n, expected[n]["url"]) for n in names}
    env = {**os.environ, "PYTHONPATH": str(repo)}
    with tempfile.TemporaryDirectory() as tmp:
        warc, db = Path(tmp) / "eval.warc.gz", Path(tmp) / "news.db"
        with open(warc, "wb") as handle:
            writer = WARCWriter(handle, gzip=True)
            for name in names:
                with gzip.open(corpus / "html" / f"{name}.html.gz", "rb") as page:
                    body = page.read()
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1")
                record = writer.create_warc_record(
                    address[name],
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=http,
                )
                writer.write_record(record)
        cli = [sys.executable, "-m", "pipeline"]
        config = ["--config", str(Path(tmp) / "sources.yaml")]  # none: every default
        imported = subprocess.run(
            [*cli, "import-warc", str(warc), "--db", str(db), "--workers", str(workers), *config],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if imported.returncode not in (0, 1):  # 1: some pages failed, said on stderr
            raise SystemExit(f"import-warc failed: {imported.stderr.strip()}")
        exported = subprocess.run(
            [*cli, "export", "--db", str(db), "--format", "jsonl", *config],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    stories: dict[str, dict[str, str]] = {}
    for line in exported.stdout.splitlines():
        row = json.loads(line)
        story = {
            "text": story_text(row["standfirst"], row["text"]),
            "title": row["title"] or "",
            "author": row["author"] or "",
            "date": row["published"] or "",
        }
        stories[canonicalize(row["url"]) or row["url"]] = story
    empty = {"text": "", "title": "", "author": "", "date": ""}
    return {n: stories.get(canonicalize(address[n]) or address[n], empty) for n in names}


def web_address(name: str, url: str) -> str:
    """`url`, or an address of its own for an entry without one (`hard::name.html`)."""
    if url.startswith(("http://", "https://")):
        return url
    return f"https://{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.invalid/page"


def learnt_keys(
    names: list[str], expected: dict[str, dict[str, Any]], texts: dict[str, str]
) -> dict[str, frozenset[str]]:
    by_site: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_site[site_of(expected[name].get("url") or "")].append(name)
    keys = {}
    for name in names:
        site = site_of(expected[name].get("url") or "")
        others = [texts[o] for o in by_site[site] if o != name] if site else []
        if others:
            found = learn(others, min_pages=1, min_share=0.5)
            if found:
                keys[name] = found
    return keys


def score(
    names: list[str], expected: dict[str, dict[str, Any]], texts: dict[str, str]
) -> dict[str, Any]:
    tp = fn = fp = tn = 0
    for name in names:
        hits = snippet_hits(texts[name], expected[name].get("with") or [])
        tp += sum(hits)
        fn += len(hits) - sum(hits)
        bad = snippet_hits(texts[name], expected[name].get("without") or [])
        fp += sum(bad)
        tn += len(bad) - sum(bad)
    return prf(tp, fn, fp, tn)


def meta_score(
    names: list[str], expected: dict[str, dict[str, Any]], results: dict[str, dict[str, str]]
) -> dict[str, dict[str, int]]:
    checks: dict[str, list[bool]] = defaultdict(list)
    for name in names:
        want = expected[name]
        if "title" not in want:
            continue
        got = results[name]
        checks["title"].append(fold(want.get("title")) == fold(got["title"]))
        checks["author"].append(author_key(want.get("author")) == author_key(got["author"]))
        checks["date"].append((want.get("date") or "")[:10] == (got["date"] or "")[:10])
    return {k: {"correct": sum(v), "total": len(v)} for k, v in checks.items()}


def stages(
    names: list[str],
    expected: dict[str, dict[str, Any]],
    plain: dict[str, str],
    ours: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Per stage: `with` snippets present, lost and regained against the stage before;
    `without` snippets present."""
    table: dict[str, Any] = {s: {"with": 0, "lost": 0, "gained": 0, "without": 0} for s in STAGES}
    for name in names:
        texts = {"plain": plain[name], **{s: ours[name][s] for s in STAGES[1:]}}
        for kind in ("with", "without"):
            snippets = expected[name].get(kind) or []
            previous: list[bool] | None = None
            for stage in STAGES:
                hits = snippet_hits(texts[stage], snippets)
                table[stage][kind] += sum(hits)
                if kind == "with" and previous is not None:
                    pairs = list(zip(previous, hits, strict=True))
                    table[stage]["lost"] += sum(1 for a, b in pairs if a and not b)
                    table[stage]["gained"] += sum(1 for a, b in pairs if b and not a)
                previous = hits
    table["fallback_pages"] = sum(1 for n in names if ours[n]["fallback"])
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="corpus folder (expected.json, html/)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--output", "-o", type=Path, help="JSON report path")
    parser.add_argument("--only", nargs="*", help="only these page names")
    parser.add_argument("--dump", type=Path, help="write each page's texts to DIR/<name>.json")
    parser.add_argument("--no-learn", action="store_true", help="no per-site learning")
    parser.add_argument("--cli", action="store_true", help="also score import-warc + export")
    args = parser.parse_args(argv)

    expected: dict[str, dict[str, Any]] = json.loads(
        (args.corpus / "expected.json").read_text("utf-8")
    )
    names = sorted(args.only or expected)
    corpus = str(args.corpus.resolve())
    start = time.perf_counter()
    tasks = [(corpus, n, expected[n].get("url") or "", None, True) for n in names]
    first = run_pool(args.corpus, tasks, args.workers)
    plain = {n: first[n]["trafilatura"] for n in names}
    ours = {n: first[n]["ours"] for n in names}
    seconds = {k: sum(first[n]["seconds"][k] for n in names) for k in ("trafilatura", "ours")}
    relearnt = 0
    if not args.no_learn:
        keys = learnt_keys(names, expected, {n: ours[n]["body"] for n in names})
        tasks = [(corpus, n, expected[n].get("url") or "", keys[n], False) for n in keys]
        second = run_pool(args.corpus, tasks, args.workers)
        relearnt = len(second)
        ours.update({n: second[n]["ours"] for n in second})
    wall = time.perf_counter() - start

    report: dict[str, Any] = {
        "corpus": str(args.corpus),
        "trafilatura_version": trafilatura.__version__,
        "pages": len(names),
        "pages_with_learnt_boilerplate": relearnt,
        "wall_seconds": wall,
        "cpu_seconds": seconds,
        "extractors": {},
    }
    body = {n: {**ours[n], "text": ours[n]["body"]} for n in names}
    runs: list[tuple[str, dict[str, Any]]] = [
        ("trafilatura", plain),
        ("ours", ours),
        ("ours (body)", body),
    ]
    if args.cli:
        runs.append(("ours (CLI)", through_cli(args.corpus, names, expected, args.workers)))
    for label, results in runs:
        report["extractors"][label] = {
            "snippets": score(names, expected, {n: results[n]["text"] for n in names}),
            "metadata": meta_score(names, expected, results),
        }
    report["stages"] = stages(names, expected, {n: plain[n]["text"] for n in names}, ours)
    print(table(report))
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for n in names:
            page = {"trafilatura": plain[n], "ours": ours[n], "expected": expected[n]}
            (args.dump / f"{n}.json").write_text(json.dumps(page, ensure_ascii=False), "utf-8")
    output = args.output or Path("extraction-trafilatura-eval.json")
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"\nwritten: {output}")
    return 0


def table(report: dict[str, Any]) -> str:
    head = f"{'extractor':<13}{'F1':>7}{'P':>7}{'R':>7}{'acc':>7}{'tp':>6}{'fn':>5}{'fp':>5}"
    head += f"{'title':>10}{'author':>10}{'date':>10}"
    rows = [head, "-" * len(head)]
    for name, ex in report["extractors"].items():
        s, m = ex["snippets"], ex["metadata"]
        cells = [f"{m[k]['correct']}/{m[k]['total']}" if k in m else "-" for k in STAGE_META]
        rows.append(
            f"{name:<13}{s['f1']:>7.3f}{s['precision']:>7.3f}{s['recall']:>7.3f}"
            f"{s['accuracy']:>7.3f}{s['tp']:>6}{s['fn']:>5}{s['fp']:>5}"
            f"{cells[0]:>10}{cells[1]:>10}{cells[2]:>10}"
        )
    rows.append("")
    rows.append(f"{'stage':<12}{'with':>7}{'lost':>7}{'gained':>8}{'without':>9}")
    for stage in STAGES:
        st = report["stages"][stage]
        rows.append(f"{stage:<12}{st['with']:>7}{st['lost']:>7}{st['gained']:>8}{st['without']:>9}")
    rows.append(f"pages falling back: {report['stages']['fallback_pages']}")
    rows.append(f"wall {report['wall_seconds']:.0f}s, cpu {report['cpu_seconds']}")
    return "\n".join(rows)


STAGE_META = ("title", "author", "date")

if __name__ == "__main__":
    raise SystemExit(main())
