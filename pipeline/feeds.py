"""Pure parsers for discovery: feeds, sitemaps, robots.txt sitemap lines, feed
autodiscovery links and article links on listing pages. No network, no database.

XML that declares entities (billion laughs, XXE) is refused before any parser sees
it. Sitemaps are parsed as a stream, so a sitemap with millions of URLs costs
memory for one entry at a time.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

import feedparser
from courlan.filters import extension_filter, is_not_crawlable, type_filter
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from selectolax.lexbor import LexborHTMLParser

from .errors import DiscoveryError, UnsafeXMLError
from .times import iso
from .urls import canonicalize, same_site

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "text/xml",
    "application/xml",
)
_YEAR = re.compile(r"/(19|20)\d\d[/-]")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+){3,}")
_ARTICLE_ID = re.compile(r"\d{5,}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One URL found in a feed, sitemap or listing page, with its hints."""

    url: str  # canonical form
    published: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ChildSitemap:
    url: str
    lastmod: str | None = None


DocKind = Literal["feed", "sitemap", "sitemapindex", "text", "html"]


def refuse_entities(body: bytes, url: str) -> None:
    """XML with entity declarations or an internal DTD subset is refused unparsed."""
    head = body[:65536]
    if _ENTITY_DECL.search(head) or _DOCTYPE_SUBSET.search(head):
        raise UnsafeXMLError(url, "XML declares entities or a DTD subset; refused unparsed")


def sniff(body: bytes) -> DocKind:
    """What kind of discovery document this is, from its first bytes."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<sitemapindex" in head:
        return "sitemapindex"
    if b"<urlset" in head:
        return "sitemap"
    if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head or b"<channel" in head:
        return "feed"
    if head.startswith((b"http://", b"https://")):
        return "text"
    if b"<html" in head or b"<!doctype html" in head or b"<head" in head:
        return "html"
    return "sitemap" if head.startswith(b"<?xml") else "html"


def iso_date(value: Any) -> str | None:
    """A date or time.struct_time as ISO 8601 (UTC), None when unusable."""
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        try:
            return iso(datetime(*value[:6], tzinfo=UTC))
        except (ValueError, OverflowError):
            return None
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.strftime("%Y-%m-%dT%H:%M:%S") if "T" in text else text[:10]
    return iso(parsed)


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> list[Entry]:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom feed, in feed order.

    A malformed feed that still yields entries is used; one that yields none is a
    DiscoveryError naming what feedparser found wrong."""
    refuse_entities(body, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in parsed.entries:
        link = item.get("link") or _alternate(item)
        canonical = canonicalize(link, base=url) if link else None
        if canonical is None or canonical in seen:
            continue
        seen.add(canonical)
        published = iso_date(item.get("published_parsed") or item.get("updated_parsed"))
        entries.append(Entry(canonical, published, (item.get("title") or "").strip() or None))
    if not entries and parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        raise DiscoveryError(url, f"not a usable feed ({problem or 'unparsable'})")
    if not entries and not parsed.get("version"):
        raise DiscoveryError(url, "not a feed (no RSS or Atom content)")
    return entries


def _alternate(item: Any) -> str | None:
    for link in item.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def iter_sitemap(body: bytes, url: str) -> Iterator[Entry | ChildSitemap]:
    """Stream a sitemap or sitemap index (Google News and plain-text sitemaps too):
    yields Entry for pages and ChildSitemap for nested sitemaps."""
    if sniff(body) == "text":
        for line in body.decode("utf-8", "replace").splitlines():
            canonical = canonicalize(line.strip())
            if canonical:
                yield Entry(canonical)
        return
    refuse_entities(body, url)
    loc = lastmod = news_date = title = None
    try:
        for event, element in iterparse(
            io.BytesIO(body), events=("start", "end"), forbid_dtd=False
        ):
            name = _local(element.tag)
            if event == "start":
                if name in ("url", "sitemap"):
                    loc = lastmod = news_date = title = None
                continue
            text = (element.text or "").strip()
            if name == "loc":
                loc = text
            elif name == "lastmod":
                lastmod = text
            elif name == "publication_date":
                news_date = text
            elif name == "title":
                title = text
            elif name in ("url", "sitemap"):
                canonical = canonicalize(loc, base=url) if loc else None
                if canonical is not None:
                    if name == "sitemap":
                        yield ChildSitemap(canonical, iso_date(lastmod))
                    else:
                        yield Entry(canonical, iso_date(news_date or lastmod), title or None)
                element.clear()
            elif name in ("urlset", "sitemapindex"):
                element.clear()
    except DefusedXmlException as exc:
        raise UnsafeXMLError(url, f"unsafe XML refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise DiscoveryError(url, f"malformed sitemap XML ({exc})") from None


def robots_sitemaps(sitemaps: Iterator[str] | list[str], site_url: str) -> list[str]:
    """robots.txt `Sitemap:` lines that belong to the source's own site."""
    out = []
    for line in sitemaps:
        canonical = canonicalize(line)
        if canonical and same_site(canonical, site_url):
            out.append(line.strip())
    return out


def feed_links(html: str, page_url: str) -> list[str]:
    """Feed URLs a page announces with <link rel="alternate" type="...rss/atom...">."""
    tree = LexborHTMLParser(html)
    found: list[str] = []
    for node in tree.css("link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").lower().strip()
        if "alternate" in rel and kind in _FEED_TYPES:
            href = canonicalize(node.attributes.get("href") or "", base=page_url)
            if href and same_site(href, page_url) and href not in found:
                found.append(href)
    return found


def looks_like_article(url: str) -> bool:
    """A URL shaped like a story: a dated path, a long slug, or a long numeric id —
    and not a tag/author/category/media page (courlan's filters)."""
    path = url.split("://", 1)[-1].partition("/")[2].lower()
    if not type_filter(url) or is_not_crawlable(url) or not extension_filter("/" + path):
        return False
    if not path.strip("/"):
        return False
    return bool(_YEAR.search("/" + path) or _SLUG.search(path) or _ARTICLE_ID.search(path))


def article_links(html: str, page_url: str) -> list[Entry]:
    """Links on a home or listing page that look like articles of the same site."""
    tree = LexborHTMLParser(html)
    for node in tree.css("header, footer, nav, aside, form"):
        node.decompose()
    seen: set[str] = set()
    out: list[Entry] = []
    for node in tree.css("a[href]"):
        href = canonicalize(node.attributes.get("href") or "", base=page_url)
        if href is None or href in seen or not same_site(href, page_url):
            continue
        seen.add(href)
        if looks_like_article(href):
            title = node.text(strip=True) or None
            out.append(Entry(href, None, title[:300] if title else None))
    return out
