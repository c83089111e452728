"""`import-warc --cluster` on a LocalCluster (real worker processes) and Parquet export.

WARC inputs are served over HTTP on 127.0.0.1 where a test needs to see (or stop) the
worker that reads them: the server knows which process holds each connection.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
import pytest

from pipeline.demo import pages
from pipeline.demo.pages import SiteArticle
from pipeline.models import Capture
from pipeline.warc.capture import read_capture
from tests.synth import synthetic_articles

from .cluster_helpers import BASE, Files, write_warc
from .conftest import REPO, query, run_cli

pytestmark = pytest.mark.timeout(400)


@pytest.fixture
def stories() -> list[SiteArticle]:
    return synthetic_articles(14, seed=15)


def two_warcs(directory: Path, arts: list[SiteArticle]) -> tuple[Path, Path]:
    """Two WARC files with copies across them: the same URL again, the same text under
    another URL, a page that is no article and a 404."""
    first = [(a.path, a) for a in arts[:8]]
    first.append(("/about", b"<html><body><p>Contact us.</p></body></html>"))
    second = [(a.path, a) for a in arts[5:]]  # 5, 6, 7 are in both files
    for art in arts[:3]:  # the same stories at another address that does not say so
        html = pages.article_page(art, "Gazette", BASE, [], [])
        html = re.sub(r'<link rel="canonical"[^>]*>', "", html)
        second.append((f"/mirror{art.path}", html.encode()))
    a = write_warc(directory / "first.warc.gz", first)
    b = write_warc(directory / "second.warc.gz", second)
    write_warc(directory / "gone.warc.gz", [("/gone", arts[0])], status=404)
    return a, b


def archive_state(db: Path) -> dict[str, Any]:
    return {
        "articles": query(
            db,
            "SELECT a.url, a.canonical_url, a.source, a.content_hash, a.title, a.text,"
            " n.canonical_url FROM articles a LEFT JOIN articles n ON n.id = a.near_duplicate_of"
            " ORDER BY a.canonical_url",
        ),
        "duplicates": query(
            db,
            "SELECT d.url, d.canonical_url, d.content_hash, a.canonical_url FROM duplicates d"
            " JOIN articles a ON a.id = d.article_id ORDER BY d.url",
        ),
        "urls": query(db, "SELECT url, state FROM urls ORDER BY url"),
    }


def test_embedded_import_does_not_load_dask(tmp_path: Path) -> None:
    code = (
        "import sys, pipeline.jobs.offline, pipeline.cli.warcs, pipeline.export.formats,"
        " pipeline.export.tree;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('dask', 'distributed', 'pyarrow')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.stdout.strip() == "[]"


def test_cluster_import_stores_what_the_embedded_one_does(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    a, b = two_warcs(tmp_path, stories)
    gone = tmp_path / "gone.warc.gz"
    embedded = tmp_path / "embedded" / "news.db"
    clustered = tmp_path / "clustered" / "news.db"
    args = (str(a), str(b), str(gone), "--json")
    one = run_cli("import-warc", *args, "--db", str(embedded), "--workers", "1", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    many = run_cli(
        "import-warc", *args, "--db", str(clustered), "--cluster", "local:2", cwd=tmp_path
    )
    assert many.returncode == 0, many.stderr
    want, got = json.loads(one.stdout), json.loads(many.stdout)
    for key in ("responses", "new", "duplicate", "skipped", "damaged", "failed"):
        assert got[key] == want[key], key
    # A URL met again is `known` once saved, `unchanged` while its first copy waits in
    # the batch (the embedded path saves as extraction finishes; the writer per shard).
    again = ("known", "unchanged", "revised")
    assert sum(got[k] for k in again) == sum(want[k] for k in again) == 3
    assert (want["new"], want["duplicate"]) == (14, 3)
    assert archive_state(clustered) == archive_state(embedded)
    # The archive points into the tasks' own WARC files, named after their inputs.
    root = clustered.parent
    rows = query(clustered, "SELECT warc_file, warc_offset, warc_length, url FROM articles")
    assert {Path(r[0]).name.split("-")[0] for r in rows} == {"first", "second"}
    for file, offset, length, url in rows:
        assert read_capture(root, Capture(file, offset, length), 10**7).url == url
    assert query(clustered, "SELECT input, state, attempts FROM import_files ORDER BY input") == [
        (str(a), "loaded", 1),
        (str(gone), "loaded", 1),
        (str(b), "loaded", 1),
    ]
    again = run_cli(
        "import-warc", *args, "--db", str(clustered), "--cluster", "local:1", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["loaded_before"], report["submitted"], report["new"]) == (3, 0, 0)


def test_two_tasks_run_at_once_in_two_worker_processes(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    """Each file is served only once both files are being fetched: the import finishes
    only if two tasks run at the same time, in two processes that are not the client."""
    write_warc(tmp_path / "one.warc.gz", [(a.path, a) for a in stories[:4]])
    write_warc(tmp_path / "two.warc.gz", [(a.path, a) for a in stories[4:8]])
    both = threading.Barrier(2, timeout=120)
    parents: dict[str, int] = {}

    def meet(name: str, pid: int | None) -> bool:
        assert pid is not None
        parents[name] = psutil.Process(pid).ppid()
        both.wait()
        return True

    with Files(tmp_path, meet) as files:
        done = run_cli(
            "import-warc",
            files.url("one.warc.gz"),
            files.url("two.warc.gz"),
            "--db",
            str(tmp_path / "c" / "news.db"),
            "--cluster",
            "local:2",
            "--json",
            cwd=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    assert not both.broken
    assert json.loads(done.stdout)["new"] == 8
    one, two = files.pids["one.warc.gz"][0], files.pids["two.warc.gz"][0]
    assert one is not None and two is not None and one != two
    # Both are worker processes the client (the `newsarchive` process) started.
    client = parents["one.warc.gz"]
    assert parents["two.warc.gz"] == client and client not in (one, two)


def test_a_worker_killed_mid_task_has_its_file_run_again_and_stored_once(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    write_warc(tmp_path / "victim.warc.gz", [(a.path, a) for a in stories[:6]])
    write_warc(tmp_path / "other.warc.gz", [(a.path, a) for a in stories[6:10]])
    killed: list[int] = []

    def kill_first_reader(name: str, pid: int | None) -> bool:
        if name == "victim.warc.gz" and not killed:
            assert pid is not None
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)  # the Dask worker process fetching it
            return False
        return True

    db = tmp_path / "c" / "news.db"
    with Files(tmp_path, kill_first_reader) as files:
        done = run_cli(
            "import-warc",
            files.url("victim.warc.gz"),
            files.url("other.warc.gz"),
            "--db",
            str(db),
            "--cluster",
            "local:2",
            "--json",
            cwd=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    assert files.gets["victim.warc.gz"] == 2 and len(killed) == 1
    assert files.pids["victim.warc.gz"][1] != killed[0]  # run again in a new worker
    assert query(db, "SELECT count(*), count(DISTINCT content_hash) FROM articles") == [(10, 10)]
    assert json.loads(done.stdout)["new"] == 10


def test_a_file_whose_workers_keep_dying_is_marked_failed_and_the_rest_stored(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    write_warc(tmp_path / "poison.warc.gz", [(a.path, a) for a in stories[:3]])
    write_warc(tmp_path / "fine.warc.gz", [(a.path, a) for a in stories[3:6]])

    def kill_every_reader(name: str, pid: int | None) -> bool:
        if name != "poison.warc.gz":
            return True
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        return False

    db = tmp_path / "c" / "news.db"
    with Files(tmp_path, kill_every_reader) as files:
        poison = files.url("poison.warc.gz")
        args = ("import-warc", poison, files.url("fine.warc.gz"), "--db", str(db))
        done = run_cli(*args, "--cluster", "local:2", cwd=tmp_path)
    assert done.returncode == 1
    assert f"{poison}: the workers running it died 3 times" in done.stderr
    assert files.gets["poison.warc.gz"] == 3
    assert dict(query(db, "SELECT input, state FROM import_files WHERE input = ?", (poison,))) == {
        poison: "failed"
    }
    assert query(db, "SELECT count(*) FROM articles") == [(3,)]


def test_a_file_that_cannot_be_fetched_is_retried_then_marked_failed(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    write_warc(tmp_path / "fine.warc.gz", [(a.path, a) for a in stories[:3]])
    db = tmp_path / "c" / "news.db"
    with Files(tmp_path) as files:
        done = run_cli(
            "import-warc",
            files.url("missing.warc.gz"),
            files.url("fine.warc.gz"),
            "--db",
            str(db),
            "--cluster",
            "local:2",
            cwd=tmp_path,
        )
    assert done.returncode == 1
    assert "missing.warc.gz" in done.stderr and "Traceback" not in done.stderr
    assert files.gets["missing.warc.gz"] == 3  # the first try and two retries
    states = dict(query(db, "SELECT input, state FROM import_files"))
    assert states == {files.url("missing.warc.gz"): "failed", files.url("fine.warc.gz"): "loaded"}
    assert query(db, "SELECT count(*) FROM articles") == [(3,)]


def test_killing_the_client_mid_run_then_rerunning_runs_only_the_rest(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    names = [f"part{i}.warc.gz" for i in range(4)]
    for i, name in enumerate(names):
        write_warc(tmp_path / name, [(a.path, a) for a in stories[i * 3 : i * 3 + 3]])
    db = tmp_path / "c" / "news.db"
    client: list[subprocess.Popen[str]] = []

    def loaded() -> int:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM import_files WHERE state = 'loaded'"
                ).fetchone()
            return int(row[0])
        except sqlite3.Error:
            return 0

    def kill_at_third(name: str, pid: int | None) -> bool:
        if name != "part2.warc.gz" or not client:
            return True
        deadline = time.monotonic() + 120
        while loaded() < 2 and time.monotonic() < deadline:
            threading.Event().wait(0.05)  # the client loading the first two shards
        os.killpg(client[0].pid, signal.SIGKILL)
        return False

    with Files(tmp_path, kill_at_third) as files:
        urls = [files.url(n) for n in names]
        args = ["import-warc", *urls, "--db", str(db), "--cluster", "local:2", "--json"]
        env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
        command = [sys.executable, "-m", "pipeline", *args]
        client.append(
            subprocess.Popen(command, cwd=tmp_path, env=env, text=True, start_new_session=True)
        )
        assert client[0].wait(timeout=300) == -signal.SIGKILL
        first = dict(files.gets)
        client.clear()
        done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["loaded_before"] == 2
    assert files.gets["part0.warc.gz"] == first["part0.warc.gz"] == 1
    assert files.gets["part1.warc.gz"] == first["part1.warc.gz"] == 1
    assert files.gets["part2.warc.gz"] == 2
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT count(*), count(DISTINCT canonical_url) FROM articles") == [(12, 12)]
    assert query(db, "SELECT count(*) FROM import_files WHERE state = 'loaded'") == [(4,)]


def test_parquet_export_reads_back_as_the_archive_rows(tmp_path: Path) -> None:
    arts = synthetic_articles(5, seed=8)
    unicode = "Zürich: «naïve» café — 東京 😀 \u202eevil"
    arts[0] = dataclasses.replace(
        arts[0],
        title=unicode,
        paragraphs=(unicode + " " + arts[0].paragraphs[0], *arts[0].paragraphs[1:]),
        authors=("Zoë Ångström",),
    )
    warc = write_warc(tmp_path / "in.warc.gz", [(a.path, a) for a in arts])
    db = tmp_path / "news.db"
    assert run_cli("import-warc", str(warc), "--db", str(db), cwd=tmp_path).returncode == 0
    done = run_cli("export", "--db", str(db), "--format", "parquet", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(tmp_path / "out")
    got = sorted(table.to_pylist(), key=lambda r: r["id"])
    columns = "id, url, canonical_url, source, title, text, content_hash, published, minhash"
    want = query(db, f"SELECT {columns} FROM articles ORDER BY id")
    assert [tuple(r[c.strip()] for c in columns.split(",")) for r in got] == want
    (odd,) = [r for r in got if "東京 😀" in (r["title"] or "")]  # the values are equal above
    assert "Zürich: «naïve» café" in odd["title"] and odd["authors"] == ["Zoë Ångström"]
    authors = query(db, "SELECT authors FROM articles ORDER BY id")
    assert [r["authors"] for r in got] == [json.loads(a[0] or "[]") for a in authors]
    assert {r["status"] for r in got} == {"exported"}


class _FakeClient:
    def __init__(self, theirs: dict[str, dict[str, Any]]) -> None:
        self.theirs = theirs

    def run(self, fn: Callable[[], Any]) -> dict[str, dict[str, Any]]:
        return self.theirs


def test_workers_that_differ_from_the_client_are_refused_up_front() -> None:
    from pipeline.errors import ClusterError
    from pipeline.jobs.cluster import check_workers, facts

    mine = facts()
    assert check_workers(_FakeClient({"tcp://a:1": mine, "tcp://b:1": mine})) == 2  # type: ignore[arg-type]
    older = {**mine, "newsarchive": "0.0.1"}
    with pytest.raises(
        ClusterError, match=r"version skew: worker tcp://b:1 has newsarchive 0\.0\.1"
    ):
        check_workers(_FakeClient({"tcp://a:1": mine, "tcp://b:1": older}))  # type: ignore[arg-type]
    with pytest.raises(ClusterError, match="DASK_DISTRIBUTED__WORKER__DAEMON=False"):
        check_workers(_FakeClient({"tcp://a:1": {**mine, "daemon": True}}))  # type: ignore[arg-type]
    with pytest.raises(ClusterError, match="no workers"):
        check_workers(_FakeClient({}))  # type: ignore[arg-type]


def test_a_task_fails_a_hostile_page_alone_and_skips_a_damaged_record(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    """One task, in this process: a page over the time limit becomes a failed row, a
    damaged record is counted, the other pages are rows of the shard."""
    from pipeline.extract.workers import ExtractPool
    from pipeline.jobs.shardtask import Snapshot, extract_file
    from pipeline.warc.shards import read_shard

    html = pages.article_page(stories[0], "Gazette", BASE, [], [])
    main = html.index("<main")
    deep = (html[:main] + "<div>" * 200_000 + html[main:]).encode()
    warc = write_warc(
        tmp_path / "in.warc.gz",
        [(stories[1].path, stories[1]), ("/deep/", deep), (stories[2].path, stories[2])],
    )
    whole = warc.read_bytes()
    warc.write_bytes(whole + whole[: len(whole) // 3])  # a copy cut short: damage at the end
    shards = tmp_path / "shards"
    with ExtractPool(1, timeout=2.0) as pool:
        result = extract_file(str(warc), Snapshot(None, (), {}), shards, pool, tmp_path)
    rows = list(read_shard(shards / result.shard))
    assert [(r["url"].removeprefix(BASE), r["status"]) for r in rows[:3]] == [
        (stories[1].path, "article"),
        ("/deep/", "failed"),
        (stories[2].path, "article"),
    ]
    assert "took over" in rows[1]["reason"]
    assert result.counts["damaged"] >= 1 and result.counts["failed"] >= 1
    assert not list(shards.glob(".*.tmp"))  # only the finished shard is there


def test_manifests_list_inputs_gzipped_or_plain_relative_to_a_base_url(tmp_path: Path) -> None:
    import gzip

    from pipeline.errors import UsageError
    from pipeline.jobs.offline import expand_inputs

    lines = "# CC-NEWS, two files\ncrawl-data/a.warc.gz\n\n/data/b.warc.gz\ns3://bucket/c.warc.gz\n"
    (tmp_path / "paths.gz").write_bytes(gzip.compress(lines.encode()))
    (tmp_path / "paths.txt").write_text(lines)
    base = "https://data.example.org/"
    assert expand_inputs(["x.warc", f"@{tmp_path / 'paths.gz'}"], base) == [
        "x.warc",
        "https://data.example.org/crawl-data/a.warc.gz",
        "/data/b.warc.gz",
        "s3://bucket/c.warc.gz",
    ]
    assert expand_inputs([f"@{tmp_path / 'paths.txt'}"]) == [
        "crawl-data/a.warc.gz",
        "/data/b.warc.gz",
        "s3://bucket/c.warc.gz",
    ]
    with pytest.raises(UsageError, match=r"missing\.gz: cannot read it"):
        expand_inputs([f"@{tmp_path / 'missing.gz'}"])


def test_a_task_records_why_a_page_is_not_a_story(
    tmp_path: Path, stories: list[SiteArticle]
) -> None:
    """A skipped row says why, as the embedded import does (its reason reaches the
    archive when the shard is loaded)."""
    from pipeline.extract.workers import ExtractPool
    from pipeline.jobs.shardtask import Snapshot, extract_file
    from pipeline.warc.shards import read_shard

    body = b'{"story": {"title": "Harbour", "text": "' + b"words " * 400 + b'"}}'
    warc = write_warc(tmp_path / "in.warc.gz", [(stories[0].path, stories[0]), ("/api/", body)])
    shards = tmp_path / "shards"
    with ExtractPool(0) as pool:
        result = extract_file(str(warc), Snapshot(None, (), {}), shards, pool, tmp_path)
    rows = list(read_shard(shards / result.shard))
    assert [(r["url"].removeprefix(BASE), r["status"]) for r in rows] == [
        (stories[0].path, "article"),
        ("/api/", "skipped"),
    ]
    assert rows[1]["reason"] == "JSON, not a page"


def test_a_shard_row_holds_the_story_columns_as_the_archive_stores_them(tmp_path: Path) -> None:
    """Same schema, same values: `modified` with an offset is stored in UTC by the
    archive, so a shard row (and an export's Parquet) holds it in UTC too."""
    from pipeline.models import Article, Candidate, PageResult
    from pipeline.store.archive import Archive
    from pipeline.warc.shards import story_row

    art = Article(
        url="https://example.org/a",
        canonical_url="https://example.org/a",
        text="One paragraph of the story.",
        content_hash="h1",
        title="A story",
        tags=("politics", "world"),
        published="2026-11-25T10:30:00+02:00",
        modified="2026-11-25T12:45:00+02:00",
    )
    with Archive.open(tmp_path / "a.db") as archive:
        result = PageResult(Candidate(art.url, "s"), "article", "2026-11-25T11:00:00Z", art)
        archive.save([result], None)
    stored = query(tmp_path / "a.db", "SELECT modified, published, title, tags FROM articles")
    row = story_row(art)
    assert row["modified"] == stored[0][0] == "2026-11-25T10:45:00Z"
    assert (row["published"], row["title"]) == stored[0][1:3]
    assert row["tags"] == json.loads(stored[0][3]) == ["politics", "world"]
