"""Feed, sitemap and link parsing (pure)."""

from __future__ import annotations

import contextlib
import gzip
import time

import pytest

from pipeline.decode import TooLarge, gunzip_bounded, web_codec
from pipeline.discover.feeds import (
    ChildSitemap,
    Entry,
    article_links,
    feed_links,
    iter_sitemap,
    parse_feed,
    sniff,
)
from pipeline.errors import DiscoveryError, UnsafeXMLError

BASE = "https://news.example/feed/"

RSS2 = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
<item><title>A</title><link>/2026/01/a-story?utm_source=rss&amp;utm_medium=x</link>
<pubDate>Tue, 06 Jan 2026 10:00:00 GMT</pubDate></item>
<item><title>B</title><link>https://news.example/2026/01/a-story#comments</link></item>
<item><title>C</title><link>https://news.example/c</link></item></channel></rss>"""
RSS1 = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>t</title></channel>
<item rdf:about="https://news.example/r1"><title>R1</title><link>https://news.example/r1</link>
</item></rdf:RDF>"""
RSS091 = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>
<title>old</title><item><title>O</title><link>https://news.example/old</link></item>
</channel></rss>"""
ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>E</title>
<link rel="alternate" href="https://news.example/e1"/><updated>2026-01-01T00:00:00+02:00</updated>
</entry></feed>"""
BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol2;</title></channel></rss>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>"""


def test_rss2_entries_canonical_and_deduplicated() -> None:
    assert parse_feed(RSS2, BASE) == [
        Entry("https://news.example/2026/01/a-story", "2026-01-06T10:00:00Z", "A"),
        Entry("https://news.example/c", None, "C"),
    ]


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (RSS1, "https://news.example/r1"),
        (RSS091, "https://news.example/old"),
        (ATOM, "https://news.example/e1"),
    ],
)
def test_rss1_rss091_and_atom(body: bytes, url: str) -> None:
    assert [e.url for e in parse_feed(body, BASE)] == [url]


def test_atom_dates_become_utc() -> None:
    assert parse_feed(ATOM, BASE)[0].published == "2025-12-31T22:00:00Z"


@pytest.mark.parametrize(
    "body",
    [b"<html><body>not a feed</body></html>", b"\x00\x01garbage", b"<rss><channel><item><link>"],
)
def test_a_malformed_feed_is_a_discovery_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_feed(body, BASE)


@pytest.mark.parametrize("body", [BOMB, XXE])
def test_entity_declarations_are_refused_unparsed(body: bytes) -> None:
    with pytest.raises(UnsafeXMLError, match="refused"):
        parse_feed(body, BASE)
    with pytest.raises(UnsafeXMLError):
        list(iter_sitemap(body, BASE))


def test_sitemaps_news_sitemaps_indexes_and_text() -> None:
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://news.example/1</loc><lastmod>2026-01-02</lastmod></url>
      <url><loc>https://news.example/2</loc><news:news><news:publication_date>
      2026-01-03T10:00:00+01:00</news:publication_date><news:title>Two</news:title>
      </news:news></url><url><loc>javascript:x</loc></url></urlset>"""
    assert list(iter_sitemap(urlset, BASE)) == [
        Entry("https://news.example/1", "2026-01-02"),
        Entry("https://news.example/2", "2026-01-03T09:00:00Z", "Two"),
    ]
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>
      <loc>https://news.example/s1.xml.gz</loc><lastmod>2026-02-01</lastmod></sitemap>
      </sitemapindex>"""
    assert list(iter_sitemap(index, BASE)) == [
        ChildSitemap("https://news.example/s1.xml.gz", "2026-02-01")
    ]
    text = b"https://news.example/t1\n\nhttps://news.example/t2\nnot a url\n"
    assert [e.url for e in iter_sitemap(text, BASE)] == [
        "https://news.example/t1",
        "https://news.example/t2",
    ]
    assert sniff(index) == "sitemapindex" and sniff(RSS2) == "feed" and sniff(text) == "text"


def test_a_discovery_document_is_html_as_the_shared_sniffer_says() -> None:
    xhtml = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML'
        b' 1.0 Strict//EN" "x.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
    )
    assert sniff(xhtml) == "html"
    assert sniff(b"\xef\xbb\xbf <!DOCTYPE html><title>x</title>") == "html"
    # An XML document whose root is not html is no page, though "<head" starts "<header".
    assert sniff(b'<?xml version="1.0"?><document><header>x</header></document>') == "sitemap"


def test_sitemap_streaming_handles_many_urls() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + b"".join(b"<url><loc>https://news.example/%d</loc></url>" % i for i in range(50_000))
        + b"</urlset>"
    )
    stream = iter_sitemap(body, BASE)
    assert next(stream) == Entry("https://news.example/0")
    assert sum(1 for _ in stream) == 49_999


def test_gzip_sitemaps_are_inflated_with_a_cap() -> None:
    data = gzip.compress(b"https://news.example/1\n")
    assert gunzip_bounded(data, 1000) == b"https://news.example/1\n"
    with pytest.raises(TooLarge):
        gunzip_bounded(gzip.compress(b"\0" * 5_000_000), 100_000)


def test_feed_autodiscovery_and_listing_links() -> None:
    page = """<html><head>
      <link rel="alternate" type="application/rss+xml" href="/feed/">
      <link rel="alternate" type="application/atom+xml" href="https://news.example/atom.xml">
      <link rel="alternate" type="application/rss+xml" href="https://other.example/feed">
      <link rel="alternate" hreflang="de" href="/de/"></head><body>
      <nav><a href="/2026/01/menu-story">menu</a></nav>
      <a href="/2026/05/city-council-votes-on-budget">Council votes</a>
      <a href="/news/the-mayor-resigns-after-a-long-row">Mayor</a>
      <a href="/story/12345678">Numbered</a><a href="/tag/politics/">Tag</a>
      <a href="/about">About</a><a href="/img/a.jpg">Picture</a>
      <a href="https://other.example/2026/01/elsewhere-story-here">Elsewhere</a>
      <footer><a href="/2026/01/footer-story-link">f</a></footer></body></html>"""
    assert feed_links(page, "https://news.example/") == [
        "https://news.example/feed/",
        "https://news.example/atom.xml",
    ]
    assert [e.url for e in article_links(page, "https://news.example/")] == [
        "https://news.example/2026/05/city-council-votes-on-budget",
        "https://news.example/news/the-mayor-resigns-after-a-long-row",
        "https://news.example/story/12345678",
    ]


# --- hostile and unusual encodings, entities hidden from a byte scan, deep HTML -----------


def _rss(items: str, declaration: str = '<?xml version="1.0"?>') -> str:
    return f'{declaration}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


@pytest.mark.parametrize("reference", ["&#1114112;", "&#xD800;", "&#x" + "f" * 40 + ";"])
def test_a_reference_to_no_character_reads_as_a_replacement_character(reference: str) -> None:
    body = _rss(
        f"<item><title>A {reference}</title><link>https://news.example/a</link></item>"
        "<item><title>B</title><link>https://news.example/b</link></item>"
    ).encode()
    entries = parse_feed(body, BASE)
    assert [(e.url, e.title) for e in entries] == [
        ("https://news.example/a", "A \ufffd"),
        ("https://news.example/b", "B"),
    ]


@pytest.mark.parametrize("label", [b"\xd0\xd0UTF-8", b"UTF-8\x00", b"bogus", b"utf-7", b"idna"])
def test_an_unusable_encoding_label_reads_as_utf8(label: bytes) -> None:
    item = "<item><title>Café</title><link>https://news.example/a</link></item>"
    body = _rss(item, "").encode()
    body = b'<?xml version="1.0" encoding="' + label + b'"?>' + body
    assert [(e.url, e.title) for e in parse_feed(body, BASE)] == [
        ("https://news.example/a", "Café")
    ]


@pytest.mark.parametrize("label", ["shift_jis", "euc-jp", "gb2312", "big5", "koi8-r", "latin1"])
def test_feeds_in_web_encodings(label: str) -> None:
    title = "Привет" if label == "koi8-r" else "Café" if label == "latin1" else "日本語"
    item = f"<item><title>{title}</title><link>https://news.example/a</link></item>"
    body = _rss(item, f'<?xml version="1.0" encoding="{label}"?>').encode(web_codec(label) or "")
    assert parse_feed(body, BASE)[0].title == title
    # The header's charset comes first, as for any XML media type.
    header = f"application/rss+xml; charset={label}"
    assert parse_feed(body.replace(label.encode(), b"utf-8"), BASE, header)[0].title == title


def test_utf16_feeds_with_and_without_a_bom() -> None:
    item = "<item><title>日本語</title><link>https://news.example/a</link></item>"
    for codec in ("utf-16", "utf-16-le", "utf-16-be"):
        body = _rss(item, '<?xml version="1.0" encoding="utf-16"?>').encode(codec)
        assert parse_feed(body, BASE)[0].title == "日本語"


def test_feed_bytes_naming_a_file_are_never_opened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    feed = tmp_path / "feed.xml"
    feed.write_bytes(RSS2)
    with pytest.raises(DiscoveryError):
        parse_feed(str(feed).encode(), BASE)


_SUBSET = '<!DOCTYPE rss [<!ENTITY a "lollollollol">]>'
_USES = "<item><title>&a;&a;</title><link>https://news.example/a</link></item>"


@pytest.mark.parametrize(
    "prolog",
    [
        "<!--" + " " * 70_000 + "-->" + _SUBSET,  # past the first 64 KiB
        "<?pi " + "x" * 70_000 + "?>" + _SUBSET,
        "<!-- <x -->" + _SUBSET,  # a "<" and a name inside a comment
        "<!--><x -->" + _SUBSET,  # "<!-->" opens a comment, it does not close one
        '<!DOCTYPE rss SYSTEM "a>b" [<!ATTLIST rss x CDATA "y">]>',  # ">" in a literal
        '<!doctype rss [<!ATTLIST rss x CDATA "y">]>',
        # feedparser revives an entity declared in a comment when there is a DOCTYPE
        '<!DOCTYPE rss>\n<!--\n<!ENTITY a "lollollollol">\n-->\n',
        "junk " + _SUBSET,
    ],
)
def test_entity_declarations_anywhere_in_the_prolog_are_refused(prolog: str) -> None:
    feed = '<?xml version="1.0"?>' + prolog + _rss(_USES, "")
    for codec in ("utf-8", "utf-16"):
        body = feed.encode(codec)
        with pytest.raises(UnsafeXMLError, match="refused"):
            parse_feed(body, BASE)
        with pytest.raises(UnsafeXMLError, match="refused"):
            list(iter_sitemap(body.replace(b"rss", b"urlset") if codec == "utf-8" else body, BASE))


def test_entity_text_after_the_root_is_no_refusal_and_is_not_expanded() -> None:
    body = _rss(
        "<item><title>About &lt;!ENTITY&gt;</title><link>https://news.example/a</link></item>"
    ).encode()
    assert parse_feed(body, BASE)[0].title == "About <!ENTITY>"


@pytest.mark.parametrize(
    "unit", ["<!x '<' [", "<![", "<!DOCTYPE x>", "<!-- >", "<? >", '<!a "', "< ", "<!x <"]
)
def test_a_long_hostile_prolog_is_scanned_in_linear_time(unit: str) -> None:
    body = (unit * 100_000).encode() + _rss(_USES, "").encode()
    started = time.monotonic()
    with contextlib.suppress(DiscoveryError):  # feedparser may still read the item
        parse_feed(body, BASE)
    with pytest.raises(DiscoveryError):
        list(iter_sitemap(body, BASE))
    assert time.monotonic() - started < 5  # quadratic would be hours


@pytest.mark.parametrize(
    "label", ["shift_jis", "Shift_JIS", "euc-jp", "gb2312", "big5", "utf-16", "bogus", "utf-7"]
)
def test_sitemaps_in_encodings_expat_cannot_read(label: str) -> None:
    codec = "utf-16" if label == "utf-16" else web_codec(label) or "utf-8"
    urls = "".join(
        f"<url><loc>https://news.example/{n}</loc><news:title>日本語 {n}</news:title></url>"
        for n in range(3000)
    )
    body = (
        f'<?xml version="1.0" encoding="{label}"?><urlset '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>"
    ).encode(codec)
    entries = list(iter_sitemap(body, BASE))
    assert len(entries) == 3000
    assert entries[-1] == Entry("https://news.example/2999", None, "日本語 2999")


def test_a_sitemap_expat_reads_itself_is_not_recoded() -> None:
    from pipeline.discover import feeds

    body = b'<?xml version="1.0" encoding="UTF-8"?><urlset><url><loc>https://news.example/1</loc>'
    body += b"</url></urlset>"
    reader = feeds._Utf8Reader(body, "cp932")
    assert reader.read(16384).startswith(b"<urlset>")  # the declaration is dropped
    assert list(iter_sitemap(body, BASE)) == [Entry("https://news.example/1")]


@pytest.mark.parametrize(
    "unit",
    [
        "<div>",
        "<DIV>",
        "<ul><li>",
        "<div/>",  # "/>" closes nothing in HTML
        "<svg><div/>",  # <div> leaves SVG
        "<svg><g></q>",
        "<div></span>",  # an end tag of nothing open
        "<span><div></span>",  # an end tag that cannot close past a <div>
        "<span><h1></span>",
        "<b><div></b>",
        "<dl><dt>",
        "<form><div>",
        "<font>",
    ],
)
def test_a_page_nested_deeper_than_browsers_build_is_refused_fast(unit: str) -> None:
    page = "<html><body>" + unit * 100_000 + '<a href="/2026/01/a-story-slug-here">x</a>'
    started = time.monotonic()
    for finder in (feed_links, article_links):
        with pytest.raises(DiscoveryError, match="nesting deeper than 512"):
            finder(page, "https://news.example/")
    assert time.monotonic() - started < 2  # Lexbor alone would take minutes


@pytest.mark.parametrize(
    "unit",
    [
        "<p>unclosed",
        "<li>item",
        "<a href='/x'>unclosed link",
        "<td>cell",
        "<br><img src=x><input>",
        "<svg><path d='M0 0'/><circle r='1'/></svg>",
        "<div><span>x</span></div>",
        "<script>document.write('<div>')</script>",
        "<!-- <div> -->",
        "<h2>heading",
        "<h1><h2>",  # a heading closes the heading it would be in
        "<div class=teaser><span class=date>2026</div>",  # </div> closes the <span>
        "<section><em></section>",
        "<b><p>x</b>",
        "<span><p></span>",
    ],
)
def test_pages_with_many_flat_or_closed_elements_are_not_refused(unit: str) -> None:
    page = "<html><body><div>" + unit * 5_000 + '<a href="/2026/01/a-story-slug-here">x</a>'
    assert [e.url for e in article_links(page, "https://news.example/")] == [
        "https://news.example/2026/01/a-story-slug-here"
    ]
