"""The fetcher against httpx.MockTransport, with an injected clock: no real waits."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

import brotli
import httpx
import pytest

from pipeline.config.loader import FetchSettings
from pipeline.errors import (
    BlockedURLError,
    ConnectError,
    FetchTimeout,
    HTTPStatusError,
    NotHTMLError,
    RedirectError,
    RobotsDisallowed,
    ServerError,
    TooLargeError,
)
from pipeline.fetch.checks import parse_retry_after
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.times import Timing

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic time that advances only when the fetcher sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def timing(self) -> Timing:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.now += seconds
            await asyncio.sleep(0)

        return Timing(
            monotonic=lambda: self.now, sleep=sleep, random=lambda: 1.0, utcnow=lambda: NOW
        )


Handler = Callable[[httpx.Request], httpx.Response]


class Chunks(httpx.AsyncByteStream):
    """A body that arrives in chunks, as from a real server (httpx reads bytes bodies
    of hand-made responses eagerly, which would hide streaming behaviour)."""

    def __init__(self, data: bytes | Iterable[bytes]) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if isinstance(self.data, bytes):
            for start in range(0, len(self.data), 65536):
                yield self.data[start : start + 65536]
        else:
            for chunk in self.data:
                yield chunk


def resp(
    status: int = 200,
    content: bytes | Iterable[bytes] = b"",
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = text.encode() if text is not None else content
    headers = dict(headers or {})
    if isinstance(body, bytes):
        headers.setdefault("Content-Length", str(len(body)))
    return httpx.Response(status, headers=headers, stream=Chunks(body))


def fetch(
    handler: Handler,
    url: str,
    clock: FakeClock | None = None,
    rules: HostRules | None = None,
    **settings: object,
) -> tuple[object, list[str]]:
    """Fetch one URL; returns (Fetched or the raised error, paths requested)."""
    seen: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(
            request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
        )
        if request.url.path == "/robots.txt" and not getattr(handler, "robots", False):
            return resp(404)
        return handler(request)

    async def go() -> object:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(recording), headers={"User-Agent": "newsarchive-test"}
        ) as client:
            fetcher = Fetcher(
                client,
                FetchSettings(**{"retries": 2, **settings}),  # type: ignore[arg-type]
                (clock or FakeClock()).timing(),
            )
            fetcher.set_rules(url, rules or HostRules(delay=0, concurrency=2))
            try:
                return await fetcher.fetch(url)
            except Exception as exc:
                return exc

    return asyncio.run(go()), seen


def html(body: str = "<html><body><p>Hello</p></body></html>", **headers: str) -> httpx.Response:
    return resp(
        200,
        content=body.encode(),
        headers={
            "Content-Type": "text/html; charset=utf-8",
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
    )


def test_503_then_200_is_retried_with_backoff() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return resp(503) if len(calls) < 3 else html()

    clock = FakeClock()
    result, _ = fetch(handler, "https://n.example/a", clock, backoff=2.0)
    assert getattr(result, "status", None) == 200
    assert clock.sleeps == [2.0, 4.0]  # exponential (jitter pinned at its top by random=1)


def test_retries_give_up_with_a_transient_error() -> None:
    result, seen = fetch(lambda r: resp(502), "https://n.example/a", retries=1)
    assert isinstance(result, ServerError) and result.status == 502 and not result.permanent
    assert seen.count("/a") == 2


def test_429_retry_after_is_honoured() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return resp(429, headers={"Retry-After": "42"})
        return html()

    clock = FakeClock()
    result, _ = fetch(handler, "https://n.example/a", clock, backoff=0.1)
    assert getattr(result, "status", None) == 200
    assert clock.sleeps == [42.0]


def test_a_retry_after_longer_than_a_run_should_wait_is_left_for_later() -> None:
    clock = FakeClock()
    result, seen = fetch(
        lambda r: resp(503, headers={"Retry-After": "3600"}), "https://n.example/a", clock
    )
    assert isinstance(result, ServerError) and result.retry_after == 3600
    assert clock.sleeps == [] and seen.count("/a") == 1


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 25 Nov 2026 12:01:30 GMT", NOW) == 90
    assert parse_retry_after("soon", NOW) is None


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_permanent_and_not_retried(status: int) -> None:
    result, seen = fetch(lambda r: resp(status), "https://n.example/a")
    assert isinstance(result, HTTPStatusError) and result.permanent and result.status == status
    assert seen.count("/a") == 1


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    assert isinstance(fetch(timeout, "https://n.example/a", retries=0)[0], FetchTimeout)
    assert isinstance(fetch(reset, "https://n.example/a", retries=0)[0], ConnectError)


def test_redirects_are_followed_and_the_final_url_kept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        hops = {"/a": "/b", "/b": "https://n.example/c", "/c": "/d"}
        if request.url.path in hops:
            return resp(301, headers={"Location": hops[request.url.path]})
        return html()

    result, _ = fetch(handler, "https://n.example/a")
    assert getattr(result, "url", None) == "https://n.example/d"
    assert getattr(result, "requested_url", None) == "https://n.example/a"


def test_redirect_loops_and_long_chains_are_errors() -> None:
    loop = lambda r: resp(
        302,
        headers={"Location": "/b" if r.url.path == "/a" else "/a"},
    )
    result, _ = fetch(loop, "https://n.example/a")
    assert isinstance(result, RedirectError) and "loop" in str(result)

    def chain(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.strip("/") or 0)
        return resp(302, headers={"Location": f"/{n + 1}"})

    result, seen = fetch(chain, "https://n.example/0")
    assert isinstance(result, RedirectError) and "more than 10 redirects" in str(result)
    assert len([p for p in seen if p != "/robots.txt"]) == 11


def test_redirect_to_another_scheme_is_refused() -> None:
    result, _ = fetch(
        lambda r: resp(302, headers={"Location": "file:///etc/passwd"}), "https://n.example/a"
    )
    assert isinstance(result, RedirectError) and "non-http" in str(result)
    result, _ = fetch(lambda r: html(), "ftp://n.example/a")
    assert isinstance(result, BlockedURLError)


def test_non_html_is_skipped_before_reading_the_body() -> None:
    result, _ = fetch(
        lambda r: resp(200, content=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}),
        "https://n.example/a.pdf",
    )
    assert isinstance(result, NotHTMLError) and result.permanent
    sniffed, _ = fetch(
        lambda r: resp(200, content=b"\x89PNG\r\n\x1a\n...."), "https://n.example/img"
    )
    assert isinstance(sniffed, NotHTMLError)
    untyped, _ = fetch(
        lambda r: resp(200, content=b"<!DOCTYPE html><p>x</p>"), "https://n.example/x"
    )
    assert getattr(untyped, "status", None) == 200


@pytest.mark.parametrize(
    ("content_type", "body", "verdict"),
    [
        (None, b"<head><title>t</title></head><body><p>x</p></body>", "text/html"),
        (None, b"\n  <!-- cms --> <html><p>x</p></html>", "text/html"),
        ("unknown/unknown", b"<!DOCTYPE html><p>x</p>", "text/html"),
        (None, b"Plain prose that mentions <p> and <html> tags.", "text/plain"),
        (None, b"<pre>a listing</pre>", "text/plain"),
        ("text/html", b'<?xml version="1.0"?><rss version="2.0"><channel>', "application/rss+xml"),
        ("text/html; charset=utf-8", b"<!DOCTYPE html><html><p>x</p></html>", "text/html"),
    ],
)
def test_what_is_html_is_decided_by_the_shared_sniffer(
    content_type: str | None, body: bytes, verdict: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    result, _ = fetch(lambda r: resp(200, content=body, headers=headers), "https://n.example/x")
    if verdict == "text/html":
        assert getattr(result, "status", None) == 200, result
    else:
        assert isinstance(result, NotHTMLError) and result.content_type == verdict


def test_size_cap_applies_to_declared_streamed_and_decompressed_sizes() -> None:
    big = b"<html>" + b"a" * 5000
    declared, _ = fetch(lambda r: html(big.decode()), "https://n.example/a", max_bytes=4096)
    assert isinstance(declared, TooLargeError)

    def streamed(request: httpx.Request) -> httpx.Response:
        return resp(
            200,
            headers={"Content-Type": "text/html"},
            content=(b"<p>" + b"x" * 1000 for _ in range(100)),
        )

    assert isinstance(fetch(streamed, "https://n.example/a", max_bytes=4096)[0], TooLargeError)
    # A gzip bomb: 10 MB of zeros in ~10 KB; the cap is on the inflated size.
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    result, _ = fetch(
        lambda r: resp(
            200, content=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
        ),
        "https://n.example/a",
        max_bytes=100_000,
    )
    assert isinstance(result, TooLargeError)
    brotli_bomb = brotli.compress(b"\0" * 10_000_000)
    result, _ = fetch(
        lambda r: resp(
            200,
            content=brotli_bomb,
            headers={"Content-Type": "text/html", "Content-Encoding": "br"},
        ),
        "https://n.example/a",
        max_bytes=100_000,
    )
    assert isinstance(result, TooLargeError)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "deflate-raw"])
def test_compressed_pages_are_decoded_and_the_raw_bytes_kept(encoding: str) -> None:
    page = "<html><body><p>Ünïcode – fine</p></body></html>".encode()
    packed = {
        "gzip": gzip.compress(page),
        "deflate": zlib.compress(page),
        "br": brotli.compress(page),
        "deflate-raw": zlib.compress(page)[2:-4],
    }[encoding]
    header = "deflate" if encoding == "deflate-raw" else encoding
    result, _ = fetch(
        lambda r: resp(
            200,
            content=packed,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": header},
        ),
        "https://n.example/a",
    )
    assert getattr(result, "body", None) == page
    assert getattr(result, "raw_body", None) == packed


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=windows-1252", "<p>café “quoted” – €5</p>".encode("cp1252"), "cp1252"),
        ("text/html", '<meta charset="windows-1252"><p>naïve “x”</p>'.encode("cp1252"), "cp1252"),
        ("text/html; charset=iso-8859-1", "<p>“smart” £</p>".encode("cp1252"), "cp1252"),
        ("text/html", "<p>plain utf-8 ü</p>".encode(), "utf-8"),
        # Declared UTF-8 but really windows-1252: the bytes are not trusted blindly.
        (
            "text/html; charset=utf-8; x=mislabelled",
            "<p>Öffentliche Gebäude schließen – „früh“ und "
            "ganz plötzlich für alle Bürger</p>".encode("cp1252"),
            "cp1252",
        ),
    ],
)
def test_charset_decisions_avoid_mojibake(content_type: str, body: bytes, expected: str):
    result, _ = fetch(
        lambda r: resp(200, content=body, headers={"Content-Type": content_type}),
        "https://n.example/a",
    )
    # What matters is the text; for a mislabelled page the detector may name another
    # single-byte code page that decodes these bytes identically.
    assert result.text() == body.decode(expected)  # type: ignore[attr-defined]
    if "mislabelled" not in content_type:
        assert getattr(result, "encoding", None) == expected


def test_conditional_get_sends_validators_and_accepts_304() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return resp(304)
        return html(ETag='"v1"')

    async def go() -> tuple[object, object]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            fetcher = Fetcher(client, FetchSettings(), FakeClock().timing())
            fetcher.set_rules("https://n.example/", HostRules(0, 1, respect_robots=False))
            first = await fetcher.fetch("https://n.example/feed", kind="feed")
            second = await fetcher.fetch(
                "https://n.example/feed",
                kind="feed",
                etag='"v1"',
                last_modified="Tue, 24 Nov 2026 10:00:00 GMT",
            )
            return first, second

    first, second = asyncio.run(go())
    assert first.header("etag") == '"v1"' and not first.not_modified  # type: ignore[attr-defined]
    assert second.not_modified and second.body == b""  # type: ignore[attr-defined]


def test_robots_disallow_and_crawl_delay() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return resp(
                200,
                text="User-agent: newsarchive\nDisallow: /private/\n"
                "Crawl-delay: 7\n\nUser-agent: *\nDisallow: /\n",
            )
        return html()

    handler.robots = True  # type: ignore[attr-defined]
    result, seen = fetch(handler, "https://n.example/private/x")
    assert isinstance(result, RobotsDisallowed) and result.permanent
    assert seen == ["/robots.txt"]

    clock = FakeClock()

    async def go() -> None:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(handler), headers={"User-Agent": "newsarchive/0.1"}
        ) as client:
            fetcher = Fetcher(client, FetchSettings(user_agent="newsarchive/0.1"), clock.timing())
            fetcher.set_rules("https://n.example/", HostRules(delay=1, concurrency=1))
            for path in ("/a", "/b", "/c"):
                await fetcher.fetch("https://n.example" + path)

    asyncio.run(go())
    assert clock.sleeps.count(7.0) >= 2  # the robots.txt Crawl-delay beats our 1 s delay


def test_robots_5xx_means_nothing_is_fetched_for_now() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return resp(503) if request.url.path == "/robots.txt" else html()

    handler.robots = True  # type: ignore[attr-defined]
    result, seen = fetch(handler, "https://n.example/a", retries=0)
    assert isinstance(result, ConnectError) or "robots.txt unavailable" in str(result)
    assert not result.permanent  # type: ignore[attr-defined]
    assert "/a" not in seen


def test_per_host_concurrency_and_delay_with_many_requests() -> None:
    state = {"now": 0, "max": 0}
    clock = FakeClock()

    async def slow_handler(request: httpx.Request) -> httpx.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.001)
        state["now"] -= 1
        return html()

    starts: list[float] = []

    async def go() -> None:
        async def record(request: httpx.Request) -> httpx.Response:
            starts.append(clock.now)
            return await slow_handler(request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
            fetcher = Fetcher(client, FetchSettings(concurrency=50), clock.timing())
            fetcher.set_rules("https://n.example/", HostRules(0.5, 3, respect_robots=False))
            await asyncio.gather(*(fetcher.fetch(f"https://n.example/{i}") for i in range(20)))

    asyncio.run(go())
    assert state["max"] == 3
    assert all(b - a >= 0.5 - 1e-9 for a, b in itertools.pairwise(starts))
