"""Issue 12 item 2: pages that are not stories are skipped with a reason, never stored.
The bytes are sniffed as browsers do (pipeline.sniff) whatever the Content-Type says;
the page and its text are judged on their shape, words only confirming it."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.extract.extractor import extract, extract_traced
from pipeline.extract.workers import extract_bytes
from pipeline.models import ExtractOptions

from .conftest import query, run_cli

URL = "https://news.example/2024/03/05/harbour-berths"
STORY = "".join(
    f"<p>{p}</p>"
    for p in [
        "The harbour authority approved 4 new berths on Tuesday, at a cost of 12.5 million"
        " euros. Work starts in June and should take 18 months, the authority said.",
        "“It is the largest investment in the port since 1998,” said director Mira Santos,"
        " who has led the authority since 2015 and oversaw the last expansion.",
        "Fishermen's groups welcomed the plan but asked for guarantees that the old slipway,"
        " used by small boats for a century, would stay open during the works.",
    ]
)
PAGE = (
    "<html><head><title>Harbour gets new berths</title></head><body><article>"
    f"<h1>Harbour gets new berths</h1>{STORY}</article></body></html>"
)


def _bytes_verdict(body: bytes) -> tuple[object, str]:
    return extract_bytes(body, "cp1252", URL, ExtractOptions())


def test_binary_bodies_served_as_html_are_not_pages() -> None:
    noise = random.Random(7).randbytes(20_000)
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 50
    for body in (noise, gzip.compress(PAGE.encode() * 20), pdf):
        article, reason = _bytes_verdict(body)
        assert article is None
        assert reason.startswith("binary data"), reason
    # The same bytes read as text by a caller that has only the decoded page.
    assert extract(noise.decode("cp1252", errors="replace"), URL) is None
    assert extract(pdf.decode("latin-1"), URL) is None


def test_json_and_jsonp_served_as_html_are_not_pages() -> None:
    data = {"coupons": [{"id": i, "text": "Save 10% on all garden furniture"} for i in range(50)]}
    for body in (json.dumps(data), f"jsonpCoupon({json.dumps(data)});"):
        article, reason = _bytes_verdict(body.encode())
        assert (article, reason) == (None, "JSON, not a page")


def test_a_real_page_is_still_a_story() -> None:
    article, reason = _bytes_verdict(PAGE.encode())
    assert article is not None and reason == ""


def test_home_consent_and_challenge_pages_are_not_stories() -> None:
    home = extract_traced(PAGE, "https://news.example/")[1]
    assert home.skipped == "the site's home page, not a story"
    # A login box in the page's header says nothing: the story is still there.
    login = PAGE.replace("<article>", "<form><input type='password' name='pw'></form><article>")
    assert extract_traced(login, URL)[1].skipped == ""
    consent = (
        "<html><head><title>Before you continue</title></head><body><div>"
        "<p>We value your privacy. We and our 842 partners store and access information on"
        " your device, such as cookies, and process personal data like unique identifiers.</p>"
        "<p>You may accept or manage your choices by clicking below, including your right to"
        " object where legitimate interest is used, at any time on the privacy policy page.</p>"
        "</div></body></html>"
    )
    assert "consent" in extract_traced(consent, URL)[1].skipped
    challenge = (
        "<html><head><title>Just a moment...</title></head><body><div>"
        "<p>Checking if the site connection is secure. news.example needs to review the"
        " security of your connection before proceeding, which takes a few seconds.</p>"
        "<p>Please enable JavaScript and cookies to continue; your browser will redirect"
        " to the requested content shortly after the check is complete.</p>"
        "</div></body></html>"
    )
    assert "bot-challenge" in extract_traced(challenge, URL)[1].skipped


def test_a_story_that_talks_about_cookies_or_captchas_is_a_story() -> None:
    body = (
        STORY + "<p>Shops that accept all cookies from the bakery will pay less, and the captcha"
        " on the booking site will go, the authority said on Tuesday afternoon.</p>"
    )
    page = f"<html><head><title>Harbour</title></head><body><article>{body * 3}</article></body>"
    assert extract(page, URL) is not None


def test_import_warc_records_not_a_story_as_skipped_with_its_reason(tmp_path: Path) -> None:
    warc = tmp_path / "junk.warc.gz"
    bodies = {
        "https://junk.example/2024/a.html": gzip.compress(PAGE.encode() * 20),
        "https://junk.example/2024/b.html": b'jsonpCoupon({"id": 1, "text": "x"});',
        "https://junk.example/2024/c.html": PAGE.encode(),
    }
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in bodies.items():
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http
                )
            )
    db = tmp_path / "news.db"
    done = run_cli("import-warc", str(warc), "--db", str(db), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["new"], report["skipped"]) == (1, 2)
    assert query(db, "SELECT url FROM articles") == [("https://junk.example/2024/c.html",)]
    reasons = dict(query(db, "SELECT url, error FROM urls WHERE state = 'skipped'"))
    assert reasons["https://junk.example/2024/a.html"].startswith("binary data")
    assert reasons["https://junk.example/2024/b.html"] == "JSON, not a page"
