"""Bytes from the wire to text: content-decoding with a size cap, and charset decisions.

Pure and synchronous; the fetcher feeds it chunks as they arrive.
"""

from __future__ import annotations

import codecs
import re
import zlib

import brotli
from charset_normalizer import from_bytes


class TooLarge(Exception):
    """Decoded output passed the cap (internal; the fetcher turns it into TooLargeError)."""


class BadEncoding(Exception):
    """The content-encoding is unknown or the stream is corrupt (internal)."""


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._obj = zlib.decompressobj(wbits)
        self._first = True
        self._wbits = wbits

    def feed(self, data: bytes, limit: int) -> bytes:
        try:
            out = self._obj.decompress(data, limit + 1)
        except zlib.error as exc:
            if self._first and self._wbits == zlib.MAX_WBITS:
                # "deflate" is often sent raw, without the zlib wrapper.
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                return self.feed(data, limit)
            raise BadEncoding(str(exc)) from None
        self._first = False
        if self._obj.unconsumed_tail:
            raise TooLarge
        return out

    def flush(self, limit: int) -> bytes:
        return self._obj.flush(limit + 1) if limit >= 0 else b""


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        try:
            out: bytes = self._obj.process(data, output_buffer_limit=limit + 1)
            if not self._obj.can_accept_more_data():
                raise TooLarge
        except brotli.error as exc:
            raise BadEncoding(str(exc)) from None
        return out

    def flush(self, limit: int) -> bytes:
        return b""


class _Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data

    def flush(self, limit: int) -> bytes:
        return b""


_Decoder = _Zlib | _Brotli | _Identity


def _decoder(name: str) -> _Decoder:
    name = name.strip().lower()
    if name in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Zlib(zlib.MAX_WBITS)
    if name == "br":
        return _Brotli()
    if name in ("identity", ""):
        return _Identity()
    raise BadEncoding(f"unsupported content-encoding {name!r}")


class BoundedDecoder:
    """Content-decodes a stream chunk by chunk; raises TooLarge as soon as the decoded
    size passes `limit` — never inflating more than `limit` bytes, so a compression
    bomb costs at most `limit` of memory."""

    def __init__(self, content_encoding: str | None, limit: int, gzip_file: bool = False) -> None:
        names = [n for n in (content_encoding or "").split(",") if n.strip()]
        # Encodings apply in the order listed, so they are undone in reverse.
        self._chain = [_decoder(n) for n in reversed(names)]
        if gzip_file:  # a .xml.gz sitemap: the payload itself is a gzip file
            self._chain.append(_Zlib(16 + zlib.MAX_WBITS))
        self._limit = limit
        self._size = 0
        self._parts: list[bytes] = []

    def _room(self) -> int:
        return self._limit - self._size

    def feed(self, chunk: bytes) -> None:
        data = chunk
        for dec in self._chain:
            data = dec.feed(data, self._room())
        self._add(data)

    def finish(self) -> bytes:
        data = b""
        for dec in self._chain:  # flush each stage, passing what it held to the next
            if data:
                data = dec.feed(data, self._room())
            data += dec.flush(self._room())
        self._add(data)
        return b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise TooLarge
        if data:
            self._parts.append(data)


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """A whole gzip file inflated with the same cap (for payloads already in memory)."""
    dec = BoundedDecoder(None, limit, gzip_file=True)
    dec.feed(data)
    return dec.finish()


# --- charsets ----------------------------------------------------------------------

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.\-]+)""")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# WHATWG: labels that mean windows-1252 on the web.
_AS_CP1252 = {"iso8859-1", "latin-1", "ascii", "iso8859_1", "latin_1", "us-ascii"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if name in _AS_CP1252 else name


def header_charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return _codec(value)
    return None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def decide_encoding(body: bytes, content_type: str | None) -> str:
    """The charset to decode `body` with: BOM, then the header, then <meta> or the XML
    declaration, then UTF-8, then detection. A declared charset that the bytes
    contradict (invalid sequences) is not trusted. Windows-1252 stands in for
    Latin-1/ASCII labels, as browsers do."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return "utf-8-sig" if name == "utf-8" else name
    head = body[:4096]
    declared = [header_charset(content_type)]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if match:
        declared.append(_codec(match.group(1).decode("ascii", "replace")))
    for label in declared:
        if label and _decodes(body, label):
            return label
    if _decodes(body, "utf-8"):
        return "utf-8"
    best = from_bytes(body[:200_000]).best()
    guessed = _codec(best.encoding) if best is not None else None
    return guessed or "cp1252"


def to_text(body: bytes, encoding: str | None) -> str:
    """Decode with the decided charset, never failing (NULs dropped)."""
    text = body.decode(encoding or "utf-8", errors="replace")
    return text.replace("\x00", "") if "\x00" in text else text
