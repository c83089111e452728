"""`newsarchive export` in every format, through the real CLI on a real archive."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tracemalloc
import types
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.export.formats import guard_formula, unguard_formula
from pipeline.export.tree import safe_name
from pipeline.models import Article, Candidate, PageResult
from pipeline.store import Archive, queries
from pipeline.text import content_hash

from .browse_helpers import (
    STORIES,
    Story,
    build_archive,
    cli_env,
    filler,
    hostile_stories,
    result,
)

SAFE_PART = re.compile(r"[^\W_]([^\W_]|-)*", re.UNICODE)  # letters, digits, marks, hyphens


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("export") / "news.db", STORIES)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def stored(db: Path) -> list[dict[str, object]]:
    with Archive.open(db, readonly=True) as archive:
        return list(queries.export_rows(archive, queries.Filters()))


# --- jsonl -----------------------------------------------------------------------------


def test_jsonl_round_trips_every_column_exactly(db: Path, tmp_path: Path) -> None:
    to_stdout = invoke("export", "--db", str(db))
    assert to_stdout.exit_code == 0, to_stdout.output
    raw = to_stdout.stdout_bytes
    lines = raw.split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(STORIES) + 1
    rows = [json.loads(line) for line in lines[:-1]]
    assert rows == stored(db)
    by_title = {r["title"]: r for r in rows}
    unicode_story = next(s for s in STORIES if s.key == "unicode")
    assert by_title[unicode_story.title]["text"] == unicode_story.text
    # LS/PS/NEL are escaped, so line-splitting readers see one record per line
    assert "\u2028".encode() not in raw and "\x85".encode() not in raw
    assert len(raw.decode("utf-8").splitlines()) == len(STORIES)
    assert list(rows[0]) == list(queries.ARTICLE_COLUMNS)

    out = tmp_path / "sub" / "all.jsonl"
    done = invoke("export", "--db", str(db), "--format", "jsonl", "--output", str(out))
    assert done.exit_code == 0
    assert out.read_bytes() == raw
    assert f"exported {len(STORIES)} stories to {out}" in done.stderr
    assert [p.name for p in out.parent.iterdir()] == ["all.jsonl"]  # no temp file left


def test_export_filters_as_search_does_plus_query(db: Path) -> None:
    def titles(*args: str) -> set[str]:
        done = invoke("export", "--db", str(db), "--columns", "title", *args)
        assert done.exit_code == 0, done.output
        return {json.loads(line)["title"] for line in done.output.splitlines()}

    assert titles("--source", "kurier") == {
        "Stadtrat beschließt Sanierung der Hafenmauer",
        "Film festival in a lighthouse returns",
    }
    assert titles("--language", "de") == {"Stadtrat beschließt Sanierung der Hafenmauer"}
    assert titles("--query", "harbour", "--since", "2026-11-01") == {
        "Council approves £4.2m repairs to storm-battered harbour wall",
        "Hundreds brave cold water for charity swim",
    }
    assert titles("--until", "2026-09-30") == {"Film festival in a lighthouse returns"}
    assert titles("--query", "market", "--source", "kurier") == set()
    bad = invoke("export", "--db", str(db), "--query", '"open')
    assert bad.exit_code == 2 and bad.output.startswith("newsarchive: error: bad search query")
    unknown = invoke("export", "--db", str(db), "--columns", "id,password")
    assert unknown.exit_code == 2 and "unknown column(s) password" in unknown.output


def _peak_of_export(*args: str) -> tuple[int, Result]:
    tracemalloc.start()
    try:
        done = invoke("export", *args)
        return tracemalloc.get_traced_memory()[1], done
    finally:
        tracemalloc.stop()


def test_export_streams_with_flat_memory(tmp_path: Path) -> None:
    """Exporting 4x the stories (10 kB each) takes no more memory: a batch is held,
    never the archive."""
    db = tmp_path / "big.db"
    stories = [
        Story(f"big-{i}", f"Story {i}", f"Story number {i}. " + "word " * 2000, source=source)
        for i, source in enumerate(["small"] * 800 + ["large"] * 2400)
    ]
    with Archive.open(db) as archive:
        for start in range(0, len(stories), 500):
            archive.save([result(s) for s in stories[start : start + 500]], None)
    with Archive.open(db, readonly=True) as archive:
        rows = queries.export_rows(archive, queries.Filters(), batch=100)
        assert isinstance(rows, types.GeneratorType)
        assert next(rows)["title"] == "Story 0"  # comes before the rest is read
        rows.close()
    _peak_of_export("--db", str(db), "--source", "none", "-o", str(tmp_path / "warm.jsonl"))
    small, done = _peak_of_export("--db", str(db), "--source", "small", "-o", str(tmp_path / "s"))
    assert done.exit_code == 0, done.output
    peak, done = _peak_of_export("--db", str(db), "-o", str(tmp_path / "all.jsonl"))
    assert done.exit_code == 0, done.output
    size = (tmp_path / "all.jsonl").stat().st_size
    assert size > 4 * (tmp_path / "s").stat().st_size * 0.99 > 30_000_000
    assert peak < 1.5 * small, f"{peak} bytes for all, {small} for a quarter"
    assert peak < size / 3


def test_export_to_a_closed_pipe_is_quiet(db: Path) -> None:
    done = subprocess.run(
        f"'{sys.executable}' -m pipeline export --db '{db}' | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


# --- csv -------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_opens_in_spreadsheets_and_round_trips(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    done = invoke("export", "--db", str(db), "--format", "csv", "--output", str(out))
    assert done.exit_code == 0, done.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,url,canonical_url,source,title,")
    assert data.split(b"\n")[0].endswith(b"\r")  # RFC 4180: CRLF records
    rows = read_csv(data)
    originals = stored(db)
    assert len(rows) == len(originals)
    for row, original in zip(rows, originals, strict=True):
        for column, value in original.items():
            if value is None:
                expected = ""
            elif isinstance(value, list):
                expected = json.dumps(value, ensure_ascii=False)
            else:
                expected = str(value)
            assert unguard_formula(row[column]) == expected, column


def test_csv_neutralises_formulas_unless_asked_not_to(db: Path) -> None:
    guarded = read_csv(invoke("export", "--db", str(db), "--format", "csv").stdout_bytes)
    formula = next(r for r in guarded if "HYPERLINK" in r["title"])
    assert formula["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert formula["author"] == "'+44 20 7946 0000"
    assert formula["text"].startswith("'-2+3")
    assert formula["word_count"].isdigit()  # numbers stay numbers
    for row in guarded:
        for value in row.values():
            assert not re.match(r"[=+\-@\t\r]", value), value
    exact = read_csv(
        invoke("export", "--db", str(db), "--format", "csv", "--no-formula-guard").stdout_bytes
    )
    assert next(r for r in exact if "HYPERLINK" in r["title"])["title"].startswith("=HYPER")


def test_csv_list_cells_escape_bidi_and_line_separators(tmp_path: Path) -> None:
    """A tag from the web that flips text on screen (U+202E) or breaks lines (U+2028)
    is \\u-escaped in the CSV's JSON list cell, as in jsonl, and reads back the same."""
    tag = "news\u202egpj.exe\u2028two"
    story = Story("bidi", "Bidi tag", filler("bidi"), tags=(tag, "plain"))
    db = build_archive(tmp_path / "news.db", [story])
    data = invoke("export", "--db", str(db), "--format", "csv").stdout_bytes
    assert "\u202e".encode() not in data and "\u2028".encode() not in data
    (row,) = read_csv(data)
    assert row["tags"] == '["news\\u202egpj.exe\\u2028two", "plain"]'
    assert json.loads(row["tags"]) == [tag, "plain"]


@pytest.mark.parametrize(
    "value", ["=1+1", "+1", "-1", "@A1", "\t=x", "\r=x", "'=x", "''@x", "'plain", "plain", ""]
)
def test_formula_guard_is_reversible(value: str) -> None:
    guarded = guard_formula(value)
    assert not re.match(r"[=+\-@\t\r]", guarded)
    assert unguard_formula(guarded) == value


# --- txt / md trees --------------------------------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def parse_txt(data: bytes) -> tuple[dict[str, str], str]:
    head, _, body = data.decode("utf-8").partition("\n\n")
    header = dict(line.split(": ", 1) for line in head.split("\n"))
    assert body.endswith("\n")
    return header, body[:-1]


def test_txt_tree_layout_header_and_exact_text(db: Path, tmp_path: Path) -> None:
    root = tmp_path / "txt"
    done = invoke("export", "--db", str(db), "--format", "txt", "--output", str(root))
    assert done.exit_code == 0, done.output
    assert f"exported {len(STORIES)} stories" in done.stderr
    files = tree(root)
    assert len(files) == len(STORIES)
    name = "gazette/2026/11/council-approves-4-2m-repairs-to-storm-battered-harbour-wall.txt"
    header, body = parse_txt(files[name])
    wall = STORIES[0]
    assert body == wall.text
    assert header["Title"] == wall.title and header["URL"] == wall.url
    assert header["Source"] == "gazette" and header["Published"] == "2026-11-02T08:15:00Z"
    assert header["Author"] == "Marta Ellingham" and header["Tags"] == "council, harbour"
    assert "kurier/2026/10/stadtrat-beschließt-sanierung-der-hafenmauer.txt" in files
    assert "kurier/2026/09/film-festival-in-a-lighthouse-returns.txt" in files
    unicode_story = next(s for s in STORIES if s.key == "unicode")
    unicode_file = "gazette/2026/11/ærøskøbing-東京-naïve-quotes.txt"
    assert parse_txt(files[unicode_file])[1] == unicode_story.text
    # two stories titled alike in one month: the first stored keeps the plain name
    ids = {r["title"] + str(r["published"]): r["id"] for r in stored(db)}
    second = ids["Weekly market report2026-11-12T10:00:00Z"]
    assert "gazette/2026/11/weekly-market-report.txt" in files
    assert f"gazette/2026/11/weekly-market-report-{second}.txt" in files
    assert b"fell this week" in files[f"gazette/2026/11/weekly-market-report-{second}.txt"]
    # escape sequences stay out of the header (a `cat` of the file is safe) ...
    escapes = next(v for k, v in files.items() if "red-alert" in k)
    assert b"\x1b" not in escapes.split(b"\n\n")[0]


def test_md_front_matter_loads_back_exactly(db: Path, tmp_path: Path) -> None:
    root = tmp_path / "md"
    assert invoke("export", "--db", str(db), "--format", "md", "-o", str(root)).exit_code == 0
    files = tree(root)
    assert len(files) == len(STORIES) and all(k.endswith(".md") for k in files)
    originals = {r["id"]: r for r in stored(db)}
    for data in files.values():
        text = data.decode("utf-8")
        assert text.startswith("---\n")
        _, front, rest = text.split("---\n", 2)
        meta = yaml.safe_load(front)
        original = originals[meta["id"]]
        for key, value in meta.items():
            assert value == original[key], key
        assert rest.endswith(str(original["text"]) + "\n")
        if original["title"]:
            assert rest.startswith("\n# ")
    unicode_md = files["gazette/2026/11/ærøskøbing-東京-naïve-quotes.md"].decode()
    assert (
        yaml.safe_load(unicode_md.split("---\n")[1])["title"]
        == "Ærøskøbing – 東京 😀 naïve “quotes”"
    )
    escapes = next(v for k, v in files.items() if "red-alert" in k).decode()
    assert yaml.safe_load(escapes.split("---\n")[1])["title"].startswith("\x1b[31mRed alert")


def test_re_export_is_idempotent_and_follows_edits(tmp_path: Path) -> None:
    db = build_archive(tmp_path / "news.db", STORIES)
    root = tmp_path / "out"
    first = invoke("export", "--db", str(db), "--format", "txt", "-o", str(root))
    assert first.exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*.txt")}
    again = invoke("export", "--db", str(db), "--format", "txt", "-o", str(root))
    assert f"{len(STORIES)} stories to {root}/: 0 written, {len(STORIES)} unchanged" in (
        again.stderr
    )
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.txt")} == before
    # A story edited after archiving (new title and text): its file follows it.
    wall = STORIES[0]
    edited = Story(
        wall.key, "Harbour wall repairs delayed", "The repairs are delayed. " + filler("x")
    )
    with Archive.open(db) as archive:
        assert archive.save([result(edited, "2026-11-26T12:00:00Z")], None)[0].outcome == "revised"
    third = invoke("export", "--db", str(db), "--format", "txt", "-o", str(root))
    assert "1 written" in third.stderr and "1 old files removed" in third.stderr
    files = tree(root)
    assert "gazette/2026/11/harbour-wall-repairs-delayed.txt" in files
    assert not any("council-approves" in name for name in files)
    assert len(files) == len(STORIES)
    # A new story with a taken name never renames an existing file; a filtered export
    # does not hand a name owned by a story it left out to another story.
    clash = Story("clash", "Weekly market report", "The market closed early. " + filler("c"))
    with Archive.open(db) as archive:
        archive.save([result(clash)], None)
    fourth = invoke(
        "export", "--db", str(db), "--format", "txt", "-o", str(root), "--query", "closed"
    )
    assert "1 written" in fourth.stderr
    plain = root / "gazette/2026/11/weekly-market-report.txt"
    assert b"rose this week" in plain.read_bytes()
    assert len(tree(root)) == len(STORIES) + 1
    # the manifest is the exporter's own business: without it nothing is duplicated
    (root / ".newsarchive-txt.json").unlink()
    fifth = invoke("export", "--db", str(db), "--format", "txt", "-o", str(root))
    assert "0 written" in fifth.stderr
    assert len(tree(root)) == len(STORIES) + 1


def test_hostile_titles_never_write_outside_the_output(tmp_path: Path) -> None:
    db = build_archive(tmp_path / "news.db", hostile_stories())
    jail = tmp_path / "jail"
    root = jail / "out"
    for fmt in ("txt", "md"):
        done = invoke("export", "--db", str(db), "--format", fmt, "-o", str(root))
        assert done.exit_code == 0, done.output
    written = sorted(p for p in jail.rglob("*") if p.is_file())
    assert len(written) == 2 * len(hostile_stories()) + 2  # + the two manifests
    assert all(p.is_relative_to(root) for p in written)
    reserved = re.compile(r"(con|prn|aux|nul|com\d|lpt\d|conin|conout|clock)(\..*)?", re.I)
    for path in written:
        assert path.resolve().is_relative_to(root.resolve())
        parts = path.relative_to(root).parts
        if parts[0].startswith(".newsarchive-"):
            continue
        assert len(parts) in (3, 4)
        assert SAFE_PART.fullmatch(parts[0])
        assert parts[1:-1] in (("2026", "11"), ("undated",))
        stem, suffix = parts[-1].rsplit(".", 1)
        assert suffix in ("txt", "md")
        assert SAFE_PART.fullmatch(stem), stem
        assert not reserved.fullmatch(stem)
        assert len(parts[-1].encode()) <= 200
        assert not any(c in parts[-1] for c in "\u202e\u200b\x00\x1b")
    assert (root / "etc" / "undated" / "passwd.txt").is_file()
    assert not (tmp_path / "etc").exists() and not Path("/tmp/evil").exists()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("CON", "con-item"),
        ("com1", "com1-item"),
        ("COM¹", "com1-item"),
        ("．．／．．／etc", "etc"),
        ("\u202etxt.exe", "txt-exe"),
        ("Ærøskøbing Zürich", "ærøskøbing-zürich"),
        ("", "fallback"),
        ("!!!", "fallback"),
        ("x" * 500, "x" * 80),
    ],
)
def test_safe_name(title: str, expected: str) -> None:
    assert safe_name(title, "fallback") == expected


def test_a_symlink_in_the_output_cannot_lead_outside(db: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "out"
    root.mkdir()
    (root / "gazette").symlink_to(outside, target_is_directory=True)
    done = invoke("export", "--db", str(db), "--format", "txt", "-o", str(root))
    assert done.exit_code == 1
    assert "gazette is in the way (a symbolic link or a file)" in done.output
    assert list(outside.iterdir()) == []  # not even a directory made through the link


def test_output_problems_are_one_line_errors(db: Path, tmp_path: Path) -> None:
    no_dir = invoke("export", "--db", str(db), "--format", "md")
    assert no_dir.exit_code == 2 and "--output DIR" in no_dir.output
    a_dir = invoke("export", "--db", str(db), "--format", "csv", "-o", str(tmp_path))
    assert a_dir.exit_code == 1 and "is a directory" in a_dir.output
    a_file = tmp_path / "file"
    a_file.write_text("x")
    not_dir = invoke("export", "--db", str(db), "--format", "txt", "-o", str(a_file))
    assert not_dir.exit_code == 1 and "not a directory" in not_dir.output
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        denied = invoke("export", "--db", str(db), "-o", str(locked / "x.jsonl"))
        assert denied.exit_code == 1 and "cannot write" in denied.output


def test_untitled_stories_are_named_from_their_url(tmp_path: Path) -> None:
    text = "An untitled story. " + filler("u")
    url = "https://gazette.example/2026/11/the-untitled-one.html"
    art = Article(url=url, canonical_url=url, text=text, content_hash=content_hash(text))
    page = PageResult(Candidate(url, "gazette"), "article", "2026-11-25T12:00:00Z", article=art)
    db = tmp_path / "news.db"
    with Archive.open(db) as archive:
        archive.save([page], None)
    root = tmp_path / "out"
    assert invoke("export", "--db", str(db), "--format", "txt", "-o", str(root)).exit_code == 0
    assert list(tree(root)) == ["gazette/2026/11/the-untitled-one.txt"]
