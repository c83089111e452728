"""Re-extraction from captures and WARC import: no network, other writers, damage."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.demo import pages
from pipeline.demo.site import NewsSite, Request, Response
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config

PROMO = "Local weather for the harbour: 14C, light winds, sunny spells all afternoon."


def test_reextract_applies_new_drop_selectors_without_any_request(workdir: Path) -> None:
    arts = synthetic_articles(6, seed=41)
    with NewsSite(arts) as site:
        for article in arts:

            def page(request: Request, a: pages.SiteArticle = article) -> Response:
                html = pages.article_page(a, site.name, site.base, [], []).replace(
                    '<div class="entry-content">',
                    f'<div class="entry-content"><div class="dm-box"><p>{PROMO}</p></div>',
                )
                return Response(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})

            site.routes[article.path] = page
        sources = [{"name": "s", "url": site.base + "/"}]
        config = write_config(workdir, sources)
        db = workdir / "archive" / "news.db"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert query(db, "SELECT count(*) FROM articles WHERE text LIKE ?", (f"%{PROMO}%",)) == [
            (6,)
        ]
        write_config(workdir, [{**sources[0], "drop": [".dm-box"]}])
        before = len(site.requests)
        done = run_cli("reextract", "--config", str(config), "--json", cwd=workdir)
        assert done.returncode == 0, done.stderr
        assert len(site.requests) == before  # not a single HTTP request
    report = json.loads(done.stdout)
    assert (report["examined"], report["revised"], report["failed"]) == (6, 6, 0)
    assert query(db, "SELECT count(*) FROM articles WHERE text LIKE ?", (f"%{PROMO}%",)) == [(0,)]
    for article in arts:
        text = query(
            db, "SELECT text, revision FROM articles WHERE url LIKE ?", (f"%{article.slug}%",)
        )[0]
        assert article.paragraphs[0] in text[0] and text[1] == 2
    assert query(db, "SELECT count(*) FROM revisions WHERE text LIKE ?", (f"%{PROMO}%",)) == [(6,)]
    again = json.loads(run_cli("reextract", "--config", str(config), "--json", cwd=workdir).stdout)
    assert again["unchanged"] == 6 and again["revised"] == 0


def _warcio_file(path: Path, site_base: str, arts: list[pages.SiteArticle]) -> None:
    """A WARC as another tool writes it: warcio directly, chunked and gzipped bodies."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, article in enumerate(arts):
            html = pages.article_page(article, "Other Paper", site_base, [], []).encode()
            headers = [("Content-Type", "text/html; charset=utf-8")]
            body = html
            if i % 3 == 1:  # chunked, as stored raw by some crawlers
                headers.append(("Transfer-Encoding", "chunked"))
                body = (
                    b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (html[:500], html[500:]))
                    + b"0\r\n\r\n"
                )
            elif i % 3 == 2:
                headers.append(("Content-Encoding", "gzip"))
                body = gzip.compress(html)
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                site_base + article.path,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
            )
            writer.write_record(record)
        not_found = writer.create_warc_record(
            site_base + "/missing/",
            "response",
            payload=io.BytesIO(b"nope"),
            length=4,
            http_headers=StatusAndHeaders(
                "404 Not Found", [("Content-Type", "text/html")], protocol="HTTP/1.1"
            ),
        )
        writer.write_record(not_found)
        image = writer.create_warc_record(
            site_base + "/logo.png",
            "response",
            payload=io.BytesIO(b"\x89PNG...."),
            length=8,
            http_headers=StatusAndHeaders(
                "200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1"
            ),
        )
        writer.write_record(image)


def test_import_warc_from_another_writer_stores_each_article_once(tmp_path: Path) -> None:
    arts = synthetic_articles(9, seed=42)
    warc = tmp_path / "other.warc.gz"
    _warcio_file(warc, "https://other.example", arts)
    db = tmp_path / "news.db"
    done = run_cli("import-warc", str(warc), "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["new"], report["skipped"], report["damaged"]) == (9, 2, 0)
    rows = query(db, "SELECT source, url, title, text FROM articles ORDER BY url")
    assert len(rows) == 9 and {r[0] for r in rows} == {"other-example"}
    for article in arts:
        row = next(r for r in rows if r[1].endswith(article.path))
        assert row[2] == article.title
        assert all(p in row[3] for p in article.paragraphs)
    # Kept in the archive's own WARC, so re-extraction works on imported stories too.
    assert query(db, "SELECT count(*) FROM articles WHERE warc_file LIKE 'warc/imported-%'") == [
        (9,)
    ]
    again = json.loads(
        run_cli("import-warc", str(warc), "--db", str(db), "--json", cwd=tmp_path).stdout
    )
    assert (again["new"], again["known"]) == (0, 9)
    redo = json.loads(run_cli("reextract", "--db", str(db), "--json", cwd=tmp_path).stdout)
    assert redo["examined"] == 9 and redo["unchanged"] == 9


def test_import_tells_html_as_fetch_does_when_a_record_has_no_content_type(
    tmp_path: Path,
) -> None:
    """An untyped record is sniffed by the shared sniffer: a page that starts at <head>
    (no <html> tag, which HTML allows) is imported, as the fetcher would take it."""
    arts = synthetic_articles(2, seed=44)
    warc = tmp_path / "untyped.warc.gz"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for article in arts:
            page = pages.article_page(article, "Other Paper", "https://u.example", [], [])
            body = page[page.index("<head>") :].encode()
            writer.write_record(
                writer.create_warc_record(
                    "https://u.example" + article.path,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=StatusAndHeaders("200 OK", [], protocol="HTTP/1.1"),
                )
            )
    db = tmp_path / "news.db"
    done = run_cli("import-warc", str(warc), "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 2


def test_a_response_record_without_an_http_address_is_skipped_and_said(
    tmp_path: Path,
) -> None:
    """Before: a `response` record under `hard::page.html` vanished (counted in no
    figure but `records`); now it is a skipped response, and the summary says why."""
    arts = synthetic_articles(2, seed=46)
    warc = tmp_path / "odd.warc.gz"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        # a crawler's DNS lookup is a `response` record too: not a page, not worth a word
        dns = b"20260101000000\no.example.\t300\tIN\tA\t192.0.2.1\n"
        writer.write_record(
            writer.create_warc_record(
                "dns:o.example", "response", payload=io.BytesIO(dns), length=len(dns),
                warc_content_type="text/dns",
            )
        )  # fmt: skip
        for article, target in zip(arts, ("hard::page.html", "https://o.example/a/1"), strict=True):
            body = pages.article_page(article, "Odd Paper", "https://o.example", [], []).encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    target, "response", payload=io.BytesIO(body), length=len(body),
                    http_headers=http,
                )
            )  # fmt: skip
    db = tmp_path / "news.db"
    done = run_cli("import-warc", str(warc), "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["responses"], report["new"], report["skipped"]) == (2, 1, 1)
    assert report["records"] == 3
    assert any("'hard::page.html' is not an http(s) address" in e for e in report["errors"])
    assert not any("dns:" in e for e in report["errors"])
    assert query(db, "SELECT url FROM articles") == [("https://o.example/a/1",)]
    done = run_cli("import-warc", str(warc), "--db", str(tmp_path / "b.db"), cwd=tmp_path)
    assert "'hard::page.html' is not an http(s) address" in done.stderr
    assert "1 skipped" in done.stderr + done.stdout


def test_reextract_writes_metadata_that_changed_without_the_text(tmp_path: Path) -> None:
    """Stories stored when extraction did not read image or modified time get them from
    re-extraction: 'updated', not 'unchanged' with nothing written."""
    arts = synthetic_articles(3, seed=45)
    warc = tmp_path / "meta.warc.gz"
    _warcio_file(warc, "https://meta.example", arts)
    db = tmp_path / "news.db"
    assert run_cli("import-warc", str(warc), "--db", str(db), cwd=tmp_path).returncode == 0
    before = query(db, "SELECT id, image, modified FROM articles ORDER BY id")
    assert len(before) == 3 and all(image and modified for _, image, modified in before)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE articles SET image = NULL, modified = NULL")
    done = run_cli("reextract", "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["updated"], report["unchanged"], report["revised"]) == (3, 0, 0)
    assert query(db, "SELECT id, image, modified FROM articles ORDER BY id") == before


def test_a_truncated_warc_imports_everything_before_the_damage(tmp_path: Path) -> None:
    arts = synthetic_articles(6, seed=43)
    warc = tmp_path / "cut.warc.gz"
    _warcio_file(warc, "https://cut.example", arts)
    data = warc.read_bytes()
    warc.write_bytes(data[: int(len(data) * 0.7)])
    done = run_cli(
        "import-warc",
        str(warc),
        "--db",
        str(tmp_path / "n.db"),
        "--source",
        "cut",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["damaged"] == 1 and 2 <= report["new"] < 6
    stored = [r[0] for r in query(tmp_path / "n.db", "SELECT url FROM articles")]
    assert all(url.startswith("https://cut.example/") for url in stored)


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_import_a_wget_warc_of_the_local_site(tmp_path: Path, site: NewsSite) -> None:
    subprocess.run(
        [
            "wget",
            "--quiet",
            "--recursive",
            "--level=1",
            "--no-parent",
            "--warc-file=site",
            "--directory-prefix=mirror",
            site.base + "/",
        ],
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    warc = tmp_path / "site.warc.gz"
    assert warc.exists()
    db = tmp_path / "news.db"
    done = run_cli(
        "import-warc", str(warc), "--db", str(db), "--source", "gazette", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    urls = {r[0] for r in query(db, "SELECT url FROM articles")}
    assert urls == {site.base + a.path for a in site.articles}
    assert json.loads(done.stdout)["new"] == len(site.articles)


def test_export_warc_writes_the_selected_captures_and_stats_counts_bytes(
    workdir: Path, site: NewsSite
) -> None:
    config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
    assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    out = workdir / "out.warc.gz"
    one = site.articles[0]
    title_phrase = 'title:"' + " ".join(re.findall(r"\w+", one.title)) + '"'
    done = run_cli(
        "export",
        "--config",
        str(config),
        "--format",
        "warc",
        "--query",
        title_phrase,
        "-o",
        str(out),
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    with open(out, "rb") as fh:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)
        ]
    assert records[0][0] == "warcinfo"
    assert records[1:] == [("response", site.base + one.path)]
    everything = workdir / "all.warc.gz"
    assert (
        run_cli(
            "export",
            "--config",
            str(config),
            "--format",
            "warc",
            "-o",
            str(everything),
            cwd=workdir,
        ).returncode
        == 0
    )
    fresh = workdir / "copy.db"
    again = json.loads(
        run_cli("import-warc", str(everything), "--db", str(fresh), "--json", cwd=workdir).stdout
    )
    assert again["new"] == len(site.articles)
    stats = json.loads(run_cli("stats", "--config", str(config), "--json", cwd=workdir).stdout)["s"]
    text_bytes = query(
        workdir / "archive" / "news.db", "SELECT sum(length(CAST(text AS BLOB))) FROM articles"
    )[0][0]
    assert stats["text_bytes"] == text_bytes
    assert (
        stats["capture_bytes"]
        == query(workdir / "archive" / "news.db", "SELECT sum(warc_length) FROM articles")[0][0]
        > 0
    )
