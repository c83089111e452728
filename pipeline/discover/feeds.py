"""Pure parsers for discovery: feeds, sitemaps, robots.txt sitemap lines, feed
autodiscovery links and article links on listing pages. No network, no database.

XML is read as text first (BOM, header, XML declaration; web encodings only), and a
document that declares entities (billion laughs, XXE) anywhere before its root
element is refused before any parser sees it. Feeds reach feedparser as UTF-8;
sitemaps are parsed as a stream (re-encoded to UTF-8 on the fly when expat cannot
read their encoding), so a sitemap with millions of URLs costs memory for one entry
at a time. HTML nested deeper than browsers build it is refused before Lexbor, whose
parse time grows with depth times size.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

import feedparser
from courlan.filters import extension_filter, is_not_crawlable, type_filter
from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import iterparse
from selectolax.lexbor import LexborHTMLParser

from pipeline.decode import xml_encodings, xml_label
from pipeline.discover.nesting import MAX_NESTING, nesting_exceeds
from pipeline.errors import DiscoveryError, UnsafeXMLError
from pipeline.sniff import is_html
from pipeline.times import normalise
from pipeline.urls import canonicalize, same_site, wire_form

_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
# What may precede a root element: text, processing instructions, comments (an
# unterminated one runs to the end), declarations other than DOCTYPE (errors), a
# DOCTYPE with no "[" outside its literals (no internal subset), a stray "<". One regex,
# so a long prolog costs no Python loop; each branch fails only at the end of the text
# or, for a DOCTYPE, at an internal subset.
_LITERAL = r"""(?:"[^"]*+"|'[^']*+')"""
_DECLARATION_BODY = re.compile(r"(?:[^\"'\[>]++|" + _LITERAL + r")*+")
_PROLOG_ITEMS = re.compile(
    r"(?:[^<]++|<\?(?:.*?\?>|.*)|<!--(?:.*?-->|.*)"
    r"|<!(?!(?i:doctype))(?:[^\"'>]++|" + _LITERAL + r")*+>"
    r"|<!(?:[^\"'>\[]++|" + _LITERAL + r")*+>"
    r"|<(?![A-Za-z_!]))*+",
    re.DOTALL,
)
_XML_DECLARATION = re.compile(r"\s*<\?xml(?=[\s?])[^>]*?>")
_UTF8_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
_CHARREF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_REFUSED = "XML declares entities or a DTD subset; refused unparsed"
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
    address: str | None = None  # as found, to request (urls.wire_form); None: `url`
    summary: str | None = None  # the feed's summary of the story, as plain text


_SUMMARY_MAX = 20_000  # characters of a summary kept


def _plain(summary: object) -> str | None:
    """A feed summary (often HTML) as plain text on one line, or None."""
    if not isinstance(summary, str) or not summary.strip():
        return None
    text = summary
    if "<" in summary:
        body = LexborHTMLParser(summary).body
        text = body.text(deep=True, separator=" ") if body is not None else ""
    return " ".join(text.split())[:_SUMMARY_MAX] or None


@dataclass(frozen=True, slots=True)
class ChildSitemap:
    url: str
    lastmod: str | None = None
    address: str | None = None  # as found, to request; None: `url`


def _as_found(link: str, base: str | None, canonical: str) -> str | None:
    """The address to request for `link`, when it is not its canonical form."""
    address = wire_form(link, base)
    return None if address == canonical else address


DocKind = Literal["feed", "json", "sitemap", "sitemapindex", "text", "html"]
# UTF-32, which XML allows (and feedparser reads) but the web's encodings leave out: by
# its BOM, or by the first character '<' in four bytes (XML 1.0 appendix F).
_UTF32 = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
)


def refuse_entities(text: str, url: str) -> int:
    """Refuse (UnsafeXMLError) XML that declares entities or has an internal DTD subset:
    the prolog — everything before the root element, however long — is scanned as a
    parser tokenizes it. `<!ENTITY` counts even inside a comment (feedparser revives
    declarations it finds there). Returns where the root element starts in `text`,
    -1 when `text` ends first (all of it was checked)."""
    end = _PROLOG_ITEMS.match(text).end()  # type: ignore[union-attr]
    if end + 1 >= len(text):
        end = -1  # the text ended in the prolog
    elif text[end + 1] == "!":  # a DOCTYPE with an internal subset, or running to the end
        stop = _DECLARATION_BODY.match(text, end + 2).end()  # type: ignore[union-attr]
        if stop < len(text) and text[stop] == "[" and _DOCTYPE.match(text, end):
            raise UnsafeXMLError(url, _REFUSED)
        end = -1
    if _ENTITY_DECL.search(text, 0, len(text) if end < 0 else end):
        raise UnsafeXMLError(url, _REFUSED)
    return end


def _refuse_entities_in(body: bytes, codec: str, url: str) -> None:
    """refuse_entities on a document's prolog, decoding no more of it than needed."""
    size = 8192
    while True:
        if refuse_entities(body[:size].decode(codec, "replace"), url) >= 0 or size >= len(body):
            return
        size *= 4


def _xml_codecs(body: bytes, content_type: str | None = None) -> list[str]:
    """decode.xml_encodings, and UTF-32 first (its BOM starts like UTF-16's)."""
    for start, codec in _UTF32:
        if body.startswith(start):
            return [codec]
    return xml_encodings(body, content_type)


def _xml_text(body: bytes, content_type: str | None) -> str:
    """A whole XML document as text, in the first of its candidate codecs that reads it."""
    candidates = _xml_codecs(body, content_type)
    for codec in candidates:
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    return body.decode(candidates[0], "replace")


def _charref(match: re.Match[str]) -> str:
    """A character reference to no character (a surrogate, past U+10FFFF) as U+FFFD."""
    hexadecimal, decimal = match.groups()
    digits = (hexadecimal or decimal).lstrip("0")
    if len(digits) <= 7:
        value = int(digits or "0", 16 if hexadecimal else 10)
        if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
            return match.group()
    return "\ufffd"


def _undeclared(text: str) -> str:
    """A document's text without its BOM and XML declaration (which may name an
    encoding the text is no longer in)."""
    text = text.lstrip("\ufeff")
    declaration = _XML_DECLARATION.match(text)
    return text[declaration.end() :] if declaration else text


def _for_feedparser(text: str) -> bytes:
    """The feed as UTF-8 saying so, with no reference feedparser would choke on."""
    return (_UTF8_DECLARATION + _CHARREF.sub(_charref, _undeclared(text))).encode()


def sniff(body: bytes) -> DocKind:
    """What kind of discovery document this is, from its first bytes: a plain-text
    sitemap is anything that does not start with markup or JSON."""
    codec = _xml_codecs(body[:8])[0]
    if codec.startswith(("utf-16", "utf-32")):
        head = body[:8192].decode(codec, "replace").encode("utf-8", "replace")
    else:
        head = body[:2048]
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    if head.startswith(b"{"):
        return "json"
    if b"<sitemapindex" in head:
        return "sitemapindex"
    if b"<urlset" in head:
        return "sitemap"
    if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head or b"<channel" in head:
        return "feed"
    if head.startswith((b"http://", b"https://")) or not head.startswith(b"<"):
        return "text"
    if is_html(body):
        return "html"
    return "sitemap" if head.startswith(b"<?xml") else "html"


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> list[Entry]:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom feed, in feed order.

    A malformed feed that still yields entries is used; one that yields none is a
    DiscoveryError naming what feedparser found wrong. The feed is decoded here (web
    encodings only) and refused if it declares entities; feedparser gets it as UTF-8."""
    if not body.strip():
        raise DiscoveryError(url, "empty feed (no content)")
    text = _xml_text(body, content_type)
    refuse_entities(text, url)
    headers = {"content-location": url}
    media = (content_type or "").split(";")[0].strip()
    if media:
        headers["content-type"] = f"{media}; charset=utf-8"
    try:  # a stream, never bytes: feedparser opens bytes that name a file
        parsed = feedparser.parse(
            io.BytesIO(_for_feedparser(text)),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (ValueError, LookupError, OverflowError) as exc:  # feedparser's own failures
        raise DiscoveryError(url, f"not a usable feed ({type(exc).__name__})") from None
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in parsed.entries:
        link = item.get("link") or _alternate(item)
        canonical = canonicalize(link, base=url) if link else None
        if canonical is None or canonical in seen:
            continue
        seen.add(canonical)
        published = normalise(item.get("published_parsed") or item.get("updated_parsed"))
        title = (item.get("title") or "").strip() or None
        entries.append(
            Entry(
                canonical,
                published,
                title,
                _as_found(str(link), url, canonical),
                _plain(item.get("summary")),
            )
        )
    if not entries and parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        raise DiscoveryError(url, f"not a usable feed ({problem or 'unparsable'})")
    if not entries and not parsed.get("version"):
        raise DiscoveryError(url, "not a feed (no RSS or Atom content)")
    return entries


def parse_json_feed(body: bytes, url: str) -> list[Entry]:
    """Entries of a JSON Feed (version 1 or 1.1, jsonfeed.org), in feed order: each
    item's `url`, else its `id` when that is an address. Plain JSON, read with `json`."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError too
        raise DiscoveryError(url, f"not a usable JSON Feed ({type(exc).__name__})") from None
    version = data.get("version") if isinstance(data, dict) else None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        raise DiscoveryError(url, "not a JSON Feed (no jsonfeed.org version)")
    if not isinstance(items, list):
        raise DiscoveryError(url, "not a usable JSON Feed (no list of items)")
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        link = next(
            (v for v in (item.get("url"), item.get("id")) if isinstance(v, str) and v.strip()),
            None,
        )
        canonical = canonicalize(link, base=url) if link else None
        if canonical is None or canonical in seen:
            continue
        seen.add(canonical)
        title = item.get("title")
        stamp = item.get("date_published") or item.get("date_modified")
        entries.append(
            Entry(
                canonical,
                normalise(stamp) if isinstance(stamp, str) else None,
                title.strip() or None if isinstance(title, str) else None,
                _as_found(link or "", url, canonical),
                _plain(item.get("summary")),
            )
        )
    return entries


def _alternate(item: Any) -> str | None:
    for link in item.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _text_sitemap(body: bytes, url: str) -> Iterator[Entry]:
    """A plain-text sitemap: every line that is an http(s) URL, the rest skipped. One
    with no such line (an error page, an empty body) is a DiscoveryError."""
    lines = body.decode("utf-8", "replace").splitlines()
    found = False
    for raw in lines:
        line = raw.strip().lstrip("\ufeff")
        if line.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in line):
            canonical = canonicalize(line)
            if canonical:
                found = True
                yield Entry(canonical, address=_as_found(line, None, canonical))
    if not found:
        what = f"no http(s) URL on any of its {len(lines)} lines" if lines else "no content"
        raise DiscoveryError(url, f"not a sitemap ({what})")


def iter_sitemap(body: bytes, url: str) -> Iterator[Entry | ChildSitemap]:
    """Stream a sitemap or sitemap index (Google News and plain-text sitemaps too):
    yields Entry for pages and ChildSitemap for nested sitemaps. Only the <loc> and
    <lastmod> that are children of <url> (or <sitemap>) count: image, video and news
    extensions have their own. XML damaged part way (cut off, a bad character) yields
    what came before the damage, then raises DiscoveryError."""
    if sniff(body) == "text":
        yield from _text_sitemap(body, url)
        return
    codec = _xml_codecs(body)[0]
    _refuse_entities_in(body, codec, url)
    label = xml_label(body)
    native = codec in ("utf-8", "utf-8-sig") and (label is None or label.lower() == b"utf-8")
    source = io.BytesIO(body) if native else _Utf8Reader(body, codec)
    loc = lastmod = news_date = title = None
    open_tags: list[str] = []  # local names of the elements open
    try:
        for event, element in iterparse(source, events=("start", "end"), forbid_dtd=False):
            name = _local(element.tag)
            if event == "start":
                open_tags.append(name)
                if name in ("url", "sitemap"):
                    loc = lastmod = news_date = title = None
                continue
            open_tags.pop()
            parent = open_tags[-1] if open_tags else ""
            text = (element.text or "").strip()
            if name == "loc" and parent in ("url", "sitemap"):
                loc = text
            elif name == "lastmod" and parent in ("url", "sitemap"):
                lastmod = text
            elif name == "publication_date" and parent == "news":
                news_date = text
            elif name == "title" and parent in ("url", "news"):
                title = text
            elif name in ("url", "sitemap"):
                canonical = canonicalize(loc, base=url) if loc else None
                if loc and canonical is not None:
                    address = _as_found(loc, url, canonical)
                    if name == "sitemap":
                        yield ChildSitemap(canonical, normalise(lastmod), address)
                    else:
                        yield Entry(
                            canonical, normalise(news_date or lastmod), title or None, address
                        )
                element.clear()
            elif name in ("urlset", "sitemapindex"):
                element.clear()
    except EntitiesForbidden:
        raise UnsafeXMLError(url, _REFUSED) from None
    except DefusedXmlException as exc:
        raise UnsafeXMLError(url, f"unsafe XML refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise DiscoveryError(url, f"malformed sitemap XML ({exc})") from None


class _Utf8Reader:
    """A file for expat: `body` decoded from `codec` and re-encoded as UTF-8 a chunk at
    a time, its XML declaration (naming an encoding expat cannot read) dropped."""

    def __init__(self, body: bytes, codec: str) -> None:
        self._body = body
        self._pos = 0
        self._decoder = codecs.getincrementaldecoder(codec)("replace")
        self._first = True

    def read(self, size: int = -1) -> bytes:
        step = max(size, 8192) if size > 0 else 1 << 16
        while self._pos < len(self._body):
            chunk = self._body[self._pos : self._pos + step]
            self._pos += len(chunk)
            text = self._decoder.decode(chunk, self._pos >= len(self._body))
            if self._first and text:
                self._first = False
                text = _undeclared(text)
            if text:
                return text.encode()
        return b""


def robots_sitemaps(sitemaps: Iterator[str] | list[str], site_url: str) -> list[str]:
    """robots.txt `Sitemap:` lines that belong to the source's own site."""
    out = []
    for line in sitemaps:
        canonical = canonicalize(line)
        if canonical and same_site(canonical, site_url):
            out.append(line.strip())
    return out


def _parse_html(html: str, page_url: str) -> LexborHTMLParser:
    """The page's tree; a page nested deeper than MAX_NESTING is a DiscoveryError (Lexbor
    would take time in depth times size: minutes for a few MB of nested <div>s)."""
    if nesting_exceeds(html):
        raise DiscoveryError(
            page_url, f"HTML nesting deeper than {MAX_NESTING} elements; page not parsed"
        )
    return LexborHTMLParser(html)


def feed_links(html: str, page_url: str) -> list[str]:
    """Feed URLs a page announces with <link rel="alternate" type="...rss/atom...">.
    DiscoveryError for a page nested too deep to parse."""
    tree = _parse_html(html, page_url)
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
    """Links on a home or listing page that look like articles of the same site.
    DiscoveryError for a page nested too deep to parse."""
    tree = _parse_html(html, page_url)
    for node in tree.css("header, footer, nav, aside, form"):
        node.decompose()
    seen: set[str] = set()
    out: list[Entry] = []
    for node in tree.css("a[href]"):
        raw = node.attributes.get("href") or ""
        href = canonicalize(raw, base=page_url)
        if href is None or href in seen or not same_site(href, page_url):
            continue
        seen.add(href)
        if looks_like_article(href):
            title = node.text(strip=True) or None
            address = _as_found(raw, page_url, href)
            out.append(Entry(href, None, title[:300] if title else None, address))
    return out
