"""WARC captures: what the server sent, byte for byte; rotation; damage."""

from __future__ import annotations

import gzip
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from pipeline.demo.site import NewsSite, Request, Response, gzipped
from pipeline.models import Capture, Fetched, find_header
from pipeline.warc.capture import Damage, Payload, WarcWriter, iter_records, read_capture

from .conftest import query, run_cli, write_config


def _records(path: Path) -> list[tuple[str, str, bytes, object]]:
    """(type, target URI, raw payload, http headers) of each record, read in order."""
    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            out.append((record.rec_type, uri, record.raw_stream.read(), record.http_headers))
    return out


def test_a_run_keeps_request_and_response_records_byte_identical(
    workdir: Path, site: NewsSite
) -> None:
    sent: dict[str, bytes] = {}
    plain = site.articles[0].path
    zipped = site.articles[1].path

    def record_plain(request: Request) -> Response:
        response = site.page(request)
        sent[plain] = response.body
        return response

    def record_zipped(request: Request) -> Response:
        response = gzipped(site.page(request))
        sent[zipped] = response.body
        return response

    site.routes[plain] = record_plain
    site.routes[zipped] = record_zipped
    config = write_config(workdir, [{"name": "s", "url": site.base + "/"}])
    assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    db = workdir / "archive" / "news.db"
    rows = query(db, "SELECT url, warc_file, warc_offset, warc_length FROM articles")
    assert len(rows) == len(site.articles) and all(r[1] for r in rows)
    files = {r[1] for r in rows}
    assert len(files) == 1 and next(iter(files)).startswith("warc/")
    path = workdir / "archive" / next(iter(files))
    records = _records(path)
    assert records[0][0] == "warcinfo"
    responses = {uri: (raw, http) for kind, uri, raw, http in records if kind == "response"}
    requests = {uri: http for kind, uri, _, http in records if kind == "request"}
    assert set(responses) == set(requests) == {r[0] for r in rows}
    for path_, body in sent.items():
        raw, http = responses[site.base + path_]
        assert raw == body  # as transmitted (gzip stays gzip)
        assert http.get_statuscode() == "200"  # type: ignore[attr-defined]
    assert (
        responses[site.base + zipped][1].get_header(  # type: ignore[attr-defined]
            "Content-Encoding"
        )
        == "gzip"
    )
    user_agent = requests[site.base + plain].get_header("User-Agent")  # type: ignore[attr-defined]
    assert user_agent.startswith("newsarchive")
    # The stored offset points at the story's response record.
    for url, file, offset, length in rows:
        payload = read_capture(workdir / "archive", Capture(file, offset, length), 10**7)
        assert payload.url == url and payload.status == 200 and b"</html>" in payload.body
    zipped_payload = read_capture(
        workdir / "archive",
        Capture(*next(r for r in rows if r[0] == site.base + zipped)[1:]),
        10**7,
    )
    assert zipped_payload.body == gzip.decompress(sent[zipped])


def test_capture_false_keeps_no_warc(workdir: Path, site: NewsSite) -> None:
    config = write_config(workdir, [{"name": "s", "url": site.base + "/", "capture": False}])
    assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
    assert not (workdir / "archive" / "warc").exists()
    assert query(
        workdir / "archive" / "news.db", "SELECT count(*) FROM articles WHERE warc_file IS NULL"
    ) == [(12,)]


def _write(writer: WarcWriter, n: int) -> list[Capture]:
    return [
        writer.write_response(
            f"http://x.example/{i}",
            200,
            "OK",
            "HTTP/1.1",
            (("Content-Type", "text/html"),),
            b"<p>%d</p>" % i * 300,
            "2026-11-25T00:00:00Z",
            (("User-Agent", "t"),),
        )
        for i in range(n)
    ]


def test_files_rotate_by_size(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path / "warc", tmp_path, max_file_bytes=2000)
    captures = _write(writer, 10)
    writer.close()
    assert len({c.file for c in captures}) > 2
    for capture in captures:
        assert read_capture(tmp_path, capture, 10**6).body.startswith(b"<p>")


def test_a_file_cut_mid_record_is_readable_up_to_the_last_complete_record(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path / "warc", tmp_path)
    captures = _write(writer, 5)
    writer.close()
    path = tmp_path / captures[0].file
    data = path.read_bytes()
    path.write_bytes(data[: captures[4].offset + 40])  # killed while writing the last one
    found = list(iter_records(path))
    good = [item for item in found if not isinstance(item, Damage)]
    damage = [item for item in found if isinstance(item, Damage)]
    responses = [rec for rec, _ in good if rec.rec_type == "response"]
    assert len(responses) == 4 and len(damage) == 1
    assert damage[0].offset == captures[4].offset


def test_damage_in_the_middle_is_skipped_and_reading_resumes(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path / "warc", tmp_path)
    captures = _write(writer, 6)
    writer.close()
    path = tmp_path / captures[0].file
    data = bytearray(path.read_bytes())
    bad = captures[2].offset
    assert data[bad : bad + 4] == b"\x1f\x8b\x08\x00"  # a gzip member, 10-byte header
    # Corrupt the third response record's deflate data: a first block header of 0xff is
    # block type 3, reserved, so the member can never decode (zeroed bytes sometimes did).
    data[bad + 10 : bad + 60] = b"\xff" * 50
    path.write_bytes(bytes(data))
    found = list(iter_records(path))
    offsets = [
        offset
        for item in found
        if not isinstance(item, Damage)
        for rec, offset in [item]
        if rec.rec_type == "response"
    ]
    assert offsets == [c.offset for c in captures if c.offset != bad]
    assert [d.offset for d in found if isinstance(d, Damage)] == [bad]


def test_fetched_responses_and_warc_payloads_share_one_header_lookup() -> None:
    headers = (("Content-Type", "text/html"), ("X-A", "1"), ("x-a", "2"), ("ETag", '"e"'))
    fetched = Fetched("u", "u", 200, headers, b"", b"", None, "2026-01-01T00:00:00Z")
    payload = Payload("u", 200, headers, b"", None, b"")
    for name, value in (("content-type", "text/html"), ("X-A", "1"), ("etag", '"e"')):
        assert find_header(headers, name) == fetched.header(name) == payload.header(name) == value
    assert find_header(headers, "Location") is None and payload.header("location") is None
