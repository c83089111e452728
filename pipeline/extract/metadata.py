"""Article metadata from the page itself: JSON-LD, OpenGraph and other <meta> tags,
microdata, <time> elements, the byline, the URL. Pure; no I/O, no module state.

Sources are tried in a fixed order (JSON-LD first, then the publisher's declared
meta tags, then the page's markup, then guesses), the way readers such as Mozilla's
Readability do, because declared metadata is what publishers maintain. Values are
then normalised: titles lose a leading or trailing site-name segment, authors become
people ("By"/"Par"/"Autor:" prefixes, trailing dates and handles dropped, all-caps
names re-cased, lists split) with agencies and organisations kept apart, dates are
ISO 8601 and never later than `now`. (Credit lines are read by `boilerplate.split_credits`.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from htmldate import find_date
from selectolax.lexbor import LexborHTMLParser, LexborNode

from pipeline.extract.boilerplate import words
from pipeline.extract.credits import split_credits
from pipeline.times import normalise
from pipeline.urls import site_of

_ARTICLE_TYPES = re.compile(
    r"^(?:\w*Article|BlogPosting|LiveBlogPosting|DiscussionForumPosting|SocialMediaPosting|"
    r"Report|NewsArticle)$"
)
_TITLE_KEYS = ("dc:title", "dc.title", "dcterm:title", "dcterms.title", "og:title")
_TITLE_KEYS_LATE = ("title", "twitter:title", "parsely-title", "sailthru.title")
_AUTHOR_KEYS = words(
    "dc:creator dc.creator dcterm:creator dcterms.creator author parsely-author"
    " article:author article:author_name og:article:author sailthru.author byl"
)
_DATE_KEYS = words(
    "article:published_time og:article:published_time parsely-pub-date publish-date"
    " publish_date published_at pubdate date dc.date.issued dc.date dcterms.date"
    " dcterms.created dc:date sailthru.date article.published datepublished"
    " og:published_time"
)
_MODIFIED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified")
_SITE_KEYS = ("og:site_name", "application-name", "twitter:site_name")
_DESC_KEYS = ("og:description", "description", "twitter:description", "dc.description")
_LANG_KEYS = ("content-language", "og:locale", "dc.language", "language")
_SEPARATORS = re.compile(r"\s+[|\-–—·•:»/\\~]\s+|\s*[|»]\s*|\s+::\s+|\s_|_\s?")
_TITLE_SPLIT = re.compile(r"\s[|\-–—\\/>»]\s")
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|\b)")
_ISO_DATE = re.compile(
    r"((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?\s*(Z|[+-]\d\d:?\d\d)?)?"
)
_EPOCH = "1970-01-01"  # a timestamp of 0: a placeholder, not a publication date
_WEB_BEGAN = "1991-08-06"  # the first web page: earlier dates are usually placeholders
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_JSON_WRAPPER = re.compile(r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?://\s*)?(?:\]\]>|-->)\s*$")
_BYLINE_SELECTOR = (
    "[itemprop~='author'], [rel='author'], [class*='byline' i], [id*='byline' i],"
    " [class*='writtenby' i], [class*='author' i], [id*='author' i]"
)


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What the page says about its article (see read_metadata)."""

    title: str | None = None
    headlines: tuple[str, ...] = ()  # every title candidate, to recognise it in the text
    authors: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    sitename: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None


def _clean(value: object) -> str:
    """`value` with runs of ASCII white space made one space (a no-break space, as in
    French typography, is kept)."""
    return _SPACES.sub(" ", value).strip(" ") if isinstance(value, str) else ""


# ------------------------------------------------------------------ collection


def _meta_tags(tree: LexborHTMLParser) -> dict[str, str]:
    """<meta> name/property/itemprop -> content; the last occurrence wins, as in browsers'
    readers. Space-separated property lists name several keys."""
    values: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        content = _clean(attrs.get("content"))
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            for key in (attrs.get(attr) or "").lower().split():
                values[key] = content
    return values


def _json_objects(tree: LexborHTMLParser) -> list[dict[str, object]]:
    """All objects of the page's JSON-LD, flattened through @graph and lists."""
    found: list[dict[str, object]] = []
    for script in tree.css("script[type='application/ld+json']"):
        raw = _JSON_WRAPPER.sub("", script.text(deep=True)).strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
            continue
        stack: list[object] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))
    return found


def _types(obj: dict[str, object]) -> list[str]:
    kind = obj.get("@type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def _article_object(objects: list[dict[str, object]]) -> dict[str, object]:
    for obj in objects:
        if any(_ARTICLE_TYPES.match(kind) for kind in _types(obj)):
            return obj
    return {}


def _names(value: object) -> tuple[list[str], list[str]]:
    """(people, organisations) named by a JSON-LD author/creator value."""
    people: list[str] = []
    orgs: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            people.append(_clean(item))
        elif isinstance(item, dict):
            name = _clean(item.get("name"))
            if not name:
                continue
            kinds = _types(item)
            (orgs if kinds and "Person" not in kinds else people).append(name)
    return [p for p in people if p], orgs


def _publisher_name(obj: dict[str, object]) -> str:
    publisher = obj.get("publisher")
    if isinstance(publisher, dict):
        return _clean(publisher.get("name"))
    return ""


# ------------------------------------------------------------------ titles


def _title_from_document(tree: LexborHTMLParser) -> str:
    """The <title>, cut at a hierarchy separator the way Readability does it."""
    node = tree.css_first("title")
    original = _clean(node.text(deep=True)) if node is not None else ""
    title = original
    words = len(original.split())
    separators = list(_TITLE_SPLIT.finditer(original))
    if separators:
        title = original[: separators[-1].start()]
        if len(title.split()) < 3:
            title = original[separators[0].end() :]
    elif ": " in original:
        headings = {_clean(h.text(deep=True)) for h in tree.css("h1, h2")}
        if original not in headings:
            title = original[original.rfind(":") + 1 :].strip()
            if len(title.split()) < 3:
                title = original[original.find(":") + 1 :].strip()
            elif len(original[: original.find(":")].split()) > 5:
                title = original
    elif len(original) > 150 or len(original) < 15:
        h1s = tree.css("h1")
        if len(h1s) == 1:
            title = _clean(h1s[0].text(deep=True))
    hierarchical = bool(re.search(r" [\\/>»] ", original))
    separated = len(re.sub(r"[|\-\\/>»]+", "", original).split())
    if len(title.split()) <= 4 and (not hierarchical or len(title.split()) != separated - 1):
        title = original
    return title or original if words else ""


def _similarity(a: str, b: str) -> float:
    """Share of `b`'s distinct words (by length) that also occur in `a`."""
    tokens_a = set(re.findall(r"\w+", a.casefold()))
    tokens_b = list(dict.fromkeys(re.findall(r"\w+", b.casefold())))
    if not tokens_a or not tokens_b:
        return 0.0
    missing = " ".join(t for t in tokens_b if t not in tokens_a)
    return 1 - len(missing) / len(" ".join(tokens_b))


def _json_title(article: dict[str, object], document_title: str) -> str:
    """JSON-LD headline or name; when both differ, the one that matches <title>."""
    headline, name = _clean(article.get("headline")), _clean(article.get("name"))
    if headline and name and headline != name:
        if _similarity(headline, document_title) > 0.75 >= _similarity(name, document_title):
            return headline
        return name
    return headline or name


def _strip_site(title: str, sites: list[str]) -> str:
    """`title` without a leading or trailing site-name segment."""
    folded_sites = {s.casefold() for s in sites if s}
    parts = _SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if parts[-1].strip().casefold() in folded_sites:
        rest = title[: title.rfind(parts[-1])].rstrip(" |-–—·•:»/\\~_")
        return rest if len(rest.split()) >= 2 else title
    if parts[0].strip().casefold() in folded_sites:
        rest = title[len(parts[0]) :].lstrip(" |-–—·•:»/\\~_")
        return rest if len(rest.split()) >= 2 else title
    return title


# ------------------------------------------------------------------ dates


def _iso(value: str) -> str | None:
    """ISO 8601 form of a date string as the page wrote it (its UTC offset kept)."""
    match = _ISO_DATE.search(value)
    return normalise(match.group(0), utc=False) if match is not None else None


def _not_future(stamp: str, now: str | None) -> bool:
    if not now:
        return True
    limit = _iso(now)
    if limit is None:
        return True
    # A day of slack for time zones: a page dated "today" in Asia is fetched "yesterday".
    latest = datetime.fromisoformat(limit[:10]) + timedelta(days=1)
    return datetime.fromisoformat(stamp[:10]) <= latest


def _first_date(candidates: list[str], now: str | None) -> str | None:
    """The first candidate that is a date, not the Unix epoch (a placeholder), not after
    `now`, and not before the web began unless no other candidate says otherwise."""
    stamps = [
        stamp
        for raw in candidates
        if (stamp := _iso(raw)) and stamp[:10] != _EPOCH and _not_future(stamp, now)
    ]
    believable = [stamp for stamp in stamps if stamp[:10] >= _WEB_BEGAN]
    return next(iter(believable or stamps), None)


# Characters XML cannot hold: lxml (under htmldate) raises on them mid-tree.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def visible_date(html: str, url: str, now: str | None = None) -> str | None:
    """The publication date a reader sees on a page that declares none (a dateline like
    "31. Januar 2022"), found by htmldate (trafilatura's date finder) without its
    extensive search, which measured worse; None when it finds none."""
    # Control characters go first: htmldate's lxml raises ValueError on them (browsers
    # do not show them).
    found = find_date(
        _NOT_XML.sub("", html),
        url=url or None,
        original_date=True,
        extensive_search=False,
        max_date=now[:10] if now else None,
    )
    return _first_date([found], now) if found else None


def _time_elements(tree: LexborHTMLParser) -> list[str]:
    values = []
    for node in tree.css("time[datetime], [itemprop='datePublished']"):
        attrs = node.attributes
        value = attrs.get("datetime") or attrs.get("content") or ""
        if value:
            values.append(value)
    return values


# ------------------------------------------------------------------ bylines


def _byline_texts(tree: LexborHTMLParser) -> list[str]:
    """Texts of byline elements, in document order."""
    texts = []
    for node in tree.css(_BYLINE_SELECTOR):
        if node.tag in ("html", "body", "meta", "link", "script", "style", "input"):
            continue
        if _in_comments(node):
            continue
        name = _itemprop_name(node)
        text = name or _clean(node.text(deep=True))
        if 2 < len(text) < 100:
            texts.append(text)
    return texts


def _in_comments(node: LexborNode) -> bool:
    parent = node.parent
    for _ in range(12):
        if parent is None:
            return False
        attrs = parent.attributes
        marks = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
        if "comment" in marks and "commentary" not in marks:
            return True
        parent = parent.parent
    return False


def _itemprop_name(node: LexborNode) -> str:
    inner = node.css_first("[itemprop~='name']")
    if inner is None:
        return ""
    return _clean(inner.attributes.get("content") or inner.text(deep=True))


# ------------------------------------------------------------------ language


def _language(tree: LexborHTMLParser, meta: dict[str, str], article: dict[str, object]) -> str:
    html = tree.css_first("html")
    candidates = [
        html.attributes.get("lang") if html is not None else None,
        html.attributes.get("xml:lang") if html is not None else None,
        _clean(article.get("inLanguage")),
        *(meta.get(key) for key in _LANG_KEYS),
    ]
    for value in candidates:
        code = re.split(r"[-_]", (value or "").strip().lower())[0]
        if len(code) in (2, 3) and code.isalpha():
            return code
    return ""


# ------------------------------------------------------------------ entry point


def read_metadata(tree: LexborHTMLParser, url: str, now: str | None = None) -> PageMeta:
    """Metadata of the page in `tree` (before any cleaning). `now` (ISO 8601) bounds the
    publication date: later candidates are ignored."""
    meta = _meta_tags(tree)
    objects = _json_objects(tree)
    article = _article_object(objects)

    sites = [_publisher_name(article), *(meta.get(k, "") for k in _SITE_KEYS)]
    for obj in objects:
        if "WebSite" in _types(obj) or "Organization" in _types(obj):
            sites.append(_clean(obj.get("name")))
    site_domain = site_of(url).split(".")[0] if url else ""
    sitename = next((s for s in sites if s), "") or None
    site_names = [s for s in sites if s] + ([site_domain] if site_domain else [])
    site_names += [s.rsplit(".", 1)[0] for s in site_names if "." in s]

    document_title = _title_from_document(tree)
    headline = _json_title(article, document_title)
    title = headline
    for key in (*_TITLE_KEYS, *_TITLE_KEYS_LATE):
        if not title:
            title = meta.get(key, "")
    title = _strip_site(title or document_title, site_names)
    h1 = tree.css_first("h1")
    h1_text = _clean(h1.text(deep=True)) if h1 is not None else ""
    headlines = tuple(
        dict.fromkeys(
            h
            for h in (
                title,
                headline,
                meta.get("og:title", ""),
                meta.get("twitter:title", ""),
                document_title,
                h1_text if _similarity(h1_text, title) > 0.75 else "",
            )
            if h
        )
    )

    people, orgs = _names(article.get("author"))
    if not people and not orgs:
        for key in _AUTHOR_KEYS:
            value = meta.get(key, "")
            if value and not value.startswith(("http://", "https://", "@", "/")):
                people = [value]
                break
    authors, agencies = split_credits(people, site_names)
    if not people and not orgs:
        for text in _byline_texts(tree)[:10]:
            authors, agencies = split_credits([text], site_names, strict=True)
            if authors or agencies:
                break
    agencies = tuple(dict.fromkeys([*agencies, *orgs]))

    published = _first_date(
        [
            _clean(article.get("datePublished")),
            *(meta.get(k, "") for k in _DATE_KEYS),
            _clean(article.get("dateCreated")),
            *_time_elements(tree),
            "-".join(m.groups()) if (m := _URL_DATE.search(url)) else "",
        ],
        now,
    )
    modified = _first_date(
        [_clean(article.get("dateModified")), *(meta.get(k, "") for k in _MODIFIED_KEYS)], now
    )
    keywords = meta.get("keywords", "") or meta.get("news_keywords", "")
    tags = tuple(dict.fromkeys(t.strip() for t in keywords.split(",") if t.strip()))
    image = meta.get("og:image") or meta.get("twitter:image") or None
    return PageMeta(
        title=title or None,
        headlines=headlines,
        authors=authors,
        agencies=agencies,
        published=published,
        modified=modified,
        language=_language(tree, meta, article) or None,
        sitename=sitename,
        description=next((meta[k] for k in _DESC_KEYS if meta.get(k)), None),
        tags=tags,
        image=image,
    )
