"""When the machine misbehaves: a full disk, another process holding the database's
write lock, folders that cannot be made, inputs that are not what they claim. Each is
one line on stderr, the right exit code, no traceback, nothing archived lost."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.demo.site import NewsSite
from pipeline.store import Archive
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config
from .envfail_helpers import small_filesystem

NOISE = ("Traceback", "Event loop is closed", "never retrieved", "No space left")


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert not any(n in stderr for n in NOISE), stderr
    return lines[0]


# --- a full disk -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_site() -> Iterator[NewsSite]:
    with NewsSite(synthetic_articles(400, seed=5), "Disk Gazette") as served:
        yield served


def test_a_full_disk_stops_the_run_with_one_line(big_site: NewsSite, tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", "2m") as small:
        config = write_config(
            tmp_path,
            [{"name": "s", "url": big_site.base + "/"}],
            defaults={"max_articles": 1000, "host_concurrency": 8},
            archive=str(small / "news.db"),
        )
        env = {"NEWSARCHIVE_BUSY_TIMEOUT": "1"}
        first = run_cli("run", "--config", str(config), "--quiet", cwd=tmp_path, env=env)
        assert first.returncode == 1
        line = one_line(first.stderr)
        assert line.startswith("newsarchive: error: ") and "disk full" in line
        assert str(small) in line  # the path
        runs = query(small / "news.db", "SELECT status, exit_code FROM runs")
        assert runs == [("failed: disk full", 1)]
        stored = query(small / "news.db", "SELECT count(*) FROM articles")[0][0]
        requests = big_site.requests  # the run stopped fetching at the first failure
        assert stored < 400 and len(requests) < 300

        # Still full: one line again, no traceback (the lock file, the archive).
        again = run_cli("run", "--config", str(config), cwd=tmp_path, env=env)
        assert again.returncode == 1
        assert not any(n in again.stderr for n in NOISE), again.stderr
        assert "disk full" in again.stderr.splitlines()[0]
        assert len(again.stderr.strip().splitlines()) <= 2  # the error, the run's summary

        # With space again, the next run completes the work; nothing was lost.
        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        done = run_cli("run", "--config", str(config), "--quiet", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert query(small / "news.db", "SELECT count(*) FROM articles")[0][0] == 400
        statuses = [r[0] for r in query(small / "news.db", "SELECT status FROM runs")]
        assert statuses[0] == "failed: disk full" and statuses[-1] == "finished"


def test_a_lock_file_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", "64k") as small:
        with pytest.raises(OSError), open(small / "filler", "wb") as fh:
            fh.write(b"x" * 1_000_000)  # the disk is now full
        (tmp_path / "sources.yaml").write_text(
            f"archive: {small}/news.db\nsources:\n  - name: a\n    url: http://127.0.0.1:9/\n"
        )
        done = run_cli("run", cwd=tmp_path)
        assert done.returncode == 1
        line = one_line(done.stderr)
        assert "disk full" in line and str(small) in line


# --- another writer holds the database ---------------------------------------------------


class Writer:
    """A second process holding the archive's write lock (BEGIN IMMEDIATE) until told."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys\n"
                f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True)\n"
                "sys.stdin.readline()\n"
                "c.execute('ROLLBACK')\n",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()


def test_a_database_locked_at_start_waits_then_says_so(site: NewsSite, workdir: Path) -> None:
    config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
    assert run_cli("run", "--config", str(config), "-q", cwd=workdir).returncode == 0
    db = workdir / "archive" / "news.db"
    writer = Writer(db)
    try:
        done = run_cli(
            "run", "--config", str(config), cwd=workdir, env={"NEWSARCHIVE_BUSY_TIMEOUT": "0.5"}
        )
    finally:
        writer.release()
    assert done.returncode == 3
    line = one_line(done.stderr)
    assert "locked by another process" in line and str(db) in line and "0.5 s" in line
    assert query(db, "SELECT status FROM runs") == [("finished",)]  # no run row left open


def test_a_database_locked_mid_run_closes_the_run_row(tmp_path: Path) -> None:
    """A writer takes the lock while the run saves; the run stops, says why in one line
    and, once the lock is gone, the run row is closed, not left `running`."""
    from pipeline.config.loader import load
    from pipeline.jobs.run import run_archive

    with NewsSite(synthetic_articles(30, seed=9), "Busy Gazette") as site:
        config = load(
            write_config(tmp_path, [{"name": "s", "url": site.base + "/", "capture": False}])
        )
        db = tmp_path / "archive" / "news.db"
        with Archive.open(db, busy_timeout=0.3) as archive:
            writer: list[Writer] = []
            saves = 0
            real_save = archive.save

            def save(results, run_id):  # type: ignore[no-untyped-def]
                nonlocal saves
                saves += 1
                # Another process begins writing before the run's first save: a save
                # mid-run, whatever the machine's speed (a slow machine may save all
                # the pages in one batch, so a second save need not come).
                if saves == 1 and not writer:
                    writer.append(Writer(db))
                return real_save(results, run_id)

            archive.save = save  # type: ignore[method-assign]
            real_finish = archive.finish_run

            def finish(*args, **kwargs):  # type: ignore[no-untyped-def]
                assert writer, "the run ended before it saved anything"
                writer[0].release()  # the other process is done by the time the run ends
                return real_finish(*args, **kwargs)

            archive.finish_run = finish  # type: ignore[method-assign]
            try:
                report = asyncio.run(run_archive(config, archive, workers=0))
            finally:
                if writer and writer[0].process.poll() is None:
                    writer[0].release()
        assert report.exit_code == 1
        assert report.failure is not None and "locked by another process" in report.failure
        status = query(db, "SELECT status, exit_code FROM runs")
        assert status == [("failed: archive locked by another process", 1)]


# --- folders, inputs and requests that are not what they should be --------------------


@pytest.mark.parametrize("where", ["/proc/newsarchive-test", "ro-parent/archive"])
def test_an_archive_folder_that_cannot_be_made_is_one_line(tmp_path: Path, where: str) -> None:
    folder = Path(where) if where.startswith("/") else tmp_path / where
    if not where.startswith("/"):
        if __import__("os").geteuid() == 0:
            pytest.skip("root may write into a read-only folder")
        folder.parent.mkdir()
        folder.parent.chmod(0o555)
    (tmp_path / "sources.yaml").write_text(
        f"archive: {folder}/news.db\nsources:\n  - name: a\n    url: http://127.0.0.1:9/\n"
    )
    done = run_cli("run", cwd=tmp_path)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "cannot create the archive's folder" in line and str(folder) in line


def test_importing_a_file_that_is_not_a_warc_is_an_input_error(tmp_path: Path) -> None:
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    done = run_cli("import-warc", str(text), "--db", str(tmp_path / "news.db"), cwd=tmp_path)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "not a WARC or ARC file" in line and str(text) in line
    assert query(tmp_path / "news.db", "SELECT count(*) FROM articles") == [(0,)]


def test_a_rejected_sql_request_prints_no_traceback(tmp_path: Path) -> None:
    import signal
    import urllib.parse

    from .browse_helpers import STORIES, build_archive, cli_env
    from .test_serve import get

    db = build_archive(tmp_path / "news.db", STORIES[:2])
    out = tmp_path / "stdout.txt"
    with open(out, "w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", "--db", str(db), "--port", "0"],
            env=cli_env(),
            stdout=stdout,  # where rich printed its tracebacks
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("Serving "), first
        url = first.split()[1]
        for sql in ("DELETE FROM articles", "SELECT nope FROM nowhere", "PRAGMA x"):
            status, body = get(url + ".json?" + urllib.parse.urlencode({"sql": sql}))
            assert status == 400, body
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        process.wait(timeout=30)
        process.stderr.close()
    printed = out.read_text() + rest
    assert "Traceback" not in printed and "locals" not in printed, printed
    assert len(printed.splitlines()) <= 3, printed  # at most a line per failed query
    assert db.exists()


def test_every_store_write_names_a_locked_archive(tmp_path: Path) -> None:
    """--retry-failed and import-warc --cluster's bookkeeping wait for another writer
    like every other write, then raise ArchiveBusyError (one line, exit 3)."""
    from pipeline.errors import ArchiveBusyError
    from pipeline.store.imports import record_import

    db = tmp_path / "news.db"
    with Archive.open(db, busy_timeout=0.2) as archive:
        writer = Writer(db)
        try:
            with pytest.raises(ArchiveBusyError):
                archive.retry_failed(["s"])
            with pytest.raises(ArchiveBusyError):
                record_import(archive, "in.warc.gz", "running", "2026-12-01T00:00:00Z")
        finally:
            writer.release()
