"""The one sniffer (pipeline.sniff), against the WHATWG MIME Sniffing Standard's tables,
with byte fixtures written by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sniff import computed_type, essence, is_html, looks_like_json, may_be_html

DOCTYPE = b"<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>x</p></body></html>"


@pytest.mark.parametrize(
    "body",
    [
        DOCTYPE,
        b"<!doctype HTML>",
        b'<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN">',
        b"<html>",
        b"<HTML lang=en>",
        b"<head>",
        b"<script>var x;</script>",
        b"<iframe src=x>",
        b"<h1>News</h1>",
        b"<div class=a>",
        b"<font face=x>",
        b"<table>",
        b"<a href=x>",
        b"<style>p{}</style>",
        b"<title>t</title>",
        b"<b>bold</b>",
        b"<body>",
        b"<br>",
        b"<p>para",
        b"<!-- a comment --><html>",
        b" \t\r\n\x0c<html>",  # the standard's whitespace bytes lead
        b"\xef\xbb\xbf<!DOCTYPE html>",  # departure: a UTF-8 BOM before the signature
        b"\xef\xbb\xbf  <html>",
    ],
)
def test_html_signatures_after_whitespace_give_html(body: bytes) -> None:
    assert computed_type(body, None) == "text/html"
    assert is_html(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<htmlx>",  # no tag-terminating byte after the name
        b"<html\n>",  # only SP and ">" terminate a signature
        b"<pre>code</pre>",  # "<P" must be followed by SP or ">"
        b"<path d=x/>",
        b"<article><p>x</p></article>",  # not a signature in the standard
        b"<!--comment-->",  # "<!--" needs a terminating byte too
        b"Breaking news: <html> later",  # text first: the signature must lead
        b"<!DOCTYPEhtml>",
    ],
)
def test_near_misses_are_not_html(body: bytes) -> None:
    assert computed_type(body, None) == "text/plain"
    assert not is_html(body)


@pytest.mark.parametrize(
    ("body", "mime"),
    [
        (b"<?xml version='1.0'?><urlset/>", "text/xml"),
        (b"  <?xml version='1.0'?>\n<rss version='2.0'>", "text/xml"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"'
            b' "x.dtd">\n<!-- c --><html xmlns="http://www.w3.org/1999/xhtml"><head>',
            "application/xhtml+xml",  # departure: an XML document rooted at html
        ),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "application/pdf"),
        (b"%!PS-Adobe-3.0", "application/postscript"),
        (b"\xfe\xff\x00<\x00h", "text/plain"),
        (b"\xff\xfe<\x00h\x00", "text/plain"),
        (b"\xef\xbb\xbfplain words", "text/plain"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x01\x00\x01\x00", "image/x-icon"),
        (b"BM\x36\x00\x00\x00", "image/bmp"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/x-gzip"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"OggS\x00\x02", "application/ogg"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wave"),
        (b"plain text, no markup", "text/plain"),
        (b"", "text/plain"),
        (b"text then \x00 a NUL", "application/octet-stream"),
        (b"\x01\x02\x03", "application/octet-stream"),
        (b"\x1b[31m coloured", "text/plain"),  # ESC is not a binary data byte
        (b"tab\tform\x0cfeed\r\n", "text/plain"),
    ],
)
def test_untyped_bodies_are_sniffed(body: bytes, mime: str) -> None:
    assert computed_type(body, None) == mime


@pytest.mark.parametrize("declared", ["unknown/unknown", "application/unknown", "*/*", "", "html"])
def test_unknown_or_unparsable_types_are_sniffed(declared: str) -> None:
    assert computed_type(b"<html><p>x", declared) == "text/html"
    assert computed_type(b"\x89PNG\r\n\x1a\n....", declared) == "image/png"


def test_a_declared_type_is_believed_apart_from_the_standards_exceptions() -> None:
    # Declared HTML stays HTML, whatever the first bytes, unless it is a feed.
    assert computed_type(b"Just text, no tags", "text/html; charset=utf-8") == "text/html"
    assert computed_type(b"\x89PNG\r\n\x1a\n", "text/html") == "text/html"
    assert computed_type(DOCTYPE, "application/xhtml+xml") == "application/xhtml+xml"
    # Declared non-HTML is not made HTML by its body.
    assert computed_type(DOCTYPE, "application/json") == "application/json"
    assert computed_type(DOCTYPE, "text/plain; charset=utf-8") == "text/plain"
    assert computed_type(DOCTYPE, "application/rss+xml") == "application/rss+xml"
    # An image type is checked against the image signatures.
    assert computed_type(b"GIF89a....", "image/png") == "image/gif"
    assert computed_type(b"not an image", "image/png") == "image/png"


def test_apaches_default_text_plain_is_checked_for_binary() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    for label in ("text/plain", "text/plain; charset=ISO-8859-1", "text/plain; charset=UTF-8"):
        assert computed_type(png, label) == "application/octet-stream"
        assert computed_type(DOCTYPE, label) == "text/plain"  # never HTML
    assert computed_type(png, "text/plain; charset=utf-8") == "text/plain"  # not Apache's
    assert computed_type(b"\xff\xfe<\x00", "text/plain") == "text/plain"


@pytest.mark.parametrize(
    ("body", "mime"),
    [
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel>', "application/rss+xml"),
        (b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'>", "application/atom+xml"),
        (
            b"<!-- made by x --> <?xml-stylesheet href='x'?><!DOCTYPE rss><rss>",
            "application/rss+xml",
        ),
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            b' xmlns="http://purl.org/rss/1.0/">',
            "application/rss+xml",
        ),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "text/html"),
        (b"<!DOCTYPE html><html><body><rss>", "text/html"),
        (b"<!-- unterminated comment <rss>", "text/html"),
        (b"text <rss>", "text/html"),
    ],
)
def test_a_feed_served_as_html_is_a_feed(body: bytes, mime: str) -> None:
    assert computed_type(body, "text/html") == mime


def test_only_the_resource_header_is_read() -> None:
    late = b" " * 1445 + b"<html>"
    assert computed_type(late, None) == "text/plain"
    assert computed_type(b"<html>" + b"\x00" * 5000, None) == "text/html"
    assert computed_type(b"a" * 1445 + b"\x00", None) == "text/plain"


def test_essence_and_may_be_html() -> None:
    assert essence("Text/HTML; charset=UTF-8") == "text/html"
    assert essence(" application/xhtml+xml ") == "application/xhtml+xml"
    assert essence(None) is None and essence("") is None and essence("text/") is None
    assert essence("html") is None and essence("text/html extra") is None
    for declared in (None, "", "text/html", "application/xhtml+xml", "*/*", "garbage"):
        assert may_be_html(declared), declared
    for declared in ("application/pdf", "image/png", "text/plain", "application/json"):
        assert not may_be_html(declared), declared


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "ok"}',
        b"  {\n  }",
        b'\xef\xbb\xbf[{"id": 1}]',
        b"[1, 2]",
        b"[]",
        b"[true]",
        b'callback({"a": 1});',
        b'jQuery1124_5({"a": 1})\n',
        b'/**/ cb.handler ( ["x"] )',
        '{"titre": "été"}',
    ],
)
def test_json_and_jsonp_bodies_are_recognised(body: bytes | str) -> None:
    assert looks_like_json(body)


@pytest.mark.parametrize(
    "body",
    [
        DOCTYPE,
        b"",
        b"Plain words (with brackets) and more",
        b"{{ template }}",  # a template placeholder, not an object
        b"[citation needed] said the editor",
        b'callback({"a": 1}); and then more text',  # JSONP ends at its ")"
        b"function f() { return 1 }",
        '<p>{"a": 1}</p>',
    ],
)
def test_pages_and_prose_are_not_json(body: bytes | str) -> None:
    assert not looks_like_json(body)


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=64) | st.sampled_from([DOCTYPE, b"<?xml ", b"<rdf:RDF", b"\xef\xbb\xbf<"]),
    st.none() | st.text(max_size=40) | st.sampled_from(["text/html", "text/plain", "*/*"]),
)
def test_any_bytes_and_any_header_give_one_mime_type(body: bytes, declared: str | None) -> None:
    mime = computed_type(body, declared)
    assert "/" in mime and mime == mime.lower()
    assert is_html(body, declared) == (mime in ("text/html", "application/xhtml+xml"))
    looks_like_json(body)
