"""Where each metadata value of `metadata.read_metadata` came from, for `explain`.

Reads the same page parts as read_metadata (JSON-LD, OpenGraph and other meta tags,
<title>, <time>, byline elements, the URL) and names, for each value read_metadata
chose, the first of them that yields it. It never changes a value: a value none of
them yields as such (a title cut at a separator, a re-cased name) is labelled with
the part it was derived from. Pure; no I/O.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from pipeline.extract import metadata as m
from pipeline.extract.explain import Trace


def _meta_label(key: str) -> str:
    if key.startswith(("og:", "article:")):
        return f"OpenGraph {key}"
    if key.startswith("twitter:"):
        return f"Twitter card {key}"
    if key.startswith(("dc:", "dc.", "dcterm")):
        return f"Dublin Core <meta {key}>"
    return f"<meta name={key!r}>"


def _date_origin(labelled: list[tuple[str, str]], chosen: str | None, now: str | None) -> str:
    for raw, label in labelled:
        stamp = m._iso(raw)
        if stamp and m._not_future(stamp, now):
            return label if stamp == chosen else f"{label} (normalised)"
    return "derived"


def _title_origin(
    tree: LexborHTMLParser, meta: dict[str, str], article: dict[str, object], title: str
) -> str:
    document_title = m._title_from_document(tree)
    headline = m._json_title(article, document_title)
    if headline:
        declared = m._clean(article.get("headline"))
        where = "JSON-LD headline" if headline == declared else "JSON-LD name"
        return where if headline == title else f"{where} (site name removed)"
    for key in (*m._TITLE_KEYS, *m._TITLE_KEYS_LATE):
        value = meta.get(key, "")
        if value:
            label = _meta_label(key)
            return label if value == title else f"{label} (site name removed)"
    return "<title> element" if document_title == title else "<title> element (shortened)"


def _author_origin(meta: dict[str, str], article: dict[str, object]) -> str:
    people, orgs = m._names(article.get("author"))
    if people or orgs:
        return "JSON-LD author"
    for key in m._AUTHOR_KEYS:
        value = meta.get(key, "")
        if value and not value.startswith(("http://", "https://", "@", "/")):
            return _meta_label(key)
    return "byline element"


def trace_metadata(
    trace: Trace, tree: LexborHTMLParser, url: str, page: m.PageMeta, now: str | None
) -> None:
    """Note in `trace` the origin of each value in `page` (read from `tree`, untouched)."""
    meta = m._meta_tags(tree)
    objects = m._json_objects(tree)
    article = m._article_object(objects)
    if page.title:
        trace.origin("title", page.title, _title_origin(tree, meta, article, page.title))
    if page.authors:
        trace.origin("authors", page.authors, _author_origin(meta, article))
    if page.agencies:
        trace.origin("agencies", page.agencies, _author_origin(meta, article))
    url_date = "-".join(match.groups()) if (match := m._URL_DATE.search(url)) else ""
    published = [
        (m._clean(article.get("datePublished")), "JSON-LD datePublished"),
        *((meta.get(k, ""), _meta_label(k)) for k in m._DATE_KEYS),
        (m._clean(article.get("dateCreated")), "JSON-LD dateCreated"),
        *((value, "<time> element") for value in m._time_elements(tree)),
        (url_date, "URL"),
    ]
    if page.published:
        trace.origin("published", page.published, _date_origin(published, page.published, now))
    modified = [
        (m._clean(article.get("dateModified")), "JSON-LD dateModified"),
        *((meta.get(k, ""), _meta_label(k)) for k in m._MODIFIED_KEYS),
    ]
    if page.modified:
        trace.origin("modified", page.modified, _date_origin(modified, page.modified, now))
    if page.language:
        html = tree.css_first("html")
        languages = [
            (html.attributes.get("lang") if html is not None else None, "<html lang>"),
            (html.attributes.get("xml:lang") if html is not None else None, "<html xml:lang>"),
            (m._clean(article.get("inLanguage")), "JSON-LD inLanguage"),
            *((meta.get(k), _meta_label(k)) for k in m._LANG_KEYS),
        ]
        where = next((label for value, label in languages if value), "derived")
        trace.origin("language", page.language, where)
    if page.sitename:
        sites = [
            (m._publisher_name(article), "JSON-LD publisher"),
            *((meta.get(k, ""), _meta_label(k)) for k in m._SITE_KEYS),
        ]
        where = next((label for value, label in sites if value == page.sitename), "JSON-LD")
        trace.origin("sitename", page.sitename, where)
    if page.description:
        where = next((k for k in m._DESC_KEYS if meta.get(k) == page.description), "")
        trace.origin("description", page.description, _meta_label(where) if where else "derived")
    if page.tags:
        key = "keywords" if meta.get("keywords") else "news_keywords"
        trace.origin("tags", page.tags, _meta_label(key))
    if page.image:
        key = "og:image" if meta.get("og:image") == page.image else "twitter:image"
        trace.origin("image", page.image, _meta_label(key))
