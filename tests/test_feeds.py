"""Feed, sitemap and link parsing (pure)."""

from __future__ import annotations

import gzip

import pytest

from pipeline.decode import TooLarge, gunzip_bounded
from pipeline.errors import DiscoveryError, UnsafeXMLError
from pipeline.feeds import (
    ChildSitemap,
    Entry,
    article_links,
    feed_links,
    iter_sitemap,
    parse_feed,
    sniff,
)

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
