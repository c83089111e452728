"""Charset decisions: only web (WHATWG Encoding Standard) labels are honoured."""

from __future__ import annotations

import codecs

import pytest

from pipeline.decode import (
    _WEB_ENCODINGS,
    decide_encoding,
    header_charset,
    to_text,
    web_codec,
    xml_encodings,
)


def test_every_web_encoding_is_a_python_codec_of_that_name() -> None:
    for codec in _WEB_ENCODINGS:
        assert codecs.lookup(codec).name == codec


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("utf-8", "utf-8"),
        (" UTF8 ", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("latin1", "cp1252"),
        ("ISO-8859-1", "cp1252"),
        ("ascii", "cp1252"),
        ("us-ascii", "cp1252"),
        ("x-user-defined", "cp1252"),
        ("shift_jis", "cp932"),
        ("gb2312", "gb18030"),
        ("big5", "big5hkscs"),
        ("euc-kr", "cp949"),
        ("iso-8859-8-i", "iso8859-8"),
        ("utf-16", "utf-16-le"),
        ("koi8-r", "koi8-r"),
    ],
)
def test_web_labels_map_to_the_codec_browsers_decode_with(label: str, codec: str) -> None:
    assert web_codec(label) == codec
    assert header_charset(f"text/html; charset={label}") == codec


@pytest.mark.parametrize(
    "label",
    [
        "idna",
        "punycode",
        "undefined",
        "unicode_escape",
        "rot13",
        "base64",
        "hex",
        "zlib",
        "cp037",
        "utf-32",
        "utf-7",
        "iso-2022-kr",  # the "replacement" encoding: ignored
        "bogus",
        "",
        "utf-8\x00",
    ],
)
def test_labels_that_are_not_web_encodings_are_ignored(label: str) -> None:
    assert web_codec(label) is None
    body = b"<p>C:\\new\\table caf\xc3\xa9</p>"
    for content_type, page in [
        (f"text/html; charset={label}", body),
        ("text/html", f'<meta charset="{label}">'.encode("latin-1") + body),
        ("text/html", f'<?xml version="1.0" encoding="{label}"?>'.encode("latin-1") + body),
    ]:
        assert decide_encoding(page, content_type) == "utf-8"
        assert "C:\\new\\table café" in to_text(page, "utf-8")


@pytest.mark.parametrize("label", ["utf-16", "UTF-16LE", "utf-16be"])
def test_a_utf16_meta_in_an_ascii_compatible_page_means_utf8(label: str) -> None:
    body = f'<meta charset="{label}"><title>Café</title>'.encode()
    assert decide_encoding(body, "text/html") == "utf-8"


def test_the_first_meta_with_a_known_label_wins() -> None:
    body = '<meta charset="cp037"><meta charset="koi8-r"><p>Привет</p>'.encode("koi8-r")
    assert decide_encoding(body, "text/html") == "koi8-r"


def test_a_bom_beats_every_label() -> None:
    body = codecs.BOM_UTF16_LE + '<meta charset="shift_jis"><p>x</p>'.encode("utf-16-le")
    assert decide_encoding(body, "text/html; charset=cp1251") == "utf-16"


def test_an_old_record_with_a_python_only_codec_still_decodes() -> None:
    assert to_text(b"<p>x</p>", "punycode") == "<p>x</p>"
    assert to_text(b"<p>x</p>", "no-such-codec") == "<p>x</p>"
    assert to_text("<p>日本</p>".encode("euc-jp"), "euc_jp") == "<p>日本</p>"
    assert to_text("<p>café</p>".encode("latin-1"), "iso8859-1") == "<p>café</p>"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'<?xml version="1.0"?><rss/>', None, ["utf-8", "cp1252"]),
        (b'<?xml version="1.0" encoding="Shift_JIS"?><rss/>', None, ["cp932", "utf-8", "cp1252"]),
        (
            b'<?xml version="1.0" encoding="Shift_JIS"?><rss/>',
            "application/rss+xml; charset=iso-8859-2",
            ["iso8859-2", "cp932", "utf-8", "cp1252"],
        ),
        (b'<?xml version="1.0" encoding="bogus"?><rss/>', "text/xml", ["utf-8", "cp1252"]),
        (b'<?xml version="1.0" encoding="utf-16"?><rss/>', None, ["utf-8", "cp1252"]),
        (b'<?xml-stylesheet encoding="koi8-r"?><rss/>', None, ["utf-8", "cp1252"]),
        (codecs.BOM_UTF8 + b'<?xml version="1.0" encoding="big5"?>', None, ["utf-8-sig"]),
        ("<rss/>".encode("utf-16"), None, ["utf-16"]),
        ("<rss/>".encode("utf-16-be"), None, ["utf-16-be"]),
        ("<rss/>".encode("utf-16-le"), "text/xml; charset=koi8-r", ["utf-16-le"]),
    ],
)
def test_xml_encodings_in_order(body: bytes, content_type: str | None, expected: list[str]):
    assert xml_encodings(body, content_type) == expected
