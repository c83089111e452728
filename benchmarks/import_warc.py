"""WARC import throughput: `newsarchive import-warc` on a WARC of N article pages.

    python benchmarks/import_warc.py [--articles 1000] [--bloat-kb 100] [--json out.json]
    python benchmarks/import_warc.py --cluster local:2 --files 8   # import-warc --cluster

Writes a gzipped WARC of N synthetic news pages with warcio (padded by --bloat-kb to the
size of real pages), imports it into a fresh archive with the real CLI, and reports
articles per second, wall time and the archive's size. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.synth

from pipeline.demo import pages
from tests.synth import synthetic_articles

REPO = Path(__file__).resolve().parents[1]


def write_warc(path: Path, count: int, bloat_kb: int, part: tuple[int, int] = (0, 1)) -> int:
    """Every `part[1]`-th of `count` articles, from the `part[0]`-th."""
    base = "https://bench.example"
    size = 0
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        padding = pages.bloat(bloat_kb, "Bench")
        for article in synthetic_articles(count, seed=77)[part[0] :: part[1]]:
            html = pages.article_page(article, "Bench", base, [], [], padding=padding).encode()
            size += len(html)
            http = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    base + article.path,
                    "response",
                    payload=io.BytesIO(html),
                    length=len(html),
                    http_headers=http,
                )
            )
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--bloat-kb", type=int, default=100)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--cluster", help="local:N or tcp://HOST:PORT (import-warc --cluster)")
    parser.add_argument("--files", type=int, default=1, help="split the pages over N WARCs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        warcs = [work / f"bench-{i}.warc.gz" for i in range(args.files)]
        html_bytes = sum(
            write_warc(w, args.articles, args.bloat_kb, (i, args.files))
            for i, w in enumerate(warcs)
        )
        command = [
            sys.executable,
            "-m",
            "pipeline",
            "import-warc",
            *map(str, warcs),
            "--db",
            str(work / "news.db"),
            "--json",
        ]
        if args.workers is not None:
            command += ["--workers", str(args.workers)]
        if args.cluster:
            command += ["--cluster", args.cluster]
        started = time.perf_counter()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        report = json.loads(done.stdout)
        result = {
            "articles": args.articles,
            "avg_page_kb": round(html_bytes / args.articles / 1024),
            "files": args.files,
            "cluster": args.cluster,
            "warc_mb": round(sum(w.stat().st_size for w in warcs) / 2**20, 1),
            "cores": os.cpu_count(),
            "wall_s": round(wall, 2),
            "import_s": round(report["seconds"], 2),
            "new": report["new"],
            "articles_per_s": round(report["new"] / wall, 1),
        }
        if args.cluster:
            new = max(1, report["new"])
            result |= {
                "startup_s": round(report["startup_seconds"], 2),
                "after_startup_per_s": round(new / (wall - report["startup_seconds"]), 1),
                "writer_cpu_ms_per_story": round(1000 * report["cpu_writer"] / new, 2),
                "extract_cpu_ms_per_page": round(1000 * report["cpu_extract"] / new, 2),
                "task_cpu_ms_per_page": round(1000 * report["cpu_tasks"] / new, 2),
            }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
