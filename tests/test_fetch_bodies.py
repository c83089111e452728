"""Issue 12 items 3 and 5: a body cut short is a transient failure, never a whole story;
charsets are read as browsers read them."""

from __future__ import annotations

import gzip

import brotli
import pytest

from pipeline.decode import decide_encoding, to_text
from pipeline.errors import TruncatedError

from .test_fetch import fetch, resp

PAGE = ("<html><body>" + "<p>Der Stadtrat hat ein neues Radwegenetz beschlossen.</p>" * 80).encode()


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compressed_body_cut_before_its_end_is_a_transient_failure(encoding: str) -> None:
    packed = gzip.compress(PAGE) if encoding == "gzip" else brotli.compress(PAGE)
    cut = packed[: len(packed) // 2]
    result, _ = fetch(
        lambda r: resp(
            200,
            content=cut,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": encoding},
        ),
        "https://n.example/a",
    )
    assert isinstance(result, TruncatedError), result
    assert not result.permanent  # retried on a later run


def test_a_body_shorter_than_its_content_length_is_a_transient_failure() -> None:
    result, _ = fetch(
        lambda r: resp(
            200,
            content=PAGE[:600],
            headers={"Content-Type": "text/html", "Content-Length": str(len(PAGE))},
        ),
        "https://n.example/a",
    )
    assert isinstance(result, TruncatedError), result


def test_a_whole_compressed_body_is_still_fine() -> None:
    result, _ = fetch(
        lambda r: resp(
            200,
            content=gzip.compress(PAGE),
            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
        ),
        "https://n.example/a",
    )
    assert getattr(result, "body", None) == PAGE


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
def test_declared_utf8_with_a_few_invalid_bytes_stays_utf8(content_type: str) -> None:
    # radiomaryja.pl, tierschutzpartei.de: UTF-8 pages with a stray Latin-1 byte. Read as
    # cp1250/cp1252, the whole page became "FundacjÄ™", "fĂĽr die VĂ¶gel".
    meta = '<meta charset="utf-8">' if content_type == "text/html" else ""
    text = f"<html><head>{meta}</head><body><p>Fundacja Lux Veritatis für die Vögel. "
    body = (text * 20).encode() + b"<p>Copyright \xa9 2020</p></body></html>"
    encoding = decide_encoding(body, content_type)
    assert encoding == "utf-8"
    decoded = to_text(body, encoding)
    assert "Fundacja Lux Veritatis für die Vögel." in decoded
    assert "Copyright \ufffd 2020" in decoded


def test_a_page_mislabelled_utf8_throughout_is_still_detected() -> None:
    body = (
        "<html><head><meta charset='utf-8'></head><body><p>"
        + "Öffentliche Gebäude schließen – „früh“ und ganz plötzlich für alle Bürger. " * 5
        + "</p></body></html>"
    ).encode("cp1252")
    assert "Öffentliche Gebäude" in to_text(body, decide_encoding(body, "text/html"))
