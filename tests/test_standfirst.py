"""The standfirst: the lead under the headline, kept apart from the body, found by
search, written by export (extract/standfirst.py, migration 12)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner
from selectolax.lexbor import LexborHTMLParser
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.cli import cli
from pipeline.extract.extractor import extract
from pipeline.extract.standfirst import find_standfirst
from pipeline.store import Archive
from pipeline.store.schema import MIGRATIONS, fts_columns
from pipeline.text import content_hash, story_text

from .browse_helpers import Story, build_archive, filler, result
from .conftest import query, run_cli
from .test_readonly import to_schema_11

BODY = (
    "<p>Der Gemeinderat hat am Dienstagabend nach langer Debatte beschlossen, die alte "
    "Brücke über den Fluss nicht abzureißen, sondern für Fußgänger und Radfahrer zu "
    "sanieren. Die Kosten werden auf vier Millionen Euro geschätzt.</p>"
    "<p>Die Bürgerinitiative, die seit drei Jahren für den Erhalt kämpft, zeigte sich "
    "erleichtert. Ihr Sprecher sagte, man habe nie an einem guten Ende gezweifelt, auch "
    "wenn die Verwaltung lange andere Pläne gehabt habe.</p>"
    "<p>Die Arbeiten sollen im Frühjahr beginnen und etwa ein Jahr dauern. Während der "
    "Sanierung bleibt die Brücke gesperrt, eine Fähre soll den Verkehr übernehmen.</p>"
)
LEAD = (
    "Die alte Brücke bleibt: Nach jahrelangem Streit stimmt der Gemeinderat für die "
    "Sanierung statt für den Abriss."
)


BODY_TEXT = BODY.replace("<p>", "").replace("</p>", "\n\n").strip()


def page(header: str, after: str = "") -> str:
    return (
        "<html><head><title>Brücke bleibt stehen</title></head><body>"
        "<nav><a href='/'>Start</a> <a href='/lokales'>Lokales</a></nav>"
        f"<article><header><h1>Brücke bleibt stehen</h1>{header}</header>"
        f"<div class='article-body'>{BODY}</div>{after}</article></body></html>"
    )


def lead_of(html: str) -> str | None:
    return find_standfirst(LexborHTMLParser(html), "Brücke bleibt stehen")


@pytest.mark.parametrize(
    "markup",
    [
        f'<p class="article__intro">{LEAD}</p>',
        f'<div class="field--name-field-abstract"><p>{LEAD}</p></div>',
        f'<h2 class="ArticleHero__teaser--light">{LEAD}</h2>',
        f'<p itemprop="description">{LEAD}</p>',
        f'<div class="chapo">{LEAD}</div>',
        # a dateline line first, then the lead
        f'<p class="dateline">12.03.2024</p><p class="lead">{LEAD}</p>',
    ],
)
def test_the_lead_under_the_headline_is_found_by_its_markup(markup: str) -> None:
    assert lead_of(page(markup)) == LEAD


@pytest.mark.parametrize(
    ("markup", "after"),
    [
        # no lead: the first paragraph of the body is not one
        ("", ""),
        # a teaser of another story after the body began
        ("", f'<aside><p class="teaser">{LEAD}</p></aside><p class="teaser-text">{LEAD}</p>'),
        # marked like a lead, but a caption, an image, a byline with a date
        (f'<p class="lead-image-caption">{LEAD}</p>', ""),
        (f'<figure><figcaption class="intro">{LEAD}</figcaption></figure>', ""),
        ('<div class="shout_post_teaser">20. Mai 2019 - von Annette Henkel</div>', ""),
        # in a list of links (related stories), or too short to be a lead
        (f'<ul><li class="teaser"><a href="/x">{LEAD}</a></li></ul>', ""),
        ('<p class="lead">Kurz notiert</p>', ""),
    ],
)
def test_what_is_not_a_lead_is_not_taken(markup: str, after: str) -> None:
    assert lead_of(page(markup, after)) is None


def test_an_unmarked_paragraph_in_the_headline_s_header_is_its_lead() -> None:
    assert lead_of(page(f"<p>{LEAD}</p>")) == LEAD
    headline = "<h1>Brücke bleibt stehen</h1>"
    hgroup = page("").replace(headline, f"<hgroup>{headline}<h2>{LEAD}</h2></hgroup>")
    assert lead_of(hgroup) == LEAD
    # a byline in the header is not: too short, or named so
    assert lead_of(page("<p>Von Annette Henkel und Jan Kegelberg</p>")) is None
    assert lead_of(page(f'<p class="post-byline">{LEAD}</p>')) is None


def test_a_page_whose_headline_is_an_h2_has_its_lead_found() -> None:
    html = page(f'<div class="teaser-text"><p>{LEAD}</p></div>').replace("h1>", "h2>")
    assert lead_of(html) == LEAD
    # a one-word h2 is no headline
    html = html.replace("Brücke bleibt stehen</h2>", "Aktuelles</h2>")
    assert find_standfirst(LexborHTMLParser(html), "Aktuelles") is None


def test_the_lead_reads_as_its_reader_sees_it() -> None:
    # inline markup splits no words; a script inside the lead is no text
    html = page(
        '<p class="lead"><span class="dropcap">D</span>ie alte <a href="/b">Brücke</a> bleibt:'
        " Nach jahre<em>langem</em> Streit stimmt der Gemeinderat für die Sanierung.<br>"
        "<script>!function(n){window.cnx={}}</script>Der Abriss ist vom Tisch.</p>"
    )
    assert lead_of(html) == (
        "Die alte Brücke bleibt: Nach jahrelangem Streit stimmt der Gemeinderat für die"
        " Sanierung. Der Abriss ist vom Tisch."
    )


@pytest.mark.parametrize(
    "markup",
    [
        f'<p class="lead" hidden>{LEAD}</p>',
        f'<div style="display: none"><p class="lead">{LEAD}</p></div>',
        '<p class="lead">Aktualisiert am Dienstag, 5 March 2024 um 10:30 Uhr von der Redaktion</p>',
        "<p>Von Annette Henkel, Jan Kegelberg und der Lokalredaktion Süd</p>",
    ],
)
def test_hidden_leads_datelines_and_bylines_are_not_taken(markup: str) -> None:
    tree = LexborHTMLParser(page(markup))
    assert find_standfirst(tree, "Brücke bleibt stehen", ("Annette Henkel",)) is None


def test_a_body_that_opens_with_the_lead_does_not_repeat_it() -> None:
    body = f"{LEAD}\n\nDer Gemeinderat hat am Dienstagabend beschlossen."
    assert story_text(LEAD, body) == body
    assert story_text(LEAD.upper(), body) == body  # words compared, not their case
    assert story_text(LEAD, "Der Gemeinderat tagte.") == f"{LEAD}\n\nDer Gemeinderat tagte."
    assert story_text(None, "Der Gemeinderat tagte.") == "Der Gemeinderat tagte."


def test_a_corrected_lead_is_a_revision_that_keeps_the_old_one(tmp_path: Path) -> None:
    first = Story("lead", "Brücke bleibt", BODY_TEXT, language="de", standfirst=LEAD)
    fixed = Story(
        "lead", "Brücke bleibt", BODY_TEXT, language="de", standfirst=LEAD + " (korrigiert)"
    )
    db = build_archive(tmp_path / "news.db", [first])
    with Archive.open(db) as archive:
        [saved] = archive.save([result(fixed)], None)
    assert saved.outcome == "revised"
    assert query(db, "SELECT standfirst, revision FROM articles") == [(fixed.standfirst, 2)]
    assert query(db, "SELECT standfirst, revision FROM revisions") == [(LEAD, 1)]
    # a version without a lead has none: the old one is not kept in its place
    gone = Story("lead", "Brücke bleibt", BODY_TEXT, language="de")
    with Archive.open(db) as archive:
        [saved] = archive.save([result(gone)], None)
    assert saved.outcome == "revised"
    assert query(db, "SELECT standfirst, revision FROM articles") == [(None, 3)]


def test_a_page_without_a_headline_has_no_standfirst() -> None:
    assert lead_of(f'<html><body><p class="lead">{LEAD}</p>{BODY}</body></html>') is None


def test_the_story_keeps_its_standfirst_apart_from_its_body() -> None:
    article = extract(page(f'<p class="article__intro">{LEAD}</p>'), "https://z.example/a/1")
    assert article is not None
    assert article.standfirst == LEAD
    assert LEAD not in article.text  # never twice
    assert article.text.startswith("Der Gemeinderat hat am Dienstagabend")
    assert story_text(article.standfirst, article.text) == f"{LEAD}\n\n{article.text}"


def test_a_short_story_counts_its_standfirst() -> None:
    # 180 characters of body alone are too little; with the lead it is a story.
    body = (
        "<p>Der Gemeinderat hat am Dienstagabend beschlossen, die alte Brücke nicht "
        "abzureißen, sondern für Fußgänger und Radfahrer zu sanieren. Die Kosten: "
        "vier Millionen Euro.</p>"
    )
    html = page(f'<p class="lead">{LEAD}</p>').replace(BODY, body)
    article = extract(html, "https://z.example/a/2")
    assert article is not None and article.standfirst == LEAD


STORIES = [
    Story(
        "bridge",
        "Brücke bleibt stehen",
        BODY.replace("<p>", "").replace("</p>", "\n\n"),
        language="de",
        standfirst=LEAD + " Der Fährmann freut sich.",
    ),
    Story(
        "harbour",
        "港口新闻",
        "今天港口很平静。" + filler("zh"),
        language="zh",
        standfirst="港口管理局宣布扩建计划，工程明年开始。",
    ),
    Story("plain", "A quiet day", "Nothing happened in the harbour today. " + filler("en")),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("standfirst") / "news.db", STORIES)


def found(db: Path, query: str) -> list[str]:
    done = CliRunner().invoke(cli, ["search", query, "--db", str(db), "--json"])
    assert done.exit_code == 0, done.output
    return [json.loads(line)["url"] for line in done.stdout.splitlines()]


def test_search_finds_words_only_the_standfirst_has(db: Path) -> None:
    assert found(db, "Fährmann") == [STORIES[0].url]  # word index
    assert found(db, "扩建计划") == [STORIES[1].url]  # trigram index (CJK)
    assert found(db, "Fährmann") == found(db, "fahrmann")  # the same tokenizer as before


def test_export_writes_the_standfirst_before_the_text(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["export", "--db", str(db), "--source", "gazette"])
    rows = {json.loads(line)["url"]: json.loads(line) for line in done.stdout.splitlines()}
    assert rows[STORIES[0].url]["standfirst"] == STORIES[0].standfirst
    assert rows[STORIES[2].url]["standfirst"] is None
    for fmt in ("txt", "md"):
        out = tmp_path / fmt
        done = runner.invoke(cli, ["export", "--db", str(db), "--format", fmt, "-o", str(out)])
        assert done.exit_code == 0, done.output
        texts = [f.read_text("utf-8") for f in out.rglob(f"*.{fmt}")]
        bridge = next(t for t in texts if "Gemeinderat" in t)
        # the lead, a blank line, then the body exactly
        assert f"\n\n{STORIES[0].standfirst}\n\n{STORIES[0].text}" in bridge
        quiet = next(t for t in texts if "Nothing happened" in t)
        assert "\n\nNothing happened in the harbour today." in quiet


def test_show_prints_the_standfirst_above_the_text(db: Path) -> None:
    done = CliRunner().invoke(cli, ["show", STORIES[0].url, "--db", str(db)])
    assert done.exit_code == 0, done.output
    lead = done.output.index("Der Fährmann freut sich.")
    assert lead < done.output.index("Der Gemeinderat hat am Dienstagabend")


def test_an_archive_from_before_the_standfirst_gains_it_and_stays_searchable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    before = [m.__name__ for m in MIGRATIONS].index("_v12_standfirst")
    for migration in MIGRATIONS[:before]:
        migration(db)
    db.execute(f"PRAGMA user_version = {before}")
    db.execute(
        "INSERT INTO articles (url, canonical_url, source, title, text, fetched_at,"
        " content_hash) VALUES ('https://o.example/1', 'https://o.example/1', 'old',"
        " '旧闻', '港口旧闻：码头关闭了三天。', '2026-01-01T00:00:00Z', 'h1')"
    )
    conn.commit()
    conn.close()
    assert fts_columns(sqlite_utils.Database(path), "articles_fts") == ["title", "text"]
    with Archive.open(path) as archive:
        assert "standfirst" in {c.name for c in archive.db["articles"].columns}
        assert fts_columns(archive.db, "articles_fts") == ["title", "text", "standfirst"]
        cols = ["title", "text", "standfirst"]
        assert fts_columns(archive.db, "articles_trigram") == cols
        archive.db.execute(
            "UPDATE articles SET standfirst = 'Lotsen streiken im Hafen' WHERE id = 1"
        )
        archive.db.conn.commit()
    assert found(path, "码头关闭") == ["https://o.example/1"]  # the old story, rebuilt
    assert found(path, "Lotsen") == ["https://o.example/1"]  # the trigger keeps it current


def test_import_stores_the_standfirst_and_reextract_finds_it_for_older_stories(
    tmp_path: Path,
) -> None:
    warc = tmp_path / "lead.warc.gz"
    body = page(f'<p class="article__intro">{LEAD}</p>').encode()
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1")
        record = writer.create_warc_record(
            "https://z.example/lokales/bruecke",
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http,
        )
        writer.write_record(record)
    db = tmp_path / "news.db"
    assert run_cli("import-warc", str(warc), "--db", str(db), cwd=tmp_path).returncode == 0
    [(standfirst, text)] = query(db, "SELECT standfirst, text FROM articles")
    assert standfirst == LEAD and LEAD not in text
    # As a version before the standfirst stored it: the lead in the body, no standfirst.
    old = f"{LEAD}\n\n{text}"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE articles SET standfirst = NULL, text = ?, content_hash = ?",
            [old, content_hash(old)],
        )
    done = run_cli("reextract", "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The story's whole text is the same (its hash too): the lead moves out of the body,
    # with no revision.
    assert json.loads(done.stdout)["updated"] == 1
    assert query(db, "SELECT standfirst, text FROM articles") == [(standfirst, text)]
    assert query(db, "SELECT count(*) FROM revisions") == [(0,)]


def _killed_fts(conn: sqlite3.Connection) -> None:  # killed while the index was rebuilt
    for name in ("ai", "ad", "au"):
        conn.execute(f"DROP TRIGGER articles_{name}")
    conn.execute("DROP TABLE articles_fts")
    conn.execute(
        "CREATE VIRTUAL TABLE articles_fts USING FTS5 (title, text, standfirst,"
        " tokenize='porter unicode61 remove_diacritics 2', content=articles)"
    )


def _killed_trigram(conn: sqlite3.Connection) -> None:  # killed between drop and create
    for name in ("ai", "ad", "au"):
        conn.execute(f"DROP TRIGGER articles_trigram_{name}")
    conn.execute("DROP TABLE articles_trigram")


@pytest.mark.parametrize("kill", [_killed_fts, _killed_trigram])
def test_migration_12_killed_midway_runs_again_whole(tmp_path: Path, kill: Any) -> None:
    """Each step of the migration is kept as it ends: wherever it was killed, the next
    open finishes it, and every story, old or new, is found."""
    db = build_archive(tmp_path / "news.db", STORIES[1:])
    to_schema_11(db)
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE articles ADD COLUMN standfirst TEXT")  # the first step ran
    kill(conn)
    conn.commit()
    conn.close()
    with Archive.open(db) as archive:
        triggers = {r[0] for r in archive.db.execute("SELECT name FROM sqlite_master")}
        assert {"articles_ai", "articles_ad", "articles_au", "articles_trigram_ai"} <= triggers
        archive.save([result(STORIES[0])], None)
    assert found(db, "Fährmann") == [STORIES[0].url]  # the new story's standfirst
    assert found(db, "harbour") == [STORIES[2].url]  # an old story, indexed again
    assert found(db, "港口很平静") == [STORIES[1].url]  # CJK, by the trigram index
