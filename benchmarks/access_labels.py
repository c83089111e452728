"""How many real pages get a label other than `ok` (docs/access.md)?

Runs the archive's extraction (and so its access classifier, extract/access.py) over
the shared corpora's pages, decoded as benchmarks/trafilatura_eval.py decodes them,
and counts the labels. Real stories should be `ok`: every other label is either a
page that really is a wall or a paywalled story, or a mislabel to look at.

    python benchmarks/access_labels.py ../shared/corpus/dev ../shared/corpus/meta-dev \
        ../shared/corpus/trafilatura-eval --workers 2
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.decode import decide_encoding, to_text
from pipeline.extract.extractor import explain


def _index(corpus: Path) -> dict[str, str]:
    """Page name -> its URL (empty when the corpus has none)."""
    for name in ("expected.json", "ground-truth.json"):
        if (corpus / name).exists():
            data = json.loads((corpus / name).read_text("utf-8"))
            return {k: (v.get("url") or "") for k, v in data.items()}
    return {p.name.removesuffix(".html.gz"): "" for p in (corpus / "html").glob("*.html.gz")}


def _label(task: tuple[str, str, str]) -> tuple[str, str, str, bool]:
    """(name, label, reason, stored) of one page."""
    corpus, name, url = task
    with gzip.open(Path(corpus) / "html" / f"{name}.html.gz", "rb") as handle:
        body = handle.read()
    html = to_text(body, decide_encoding(body, "text/html"))
    article, why = explain(html, url or f"https://corpus.example/{name}/page")
    return name, why.access, why.access_reason, article is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    for corpus in args.corpora:
        pages = _index(corpus)
        tasks = [(str(corpus.resolve()), n, u) for n, u in sorted(pages.items())]
        with multiprocessing.get_context("forkserver").Pool(args.workers) as pool:
            results = list(pool.imap_unordered(_label, tasks, chunksize=4))
        labels = Counter(label for _, label, _, _ in results)
        print(
            f"{corpus}: {len(results)} pages: " + ", ".join(f"{k} {v}" for k, v in labels.items())
        )
        for name, label, reason, stored in sorted(results):
            if label != "ok":
                print(f"  {label:<13} {'stored' if stored else 'not stored'}  {name} {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
