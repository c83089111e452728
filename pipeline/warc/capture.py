"""Raw captures in WARC (ISO 28500), written and read with warcio.

Every fetched article response is kept as a request and a response record (headers
included, the payload exactly as transmitted) in gzip-compressed WARC files under
`archive/warc/`, rotated by size. Each record is its own gzip member and is flushed
when written, so a file being written when the process is killed is still readable
up to the last complete record. One writer thread does the (costly) compression, so
it overlaps with fetching and extraction.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline import __version__
from pipeline.decode import BadEncoding, BoundedDecoder, TooLarge, decide_encoding
from pipeline.errors import CaptureError, DiskFullError, InputError
from pipeline.models import Capture, Fetched, find_header

# Request headers whose values a capture never holds (the user's credentials).
SECRET_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
REDACTED = "[redacted]"

DEFAULT_MAX_FILE = 1_000_000_000
# Headers that describe the transfer, not the payload: we store the payload de-chunked,
# so a Transfer-Encoding header would make readers try to de-chunk it again.
_TRANSFER = {"transfer-encoding"}


class Truncated(Exception):
    """A record whose file ends before the record does (internal)."""


@dataclass(frozen=True, slots=True)
class Payload:
    """An HTTP response read back from a WARC record."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # content-decoded
    encoding: str | None
    raw: bytes  # the payload as stored (content-encoded, de-chunked)
    date: str | None = None
    reason: str = ""
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        return find_header(self.headers, name)


def _http_headers(
    status: int, reason: str, protocol: str, headers: tuple[tuple[str, str], ...]
) -> StatusAndHeaders:
    kept = [
        (k, v) if k.lower() not in _TRANSFER else (f"X-Archive-Orig-{k}", v) for k, v in headers
    ]
    return StatusAndHeaders(f"{status} {reason or ''}".strip(), kept, protocol=protocol)


class WarcWriter:
    """Appends records to the current WARC file of `directory`, rotating by size.
    Thread-safe; a new file is started for every writer (never appending to a file
    a killed process may have left truncated)."""

    def __init__(
        self,
        directory: Path,
        root: Path,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE,
        prefix: str = "newsarchive",
        level: int = 3,
    ) -> None:
        self.directory = directory
        self.root = root  # capture file names are stored relative to this
        self.max_file_bytes = max_file_bytes
        self.prefix = prefix
        self.level = level
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._name = ""
        self._path = directory
        self._seq = 0

    def _open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            while True:
                self._seq += 1
                path = (
                    self.directory / f"{self.prefix}-{stamp}-{os.getpid()}-{self._seq:04d}.warc.gz"
                )
                if not path.exists():
                    break
            # Unbuffered: a record is written whole or cut off (see _write), and closing
            # the file never writes what a failed write left in a buffer.
            self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - kept open
        except OSError as exc:
            raise _write_error(self.directory, exc, "cannot create a WARC file in") from None
        self._path = path
        self._name = os.path.relpath(path, self.root)
        self._writer = WARCWriter(io.BytesIO(), gzip=False)  # makes records; _write writes
        info = self._writer.create_warcinfo_record(
            path.name,
            {
                "software": f"newsarchive/{__version__} (warcio)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            },
        )
        self._write(info)

    def _write(self, record: Any) -> tuple[int, int]:
        """One record as its own gzip member (warcio serialises it, we compress it at
        our level: warcio's fixed level 9 costs twice level 6 for the same size)."""
        assert self._file is not None
        buffer = io.BytesIO()
        WARCWriter(buffer, gzip=False).write_record(record)
        packer = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        member = packer.compress(buffer.getvalue()) + packer.flush()
        start = self._file.tell()
        try:
            view = memoryview(member)
            while view:
                view = view[self._file.write(view) or 0 :]
        except OSError:
            # No half record at the end of the file (and the space it took back).
            with contextlib.suppress(OSError):
                self._file.truncate(start)
                self._file.seek(start)
            raise
        return start, len(member)

    @staticmethod
    def _redacted(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
        """Request headers as recorded: credentials (cookies, authorization) redacted."""
        return [(k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers]

    def write_response(
        self,
        url: str,
        status: int,
        reason: str,
        protocol: str,
        headers: tuple[tuple[str, str], ...],
        raw_body: bytes,
        date: str,
        request_headers: tuple[tuple[str, str], ...] = (),
    ) -> Capture:
        """A request record (when its headers are known) and the response record;
        returns where the response record is."""
        http = _http_headers(status, reason, protocol, headers)
        try:
            with self._lock:
                if self._file is None or self._file.tell() >= self.max_file_bytes:
                    self.close()
                    self._open()
                assert self._writer is not None
                response = self._writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(raw_body),
                    length=len(raw_body),
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": date},
                )
                if request_headers:
                    path = url.split("://", 1)[-1].partition("/")[2]
                    request = self._writer.create_warc_record(
                        url,
                        "request",
                        payload=io.BytesIO(b""),
                        length=0,
                        http_headers=StatusAndHeaders(
                            f"GET /{path} {protocol}",
                            self._redacted(request_headers),
                            is_http_request=True,
                        ),
                        warc_headers_dict={
                            "WARC-Date": date,
                            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                        },
                    )
                    self._write(request)
                offset, length = self._write(response)
                return Capture(self._name, offset, length)
        except OSError as exc:
            raise _write_error(self._path, exc, "cannot write") from None

    def write(self, fetched: Fetched) -> Capture:
        return self.write_response(
            fetched.url,
            fetched.status,
            fetched.reason,
            fetched.http_version,
            fetched.headers,
            fetched.raw_body,
            fetched.fetched_at,
            fetched.request_headers,
        )

    def write_payload(self, payload: Payload) -> Capture:
        """A copy of a response read from another WARC (its payload as stored there)."""
        headers = tuple((k, v) for k, v in payload.headers if k.lower() not in _TRANSFER)
        return self.write_response(
            payload.url,
            payload.status,
            payload.reason,
            payload.protocol,
            headers,
            payload.raw,
            payload.date or "",
        )

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):  # unbuffered: nothing is left to write
                self._file.close()
        self._file = None
        self._writer = None


def _write_error(path: Path, exc: OSError, doing: str) -> CaptureError | DiskFullError:
    """A failed write: DiskFullError when the device (or quota) is full."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(str(path))
    return CaptureError(f"{doing} {path}: {exc.strerror or exc}")


class CaptureThread:
    """The run loop's capturer: WARC writing on one background thread."""

    def __init__(self, writer: WarcWriter) -> None:
        self.writer = writer
        self.cpu = 0.0  # CPU seconds of the writer thread
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="warc")

    def _timed(self, fetched: Fetched) -> Capture:
        started = time.thread_time()
        try:
            return self.writer.write(fetched)
        finally:
            self.cpu += time.thread_time() - started

    async def write(self, fetched: Fetched) -> Capture:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._timed, fetched)

    async def write_payload(self, payload: Payload) -> Capture:
        """A copy of a response read from another WARC (its payload as stored there)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.writer.write_payload, payload)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.writer.close()


def _decode_payload(raw: bytes, headers: StatusAndHeaders, limit: int) -> tuple[bytes, bytes]:
    """(stored payload de-chunked, content-decoded body) from a record's raw payload."""
    if (headers.get_header("transfer-encoding") or "").lower() == "chunked":
        try:
            raw = ChunkedDataReader(io.BytesIO(raw)).read()
        except (ValueError, OSError) as exc:
            raise BadEncoding(f"bad chunked encoding: {exc}") from None
    decoder = BoundedDecoder(headers.get_header("content-encoding"), limit)
    decoder.feed(raw)
    return raw, decoder.finish()


def payload_of(record: Any, limit: int) -> Payload:
    """The HTTP response in a warcio `response` record; raises TooLarge/BadEncoding."""
    http = record.http_headers
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = record.raw_stream.read(min(1 << 16, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge
    if getattr(record.raw_stream, "limit", 0) > 0:  # the file ended inside the record
        raise Truncated(f"record cut short: {record.raw_stream.limit} bytes missing")
    raw, body = _decode_payload(b"".join(chunks), http, limit)
    status = int((http.get_statuscode() or "0").strip() or 0)
    content_type = http.get_header("content-type")
    return Payload(
        url=record.rec_headers.get_header("WARC-Target-URI") or "",
        status=status,
        headers=tuple((k, v) for k, v in http.headers),
        body=body,
        encoding=decide_encoding(body, content_type) if body else None,
        raw=raw,
        date=record.rec_headers.get_header("WARC-Date"),
        reason=" ".join(http.statusline.split(" ")[1:]),
        protocol=http.protocol or "HTTP/1.1",
    )


def read_capture(root: Path, capture: Capture, limit: int) -> Payload:
    """The response kept at `capture` (a file relative to `root`)."""
    path = root / capture.file
    try:
        with open(path, "rb") as fh:
            fh.seek(capture.offset)
            record = next(iter(ArchiveIterator(fh)))
            if record.rec_type != "response":
                raise CaptureError(f"{capture.file}@{capture.offset}: not a response record")
            return payload_of(record, limit)
    except FileNotFoundError:
        raise CaptureError(f"capture file {capture.file} is missing") from None
    except (
        StopIteration,
        ArchiveLoadFailed,
        OSError,
        EOFError,
        ValueError,
        TooLarge,
        BadEncoding,
    ) as exc:
        raise CaptureError(f"{capture.file}@{capture.offset}: unreadable ({exc!r})") from None


def record_bytes(root: Path, capture: Capture) -> bytes:
    """The stored record exactly as written: one complete gzip member."""
    try:
        with open(root / capture.file, "rb") as fh:
            fh.seek(capture.offset)
            data = fh.read(capture.length)
    except OSError as exc:
        raise CaptureError(f"capture file {capture.file}: {exc.strerror or exc}") from None
    if len(data) != capture.length or not data.startswith(b"\x1f\x8b"):
        raise CaptureError(f"{capture.file}@{capture.offset}: not a complete WARC record")
    return data


def warcinfo(out: IO[bytes], filename: str) -> None:
    """A warcinfo record opening a WARC file newsarchive writes."""
    writer = WARCWriter(out, gzip=True)
    writer.write_record(
        writer.create_warcinfo_record(
            filename,
            {
                "software": f"newsarchive/{__version__} (warcio)",
                "format": "WARC File Format 1.1",
            },
        )
    )


@dataclass(frozen=True, slots=True)
class Damage:
    offset: int
    error: str


# How a WARC or ARC file begins: a gzip member, a WARC version line, an ARC header.
_STARTS = (b"\x1f\x8b", b"WARC/", b"filedesc://")


def check_warc(path: Path) -> None:
    """InputError unless `path` begins as a WARC or ARC file (plain or gzipped) does."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16).lstrip(b"\r\n")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head.startswith(_STARTS):
        raise InputError(f"{path}: not a WARC or ARC file")


def iter_records(path: Path) -> Iterator[tuple[Any, int] | Damage]:
    """Records of a WARC (or ARC) file, gzipped or not, with their offsets. A corrupt or
    truncated record yields Damage; reading resumes at the next record that parses,
    so a damaged file still gives everything around the damage."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start, last = 0, -1  # where reading starts; offset of the last record yielded
        file_format = _archive_format(fh.read(4096))
        while start < size:
            fh.seek(start)
            iterator = ArchiveIterator(fh, arc2warc=True)
            # Resuming after damage, parse only as the file's own format: a gzip member
            # that does not inflate is read as plain bytes, and a line of those can pass
            # for an ARC header.
            iterator.known_format = file_format
            at_start = True
            try:
                for record in iterator:
                    # (not get_record_offset(): it reads the record to its end first)
                    offset = int(iterator.offset)
                    at_start = False
                    if offset <= last:
                        continue  # read again after resynchronising
                    last = offset
                    yield record, offset
                end = int(iterator.offset)  # warcio stops quietly at a truncated member
                if end >= size:
                    return
                yield Damage(end, "truncated or unreadable data")
                resume = _next_record_start(fh, end + 1, size)
                if resume is None:
                    return
                start = resume
                continue
            except (ArchiveLoadFailed, EOFError, ValueError, OSError, zlib.error) as exc:
                if at_start:  # the record at `start` itself is damaged
                    yield Damage(start, f"{type(exc).__name__}: {exc}")
                    resume = _next_record_start(fh, start + 1, size)
                else:  # something after the last good record: find where it starts
                    resume = _next_record_start(fh, last + 1, size)
                    if resume is None:
                        yield Damage(last, f"{type(exc).__name__}: {exc}")
                if resume is None:
                    return
                start = resume


_MARKERS = (b"\x1f\x8b\x08", b"WARC/1.", b"\nWARC/1.")


def _archive_format(head: bytes) -> str | None:
    """ "warc" when the file starts with a WARC record (gzipped or not), else None (warcio
    then tells WARC from ARC record by record)."""
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 16)
        except zlib.error:
            return None
    return "warc" if head.startswith(b"WARC/") else None


def _next_record_start(fh: IO[bytes], after: int, size: int) -> int | None:
    """The next offset after `after` that looks like a record start (a gzip member
    header or a WARC version line)."""
    chunk = 1 << 20
    position = after
    while position < size:
        fh.seek(position)
        data = fh.read(chunk + 16)
        hits = [i for i in (data.find(m) for m in _MARKERS) if i >= 0]
        if hits:
            hit = min(hits)
            return position + hit + (1 if data[hit : hit + 1] == b"\n" else 0)
        position += chunk
    return None
