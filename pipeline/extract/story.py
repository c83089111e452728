"""Is this a story? Pages that are not one are skipped with a reason, never stored.

Pure; no I/O, no module state. Each check says why a page is not a story:
- `not_a_page(body)`: the bytes, sniffed as browsers do (pipeline.sniff, WHATWG MIME
  Sniffing, whatever the Content-Type claimed): binary data (random bytes, a gzip
  stream without Content-Encoding, a PDF, an image) or JSON/JSONP;
- `not_a_story(url, text, title)`: the page and its extracted text: a site's home
  page, a cookie-consent or bot-challenge page standing in for the story. (A login
  form is no evidence: many story pages carry one in their header; a page that is only
  a login form has too little text to be a story.) Words (in several languages) only
  confirm what the page's shape says: such pages are short, and a consent or challenge
  word in a long story proves nothing.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pipeline.sniff import HTML_TYPES, computed_type, looks_like_json

# Text a story does not contain: C0 controls other than whitespace, and U+FFFD from
# bytes that were not text in the decided charset.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")
_SHORT = 1500  # characters of text: consent and challenge pages are short
_GATE_WORDS = re.compile(
    r"\b(?:accept|allow|reject|decline|manage|use|uses|akzeptier|verwende|nutze|"
    r"utilis|acept|accett|aceit)\w* (?:all |alle |todas |tous |tutti )?(?:the |les )?cookies|"
    r"cookie[- ](?:settings|policy|consent|preferences|einstellungen|richtlinie)|"
    r"we value your privacy|privacy (?:settings|preferences)|datenschutzeinstellungen|"
    r"gestion des cookies|consentement|consentimiento|"
    r"checking (?:if the site connection is secure|your browser)|just a moment\.\.\.|"
    r"(?:please )?enable javascript|verify (?:you are|that you are) (?:a )?human|"
    r"are you a robot|captcha|access denied|unusual traffic|ddos protection|"
    r"bitte aktivieren sie javascript|vérifiez que vous êtes humain",
    re.IGNORECASE,
)
_GATE_HEAD = 500  # characters: the gate is what the page opens with


def not_a_page(body: bytes) -> str | None:
    """Why these bytes are no web page (None when they may be one)."""
    sniffed = computed_type(body, None)
    if sniffed not in HTML_TYPES and not sniffed.startswith("text/"):
        return f"binary data ({sniffed}), not a page"
    if looks_like_json(body):
        return "JSON, not a page"
    return None


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
    if len(text) >= _SHORT:
        return None
    if _GATE_WORDS.search(f"{title or ''} {text[:_GATE_HEAD]}"):
        return "a consent or bot-challenge page in place of the story"
    return None
