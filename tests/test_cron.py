"""Cron-grade runs: incremental, locked, crash-safe, resumable, observable."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from pipeline.demo.pages import SiteArticle
from pipeline.demo.site import NewsSite, Request, Response
from pipeline.store import Archive
from pipeline.store.health import health
from tests.synth import synthetic_articles

from .conftest import REPO, query, run_cli, write_config
from .gate import HOLD_LIMIT, Gate


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: object, timeout: float = 60.0) -> None:
    """Poll (not sleep a fixed time) until `condition()` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def stored_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return query(db, "SELECT count(*) FROM articles")[0][0]
    except sqlite3.OperationalError:
        return 0


def test_a_run_with_nothing_new_makes_only_conditional_feed_and_sitemap_requests(
    workdir: Path, site: NewsSite
) -> None:
    config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
    assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    before = len(site.requests)
    assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    second = site.requests[before:]
    assert {r.path for r in second} == {"/feed.xml", "/sitemap_index.xml"}
    assert all("if-none-match" in r.headers and "if-modified-since" in r.headers for r in second)
    # robots.txt and the home page (feed autodiscovery) are remembered for a day.
    runs = query(
        workdir / "archive" / "news.db",
        "SELECT status, exit_code, articles_new, requests FROM runs ORDER BY id",
    )
    assert runs[1] == ("finished", 0, 0, 2)


def test_a_changed_feed_with_a_stale_etag_is_refetched_after_the_revalidation_age(
    workdir: Path,
) -> None:
    arts = synthetic_articles(4, seed=21)
    with NewsSite(arts[1:]) as site:
        from pipeline.demo import pages

        def feed(request: Request) -> Response:  # a broken server: ETag never changes
            if request.headers.get("if-none-match") == '"same"':
                return Response(304, headers={"ETag": '"same"'})
            body = pages.rss(site.name, site.base, site.articles).encode()
            return Response(200, body, {"ETag": '"same"', "Content-Type": "application/xml"})

        site.routes["/feed.xml"] = feed
        site.routes["/sitemap_index.xml"] = lambda r: Response(404)
        sources = [
            {
                "name": "s",
                "url": site.base + "/",
                "feeds": [site.base + "/feed.xml"],
                "sitemaps": [site.base + "/sitemap_index.xml"],
            }
        ]
        config = write_config(workdir, sources)
        db = workdir / "archive" / "news.db"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        site.set_articles(arts)  # a new story; the feed still says ETag "same"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert stored_count(db) == 3  # hidden behind the stale 304
        config = write_config(workdir, sources, fetch={"revalidate_hours": 0})
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert stored_count(db) == 4


def test_two_concurrent_runs_one_exits_3_naming_the_holder(workdir: Path) -> None:
    with NewsSite(synthetic_articles(10, seed=4)) as site:
        # The first run's story pages wait at the gate: it holds the lock until opened.
        with Gate(site, [a.path for a in site.articles]):
            config = write_config(
                workdir,
                [{"name": "s", "url": site.base + "/"}],
                fetch={"timeout": HOLD_LIMIT},  # a held page is not a timed-out one
                defaults={"host_concurrency": 1},
            )
            lock = workdir / "archive" / "news.db.lock"
            first = start_cli("run", "--config", str(config), cwd=workdir)
            wait_until(lambda: lock.exists() and lock.read_text().strip())
            holder = json.loads(lock.read_text())
            second = run_cli("run", "--config", str(config), cwd=workdir)
            assert first.poll() is None  # still running: the gate is closed
        assert second.returncode == 3
        assert f"pid {first.pid}" in second.stderr and holder["started"] in second.stderr
        assert second.stderr.count("\n") == 1
        first.communicate(timeout=120)
        assert first.returncode == 0
    assert stored_count(workdir / "archive" / "news.db") == 10


def test_a_stale_lock_left_by_a_killed_run_is_taken_over(workdir: Path, site: NewsSite):
    config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
    lock = workdir / "archive" / "news.db.lock"
    lock.write_text(json.dumps({"pid": 2**22 + 7, "started": "2026-11-01T00:00:00Z"}))
    done = run_cli("run", "--config", str(config), cwd=workdir)
    assert done.returncode == 0
    assert "took over the lock of a run that died (pid 4194311" in done.stderr
    assert lock.read_text() == ""  # released cleanly afterwards


STORIES = 40


def _start_run(workdir: Path, site: NewsSite) -> tuple[subprocess.Popen[str], Path]:
    config = write_config(
        workdir, [{"name": "s", "url": site.base + "/"}], defaults={"host_concurrency": 2}
    )
    return start_cli("run", "--config", str(config), cwd=workdir), config


def test_sigterm_finishes_pages_in_flight_records_the_run_and_the_next_run_resumes(
    workdir: Path,
) -> None:
    db = workdir / "archive" / "news.db"
    with NewsSite(synthetic_articles(STORIES, seed=6)) as site:
        # Three stories pass, the next ones wait at the gate: the signal lands mid-run,
        # with pages in flight; opening the gate lets them finish.
        with Gate(site, [a.path for a in site.articles], free=3) as gate:
            proc, config = _start_run(workdir, site)
            gate.wait_held(1)
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM
        stored = stored_count(db)
        assert 3 <= stored < STORIES
        assert query(db, "SELECT status, exit_code FROM runs") == [("interrupted", 143)]
        # Every page that was fetched was saved: nothing fetched is lost.
        fetched = {p for p in site.paths_seen() if p.startswith("/2026/")}
        assert len(fetched) == stored
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert stored_count(db) == STORIES
        urls = query(db, "SELECT url FROM articles")
        assert len(urls) == len(set(urls)) == STORIES


def test_sigkill_at_any_moment_leaves_an_intact_db_and_the_next_run_completes(
    workdir: Path,
) -> None:
    db = workdir / "archive" / "news.db"
    # A run saves what it fetched about once a second: at 2 in flight and 0.2 s a page
    # it takes ~4 s, so the kill lands mid-run after some pages were saved.
    with NewsSite(synthetic_articles(STORIES, seed=6), latency=0.2) as site:
        proc, config = _start_run(workdir, site)
        wait_until(lambda: stored_count(db) >= 3)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        site.latency = 0  # the next run need not be slow
        assert proc.returncode == -signal.SIGKILL
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert query(db, "SELECT status FROM runs") == [("running",)]
        saved = {r[0].removeprefix(site.base) for r in query(db, "SELECT url FROM articles")}
        assert saved
        done = run_cli("run", "--config", str(config), cwd=workdir)
        assert done.returncode == 0, done.stderr
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert query(db, "SELECT status FROM runs ORDER BY id") == [("killed",), ("finished",)]
        assert query(db, "SELECT count(*), count(DISTINCT canonical_url) FROM articles") == [
            (STORIES, STORIES)
        ]
        # What the killed run saved is never fetched again; only the batch in flight
        # at the kill may be fetched twice.
        fetched = [p for p in site.paths_seen() if p.startswith("/2026/")]
        assert all(fetched.count(path) == 1 for path in saved)


def _stats_json(workdir: Path, config: Path) -> dict[str, object]:
    done = run_cli("stats", "--config", str(config), "--json", cwd=workdir)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_source_whose_pages_stop_yielding_text_is_flagged(workdir: Path) -> None:
    arts = synthetic_articles(12, seed=12)
    with NewsSite(arts[4:]) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        with Archive.open(workdir / "archive" / "news.db") as archive:
            assert health(archive)["s"].healthy
        # A redesign: new stories render their text client-side; the HTML has a teaser.
        redesigned = [replace(a, paragraphs=("Read the full story in our app.",)) for a in arts[:4]]
        site.set_articles(redesigned + arts[4:])
        quiet = run_cli("run", "--config", str(config), "--quiet", cwd=workdir)
        assert quiet.returncode == 0
        assert (
            "newsarchive: warning: s: 4 of the 4 pages fetched since its last new story "
            "were too short" in quiet.stderr
        )
        with Archive.open(workdir / "archive" / "news.db") as archive:
            assert health(archive)["s"].flags == ["no-text"]


def test_short_texts_and_failing_feeds_are_flagged(workdir: Path) -> None:
    arts = synthetic_articles(16, seed=13)
    with NewsSite(arts[3:]) as site:
        config = write_config(
            workdir,
            [
                {
                    "name": "s",
                    "url": site.base + "/",
                    "feeds": [site.base + "/feed.xml"],
                    "sitemaps": [site.base + "/sitemap_index.xml"],
                }
            ],
        )
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        shorter = [
            replace(a, paragraphs=(*a.paragraphs[:1], a.paragraphs[1][:150])) for a in arts[:3]
        ]
        site.set_articles(shorter + arts[3:])
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        with Archive.open(workdir / "archive" / "news.db") as archive:
            flagged = health(archive)["s"]
        assert flagged.flags == ["short-texts"], flagged.reasons
        site.routes["/sitemap_index.xml"] = lambda r: Response(500)
        for _ in range(3):
            run_cli("run", "--config", str(config), cwd=workdir)
        with Archive.open(workdir / "archive" / "news.db") as archive:
            flagged = health(archive)["s"]
        assert "feed-failing" in flagged.flags
        assert any("sitemap_index.xml failed its last 3 checks" in r for r in flagged.reasons)


def test_refresh_keeps_an_edited_article_as_a_new_revision(workdir: Path) -> None:
    arts = synthetic_articles(5, seed=14)
    with NewsSite(arts) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/", "refresh_every": 0}])
        db = workdir / "archive" / "news.db"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        edited = replace(
            arts[2],
            paragraphs=(*arts[2].paragraphs[:-1], "Correction: the vote was 19 to 6, not 21 to 4."),
            title=arts[2].title + " (corrected)",
        )
        site.set_articles([*arts[:2], edited, *arts[3:]])
        before = len(site.requests)
        done = run_cli(
            "run", "--config", str(config), "--refresh-after", "30", "--json", cwd=workdir
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["totals"]["revised"] == 1
        pages = [r for r in site.requests[before:] if r.path.startswith("/2026/")]
        assert len(pages) == 5 and all("if-none-match" in r.headers for r in pages)
        rows = query(
            db,
            "SELECT title, revision, text FROM articles WHERE url LIKE ?",
            (f"%{arts[2].slug}%",),
        )
        assert rows[0][0].endswith("(corrected)") and rows[0][1] == 2
        assert "19 to 6" in rows[0][2]
        old = query(db, "SELECT revision, title, text FROM revisions")
        assert len(old) == 1 and old[0][0] == 1 and old[0][1] == arts[2].title
        assert arts[2].paragraphs[-1] in old[0][2]
        assert query(db, "SELECT count(*) FROM articles") == [(5,)]
        assert query(db, "SELECT count(*) FROM duplicates") == [(0,)]


def test_run_records_per_source_counts(workdir: Path, site: NewsSite) -> None:
    config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
    done = run_cli("run", "--config", str(config), "--json", cwd=workdir)
    summary = json.loads(done.stdout)
    assert summary["sources"]["s"]["new"] == len(site.articles)
    row = query(
        workdir / "archive" / "news.db",
        "SELECT source, discovered, new, duplicate, skipped, failed FROM run_sources",
    )
    assert row == [("s", len(site.articles), len(site.articles), 0, 0, 0)]
    article: SiteArticle = site.articles[0]
    assert article.title  # the site is the one the run saw


def test_boilerplate_lines_are_learnt_from_the_archive(workdir: Path) -> None:
    motto = "The Test Gazette: independent local journalism for the coast since 1887."
    arts = [replace(a, paragraphs=(*a.paragraphs, motto)) for a in synthetic_articles(30, 31)]
    with NewsSite(arts[5:]) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
        db = workdir / "archive" / "news.db"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert query(db, "SELECT count(*) FROM articles WHERE text LIKE ?", (f"%{motto}%",)) == [
            (25,)
        ]
        site.set_articles(arts)
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        newest = {site.base + a.path for a in arts[:5]}
        texts = dict(query(db, "SELECT url, text FROM articles"))
        assert all(motto not in texts[url] for url in newest)
        assert all(a.paragraphs[0] in texts[site.base + a.path] for a in arts[:5])
        assert query(db, "SELECT source, up_to_id FROM boilerplate") == [("s", 25)]
