"""`newsarchive try`: one page explained with a source's settings, nothing written
(issue 16, item 2). End to end against the local site, through the real CLI."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

import pytest

from pipeline.demo.pages import SiteArticle
from pipeline.demo.site import NewsSite
from pipeline.extract.extractor import explain, extract
from pipeline.models import ExtractOptions
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
SECOND = ".entry-content p:nth-of-type(2)"  # the story's second paragraph


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_error(done: object, *words: str) -> None:
    stderr: str = done.stderr  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("newsarchive: error: ") and "Traceback" not in stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def arts() -> list[SiteArticle]:
    return synthetic_articles(4, seed=21)


def test_try_shows_what_each_drop_selector_removed_and_writes_nothing(
    workdir: Path, arts: list[SiteArticle]
) -> None:
    with NewsSite(arts, "Test Gazette") as site:
        config = write_config(
            workdir, [{"name": "s", "url": site.base + "/", "drop": [".share-bar", SECOND]}]
        )
        db = workdir / "archive" / "news.db"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        before = (_digest(db), query(db, "SELECT count(*) FROM urls"))
        requests = len(site.requests)
        url = site.base + arts[1].path
        done = run_cli("try", url, "--config", str(config), "--json", cwd=workdir)
        assert done.returncode == 0, done.stderr
        plain = run_cli("try", url, "--config", str(config), cwd=workdir)
        assert any(r.path == arts[1].path for r in site.requests[requests:])
    data = json.loads(done.stdout)
    assert data["source"] == "s" and data["written"] is False
    dropped = [r for r in data["removed"] if r["step"] == "drop"]
    assert {r["rule"] for r in dropped} == {"drop '.share-bar'", f"drop {SECOND!r}"}
    taken = next(r["text"] for r in dropped if SECOND in r["rule"])
    assert taken == arts[1].paragraphs[1]
    assert arts[1].paragraphs[1] not in data["article"]["text"]
    assert arts[1].paragraphs[2] in data["article"]["text"]
    origins = {m["field"]: m for m in data["metadata"]}
    assert origins["title"]["value"] == arts[1].title
    assert origins["title"]["origin"] == "JSON-LD headline"
    assert origins["published"]["origin"] == "JSON-LD datePublished"
    # the page's newsletter box and comment form go by the generic pre-cleaning rules
    assert any("newsletter" in r["text"] for r in data["removed"] if r["step"] == "preclean")
    # the human form says the same
    assert f"drop {SECOND!r}: {arts[1].paragraphs[1][:60]}" in plain.stdout
    assert f"title: {arts[1].title}  (from JSON-LD headline)" in plain.stdout
    assert "Nothing was written to the archive." in plain.stdout
    # nothing was written: the archive file and its frontier are as they were
    assert (_digest(db), query(db, "SELECT count(*) FROM urls")) == before


def test_try_without_an_archive_creates_none(workdir: Path, arts: list[SiteArticle]) -> None:
    with NewsSite(arts) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/", "drop": [SECOND]}])
        done = run_cli("try", site.base + arts[0].path, "--config", str(config), cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert not (workdir / "archive" / "news.db").exists()


def test_try_reads_a_saved_file_and_a_stored_capture(
    workdir: Path, arts: list[SiteArticle]
) -> None:
    with NewsSite(arts) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/", "drop": [SECOND]}])
        url = site.base + arts[2].path
        with urllib.request.urlopen(url) as response:
            (workdir / "page.html").write_bytes(response.read())
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    db = workdir / "archive" / "news.db"
    story = query(db, "SELECT id FROM articles WHERE url = ?", (url,))[0][0]
    saved = run_cli(
        "try", url, "--html", "page.html", "--source", "s", "--config", str(config), "--json",
        cwd=workdir,
    )  # fmt: skip
    stored = run_cli("try", "--id", str(story), "--config", str(config), "--json", cwd=workdir)
    for done in (saved, stored):
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["url"] == url
        taken = [r["text"] for r in data["removed"] if r["rule"] == f"drop {SECOND!r}"]
        assert taken == [arts[2].paragraphs[1]]
    assert json.loads(stored.stdout)["from"] == f"capture of story #{story}"


def test_try_errors_are_one_line(workdir: Path, arts: list[SiteArticle]) -> None:
    with NewsSite(arts) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
        page = site.base + arts[0].path
        unknown = run_cli("try", page, "--source", "nope", "--config", str(config), cwd=workdir)
        missing = run_cli(
            "try", page, "--html", "absent.html", "--config", str(config), cwd=workdir
        )
        gone = run_cli("try", site.base + "/no/such/page/", "--config", str(config), cwd=workdir)
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    assert unknown.returncode == 2
    _one_line_error(unknown, "unknown source 'nope'", "known: s")
    assert missing.returncode == 2
    _one_line_error(missing, "cannot read absent.html")
    assert gone.returncode == 1
    _one_line_error(gone, "cannot fetch", "/no/such/page/", "404")
    no_id = run_cli("try", "--id", "999", "--config", str(config), cwd=workdir)
    assert no_id.returncode == 2
    _one_line_error(no_id, "no article 999")
    for warc in (workdir / "archive" / "warc").glob("*.warc*"):
        warc.unlink()
    lost = run_cli("try", "--id", "1", "--config", str(config), cwd=workdir)
    assert lost.returncode == 1
    _one_line_error(lost, "is missing")


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.html")))
def test_explain_returns_the_article_extract_returns(name: str) -> None:
    html = (FIXTURES / f"{name}.html").read_text("utf-8")
    options = ExtractOptions(drop=(".related", "#comments"), now="2026-12-01T00:00:00Z")
    url = "https://news.example/2026/11/30/story"
    article, why = explain(html, url, options)
    assert article == extract(html, url, options)
    if article is not None:
        assert {o.field for o in why.metadata} >= {"title"}
        assert why.extracted


def test_try_skips_bytes_that_are_no_page_as_a_run_does(
    workdir: Path, arts: list[SiteArticle]
) -> None:
    """A story's markup behind a GIF signature is sniffed as an image by a run's
    byte-level check (story.not_a_page) whatever the Content-Type said; try says so too
    instead of extracting the decoded text. JSON is skipped by both as well."""
    from pipeline.demo.pages import article_page
    from pipeline.extract.workers import extract_bytes

    url = "https://news.example" + arts[0].path
    page = article_page(arts[0], "Gazette", "https://news.example", [], []).encode()
    bodies = {
        "image.html": b"GIF89a" + page,
        "data.html": json.dumps({"title": arts[0].title, "text": arts[0].paragraphs}).encode(),
    }
    for name, body in bodies.items():
        (workdir / name).write_bytes(body)
        done = run_cli("try", url, "--html", name, "--json", cwd=workdir)
        assert done.returncode == 1, done.stderr  # nothing would be kept
        data = json.loads(done.stdout)
        _article, reason = extract_bytes(body, "utf-8", url, ExtractOptions())
        assert data["article"] is None, name
        assert data["verdict"] == reason, name
    plain = run_cli("try", url, "--html", "image.html", cwd=workdir)
    assert "Not kept: binary data (image/gif), not a page" in plain.stdout
