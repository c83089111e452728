"""What a response body is, from its first bytes and its declared Content-Type: the one
sniffer of fetch, WARC import and discovery.

It follows the WHATWG MIME Sniffing Standard (https://mimesniff.spec.whatwg.org/),
"determining the computed MIME type of a resource" in a browsing context: a declared
type is believed, except that an undefined or unknown one is sniffed, one of Apache's
default "text/plain" labels is checked for binary bytes, and "text/html" is checked for
a feed mislabelled as HTML. Two departures, both so that a real page stays a page:

- a UTF-8 byte order mark may stand before the HTML and XML signatures (the standard
  makes any BOM "text/plain"; browsers' reason, privilege escalation, is not ours);
- an XML document whose root element is `html` is "application/xhtml+xml" (the
  standard stops at "text/xml").

The no-sniff flag (X-Content-Type-Options) is not applied: the archive reads pages, it
does not run them. `looks_like_json` is not in the standard: it tells a JSON or JSONP
body (often served as text/html) from a page.
"""

from __future__ import annotations

import re

RESOURCE_HEADER = 1445  # bytes of a body the standard looks at
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

_WHITESPACE = b"\t\n\x0c\r "
_TAG_END = b" >"  # the standard's tag-terminating bytes
_UTF8_BOM = b"\xef\xbb\xbf"
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")  # the standard's binary data bytes
_UNKNOWN = frozenset({"unknown/unknown", "application/unknown", "*/*"})
# Exact Content-Type values old Apache sent for any file: check them for binary bytes.
_APACHE_BUG = frozenset(
    {
        "text/plain",
        "text/plain; charset=ISO-8859-1",
        "text/plain; charset=iso-8859-1",
        "text/plain; charset=UTF-8",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# Signatures matched after leading whitespace, case-insensitively, each followed by a
# tag-terminating byte ("scriptable" types in the standard's words).
_HTML_TAGS = tuple(
    t.encode()
    for t in (
        "<!DOCTYPE HTML",
        "<HTML",
        "<HEAD",
        "<SCRIPT",
        "<IFRAME",
        "<H1",
        "<DIV",
        "<FONT",
        "<TABLE",
        "<A",
        "<STYLE",
        "<TITLE",
        "<B",
        "<BODY",
        "<BR",
        "<P",
        "<!--",
    )
)
# Exact signatures at offset 0, in the standard's order: other documents, then images,
# audio and video, archives. (MP4, WebM and bare MP3 need parsing; they are octet
# streams here, which is all a caller asking "is this a page" needs.)
_SIGNATURES: tuple[tuple[bytes, bytes | None, str], ...] = (
    (b"%PDF-", None, "application/pdf"),
    (b"%!PS-Adobe-", None, "application/postscript"),
    (b"\xfe\xff\x00\x00", b"\xff\xff\x00\x00", "text/plain"),  # byte order marks
    (b"\xff\xfe\x00\x00", b"\xff\xff\x00\x00", "text/plain"),
    (b"\xef\xbb\xbf\x00", b"\xff\xff\xff\x00", "text/plain"),
)
_ANY4 = b"\xff" * 4 + b"\x00" * 4  # a mask: four fixed bytes, then any four
_IMAGES: tuple[tuple[bytes, bytes | None, str], ...] = (
    (b"\x00\x00\x01\x00", None, "image/x-icon"),
    (b"\x00\x00\x02\x00", None, "image/x-icon"),
    (b"BM", None, "image/bmp"),
    (b"GIF87a", None, "image/gif"),
    (b"GIF89a", None, "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP", _ANY4 + b"\xff" * 6, "image/webp"),
    (b"\x89PNG\r\n\x1a\n", None, "image/png"),
    (b"\xff\xd8\xff", None, "image/jpeg"),
)
_MEDIA: tuple[tuple[bytes, bytes | None, str], ...] = (
    (b".snd", None, "audio/basic"),
    (b"FORM\x00\x00\x00\x00AIFF", _ANY4 + b"\xff" * 4, "audio/aiff"),
    (b"ID3", None, "audio/mpeg"),
    (b"OggS\x00", None, "application/ogg"),
    (b"MThd\x00\x00\x00\x06", None, "audio/midi"),
    (b"RIFF\x00\x00\x00\x00AVI ", _ANY4 + b"\xff" * 4, "video/avi"),
    (b"RIFF\x00\x00\x00\x00WAVE", _ANY4 + b"\xff" * 4, "audio/wave"),
)
_ARCHIVES: tuple[tuple[bytes, bytes | None, str], ...] = (
    (b"\x1f\x8b\x08", None, "application/x-gzip"),
    (b"PK\x03\x04", None, "application/zip"),
    (b"Rar \x1a\x07\x00", None, "application/x-rar-compressed"),
)
_RDF = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS1 = b"http://purl.org/rss/1.0/"


def essence(content_type: str | None) -> str | None:
    """The MIME type portion ("type/subtype", lower case) of a Content-Type value; None
    when there is none or it does not parse (the standard's "undefined")."""
    media = (content_type or "").split(";", 1)[0].strip(" \t")
    return media.lower() if _TOKEN.fullmatch(media) else None


def computed_type(body: bytes, content_type: str | None) -> str:
    """The computed MIME type (its essence) of a response with this body, of which only
    the first RESOURCE_HEADER bytes are read, and this Content-Type (None if absent)."""
    head = body[:RESOURCE_HEADER]
    supplied = essence(content_type)
    if supplied is None or supplied in _UNKNOWN:
        return _unknown(head)
    if content_type in _APACHE_BUG:
        return _text_or_binary(head)
    if supplied.endswith("+xml") or supplied in ("text/xml", "application/xml"):
        return supplied
    if supplied == "text/html":
        return _feed_or_html(head) or supplied
    if supplied.startswith("image/"):
        return _match(head, _IMAGES) or supplied
    if supplied.startswith(("audio/", "video/")) or supplied == "application/ogg":
        return _match(head, _MEDIA) or supplied
    return supplied


def may_be_html(content_type: str | None) -> bool:
    """Whether a response with this Content-Type can be HTML, whatever its body: when
    not, a caller may refuse it before reading the body."""
    supplied = essence(content_type)
    return supplied is None or supplied in _UNKNOWN or supplied in HTML_TYPES


def is_html(body: bytes, content_type: str | None = None) -> bool:
    """Whether this body with this Content-Type is an HTML (or XHTML) page."""
    return computed_type(body, content_type) in HTML_TYPES


_JSON_START = re.compile(
    rb"""(?:\xef\xbb\xbf)?[\t\n\r ]*(?:
        \{[\t\n\r ]*["}]                                    # an object
      | \[[\t\n\r ]*(?:[\[{"\]\-0-9]|true|false|null)       # an array
      | (?:/\*\*/)?[\t\n\r ]*[A-Za-z_$][\w$.]*[\t\n\r ]*\(   # JSONP: callback(
        [\t\n\r ]*[\[{"]
    )""",
    re.VERBOSE,
)
_JSONP = re.compile(rb"(?:\xef\xbb\xbf)?[\t\n\r ]*(?:/\*\*/)?[\t\n\r ]*[A-Za-z_$]")


def looks_like_json(body: bytes | str) -> bool:
    """Whether a text body is JSON (an object or array) or JSONP (`callback({...})`),
    not a page. JSONP must end with ")" (and maybe ";") to count."""
    if isinstance(body, str):
        head = body[:RESOURCE_HEADER].encode("utf-8", "replace")
        ends_call = body.rstrip("\t\n\r ;").endswith(")")
    else:
        head = body[:RESOURCE_HEADER]
        ends_call = body.rstrip(b"\t\n\r ;").endswith(b")")
    if not _JSON_START.match(head):
        return False
    return ends_call or not _JSONP.match(head)


# --- the standard's algorithms ----------------------------------------------------------


def _matches(head: bytes, pattern: bytes, mask: bytes | None) -> bool:
    if len(head) < len(pattern):
        return False
    if mask is None:
        return head.startswith(pattern)
    return all(head[i] & mask[i] == pattern[i] for i in range(len(pattern)))


def _match(head: bytes, table: tuple[tuple[bytes, bytes | None, str], ...]) -> str | None:
    for pattern, mask, mime in table:
        if _matches(head, pattern, mask):
            return mime
    return None


def _html_or_xml(head: bytes) -> str | None:
    """The scriptable rows: HTML signatures and "<?xml", after whitespace."""
    start = 0
    while start < len(head) and head[start] in _WHITESPACE:
        start += 1
    rest = head[start:]
    upper = rest[:16].upper()
    for tag in _HTML_TAGS:
        if upper.startswith(tag) and len(rest) > len(tag) and rest[len(tag)] in _TAG_END:
            return "text/html"
    if rest.startswith(b"<?xml"):
        return "application/xhtml+xml" if _root(head, start) == b"html" else "text/xml"
    return None


def _unknown(head: bytes) -> str:
    """The rules for identifying an unknown MIME type (sniff-scriptable set)."""
    found = _html_or_xml(head)
    if found is None and head.startswith(_UTF8_BOM):
        found = _html_or_xml(head[len(_UTF8_BOM) :])  # departure: see the module's doc
    if found is not None:
        return found
    found = (
        _match(head, _SIGNATURES)
        or _match(head, _IMAGES)
        or _match(head, _MEDIA)
        or _match(head, _ARCHIVES)
    )
    if found is not None:
        return found
    return "application/octet-stream" if _has_binary(head) else "text/plain"


def _text_or_binary(head: bytes) -> str:
    """The rules for distinguishing if a resource is text or binary."""
    if head.startswith((b"\xfe\xff", b"\xff\xfe", _UTF8_BOM)) or not _has_binary(head):
        return "text/plain"
    return "application/octet-stream"


def _has_binary(head: bytes) -> bool:
    return _BINARY.search(head) is not None


def _skip_markup(head: bytes, s: int) -> tuple[int, bool]:
    """Past a comment, declaration or processing instruction starting at head[s] (the
    byte after "<"): the index after it and True, or (s, False) if none starts there,
    or (len(head), True) if it does not end within the head."""
    for opener, closer in ((b"!--", b"-->"), (b"!", b">"), (b"?", b"?>")):
        if head.startswith(opener, s):
            end = head.find(closer, s + len(opener))
            return (len(head), True) if end < 0 else (end + len(closer), True)
    return s, False


def _root(head: bytes, s: int = 0) -> bytes | None:
    """The name of the first element after comments, declarations and processing
    instructions (lower case); None when none starts within the head."""
    start = _first_element(head, s)
    if start is None:
        return None
    end = start
    while end < len(head) and head[end] not in b" \t\r\n\x0c/>":
        end += 1
    return head[start:end].lower() if end < len(head) else None


def _first_element(head: bytes, s: int) -> int | None:
    """Index of the name of the first element at or after head[s], skipping whitespace,
    comments, declarations and processing instructions; None if something else comes
    first or the head ends."""
    while s < len(head):
        while s < len(head) and head[s] in _WHITESPACE:
            s += 1
        if s >= len(head) or head[s] != 0x3C:  # "<"
            return None
        s, skipped = _skip_markup(head, s + 1)
        if not skipped:
            return s
    return None


def _feed_or_html(head: bytes) -> str | None:
    """The rules for distinguishing if a resource is a feed or HTML: a feed type, or
    None for "the supplied type"."""
    s = _first_element(head, len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0)
    if s is None:
        return None
    if head.startswith(b"rss", s):
        return "application/rss+xml"
    if head.startswith(b"feed", s):
        return "application/atom+xml"
    if head.startswith(b"rdf:RDF", s):
        rest = head[s + 7 :]
        first_rdf, first_rss = rest.find(_RDF), rest.find(_RSS1)
        if first_rdf >= 0 and first_rss >= 0:  # both namespaces, in either order
            return "application/rss+xml"
    return None
