"""Health rules over synthetic history (timestamps under the test's control)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.models import Article, Candidate, PageResult
from pipeline.store import Archive
from pipeline.store.health import health
from pipeline.text import content_hash

START = datetime(2026, 11, 1, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _story(archive: Archive, n: int, at: datetime) -> None:
    text = f"Story number {n} has its own words and figures: {n * 37} people, {n}% more. " * 6
    url = f"https://a.example/{n}"
    art = Article(url=url, canonical_url=url, text=text, content_hash=content_hash(text))
    archive.save([PageResult(Candidate(url, "s"), "article", _iso(at), article=art)], None)


def _run(archive: Archive, at: datetime, **counts: object) -> None:
    run_id = archive.begin_run(at, 1, "h", ["s"])
    archive.finish_run(run_id, at + timedelta(minutes=1), "finished", 0, {}, {"s": counts})


def test_stale_when_quiet_for_much_longer_than_usual(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        for n in range(12):  # a story every two hours
            _story(archive, n, START + timedelta(hours=2 * n))
        last = START + timedelta(hours=22)
        assert health(archive, now=last + timedelta(hours=5))["s"].healthy
        late = health(archive, now=last + timedelta(hours=13))["s"]
        assert late.flags == ["stale"]
        assert "no new story for 13 h; usually one every 2 h or less" in late.reasons[0]


def test_too_little_history_is_never_stale(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        for n in range(3):
            _story(archive, n, START + timedelta(hours=n))
        assert health(archive, now=START + timedelta(days=30))["s"].healthy


def test_failing_after_three_runs_with_errors_and_nothing_new(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        _run(archive, START, new=5)
        for i in range(2):
            _run(archive, START + timedelta(hours=i + 1), error="feed: HTTP 500")
        assert health(archive, now=START + timedelta(hours=3))["s"].healthy
        _run(archive, START + timedelta(hours=3), error="feed: HTTP 500")
        flagged = health(archive, now=START + timedelta(hours=4))["s"]
        assert flagged.flags == ["failing"]
        assert "HTTP 500" in flagged.reasons[0]
        _run(archive, START + timedelta(hours=4), new=1)
        assert health(archive, now=START + timedelta(hours=5))["s"].healthy
