"""A small news website served on 127.0.0.1: the demo's sample site, the end-to-end
tests' local site (which add fault routes), and the throughput benchmark's site.

It serves a home page, section listings, article pages, an RSS feed, a sitemap
index with a plain and a Google News sitemap, robots.txt, ETag/Last-Modified with
304 answers, and records every request it sees and how many were in flight at once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from pipeline.demo import pages
from pipeline.demo.pages import SiteArticle


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the site received."""

    path: str  # path and query
    headers: dict[str, str]
    at: float  # time.monotonic()


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None  # stream these instead of body (no length)
    close: bool = False  # drop the connection without an answer


Route = Callable[["Request"], Response]


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    query: str
    headers: dict[str, str]
    site: NewsSite
    connection: socket.socket | None = None
    _counted: list[bool] = field(default_factory=lambda: [True])

    def done(self) -> None:
        """No longer counted as in flight (idempotent)."""
        if self._counted[0]:
            self._counted[0] = False
            with self.site._lock:
                self.site.in_flight -= 1

    def hold(self, seconds: float) -> bool:
        """Keep the client waiting up to `seconds`; returns early (False) as soon as
        the client hangs up or the site stops. A slow page for fault tests; a held
        request is not counted in `in_flight` (its end is only noticed by polling)."""
        self.done()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.site.stopping.is_set():
            if self.connection is None:
                self.site.stopping.wait(deadline - time.monotonic())
                break
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return False  # the client closed the connection
        return time.monotonic() >= deadline


def load_demo_articles() -> tuple[str, list[SiteArticle], list[dict[str, Any]]]:
    """The bundled sample content: (site name, articles incl. syndicated copies, briefs)."""
    raw = resources.files("pipeline.demo").joinpath("articles.json").read_text("utf-8")
    data = json.loads(raw)
    articles: list[SiteArticle] = []
    for item in data["articles"]:
        article = SiteArticle.from_json(item)
        articles.append(article)
        copy = item.get("syndicated_copy_slug")
        if copy:  # the same wire story again under another address and headline
            articles.append(
                SiteArticle.from_json(
                    {
                        **item,
                        "slug": copy,
                        "title": item["title"] + " (wire)",
                        "section": "world",
                        "published": item["updated"] or item["published"],
                    }
                )
            )
    return data["site"]["name"], articles, data.get("briefs", [])


class NewsSite:
    """`with NewsSite(articles) as site:` serves them at `site.base`."""

    def __init__(
        self,
        articles: list[SiteArticle],
        name: str = "The Loopback Gazette",
        *,
        briefs: list[dict[str, Any]] | None = None,
        latency: float = 0.0,
        bloat_kb: int = 0,
        robots: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.name = name
        self.articles = sorted(articles, key=lambda a: a.published, reverse=True)
        self.briefs = briefs or []
        self.latency = latency
        self._padding = pages.bloat(bloat_kb, name)  # the site's chrome: one for all pages
        self.routes: dict[str, Route] = {}  # path -> handler; overrides built-in pages
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._robots = robots
        self._by_path = {a.path: a for a in self.articles}
        try:
            self._server = ThreadingHTTPServer((host, port), _handler(self))
        except OSError:  # the preferred port is taken: any free one will do
            self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> NewsSite:
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="newssite"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> NewsSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_articles(self, articles: list[SiteArticle]) -> None:
        """Change what the site publishes (a new story, an edit, a redesign)."""
        with self._lock:
            self.articles = sorted(articles, key=lambda a: a.published, reverse=True)
            self._by_path = {a.path: a for a in self.articles}

    def paths_seen(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    # --- pages ---------------------------------------------------------------------

    def robots_txt(self) -> str:
        if self._robots is not None:
            return self._robots
        return f"User-agent: *\nDisallow: /private/\n\nSitemap: {self.base}/sitemap_index.xml\n"

    def page(self, request: Request) -> Response:
        path = request.path
        html = "text/html; charset=utf-8"
        xml = "application/xml; charset=utf-8"
        if path in self._by_path:
            article = self._by_path[path]
            i = self.articles.index(article)
            related = [
                a for a in self.articles if a.section == article.section and a is not article
            ][:3]
            most = self.articles[max(0, i - 3) : i] + self.articles[i + 1 : i + 3]
            body = pages.article_page(
                article, self.name, self.base, related, most, padding=self._padding
            )
            return _cached(request, body.encode(), html, article.updated or article.published)
        if path == "/":
            briefs = "".join(
                f'<div class="brief"><a href="/brief/{b["slug"]}/">{b["title"]}</a></div>'
                for b in self.briefs
            )
            return _ok(pages.listing_page(self.name, self.name, self.articles[:20], briefs), html)
        if path.startswith("/section/"):
            name = path.split("/")[2]
            items = [a for a in self.articles if a.section == name]
            if not items:
                return Response(404, b"not found")
            return _ok(pages.listing_page(name.title(), self.name, items), html)
        if path.startswith("/brief/"):
            slug = path.split("/")[2]
            for b in self.briefs:
                if b["slug"] == slug:
                    return _ok(pages.simple_page(b["title"], self.name, [b["text"]]), html)
        if path == "/about/":
            return _ok(pages.simple_page("About us", self.name, ["A fictional paper."]), html)
        if path == "/robots.txt":
            return _ok(self.robots_txt(), "text/plain; charset=utf-8")
        newest = self.articles[0].published if self.articles else "2026-01-01T00:00:00Z"
        if path == "/feed.xml":
            feed = pages.rss(self.name, self.base, self.articles[:20]).encode()
            return _cached(request, feed, "application/rss+xml; charset=utf-8", newest)
        if path == "/sitemap_index.xml":
            index = pages.sitemap_index(
                self.base, [("/sitemap-articles.xml", newest), ("/news-sitemap.xml", newest)]
            ).encode()
            return _cached(request, index, xml, newest)
        if path == "/sitemap-articles.xml":
            return _cached(request, pages.urlset(self.base, self.articles).encode(), xml, newest)
        if path == "/news-sitemap.xml":
            news = pages.urlset(self.base, self.articles[:50], self.name, news=True).encode()
            return _cached(request, news, xml, newest)
        return Response(
            404, b"<html><body><h1>Not found</h1></body></html>", {"Content-Type": html}
        )


def _ok(body: str, content_type: str) -> Response:
    return Response(200, body.encode("utf-8"), {"Content-Type": content_type})


def _cached(request: Request, body: bytes, content_type: str, modified: str) -> Response:
    """A response with ETag and Last-Modified that answers conditional requests."""
    etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
    last_modified = format_datetime(
        datetime.fromisoformat(modified.replace("Z", "+00:00")), usegmt=True
    )
    headers = {"Content-Type": content_type, "ETag": etag, "Last-Modified": last_modified}
    if request.headers.get("if-none-match") == etag or (
        "if-none-match" not in request.headers
        and request.headers.get("if-modified-since") == last_modified
    ):
        return Response(304, b"", {"ETag": etag, "Last-Modified": last_modified})
    return Response(200, body, headers)


def gzipped(response: Response) -> Response:
    """The same response with Content-Encoding: gzip."""
    headers = {**response.headers, "Content-Encoding": "gzip"}
    return Response(response.status, gzip.compress(response.body), headers)


def _handler(site: NewsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LoopbackGazette/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with site._lock:
                site.requests.append(Seen(self.path, headers, time.monotonic()))
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
            request = Request(parts.path, parts.query, headers, site, self.connection)
            try:
                if site.latency:
                    time.sleep(site.latency)  # simulated network latency of the site
                route = site.routes.get(parts.path) or site.routes.get(self.path)
                response = route(request) if route else site.page(request)
            finally:
                # In flight from arrival until the answer starts: an interval inside
                # the client's, so the count never exceeds what the client had open.
                request.done()
            self._send(response)

        def _send(self, response: Response) -> None:
            if response.close:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if response.chunks is not None:
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for chunk in response.chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.status != 304:
                try:
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

    return Handler
