"""Edits of stored stories as readable diffs, corrections marked, and the revisit
schedule (issue 16, item 3)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.demo.site import NewsSite
from pipeline.jobs import revisits
from pipeline.jobs.diffs import diff, is_correction, parse_share
from pipeline.models import Article, Candidate, PageResult
from pipeline.serve import metadata
from pipeline.store import Archive
from pipeline.store.changes import CANNED_QUERIES, changes
from pipeline.text import line_key
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


# --- the edited story, end to end ----------------------------------------------------


def test_an_edited_story_yields_a_readable_diff_with_the_correction_marked(
    workdir: Path,
) -> None:
    arts = synthetic_articles(4, seed=31)
    story = arts[1]
    with NewsSite(arts) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/", "refresh_every": 0}])
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        old = story.paragraphs[2]
        edited_words = old.split()
        edited_words[3] = "CHANGEDWORD"
        edited = replace(
            story,
            paragraphs=(
                *story.paragraphs[:2],
                " ".join(edited_words),
                *story.paragraphs[3:],
                "Correction: an earlier version of this story misstated the budget.",
            ),
        )
        site.set_articles([arts[0], edited, *arts[2:]])
        again = run_cli("run", "--config", str(config), "--refresh-after", "30", cwd=workdir)
        assert again.returncode == 0, again.stderr
    db = workdir / "archive" / "news.db"
    story_id = query(db, "SELECT id FROM articles WHERE url LIKE ?", (f"%{story.slug}%",))[0][0]

    listed = run_cli("changes", "--since", "1d", "--config", str(config), "--json", cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["id"] for r in rows] == [story_id]
    change = rows[0]
    assert (change["from_revision"], change["to_revision"]) == (1, 2)
    assert change["correction"] is True
    assert change["corrections"] == [
        "Correction: an earlier version of this story misstated the budget."
    ]
    ops = [(s["op"], s["text"]) for s in change["diff"]]
    assert ("delete", old.split()[3]) in ops and ("insert", "CHANGEDWORD") in ops
    assert any(op == "insert" and text.startswith("Correction:") for op, text in ops)
    # unchanged paragraphs are cut down to a little context
    assert any(op == "skip" for op, _ in ops)
    assert 0 < change["change"] < 0.2

    plain = run_cli("changes", "--config", str(config), cwd=workdir)
    assert f"#{story_id} {story.title}" in plain.stdout
    assert "revision 1 -> 2, changed" in plain.stdout
    assert "CORRECTION" in plain.stdout
    assert f"[-{old.split()[3]}-] {{+CHANGEDWORD+}}" in plain.stdout

    shown = run_cli("show", str(story_id), "--diff", "--config", str(config), cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert "CORRECTION" in shown.stdout and "{+CHANGEDWORD+}" in shown.stdout
    against = run_cli(
        "show", str(story_id), "--diff", "1", "--json", "--config", str(config), cwd=workdir
    )
    assert json.loads(against.stdout)["diff"] == change["diff"]
    # a big threshold leaves the small edit out
    few = run_cli("changes", "--min-change", "50%", "--config", str(config), cwd=workdir)
    assert "No changes since" in few.stdout
    # errors are one line
    bad = run_cli("show", str(story_id), "--diff", "7", "--config", str(config), cwd=workdir)
    assert bad.returncode == 2 and "no earlier revision 7" in bad.stderr
    other = "1" if story_id != 1 else "2"
    never = run_cli("show", other, "--diff", "--config", str(config), cwd=workdir)
    assert never.returncode == 2 and "never edited" in never.stderr
    nothing = run_cli("show", "99", "--diff", "--config", str(config), cwd=workdir)
    assert nothing.returncode == 1 and "no article '99'" in nothing.stderr
    pct = run_cli("changes", "--min-change", "lots", "--config", str(config), cwd=workdir)
    assert pct.returncode == 2 and "--min-change" in pct.stderr


# --- diffs without noise -------------------------------------------------------------

STORY = (
    "The council approved the budget on Monday night after a long debate.\n\n"
    "Updated at 10:42 on 3 March 2026\n\n"
    "Residents will be able to comment on the plans until May."
)


def test_whitespace_and_rewrapping_are_no_change() -> None:
    rewrapped = STORY.replace("approved the", "approved\n  the").replace("\n\n", "\n\n\n")
    assert not diff(STORY, rewrapped).changed


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Updated at 10:42 on 3 March 2026", "Updated at 18:05 on 4 March 2026"),
        ("Last updated: 2026-03-03T10:42Z", "Last updated: 2026-03-04T08:00Z"),
        ("Aktualisiert am 03.03.2026, 10:42 Uhr", "Aktualisiert am 04.03.2026, 08:15 Uhr"),
        ("Mis à jour le 3 mars 2026 à 10h42", "Mis à jour le 4 mars 2026 à 08h15"),
        ("Actualizado el 3 de marzo de 2026", "Actualizado el 4 de marzo de 2026"),
    ],
)
def test_dates_in_updated_lines_are_no_change(before: str, after: str) -> None:
    old = STORY.replace("Updated at 10:42 on 3 March 2026", before)
    new = STORY.replace("Updated at 10:42 on 3 March 2026", after)
    assert not diff(old, new).changed


def test_a_sentence_that_starts_with_updated_is_still_compared() -> None:
    old = STORY + "\n\nUpdated figures show 40 people attended the meeting."
    new = STORY + "\n\nUpdated figures show 400 people attended the meeting."
    assert diff(old, new).words_inserted == 1


def test_learnt_boilerplate_is_no_change() -> None:
    promo = "Read our coverage of the elections on the live page."
    keys = frozenset({line_key(promo)})
    assert diff(STORY, STORY + "\n\n" + promo, boilerplate=keys).changed is False
    assert diff(STORY, STORY + "\n\n" + promo).changed is True


def test_a_word_edit_is_shown_with_context() -> None:
    d = diff(STORY, STORY.replace("Monday", "Tuesday"), context=3)
    ops = [(s.op, s.text) for s in d.segments]
    assert ops[:4] == [
        ("skip", "3"),
        ("equal", "the budget on"),
        ("delete", "Monday"),
        ("insert", "Tuesday"),
    ]
    assert ops[4] == ("equal", "night after a")
    assert ops[5][0] == "skip"
    assert d.words_deleted == d.words_inserted == 1


def test_a_title_edit_alone_is_a_change() -> None:
    d = diff(STORY, STORY, title_before="Budget approved", title_after="Budget approved narrowly")
    assert d.changed and d.title_changed and not d.segments


@pytest.mark.parametrize(
    "line",
    [
        "Correction: The vote was 19 to 6, not 21 to 4.",
        "CORRECTION: an earlier figure was wrong.",
        "An earlier version of this story misstated the date of the vote.",
        "This article has been corrected to show the right figure.",
        "Korrektur: In einer früheren Version hieß es, der Rat habe zugestimmt.",
        "In einer früheren Fassung dieses Artikels stand ein falsches Datum.",
        "Rectificatif : une précédente version indiquait un mauvais chiffre.",
        "Une précédente version de cet article indiquait un mauvais chiffre.",
        "Corrección: una versión anterior de esta nota decía otra fecha.",
        "Fe de errores: el presupuesto era de 10 millones.",
        "Correzione: il voto era 19 a 6.",
        "Correção: o valor correto é 10 milhões.",
        "Correctie: in een eerdere versie stond een fout bedrag.",
    ],
)
def test_corrections_are_recognised(line: str) -> None:
    assert is_correction(line)
    assert diff(STORY, STORY + "\n\n" + line).corrections == (line,)


@pytest.mark.parametrize(
    "line",
    [
        "The council will consider corrections to the plan next week.",
        "Police said the correction facility was closed.",
        "Residents asked for an earlier version of the timetable.",
    ],
)
def test_sentences_about_corrections_are_not_corrections(line: str) -> None:
    assert not is_correction(line)


def test_a_correction_already_there_before_is_not_new() -> None:
    text = STORY + "\n\nCorrection: the vote was 19 to 6."
    assert diff(text, text.replace("Monday", "Tuesday")).corrections == ()


@pytest.mark.parametrize(
    ("value", "share"), [("2%", 0.02), ("0.02", 0.02), ("2", 0.02), ("0", 0.0), ("100%", 1.0)]
)
def test_min_change_values(value: str, share: float) -> None:
    assert parse_share(value) == pytest.approx(share)


@pytest.mark.parametrize("value", ["lots", "-1%", "150%", "nan"])
def test_bad_min_change_values(value: str) -> None:
    with pytest.raises(ValueError):
        parse_share(value)


# --- the revisit schedule, with an injected clock --------------------------------------


def test_checkpoints_are_dense_early_and_sparse_later() -> None:
    hours = [c / HOUR for c in revisits.checkpoints(timedelta(days=30))]
    assert hours == [1, 3, 12, 24, 72, 168, 336, 504, 672]
    assert [c / HOUR for c in revisits.checkpoints(timedelta(days=2))] == [1, 3, 12, 24]


def test_a_story_is_due_once_per_passed_checkpoint() -> None:
    window = timedelta(days=30)
    published = NOW
    fetched = NOW + timedelta(minutes=5)
    due = revisits.due
    assert not due(published, fetched, NOW + timedelta(minutes=59), window)
    assert due(published, fetched, NOW + HOUR, window)
    # checked at 1 h 2 min: nothing more until the 3 h checkpoint
    checked = NOW + HOUR + timedelta(minutes=2)
    assert not due(published, checked, NOW + 2 * HOUR, window)
    assert due(published, checked, NOW + 3 * HOUR, window)
    # a run that comes late, after several missed checkpoints, visits once
    assert due(published, checked, NOW + 50 * HOUR, window)
    assert not due(published, NOW + 50 * HOUR, NOW + 60 * HOUR, window)
    assert due(published, NOW + 50 * HOUR, NOW + 72 * HOUR, window)
    # rarely later: a week apart after the first week, and never beyond the window
    assert not due(published, NOW + 8 * 24 * HOUR, NOW + 13 * 24 * HOUR, window)
    assert due(published, NOW + 8 * 24 * HOUR, NOW + 14 * 24 * HOUR, window)
    assert not due(published, NOW + 29 * 24 * HOUR, NOW + 40 * 24 * HOUR, window)
    # a story first archived long after it was published waits for the next checkpoint
    assert not due(published, NOW + 4 * 24 * HOUR, NOW + 5 * 24 * HOUR, window)


def _store(archive: Archive, n: int, published: datetime, fetched: datetime) -> None:
    text = f"Story number {n}. " + "Some words of the story. " * 20
    art = Article(
        url=f"https://news.example/{n}",
        canonical_url=f"https://news.example/{n}",
        text=text,
        content_hash=f"hash-{n}",
        title=f"Story {n}",
        published=published.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    result = PageResult(
        Candidate(url=art.url, source="s"),
        "article",
        fetched.strftime("%Y-%m-%dT%H:%M:%SZ"),
        article=art,
    )
    archive.save([result], None)


def test_due_stories_follow_the_schedule(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "news.db") as archive:
        _store(archive, 1, NOW - 2 * HOUR, NOW - 2 * HOUR)  # checked at 0 h: 1 h passed
        _store(archive, 2, NOW - 30 * HOUR, NOW - 20 * HOUR)  # checked at 10 h: 12 h, 24 h passed
        _store(archive, 3, NOW - 30 * HOUR, NOW - 5 * HOUR)  # checked at 25 h: next at 72 h
        _store(archive, 4, NOW - 40 * 24 * HOUR, NOW - 40 * 24 * HOUR)  # beyond the window
        _store(archive, 5, NOW - timedelta(minutes=20), NOW)  # just fetched

        def urls(now: datetime, size: int = 100) -> list[str]:
            cursor = [10**9]
            return [c.url for c in revisits.due_stories(archive, "s", 30, now, now, size, cursor)]

        assert urls(NOW) == ["https://news.example/2", "https://news.example/1"]
        # small pages: the pager goes on past a page with nothing due
        assert urls(NOW, size=1) == ["https://news.example/2"]
        assert urls(NOW + 48 * HOUR) == [f"https://news.example/{n}" for n in (5, 3, 2, 1)]


def test_max_revisits_caps_a_run(workdir: Path) -> None:
    arts = synthetic_articles(5, seed=33)
    with NewsSite(arts) as site:
        config = write_config(
            workdir, [{"name": "s", "url": site.base + "/", "refresh_every": 0, "max_revisits": 2}]
        )
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        before = len(site.requests)
        done = run_cli("run", "--config", str(config), "--refresh-after", "30", cwd=workdir)
        assert done.returncode == 0, done.stderr
        pages = [r for r in site.requests[before:] if r.path.startswith("/2026/")]
    assert len(pages) == 2
    # the unchanged stories answered 304 (without a Content-Type): not failures
    assert all("if-none-match" in r.headers for r in pages)
    assert query(workdir / "archive" / "news.db", "SELECT count(*) FROM failures") == [(0,)]


def test_configured_refresh_after_follows_the_schedule(workdir: Path) -> None:
    """Stories published 11 days ago and archived just now passed their last checkpoint
    (7 d) before they were archived: a cron run does not fetch them again, however
    often it runs (refresh_every 0), while `--refresh-after` sweeps them."""
    arts = synthetic_articles(3, seed=35)  # published 2026-11-20
    with NewsSite(arts) as site:
        source = {"name": "s", "url": site.base + "/", "refresh_every": 0, "refresh_after": 30}
        config = write_config(workdir, [source])
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        before = len(site.requests)
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        scheduled = [r for r in site.requests[before:] if r.path.startswith("/2026/")]
        before = len(site.requests)
        swept = run_cli("run", "--config", str(config), "--refresh-after", "30", cwd=workdir)
        assert swept.returncode == 0, swept.stderr
        sweep = [r for r in site.requests[before:] if r.path.startswith("/2026/")]
    assert scheduled == [] and len(sweep) == 3


def test_max_revisits_is_validated(workdir: Path) -> None:
    config = write_config(
        workdir, [{"name": "s", "url": "https://news.example/", "max_revisits": -1}]
    )
    done = run_cli("run", "--config", str(config), cwd=workdir)
    assert done.returncode == 2
    assert "source 's': key 'max_revisits'" in done.stderr


# --- serve ----------------------------------------------------------------------------


def test_serve_lists_recent_changes(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    with Archive.open(db) as archive:
        _store(archive, 1, NOW, NOW)
        edited = Article(
            url="https://news.example/1",
            canonical_url="https://news.example/1",
            text="Story number 1. Now with another sentence. " * 10,
            content_hash="hash-1b",
            title="Story 1, updated",
        )
        archive.save(
            [PageResult(Candidate(url=edited.url, source="s"), "article", "2026-11-20T15:00:00Z",
                        article=edited)],
            None,
        )  # fmt: skip
        tables = [
            r[0] for r in archive.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        sql = CANNED_QUERIES["recent_changes"]["sql"]
        rows = archive.execute(sql, {"source": ""}).fetchall()
        assert [c.after.title for c in changes(archive)] == ["Story 1, updated"]
    queries = metadata(db, tables)["databases"]["news"]["queries"]
    assert queries["recent_changes"]["title"] == "Recent changes"
    assert len(rows) == 1
    assert rows[0][2] == "2026-11-20T15:00:00Z" and rows[0][5:7] == ("Story 1", "Story 1, updated")
