"""extract(html, url, options) -> Article | None. Pure: no network, no database, no files.

Runs in worker processes. The page is parsed once with selectolax (Lexbor), the
source's `drop` selectors are removed, and trafilatura extracts the story text and
metadata (comments excluded).
"""

from __future__ import annotations

from typing import Any

import py3langid
import trafilatura
from selectolax.lexbor import LexborHTMLParser

from .models import Article, ExtractOptions
from .text import content_hash, simhash
from .urls import canonicalize, same_site


def _canonical(tree: LexborHTMLParser, url: str) -> str:
    """rel=canonical when it points to the same site, else the fetched URL."""
    page = canonicalize(url) or url
    node = tree.css_first('link[rel="canonical"][href]')
    href = node.attributes.get("href") if node is not None else None
    if href:
        candidate = canonicalize(href, base=url)
        if candidate and same_site(candidate, page):
            return candidate
    return page


def _paragraphs(text: str) -> str:
    """trafilatura's txt output puts one block per line; the archive separates blocks
    (paragraphs) by one blank line."""
    blocks = [line.strip() for line in text.splitlines()]
    return "\n\n".join(b for b in blocks if b)


def _language(declared: str | None, text: str) -> str | None:
    if declared:
        code = declared.split("-")[0].split("_")[0].strip().lower()
        if len(code) == 2 and code.isalpha():
            return code
    if len(text) < 20:
        return None
    code, _score = py3langid.classify(text[:3000])
    return str(code)


def _tuple(value: Any, split: str | None = None) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(split) if isinstance(value, str) and split else list(value)
    return tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))


def extract(html: str, url: str, options: ExtractOptions | None = None) -> Article | None:
    """The article in `html`, or None when the page is not an article (too little text)."""
    options = options or ExtractOptions()
    tree = LexborHTMLParser(html)
    for selector in options.drop:
        for node in tree.css(selector):
            node.decompose()
    doc: Any = trafilatura.bare_extraction(
        tree.html or "",
        url=url,
        include_comments=False,
        include_tables=options.include_tables,
        with_metadata=True,
    )
    if doc is None or not doc.text:
        return None
    text = _paragraphs(doc.text)
    if len(text) < options.min_text_length:
        return None
    return Article(
        url=url,
        canonical_url=_canonical(tree, url),
        text=text,
        content_hash=content_hash(text),
        title=(doc.title or None),
        authors=_tuple(doc.author, ";"),
        published=doc.date or None,
        language=_language(doc.language, text),
        sitename=doc.sitename or None,
        description=doc.description or None,
        tags=_tuple(doc.tags) + _tuple(doc.categories),
        image=doc.image or None,
        simhash=simhash(text),
    )
