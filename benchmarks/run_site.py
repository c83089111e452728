"""End-to-end run benchmark: `newsarchive run` against a local site of N articles.

    python benchmarks/run_site.py --articles 1000 [--bloat-kb 0] [--workers N] [--json out.json]

Serves N synthetic news articles on 127.0.0.1 (feed, sitemaps, robots.txt), runs the real
CLI twice with politeness relaxed (delay 0), and reports for the first run articles/s,
wall time and the peak resident memory of the whole process tree (the run, the
forkserver and the extraction workers, sampled every 20 ms from /proc), and for the
second run (nothing new) its wall time and requests. `--demo` uses the bundled demo
site instead. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from proctree import process_tree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.synth

from pipeline.demo.site import NewsSite, load_demo_articles
from tests.synth import synthetic_articles

REPO = Path(__file__).resolve().parents[1]


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> int:
    """Resident memory of `root` and all its descendants, in bytes."""
    return sum(_rss(pid) for pid in process_tree(root))


def run_measured(args: list[str], cwd: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"run failed ({proc.returncode}): {err}")
    summary = json.loads(out)
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(peak / 2**20, 1),
        "new": summary["totals"]["new"],
        "requests": summary["requests"],
        "run_s": summary["seconds"],
        "cpu_main_s": summary["cpu_seconds"]["main"],
        "cpu_extract_s": summary["cpu_seconds"]["extract"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--bloat-kb", type=int, default=0, help="pad pages to real-page size")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--host-concurrency", type=int, default=16)
    parser.add_argument("--demo", action="store_true", help="the bundled demo site")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    if args.demo:
        name, articles, briefs = load_demo_articles()
        site = NewsSite(articles, name, briefs=briefs, bloat_kb=args.bloat_kb)
    else:
        site = NewsSite(synthetic_articles(args.articles), bloat_kb=args.bloat_kb)
    with site, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = {
            "archive": "news.db",
            "fetch": {"concurrency": 64},
            "defaults": {
                "delay": 0,
                "host_concurrency": args.host_concurrency,
                "max_articles": 1_000_000,
            },
            "sources": [{"name": "bench", "url": site.base + "/"}],
        }
        (work / "sources.yaml").write_text(yaml.safe_dump(config))
        extra = ["--workers", str(args.workers)] if args.workers is not None else []
        first = run_measured(["run", "--json", *extra], work)
        second = run_measured(["run", "--json", *extra], work)
    result = {
        "articles_on_site": len(site.articles),
        "bloat_kb": args.bloat_kb,
        "cores": os.cpu_count(),
        "first_run": first,
        "articles_per_s": round(first["new"] / first["wall_s"], 1),
        "no_change_run": second,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
