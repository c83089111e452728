"""`newsarchive search`, `show` and `stats` through the real CLI on a real archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.store import Archive

from .browse_helpers import STORIES, Story, build_archive, cli_env, result


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("browse") / "news.db", STORIES)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "120", "NO_COLOR": "1"})


def ids_for(db: Path, query: str, *args: str) -> list[int]:
    done = invoke("search", query, "--db", str(db), "--json", *args)
    assert done.exit_code == 0, done.output
    return [json.loads(line)["id"] for line in done.output.splitlines()]


def key_ids(db: Path) -> dict[str, int]:
    done = invoke("export", "--db", str(db), "--columns", "id,url")
    rows = [json.loads(line) for line in done.output.splitlines()]
    return {row["url"].rstrip("/").rsplit("/", 1)[1]: row["id"] for row in rows}


def test_search_ranks_title_matches_first_and_prints_a_highlighted_table(db: Path) -> None:
    ids = key_ids(db)
    found = ids_for(db, "harbour")
    # "harbour" is in the title of harbour-wall only: bm25 weighs titles 10x.
    assert found[0] == ids["harbour-wall"]
    assert set(found) == {ids["harbour-wall"], ids["harbour-swim"], ids["ferry-parking"]}
    lines = invoke("search", "harbour", "--db", str(db), "--json").output.splitlines()
    first = json.loads(lines[0])
    assert first["title"].startswith("Council approves £4.2m")
    assert "harbour" in first["snippet"] and "\x02" not in first["snippet"]
    assert first["source"] == "gazette" and first["published"] == "2026-11-02T08:15:00Z"
    assert [json.loads(x)["rank"] for x in lines] == sorted(json.loads(x)["rank"] for x in lines)

    table = invoke("search", "harbour", "--db", str(db))
    assert table.exit_code == 0
    assert "Council approves £4.2m repairs to" in table.output
    assert "https://gazette.example/news/harbour-wall/" in table.output.replace("\n", "")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"sea wall"', {"harbour-wall"}),  # a phrase
        ('"wall sea"', set()),
        ("harbour AND ferry", {"ferry-parking"}),
        ("harbour NOT ferry", {"harbour-wall", "harbour-swim"}),
        ("lighthouse OR hafenmauer", {"lighthouse", "hafen"}),
        ("swim*", {"harbour-swim"}),  # prefix
        ("hafenm*", {"hafen"}),
        ("title:market", {"same-title-1", "same-title-2"}),
        ("zurich", {"unicode"}),  # diacritics folded: Zürich
        ("東京の港", {"unicode"}),
        ("repaired", {"harbour-wall"}),  # porter stemming: repaired ~ repairs
    ],
)
def test_search_speaks_fts5_syntax(db: Path, query: str, expected: set[str]) -> None:
    ids = key_ids(db)
    assert set(ids_for(db, query)) == {ids[k] for k in expected}


def test_search_filters(db: Path) -> None:
    ids = key_ids(db)
    assert set(ids_for(db, "harbour OR hafenmauer", "--source", "kurier")) == {ids["hafen"]}
    assert set(ids_for(db, "harbour OR hafenmauer", "--language", "de")) == {ids["hafen"]}
    assert set(ids_for(db, "harbour", "--since", "2026-11-02")) == {
        ids["harbour-wall"],
        ids["harbour-swim"],
    }
    # --until with a date covers that whole day
    assert set(ids_for(db, "harbour", "--until", "2026-11-02")) == {
        ids["harbour-wall"],
        ids["ferry-parking"],
    }
    assert set(ids_for(db, "harbour", "--since", "2026-11-01", "--until", "2026-11-20")) == {
        ids["harbour-wall"]
    }
    assert len(ids_for(db, "harbour", "--limit", "1")) == 1
    two = ids_for(db, "harbour OR hafenmauer", "--source", "kurier", "--source", "gazette")
    assert len(two) == 4


@pytest.mark.parametrize("query", ['"unterminated', "harbour AND", "AND OR", "(harbour", "nope:x"])
def test_a_malformed_query_is_a_one_line_error(db: Path, query: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "search", query, "--db", str(db)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("newsarchive: error: bad search query")
    assert "Traceback" not in done.stderr


def test_bad_dates_and_missing_archives_are_one_line_errors(db: Path, tmp_path: Path) -> None:
    bad = invoke("search", "harbour", "--db", str(db), "--since", "last tuesday")
    assert bad.exit_code == 2 and "is not a date" in bad.output
    missing = invoke("search", "harbour", "--db", str(tmp_path / "none.db"))
    assert missing.exit_code == 1 and "no archive here" in missing.output
    assert not (tmp_path / "none.db").exists()


def test_terminal_output_strips_escape_sequences_from_pages(db: Path) -> None:
    ids = key_ids(db)
    shown = invoke("show", str(ids["escapes"]), "--db", str(db))
    found = invoke("search", "escape OR alert", "--db", str(db))
    for done in (shown, found):
        assert done.exit_code == 0
        assert "Red alert" in done.output
        assert "[/] [bold]" in done.output  # shown as text, not taken for styling
        for bad in ("\x1b", "\x07", "\u202e", "\u202c"):
            assert bad not in done.output
    # --json keeps the data as stored (escaped by JSON, so still harmless on a terminal)
    data = json.loads(invoke("show", str(ids["escapes"]), "--db", str(db), "--json").output)
    assert data["title"] == "\x1b[31mRed alert\x1b[0m [/] [bold]\u202eevil\u202c title"


def test_show_by_id_url_or_canonical_url(db: Path) -> None:
    ids = key_ids(db)
    story = next(s for s in STORIES if s.key == "unicode")
    by_id = json.loads(invoke("show", str(ids["unicode"]), "--db", str(db), "--json").output)
    by_url = json.loads(invoke("show", story.url, "--db", str(db), "--json").output)
    tracked = story.url + "?utm_source=newsletter"
    by_tracked = json.loads(invoke("show", tracked, "--db", str(db), "--json").output)
    assert by_id == by_url == by_tracked
    assert by_id["text"] == story.text  # exactly, CR, LS, NEL and all
    assert by_id["title"] == story.title
    assert by_id["authors"] == ["Marta Ellingham"]
    assert by_id["revisions"] == [] and by_id["duplicates"] == []

    text = invoke("show", str(ids["harbour-wall"]), "--db", str(db))
    assert text.exit_code == 0
    assert text.output.startswith("Council approves £4.2m repairs to storm-battered harbour wall")
    assert "published: 2026-11-02T08:15:00Z" in text.output
    assert "tags: council, harbour" in text.output
    assert "Engineers found that 38 metres" in text.output

    missing = invoke("show", "99999", "--db", str(db))
    assert missing.exit_code == 1 and "no article '99999'" in missing.output


def test_stats_counts_by_source_and_month(tmp_path: Path) -> None:
    db = build_archive(tmp_path / "news.db", STORIES)
    # a duplicate copy of a stored story, under another address
    copy = Story("harbour-wall-copy", STORIES[0].title, STORIES[0].text, source="kurier")
    with Archive.open(db) as archive:
        assert archive.save([result(copy)], None)[0].outcome == "duplicate"
    done = invoke("stats", "--db", str(db), "--json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert set(data) == {"gazette", "kurier"}
    assert data["gazette"]["articles"] == 8 and data["kurier"]["articles"] == 2
    assert data["kurier"]["duplicates"] == 1
    assert data["gazette"]["months"] == {"2026-10": 1, "2026-11": 7}
    assert data["kurier"]["months"] == {"2026-09": 1, "2026-10": 1}
    assert data["gazette"]["healthy"] is True and data["gazette"]["flags"] == []

    table = invoke("stats", "--db", str(db))  # not a terminal: plain lines
    assert table.exit_code == 0
    rows = {line.split()[0]: line.split() for line in table.output.splitlines() if line}
    assert rows["gazette"][1] == "8" and rows["kurier"][1] == "2"
    assert rows["all"][1] == "10"
    months = {k: v[1] for k, v in rows.items() if k.startswith("2026-")}
    assert months == {"2026-09": "1", "2026-10": "2", "2026-11": "7"}


def test_search_and_stats_on_an_archive_made_by_a_real_run(tmp_path: Path) -> None:
    """The local demo site, crawled by `newsarchive demo`, then searched."""
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "demo", "--db", str(db), "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    hits = [
        json.loads(line)
        for line in invoke("search", "harbour wall", "--db", str(db), "--json").output.splitlines()
    ]
    assert hits[0]["title"] == "Council approves £4.2m repairs to storm-battered harbour wall"
    stats = json.loads(invoke("stats", "--db", str(db), "--json").output)
    assert stats["gazette"]["articles"] == 32 and stats["gazette"]["duplicates"] == 1
