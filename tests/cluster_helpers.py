"""Helpers of tests/test_cluster.py: WARC files of synthetic pages, and an HTTP server
for them that knows which process reads each file."""

from __future__ import annotations

import io
import os
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.demo import pages
from pipeline.demo.pages import SiteArticle

BASE = "https://gazette.example"


def write_warc(path: Path, items: list[tuple[str, SiteArticle | bytes]], status: int = 200) -> Path:
    """A gzipped WARC of responses: (path, article page or raw HTML body)."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for where, item in items:
            if isinstance(item, bytes):
                html = item
            else:
                html = pages.article_page(item, "Gazette", BASE, [], []).encode()
            http = StatusAndHeaders(
                f"{status} OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                BASE + where,
                "response",
                payload=io.BytesIO(html),
                length=len(html),
                http_headers=http,
            )
            writer.write_record(record)
    return path


def pid_of_peer(port: int) -> int | None:
    """The process holding the client end of a connection to us from `port`."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.pid and conn.pid != os.getpid():
            return int(conn.pid)
    return None


class Files:
    """An HTTP server for WARC files; `hook(name, pid)` runs before each GET is served
    and may return False to drop the connection instead."""

    def __init__(self, directory: Path, hook: Callable[[str, int | None], bool] | None = None):
        self.directory = directory
        self.hook = hook
        self.gets: Counter[str] = Counter()
        self.pids: dict[str, list[int | None]] = {}
        files = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send_head(self) -> bytes | None:
                target = files.directory / self.path.lstrip("/")
                if not target.is_file():
                    self.send_error(404)
                    return None
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return data

            def do_HEAD(self) -> None:
                self._send_head()

            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                files.gets[name] += 1
                pid = pid_of_peer(self.client_address[1])
                files.pids.setdefault(name, []).append(pid)
                if files.hook is not None and not files.hook(name, pid):
                    self.close_connection = True
                    return
                data = self._send_head()
                if data is not None:
                    self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def __enter__(self) -> Files:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
