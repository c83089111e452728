"""Is this a story? Pages that are not one are skipped with a reason, never stored.

Pure; no I/O, no module state. Each check says why a page is not a story:
- `not_a_page(body)`: the bytes, sniffed as browsers do (pipeline.sniff, WHATWG MIME
  Sniffing, whatever the Content-Type claimed): binary data (random bytes, a gzip
  stream without Content-Encoding, a PDF, an image) or JSON/JSONP; `page_text` is the
  one way from fetched or captured bytes to the text to extract (a run's workers and
  `try` both go through it);
- `not_a_story(url, text, title)`: a site's home page.

Consent, bot-challenge and login pages standing in for the story are walls, told
from stories by extract/access.py (the one place for those rules): they are not
stored either, but retried later, since the story may be there next time.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pipeline.decode import to_text
from pipeline.sniff import HTML_TYPES, computed_type, looks_like_json

# Text a story does not contain: C0 controls other than whitespace, and U+FFFD from
# bytes that were not text in the decided charset.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")


def not_a_page(body: bytes) -> str | None:
    """Why these bytes are no web page (None when they may be one)."""
    sniffed = computed_type(body, None)
    if sniffed not in HTML_TYPES and not sniffed.startswith("text/"):
        return f"binary data ({sniffed}), not a page"
    if looks_like_json(body):
        return "JSON, not a page"
    return None


def page_text(body: bytes, encoding: str | None) -> tuple[str | None, str]:
    """The decoded page to extract, or None and why these bytes are no page
    (`not_a_page`): the byte-level check made before any extraction of a page's bytes."""
    reason = not_a_page(body)
    if reason is not None:
        return None, reason
    return to_text(body, encoding), ""


def not_text(html: str) -> str | None:
    """Why this decoded page is no text (binary data read as characters), or None."""
    if html.lstrip().startswith("%PDF-"):
        return "binary data (application/pdf), not a page"
    head = html[:4096]
    if head and len(_NOT_TEXT.findall(head)) > 0.05 * len(head):
        return "binary data, not a page"
    if looks_like_json(html):
        return "JSON, not a page"
    return None


def not_a_story(url: str, text: str, title: str | None) -> str | None:
    """Why a page at `url` whose story text is `text` is not a story, or None."""
    parts = urlsplit(url)
    if url and parts.path in ("", "/") and not parts.query:
        return "the site's home page, not a story"
    return None
