"""The archive: migrations, deduplication, revisions, near-duplicates, FTS, frontier."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import StoreError
from pipeline.models import Article, Candidate, PageResult
from pipeline.store import SCHEMA_VERSION, Archive
from pipeline.text import content_hash, minhash

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
STAMP = "2026-11-25T12:00:00Z"
STORY = (
    "The harbour wall will be repaired at a cost of £4.2m after a vote of 21 to 4. "
    "Engineers found that 38 metres of the 1886 wall had moved by 11 cm last winter. "
    "Work starts in March and should take 14 weeks, the council said on Monday."
)


def article(
    url: str, text: str = STORY, title: str = "Wall repairs approved", canonical: str | None = None
) -> Article:
    return Article(
        url=url,
        canonical_url=canonical or url,
        text=text,
        content_hash=content_hash(text),
        title=title,
        authors=("Marta Ellingham",),
        published="2026-11-02T08:15:00+01:00",
        language="en",
        minhash=minhash(text),
    )


def stored(archive: Archive, url: str, art: Article, source: str = "s") -> str:
    result = PageResult(Candidate(url, source), "article", STAMP, article=art, final_url=url)
    return archive.save([result], None)[0].outcome


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive.open(tmp_path / "a" / "news.db")


def test_new_archive_is_migrated_wal_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    Archive.open(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {r[1] for r in conn.execute("PRAGMA table_info(articles)")}
    assert {
        "id",
        "url",
        "canonical_url",
        "source",
        "title",
        "author",
        "published",
        "language",
        "sitename",
        "description",
        "text",
        "fetched_at",
        "content_hash",
    } <= columns
    Archive.open(path).close()  # idempotent


def test_an_interrupted_migration_completes_on_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    Archive.open(path).close()
    with sqlite3.connect(path) as conn:  # as if killed before user_version moved
        conn.execute("PRAGMA user_version = 0")
        conn.execute("DROP INDEX articles_published")
    with Archive.open(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {r[0] for r in archive.db.execute("SELECT name FROM sqlite_master")}
        assert "articles_published" in names


def test_an_archive_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    Archive.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        Archive.open(path)


def test_readonly_open_of_a_missing_archive_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no archive here"):
        Archive.open(tmp_path / "none.db", readonly=True)
    assert not (tmp_path / "none.db").exists()


def test_readonly_open_takes_the_named_file_even_with_uri_characters(tmp_path: Path) -> None:
    # "?" and "#" would end the path of an unescaped SQLite URI: "a?b.db" opened "a".
    (tmp_path / "news").write_bytes(b"not a database")
    path = tmp_path / "news?mode=rw#x %41.db"
    with Archive.open(path) as writable:
        assert stored(writable, "https://a.example/1", article("https://a.example/1")) == "new"
    with Archive.open(path, readonly=True) as readonly:
        assert readonly.db.execute("SELECT count(*) FROM articles").fetchone() == (1,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            readonly.db.execute("DELETE FROM articles")


def test_same_text_elsewhere_is_a_duplicate_not_a_new_story(archive: Archive) -> None:
    assert stored(archive, "https://a.example/1", article("https://a.example/1")) == "new"
    copy = article(
        "https://b.example/wire",
        text=STORY.replace("Monday", "Monday") + "  ",
        title="Another headline",
    )
    assert stored(archive, "https://b.example/wire", copy, source="b") == "duplicate"
    assert archive.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    assert archive.db.execute("SELECT url, article_id FROM duplicates").fetchall() == [
        ("https://b.example/wire", 1)
    ]
    states = dict(archive.db.execute("SELECT url, state FROM urls").fetchall())
    assert states == {"https://a.example/1": "stored", "https://b.example/wire": "duplicate"}


def test_a_changed_text_at_the_same_address_is_a_revision(archive: Archive) -> None:
    stored(archive, "https://a.example/1", article("https://a.example/1"))
    edited = STORY.replace("14 weeks", "16 weeks")
    assert (
        stored(
            archive,
            "https://a.example/1",
            article("https://a.example/1", text=edited, title="Wall repairs delayed"),
        )
        == "revised"
    )
    assert (
        stored(archive, "https://a.example/1", article("https://a.example/1", text=edited))
        == "unchanged"
    )
    row = archive.db.execute("SELECT revision, text, title FROM articles").fetchone()
    assert row == (2, edited, "Wall repairs delayed")
    old = archive.db.execute("SELECT revision, text, title FROM revisions").fetchall()
    assert old == [(1, STORY, "Wall repairs approved")]
    # FTS follows the new text.
    hits = archive.db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH '\"16 weeks\"'"
    ).fetchall()
    assert hits == [(1,)]


def test_rel_canonical_variants_are_the_same_story(archive: Archive) -> None:
    stored(archive, "https://a.example/story", article("https://a.example/story"))
    amp = article("https://a.example/story/amp", canonical="https://a.example/story")
    assert stored(archive, "https://a.example/story/amp", amp) == "unchanged"
    assert archive.known(["https://a.example/story/amp", "https://a.example/other"]) == {
        "https://a.example/story/amp"
    }


def test_near_duplicates_are_linked_to_the_first_copy(archive: Archive) -> None:
    long_story = " ".join([STORY] * 4)
    stored(archive, "https://a.example/1", article("https://a.example/1", text=long_story))
    edited = "PORT HALLOWAY (HPA) - " + long_story.replace("Monday", "Tuesday", 1)
    assert (
        stored(archive, "https://b.example/1", article("https://b.example/1", text=edited)) == "new"
    )
    again = edited.replace("14 weeks", "16 weeks")
    assert (
        stored(archive, "https://c.example/1", article("https://c.example/1", text=again)) == "new"
    )
    unrelated = "Completely different words about a football match that ended 3-1 today. " * 8
    stored(archive, "https://d.example/1", article("https://d.example/1", text=unrelated))
    rows = archive.db.execute("SELECT url, near_duplicate_of FROM articles ORDER BY id").fetchall()
    assert rows == [
        ("https://a.example/1", None),
        ("https://b.example/1", 1),
        ("https://c.example/1", 1),
        ("https://d.example/1", None),
    ]


def test_the_near_duplicate_threshold_is_tunable(tmp_path: Path) -> None:
    first = " ".join(
        f"Sentence {i} of the original wire story about the harbour." for i in range(40)
    )
    half = " ".join(first.split()[: len(first.split()) * 2 // 3])  # a third cut off
    for threshold, linked in ((0.7, None), (0.5, 1)):
        with Archive.open(tmp_path / f"{threshold}.db") as archive:
            archive.near_threshold = threshold
            stored(archive, "https://a.example/1", article("https://a.example/1", text=first))
            stored(archive, "https://b.example/1", article("https://b.example/1", text=half))
            rows = archive.db.execute("SELECT near_duplicate_of FROM articles ORDER BY id")
            assert [r[0] for r in rows] == [None, linked]


def test_published_keeps_its_offset_and_published_utc_is_the_instant(archive: Archive) -> None:
    # Issue 12 item 6: `published` was converted to UTC, losing the publisher's local day.
    stored(archive, "https://a.example/1", article("https://a.example/1"))
    row = archive.db.execute("SELECT published, published_utc FROM articles").fetchone()
    assert tuple(row) == ("2026-11-02T08:15:00+01:00", "2026-11-02T07:15:00Z")


def test_frontier_pending_newest_first_then_due_retries(archive: Archive) -> None:
    cands = [Candidate(f"https://a.example/{i}", "s", published=f"2026-11-0{i}") for i in (1, 3, 2)]
    assert archive.add_candidates(cands, NOW) == 3
    assert archive.add_candidates(cands, NOW) == 0  # known URLs are left alone
    assert [c.url for c in archive.due("s", 10, NOW)] == [
        "https://a.example/3",
        "https://a.example/2",
        "https://a.example/1",
    ]
    failed = PageResult(cands[0], "failed", STAMP, reason="HTTP 503", error_kind="ServerError")
    assert archive.save([failed], None)[0].outcome == "retry"
    assert "https://a.example/1" not in [c.url for c in archive.due("s", 10, NOW)]
    later = datetime(2026, 11, 26, tzinfo=UTC)
    assert "https://a.example/1" in [c.url for c in archive.due("s", 10, later)]
    gone = PageResult(
        cands[1], "failed", STAMP, reason="HTTP 404", permanent=True, error_kind="HTTPStatusError"
    )
    assert archive.save([gone], None)[0].outcome == "failed"
    assert "https://a.example/3" not in [c.url for c in archive.due("s", 10, later)]


def test_transient_failures_back_off_and_are_eventually_given_up(archive: Archive) -> None:
    cand = Candidate("https://a.example/x", "s")
    archive.add_candidates([cand], NOW)
    waits = []
    for _ in range(8):
        outcome = archive.save(
            [PageResult(cand, "failed", STAMP, reason="timeout", error_kind="FetchTimeout")], None
        )[0].outcome
        row = archive.db.execute("SELECT next_attempt_at FROM urls").fetchone()[0]
        waits.append(row)
    assert outcome == "failed"  # after MAX_ATTEMPTS
    assert waits[0] < waits[1] < waits[2]
    assert archive.db.execute("SELECT count(*) FROM failures").fetchone()[0] == 8


def test_a_read_only_open_upgrades_an_older_archive_first(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with Archive.open(path) as archive:
        stored(archive, "https://a.example/1", article("https://a.example/1"))
    with sqlite3.connect(path) as conn:  # as an archive written by the previous version
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    with Archive.open(path, readonly=True) as archive:
        assert archive.db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("change", "column", "value"),
    [
        ({"tags": ("harbour", "council")}, "tags", '["harbour", "council"]'),
        ({"image": "https://n.example/wall.jpg"}, "image", "https://n.example/wall.jpg"),
        ({"modified": "2026-11-03T09:00:00+00:00"}, "modified", "2026-11-03T09:00:00Z"),
        ({"agencies": ("Reuters",)}, "agencies", '["Reuters"]'),
        ({"title": "Wall repairs approved at last"}, "title", "Wall repairs approved at last"),
    ],
)
def test_reextraction_writes_every_metadata_change(
    archive: Archive, change: dict[str, object], column: str, value: str
) -> None:
    url = "https://n.example/wall"
    art = article(url)
    assert stored(archive, url, art) == "new"
    (article_id,) = archive.execute("SELECT id FROM articles").fetchone()
    assert archive.reextracted(article_id, art, STAMP) == "unchanged"
    assert archive.reextracted(article_id, replace(art, **change), STAMP) == "updated"
    assert archive.execute(f"SELECT {column} FROM articles").fetchone() == (value,)
    assert archive.reextracted(article_id, replace(art, **change), STAMP) == "unchanged"


def test_reextraction_that_lacks_a_value_keeps_the_stored_one(archive: Archive) -> None:
    url = "https://n.example/wall"
    art = replace(article(url), image="https://n.example/wall.jpg", tags=("harbour",))
    stored(archive, url, art)
    (article_id,) = archive.execute("SELECT id FROM articles").fetchone()
    assert archive.reextracted(article_id, replace(art, image=None, tags=()), STAMP) == "unchanged"
    assert archive.execute("SELECT image, tags FROM articles").fetchone() == (
        "https://n.example/wall.jpg",
        '["harbour"]',
    )
