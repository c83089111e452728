"""Search as people type it: ordinary words with punctuation, German, Chinese, Japanese
and Korean stories, and a rank that scripts can sort on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import browse, cli  # noqa: F401  (registers the commands)
from pipeline.store import Archive, queries
from pipeline.store.schema import MIGRATIONS

from .browse_helpers import Story, build_archive, filler, result

STORIES = [
    Story(
        "zh",
        "中美合作研发新药品",
        "中国和美国的药品监管机构宣布在新药研发方面开展合作。" + filler("zh"),
        source="xinwen",
        language="zh",
    ),
    Story(
        "ja",
        "トランプ氏、日米首脳会談へ",
        "トランプ大統領は来週、日米首脳会談に臨む予定だ。" + filler("ja"),
        source="shimbun",
        language="ja",
    ),
    Story(
        "ko",
        "대통령 선거 결과 발표",
        "대통령이 선거에서 승리했다고 선거관리위원회가 발표했다. " + filler("ko"),
        source="sinmun",
        language="ko",
    ),
    Story(
        "de",
        "Corona-Krise: Schulen in Köln schließen",
        "Die Corona-Krise trifft die Schulen. Die Eltern wurden per E-Mail informiert. "
        + filler("de"),
        source="kurier",
        language="de",
    ),
    Story(
        "en",
        "Covid-19 cases fall as the e-mail alerts end",
        "Covid-19 cases fell again. Don't panic, said N. Korea's C++ programmers. " + filler("en"),
    ),
    Story("plain", "A quiet day", "Nothing happened in the harbour today. " + filler("pl")),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("languages") / "news.db", STORIES)


def search(db: Path, query: str, *args: str) -> tuple[int, list[dict[str, object]], str]:
    done = CliRunner().invoke(cli, ["search", query, "--db", str(db), "--json", *args])
    lines = done.stdout.splitlines() if done.exit_code == 0 else []
    return done.exit_code, [json.loads(line) for line in lines], done.output


def keys(db: Path, query: str) -> set[str]:
    code, hits, output = search(db, query)
    assert code == 0, output
    return {str(hit["url"]).rstrip("/").rsplit("/", 1)[1] for hit in hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("covid-19", {"en"}),
        ("e-mail", {"en", "de"}),  # title of one, text of the other
        ("Corona-Krise", {"de"}),
        ("corona-krise", {"de"}),
        ("don't", {"en"}),
        ("C++", {"en"}),
        ("N. Korea", {"en"}),
        ("Köln", {"de"}),
        ("koln", {"de"}),  # diacritics folded
        ("schließen", {"de"}),
        ("https://gazette.example/", set()),  # an address is words, not a column
    ],
)
def test_ordinary_queries_are_the_words_typed(db: Path, query: str, expected: set[str]) -> None:
    assert keys(db, query) == expected


def test_hyphenated_words_match_as_a_phrase(db: Path) -> None:
    # "e-mail" is the phrase "e mail", not the words e and mail anywhere.
    assert keys(db, "mail") == {"de", "en"}
    assert keys(db, "covid-19") == {"en"}
    assert keys(db, "19-covid") == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("harbour OR Corona-Krise", {"plain", "de"}),
        ("Schulen NOT Köln", set()),
        ("title:covid-19", {"en"}),
        ('"cases fell"', {"en"}),
        ("Schul*", {"de"}),
        ("NEAR(cases fell, 2)", {"en"}),
    ],
)
def test_fts_syntax_still_works_when_written(db: Path, query: str, expected: set[str]) -> None:
    assert keys(db, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("药品", {"zh"}),  # two characters: below a trigram, found by a scan
        ("中美合作", {"zh"}),  # in the title, inside a longer run
        ("监管机构", {"zh"}),
        ("トランプ", {"ja"}),
        ("首脳", {"ja"}),
        ("首脳会談", {"ja"}),
        ("トランプ 首脳", {"ja"}),
        ("대통령", {"ko"}),  # 대통령이: a particle attached
        ("선거", {"ko"}),
        ("선거관리위원회", {"ko"}),
        ("药品 トランプ", set()),  # all terms must occur
        ("日米首脳会談 OR 药品监管", {"ja", "zh"}),  # operators on the trigram index
    ],
)
def test_chinese_japanese_and_korean_words_are_found_inside_runs(
    db: Path, query: str, expected: set[str]
) -> None:
    assert keys(db, query) == expected


def test_a_cjk_hit_has_a_highlighted_snippet(db: Path) -> None:
    for query in ("首脳", "トランプ"):
        code, hits, _ = search(db, query)
        assert code == 0 and len(hits) == 1
    with Archive.open(db, readonly=True) as archive:
        (hit,) = queries.search(archive, "首脳", queries.Filters())
    assert f"{queries.HIGHLIGHT_START}首脳{queries.HIGHLIGHT_END}" in hit.snippet


def test_a_short_cjk_term_with_operators_is_a_clear_error(db: Path) -> None:
    code, _, output = search(db, "首脳 OR 药品")
    assert code == 2
    assert "fewer than 3 characters" in output and output.count("\n") == 1


def test_rank_is_sortable_and_never_negative_zero(db: Path) -> None:
    # "the" is in every story: its bm25 is about zero, printed as -0.0 before.
    code, hits, output = search(db, "the")
    assert code == 0 and len(hits) >= 4, output
    assert [hit["rank"] for hit in hits] == list(range(1, len(hits) + 1))
    scores = [hit["score"] for hit in hits]
    assert all(isinstance(s, float) and s >= 0 for s in scores)
    assert scores == sorted(scores, reverse=True)  # best first
    assert "-0.0" not in output


def test_an_archive_from_before_the_trigram_index_gets_it_on_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Archive.open(db) as archive:
        archive.save([result(s) for s in STORIES], None)
        archive.db.execute("DROP TABLE articles_trigram")
        for name in ("ai", "ad", "au"):
            archive.db.execute(f"DROP TRIGGER articles_trigram_{name}")
        before = [m.__name__ for m in MIGRATIONS].index("_v9_trigram")
        archive.db.execute(f"PRAGMA user_version = {before}")  # as before the trigram index
        archive.db.conn.commit()
    assert keys(db, "中美合作") == {"zh"}  # a read command upgrades it first
    with sqlite3.connect(db) as conn:
        indexed = conn.execute(
            "SELECT rowid FROM articles_trigram WHERE articles_trigram MATCH 'the'"
        ).fetchall()
    assert len(indexed) == 3  # only the stories with CJK text


def test_export_query_reads_the_query_the_same_way(db: Path) -> None:
    args = ["export", "--db", str(db), "--query", "首脳", "--columns", "url"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert [json.loads(line)["url"] for line in done.stdout.splitlines()] == [STORIES[1].url]
    done = CliRunner().invoke(cli, ["export", "--db", str(db), "--query", "covid-19"])
    assert done.exit_code == 0 and len(done.stdout.splitlines()) == 1
