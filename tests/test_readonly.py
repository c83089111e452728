"""The read commands on a read-only archive (a read-only mount, a snapshot, a backup),
where SQLite cannot create the side files of a WAL archive."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from pipeline.store import Archive, queries, schema

from .browse_helpers import STORIES, Story, build_archive, filler, serving
from .conftest import run_cli
from .envfail_helpers import read_only_place
from .test_serve import get

CJK = Story(
    "zh", "中美合作研发新药品", "中国和美国的药品监管机构宣布合作。" + filler("zh"), "xinwen"
)


def _fill(old_schema: bool) -> object:
    def fill(where: Path) -> None:
        db = build_archive(where / "news.db", [*STORIES, CJK])
        if old_schema:
            to_schema_11(db)
        sqlite3.connect(db).close()  # the last connection: the -wal and -shm files go

    return fill


def to_schema_11(db: Path) -> None:
    """The archive as schema 11 had it: no standfirst column, indexes without it."""
    conn = sqlite3.connect(db)
    for name in ("ai", "ad", "au", "trigram_ai", "trigram_ad", "trigram_au"):
        conn.execute(f"DROP TRIGGER articles_{name}")
    conn.execute("DROP TABLE articles_fts")
    conn.execute("DROP TABLE articles_trigram")
    conn.execute("ALTER TABLE articles DROP COLUMN standfirst")
    conn.execute("ALTER TABLE revisions DROP COLUMN standfirst")
    conn.commit()
    old = sqlite_utils.Database(conn)
    old["articles"].enable_fts(  # type: ignore[union-attr]
        ["title", "text"], create_triggers=True, tokenize=schema._TOKENIZE
    )
    conn.execute("DROP TRIGGER articles_au")
    conn.execute(schema._FTS_UPDATE_TRIGGER)
    schema._trigram(old, ("title", "text"))
    conn.execute("PRAGMA user_version = 11")
    conn.commit()
    conn.close()


@pytest.fixture(params=[False, True], ids=["current", "older-schema"])
def ro_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    with read_only_place(tmp_path / "ro", _fill(request.param)) as where:  # type: ignore[arg-type]
        yield where / "news.db"


def test_the_place_really_is_read_only(ro_db: Path) -> None:
    with pytest.raises(OSError):
        (ro_db.parent / "probe").write_text("x")
    with pytest.raises(sqlite3.OperationalError):  # what the read commands ran into
        sqlite3.connect(ro_db.resolve().as_uri() + "?mode=ro", uri=True).execute(
            "SELECT count(*) FROM articles"
        )


def test_read_commands_work_on_a_read_only_archive(ro_db: Path, tmp_path: Path) -> None:
    found = run_cli("search", "harbour", "--db", str(ro_db), "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 3
    cjk = run_cli("search", "药品", "--db", str(ro_db), "--json", cwd=tmp_path)
    assert cjk.returncode == 0 and json.loads(cjk.stdout)["title"] == CJK.title
    shown = run_cli("show", "1", "--db", str(ro_db), "--json", cwd=tmp_path)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == 1
    stats = run_cli("stats", "--db", str(ro_db), "--json", cwd=tmp_path)
    assert stats.returncode == 0 and json.loads(stats.stdout)["gazette"]["articles"] == 8
    exported = run_cli("export", "--db", str(ro_db), cwd=tmp_path)
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == len(STORIES) + 1
    for done in (found, cjk, shown, stats, exported):
        assert "unable to open" not in done.stderr and "Traceback" not in done.stderr


def test_the_store_says_it_opened_immutable(ro_db: Path) -> None:
    with Archive.open(ro_db, readonly=True) as archive:
        assert archive.immutable
        assert len(queries.search(archive, "harbour", queries.Filters())) == 3


def test_serve_works_on_a_read_only_archive(ro_db: Path, tmp_path: Path) -> None:
    with serving(ro_db, cwd=tmp_path) as served:
        status, found = get(f"{served.url}/articles.json", _search="harbour", _shape="objects")
        assert status == 200 and len(found["rows"]) == 3


def test_a_run_on_a_read_only_archive_is_one_line(ro_db: Path, tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        f"archive: {ro_db}\nsources:\n  - name: a\n    url: http://127.0.0.1:9/\n"
    )
    done = run_cli("run", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(ro_db.parent) in done.stderr


def _fill_released(where: Path) -> None:
    """An archive as the last release (schema 6) left it: none of migrations 7-12."""
    db = build_archive(where / "news.db", STORIES)
    to_schema_11(db)
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX articles_access")
    conn.execute("ALTER TABLE articles DROP COLUMN access")
    conn.execute("ALTER TABLE urls DROP COLUMN hint_summary")
    for name in ("ai", "ad", "au"):
        conn.execute(f"DROP TRIGGER articles_trigram_{name}")
    conn.execute("DROP TABLE articles_trigram")
    conn.execute("DROP TABLE import_files")
    conn.execute("DROP INDEX articles_published_utc")
    conn.execute("ALTER TABLE articles DROP COLUMN published_utc")
    conn.execute("ALTER TABLE urls DROP COLUMN fetch_url")
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()


def test_date_filters_work_on_a_read_only_archive_of_the_last_release(tmp_path: Path) -> None:
    with read_only_place(tmp_path / "ro", _fill_released) as where:
        db = where / "news.db"
        with Archive.open(db, readonly=True) as archive:
            newest = queries.latest(archive, 1)
        assert newest[0]["published"] == "2026-11-24T07:00:00Z"
        since = "2026-11-01"
        expected = [s.url for s in STORIES if s.published and s.published >= since]
        done = run_cli(
            "export", "--db", str(db), "--since", since, "--columns", "url", cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert sorted(json.loads(line)["url"] for line in done.stdout.splitlines()) == sorted(
            expected
        )
        # every column: those later migrations added read as a story then was
        done = run_cli("export", "--db", str(db), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(rows) == len(STORIES)
        assert {(r["access"], r["standfirst"]) for r in rows} == {("ok", None)}
        shown = run_cli("show", "1", "--db", str(db), cwd=tmp_path)
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
