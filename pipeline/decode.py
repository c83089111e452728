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


class Truncated(BadEncoding):
    """The compressed stream ends before its end marker: the body was cut (internal)."""


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

    @property
    def complete(self) -> bool:
        return self._obj.eof


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

    @property
    def complete(self) -> bool:
        return bool(self._obj.is_finished())


class _Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data

    def flush(self, limit: int) -> bytes:
        return b""

    complete = True


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
        self._fed = False
        self._parts: list[bytes] = []

    def _room(self) -> int:
        return self._limit - self._size

    def feed(self, chunk: bytes) -> None:
        self._fed = self._fed or bool(chunk)
        data = chunk
        for dec in self._chain:
            data = dec.feed(data, self._room())
        self._add(data)

    def finish(self, *, complete: bool = True) -> bytes:
        """The decoded body. With `complete`, a compressed stream that ends before its
        end marker (a body cut short) raises Truncated; an empty body is no stream."""
        data = b""
        for dec in self._chain:  # flush each stage, passing what it held to the next
            if data:
                data = dec.feed(data, self._room())
            data += dec.flush(self._room())
        self._add(data)
        if complete and self._fed and not all(dec.complete for dec in self._chain):
            raise Truncated("the compressed stream ends before its end: the body was cut")
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
    return dec.finish(complete=False)  # a sitemap cut short still lists what it got


# --- charsets ----------------------------------------------------------------------
# Only the labels of the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/
# #names-and-labels) are honoured, mapped to the Python codec that decodes like the
# standard's decoder. Any other label — Python-only codecs (idna, punycode, undefined,
# unicode_escape, rot13, base64, ...), EBCDIC, UTF-32, UTF-7, typos — is ignored, and
# the next source of truth decides. The "replacement" labels (ISO-2022-KR, HZ, ...)
# are ignored too, and x-user-defined (a hack for binary data) reads as windows-1252.

_WEB_ENCODINGS = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp866": "866 cp866 csibm866 ibm866",
    "iso8859-2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
    "iso_8859-2:1987 l2 latin2",
    "iso8859-3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
    "iso_8859-3:1988 l3 latin3",
    "iso8859-4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
    "iso_8859-4:1988 l4 latin4",
    "iso8859-5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 "
    "iso_8859-5 iso_8859-5:1988",
    "iso8859-6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 "
    "iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 "
    "iso_8859-6:1987",
    "iso8859-7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 "
    "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    "iso8859-8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 "
    "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical",
    "iso8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso8859-13": "iso-8859-13 iso8859-13 iso885913",
    "iso8859-14": "iso-8859-14 iso8859-14 iso885914",
    "iso8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso8859-16": "iso-8859-16",
    "koi8-r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8-u": "koi8-ru koi8-u",
    "mac-roman": "csmacintosh mac macintosh x-mac-roman",
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "cp1250": "cp1250 windows-1250 x-cp1250",
    "cp1251": "cp1251 windows-1251 x-cp1251",
    "cp1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 "
    "iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 "
    "x-cp1252 x-user-defined",
    "cp1253": "cp1253 windows-1253 x-cp1253",
    "cp1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
    "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254",
    "cp1255": "cp1255 windows-1255 x-cp1255",
    "cp1256": "cp1256 windows-1256 x-cp1256",
    "cp1257": "cp1257 windows-1257 x-cp1257",
    "cp1258": "cp1258 windows-1258 x-cp1258",
    "mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 "
    "x-gbk gb18030",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc_jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022_jp": "csiso2022jp iso-2022-jp",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 "
    "ksc5601 ksc_5601 windows-949",
    "utf-16-be": "unicodefffe utf-16be",
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
}
_LABELS = {label: codec for codec, labels in _WEB_ENCODINGS.items() for label in labels.split()}
_WEB_CODECS = frozenset(_WEB_ENCODINGS)
_UTF16 = ("utf-16-le", "utf-16-be")

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.IGNORECASE
)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml(?=[\s?])[^>]*?>""")
_XML_LABEL = re.compile(rb"""encoding\s*=\s*["']([^"'>]*)["']""")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def web_codec(label: str | bytes | None) -> str | None:
    """The Python codec for a WHATWG encoding label; None for any other label."""
    if isinstance(label, bytes):
        label = label.decode("latin-1")
    if not label:
        return None
    return _LABELS.get(label.strip(" \t\n\f\r\"'").lower())


def _in_document(label: str | bytes | None) -> str | None:
    """A label found in the document itself (<meta>, XML declaration): its bytes were
    readable as ASCII, so a UTF-16 label is a mistake for UTF-8, as browsers take it."""
    codec = web_codec(label)
    return "utf-8" if codec in _UTF16 else codec


def header_charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return web_codec(value)
    return None


def _bom(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


# A declared charset under which only a handful of byte sequences are invalid is the
# page's (a stray byte pasted from elsewhere), as browsers read it: those bytes alone
# are lost. Beyond that, or where most non-ASCII bytes are invalid, it is a mislabel.
_HANDFUL = 8
_HANDFUL_SHARE = 0.1  # of the non-ASCII bytes


def _declared_fits(body: bytes, encoding: str) -> bool:
    if _decodes(body, encoding):
        return True
    try:
        errors = body.decode(encoding, errors="replace").count("\ufffd")
    except LookupError:
        return False
    errors -= body.count("\ufffd".encode(encoding)) if encoding == "utf-8" else 0
    non_ascii = sum(1 for byte in body if byte >= 0x80)
    return errors <= _HANDFUL and errors <= _HANDFUL_SHARE * non_ascii


def _detected(name: str | None) -> str | None:
    """A detector's guess (a Python codec name) as a web codec, or None."""
    if not name:
        return None
    codec = web_codec(name.replace("_", "-"))
    if codec is not None:
        return codec
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    if canonical in ("iso8859-1", "ascii"):
        return "cp1252"
    return canonical if canonical in _WEB_CODECS else None


def decide_encoding(body: bytes, content_type: str | None) -> str:
    """The charset to decode `body` with: BOM, then the header, then <meta> or the XML
    declaration, then UTF-8, then detection. A declared charset that the bytes
    contradict (more than a handful of invalid sequences) is not trusted; one they
    contradict only a few times is kept, losing just those bytes. Only web (WHATWG) labels count:
    Windows-1252 stands in for Latin-1/ASCII, and a UTF-16 <meta> means UTF-8, as
    browsers do."""
    bom = _bom(body)
    if bom is not None:
        return bom
    head = body[:4096]
    declared = [header_charset(content_type)]
    for match in _META_CHARSET.finditer(head):
        codec = _in_document(match.group(1))
        if codec is not None:  # browsers skip a <meta> with an unknown label
            declared.append(codec)
            break
    else:
        declared.append(xml_declared(head))
    for label in declared:
        if label and _declared_fits(body, label):
            return label
    if _decodes(body, "utf-8"):
        return "utf-8"
    best = from_bytes(body[:200_000]).best()
    return _detected(best.encoding if best is not None else None) or "cp1252"


def xml_label(body: bytes) -> bytes | None:
    """The encoding label of an ASCII-compatible document's XML declaration, as is."""
    declaration = _XML_DECLARATION.match(body[:1024].removeprefix(codecs.BOM_UTF8))
    label = _XML_LABEL.search(declaration.group()) if declaration else None
    return label.group(1) if label else None


def xml_declared(body: bytes) -> str | None:
    """The web codec an ASCII-compatible document's XML declaration names, if any."""
    return _in_document(xml_label(body))


def xml_encodings(body: bytes, content_type: str | None = None) -> list[str]:
    """Codecs to try, in order, to read an XML document (a feed, a sitemap): its BOM;
    else the header's charset, the XML declaration's (web labels only: an unknown
    label is ignored), UTF-8 and windows-1252. UTF-16 without a BOM is recognised
    by its first character, '<'."""
    bom = _bom(body)
    if bom is not None:
        return [bom]
    if body[:2] == b"<\x00":
        return ["utf-16-le"]
    if body[:2] == b"\x00<":
        return ["utf-16-be"]
    out: list[str] = []
    for codec in (header_charset(content_type), xml_declared(body), "utf-8", "cp1252"):
        if codec and codec not in out:
            out.append(codec)
    return out


def to_text(body: bytes, encoding: str | None) -> str:
    """Decode with the decided charset, never failing (NULs dropped). Another codec name
    (an old record's) reads as the web encoding it stands for, or else as UTF-8."""
    if encoding not in _WEB_CODECS and encoding not in ("utf-8-sig", "utf-16"):
        encoding = _detected(encoding)
    text = body.decode(encoding or "utf-8", errors="replace")
    return text.replace("\x00", "") if "\x00" in text else text
