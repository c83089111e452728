"""Hostile input end to end: SSRF, compression and entity bombs, giant and looping
sitemaps, hostile pages, escape sequences and path traversal — through the real fetch
path, and mostly through the real CLI against local sites.

How "public-looking" is done. The CLI tests serve the source from a second loopback
address, 127.0.0.2, with the real resolver: the source's own host is opted in because
the user wrote it into sources.yaml, while 127.0.0.1 — standing for the private network
the server sits in (an "intranet" site there records every request it gets) — is not.
So every link, sitemap or redirect from the public source to 127.0.0.1, localhost,
[::1], 0.0.0.0, 169.254.169.254, ... must be refused, and the intranet must see nothing.
Tests that need names (DNS rebinding, a public name) run the real Runner in-process
with a resolver injected into `pipeline.fetch.netguard.make_client`, and a network backend
that refuses to leave the machine.

The tests at the end of the file pin bugs these tests found (now fixed).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import brotli
import httpcore
import pytest

from pipeline.config.loader import parse
from pipeline.decode import decide_encoding, to_text
from pipeline.demo import pages
from pipeline.demo.pages import SiteArticle
from pipeline.demo.site import NewsSite, Request, Response
from pipeline.discover.discoverer import MAX_CHILD_SITEMAPS, MAX_SITEMAP_DEPTH
from pipeline.discover.feeds import article_links, feed_links, iter_sitemap, parse_feed
from pipeline.errors import DiscoveryError, FetchError, UnsafeXMLError
from pipeline.extract.workers import ExtractPool
from pipeline.fetch.fetcher import Fetcher
from pipeline.fetch.netguard import AddressPolicy, make_client
from pipeline.jobs.run import Runner
from pipeline.jobs.tally import RunReport
from pipeline.models import Article, Candidate, PageResult
from pipeline.store import Archive
from pipeline.urls import canonicalize
from tests.synth import synthetic_articles

from .conftest import REPO, query, run_cli, write_config

MB = 1 << 20
PUBLIC = "127.0.0.2"  # the public-looking source's address (see the module docstring)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
XML = {"Content-Type": "application/xml"}


# --- building blocks ------------------------------------------------------------------------


def rss(links: Iterable[str], title: str = "Feed") -> bytes:
    items = "".join(
        f"<item><title>item {n}</title><link>{link.replace('&', '&amp;')}</link></item>"
        for n, link in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{items}'
        "</channel></rss>"
    ).encode()


def urlset(links: Iterable[str]) -> bytes:
    items = "".join(f"<url><loc>{link.replace('&', '&amp;')}</loc></url>" for link in links)
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{items}</urlset>"
    ).encode()


def sitemap_index(links: Iterable[str]) -> bytes:
    items = "".join(f"<sitemap><loc>{link}</loc></sitemap>" for link in links)
    return (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{items}</sitemapindex>"
    ).encode()


def page(article: SiteArticle, base: str, charset: str = "utf-8") -> str:
    html = pages.article_page(article, "Hostile Gazette", base, [], [])
    return html.replace('<meta charset="utf-8">', f'<meta charset="{charset}">')


def serve(body: bytes, headers: dict[str, str] | None = None) -> Callable[[Request], Response]:
    return lambda request: Response(200, body, dict(headers or HTML))


def redirect(location: str) -> Callable[[Request], Response]:
    return lambda request: Response(302, headers={"Location": location})


def states(db: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """url -> (state, error_kind, error) of the frontier."""
    rows = query(db, "SELECT url, state, error_kind, error FROM urls")
    return {url: (state, kind, error) for url, state, kind, error in rows}


def feed_errors(db: Path) -> dict[str, str | None]:
    return dict(query(db, "SELECT url, error FROM feeds WHERE status = 'error'"))


def stored_urls(db: Path) -> set[str]:
    return {row[0] for row in query(db, "SELECT url FROM articles")}


def key(url: str) -> str:
    canonical = canonicalize(url)
    assert canonical is not None, url
    return canonical


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    done = run_cli("run", "--config", str(config), "--json", *args, cwd=config.parent, env=env)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


@pytest.fixture
def intranet() -> Iterator[NewsSite]:
    """A service inside the private network: nothing may reach it unless opted in."""
    with NewsSite([], "Intranet") as site:
        site.routes["/admin/"] = serve(b"<html><body><p>internal admin</p></body></html>")
        yield site


@pytest.fixture
def public() -> Iterator[NewsSite]:
    with NewsSite(synthetic_articles(3, seed=21), "Public Gazette", host=PUBLIC) as site:
        yield site


# --- 1. SSRF ---------------------------------------------------------------------------------

# Addresses a page of a stranger's site must never make us connect to. {port} is the
# intranet's port; literal addresses are refused before any connection is tried.
INTERNAL_LINKS = {
    "http://127.0.0.1:{port}/admin/": "loopback",
    "http://localhost:{port}/admin/?via=name": "loopback",
    "http://[::1]:{port}/admin/": "loopback",
    "http://0.0.0.0:{port}/admin/": "unspecified",  # Linux connects 0.0.0.0 to this host
    "http://2130706433:{port}/admin/": "loopback",  # 127.0.0.1 as one number
    "http://127.1:{port}/admin/": "loopback",  # inet_aton's short form
    "http://0x7f.1:{port}/admin/": "loopback",
    "http://[::ffff:127.0.0.1]:{port}/admin/": "loopback",  # IPv4-mapped IPv6
    "http://169.254.169.254/latest/meta-data/": "link-local",  # cloud metadata
    "http://[fe80::1]/": "link-local",
    "http://10.0.0.1/": "private",
    "http://192.168.1.1/": "private",
    "http://[fd00::1]/": "private",
    "http://100.64.0.1/": "shared",
    "http://224.0.0.1/": "multicast",
}
SCHEME_REFUSED = {"RedirectError", "BlockedURLError"}  # a redirect to another scheme
# Redirect targets: path on the public site -> (Location, failure kinds accepted).
REDIRECTS = {
    "/go/loopback/": ("http://127.0.0.1:{port}/admin/", {"BlockedURLError"}),
    "/go/localhost/": ("http://localhost:{port}/admin/", {"BlockedURLError"}),
    "/go/ipv6/": ("http://[::1]:{port}/admin/", {"BlockedURLError"}),
    "/go/metadata/": ("http://169.254.169.254/latest/meta-data/", {"BlockedURLError"}),
    "/go/hop/": ("/go/loopback/", {"BlockedURLError"}),  # the second hop is the bad one
    "/go/file/": ("file:///etc/passwd", SCHEME_REFUSED),
    "/go/ftp/": ("ftp://127.0.0.1:{port}/", SCHEME_REFUSED),
    "/go/gopher/": (
        "gopher://127.0.0.1:{port}/_GET%20/admin/",
        {"RedirectError", "BlockedURLError"},
    ),
    "/go/data/": ("data:text/html,<p>hi</p>", SCHEME_REFUSED),
    "/go/javascript/": ("javascript:alert(1)", SCHEME_REFUSED),
}
OTHER_SCHEMES = [
    "file:///etc/passwd",
    "ftp://127.0.0.1/pub/",
    "data:text/html;base64,PHA+aGk8L3A+",
    "javascript:alert(document.cookie)",
    "gopher://127.0.0.1:6379/_FLUSHALL",
]


def _hostile_public_site(public: NewsSite, intranet: NewsSite, loopback_only: bool = False) -> None:
    """Routes on the public site that point inside. `loopback_only`: only links to
    addresses on this host (for runs that really connect), no redirects."""
    port = intranet.port
    links = [
        link.format(port=port)
        for link, reason in INTERNAL_LINKS.items()
        if not loopback_only or reason in ("loopback", "unspecified")
    ]
    redirects = [] if loopback_only else [public.base + path for path in REDIRECTS]
    for path, (location, _) in REDIRECTS.items():
        public.routes[path] = redirect(location.format(port=port))
    public.routes["/hostile.xml"] = serve(rss([*links, *redirects, *OTHER_SCHEMES]), RSS)
    public.routes["/hostile-index.xml"] = serve(
        sitemap_index(
            [
                f"http://127.0.0.1:{port}/sitemap.xml",
                f"http://localhost:{port}/sitemap.xml",
                *([] if loopback_only else ["http://169.254.169.254/sitemap.xml"]),
                public.base + "/inner.xml",
            ]
        ),
        XML,
    )
    public.routes["/inner.xml"] = serve(urlset([f"http://127.0.0.1:{port}/admin/?from=sitemap"]))


def _public_config(directory: Path, public: NewsSite, **fetch: Any) -> Path:
    return write_config(
        directory,
        [
            {
                "name": "public",
                "url": public.base + "/",
                "feeds": [public.base + "/feed.xml", public.base + "/hostile.xml"],
                "sitemaps": [public.base + "/hostile-index.xml"],
            }
        ],
        fetch={"timeout": 3, "retries": 0, **fetch},
    )


def test_a_public_source_reaches_no_internal_address(
    workdir: Path, public: NewsSite, intranet: NewsSite
) -> None:
    _hostile_public_site(public, intranet)
    done = run(_public_config(workdir, public))
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"

    # The source's own stories are archived: its configured host is opted in.
    assert {public.base + a.path for a in public.articles} <= stored_urls(db)
    # Nothing reached the private network: not a page, not robots.txt, not a sitemap.
    assert intranet.requests == []

    frontier = states(db)
    for link, reason in INTERNAL_LINKS.items():
        url = key(link.format(port=intranet.port))
        state, kind, error = frontier[url]
        assert (state, kind) == ("failed", "BlockedURLError"), (url, frontier[url])
        assert f"{reason} address" in (error or ""), (url, error)
    for path, (_, kinds) in REDIRECTS.items():
        state, kind, _error = frontier[public.base + path]
        assert state == "failed" and kind in kinds, (path, frontier[public.base + path])
    # Other schemes are never taken up at all.
    assert all(url.startswith(("http://", "https://")) for url in frontier)
    assert not [url for url in frontier if "passwd" in url or "FLUSHALL" in url]

    # Every refusal is in the failures table too, as permanent.
    failures = query(db, "SELECT url, kind, permanent FROM failures")
    blocked = {url for url, kind, permanent in failures if kind == "BlockedURLError" and permanent}
    assert {key(link.format(port=intranet.port)) for link in INTERNAL_LINKS} <= blocked

    # Sitemaps that point inside are refused and recorded against the feed.
    errors = feed_errors(db)
    for child in (
        f"http://127.0.0.1:{intranet.port}/sitemap.xml",
        f"http://localhost:{intranet.port}/sitemap.xml",
        "http://169.254.169.254/sitemap.xml",
    ):
        assert "BlockedURLError" in (errors.get(key(child)) or ""), (child, errors)
    assert frontier[key(f"http://127.0.0.1:{intranet.port}/admin/?from=sitemap")][1] == (
        "BlockedURLError"
    )
    summary = json.loads(done.stdout)
    assert summary["totals"]["failed"] >= len(INTERNAL_LINKS) + len(REDIRECTS)


def test_allow_private_opts_every_address_in(
    workdir: Path, public: NewsSite, intranet: NewsSite
) -> None:
    _hostile_public_site(public, intranet, loopback_only=True)
    done = run(_public_config(workdir, public, allow_private=True))
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    seen = intranet.paths_seen()
    assert "/admin/" in seen and "/sitemap.xml" in seen and "/robots.txt" in seen
    frontier = states(db)
    # No address is refused any more (other schemes still are).
    assert not [url for url, (_, _, error) in frontier.items() if "resolves to" in (error or "")]
    # The admin page is "not an article" (too little text): fetched, then skipped.
    assert frontier[key(f"http://127.0.0.1:{intranet.port}/admin/")][0] == "skipped"


def test_an_environment_proxy_is_trusted_and_no_proxy_hosts_stay_guarded(
    workdir: Path, intranet: NewsSite
) -> None:
    """The proxy (here: a site on loopback that answers absolute-form requests) is the
    user's choice, so a name only it can resolve works through it; a host excluded by
    NO_PROXY is connected to directly, and then the address policy applies again."""
    articles = synthetic_articles(3, seed=33)
    with NewsSite(articles, "Proxied Gazette") as proxy:
        name = "gazette.invalid"  # resolvable by nobody but the proxy
        base = f"http://{name}"
        proxy.routes["/feed.xml"] = serve(
            rss(
                [base + a.path for a in articles]
                + [f"http://{PUBLIC}:{intranet.port}/admin/"]  # NO_PROXY: direct, guarded
            ),
            RSS,
        )
        for a in articles:
            proxy.routes[a.path] = serve(page(a, base).encode())
        config = write_config(
            workdir, [{"name": "proxied", "url": base + "/", "feeds": [base + "/feed.xml"]}]
        )
        env = {"HTTP_PROXY": proxy.base, "http_proxy": proxy.base, "NO_PROXY": PUBLIC}
        env["no_proxy"] = PUBLIC
        done = run(config, env=env)
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    assert stored_urls(db) == {base + a.path for a in articles}
    assert f"{base}/feed.xml" in proxy.paths_seen()  # absolute form: a proxy request
    state, kind, _ = states(db)[key(f"http://{PUBLIC}:{intranet.port}/admin/")]
    assert (state, kind) == ("failed", "BlockedURLError")
    assert intranet.requests == []


# --- 1b. In-process: names, DNS rebinding ----------------------------------------------------


class LocalOnly(httpcore.AsyncNetworkBackend):
    """The network under GuardedBackend: records every address it is asked to connect
    to, connects to loopback ones, and refuses the rest (tests never leave the host)."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, **kwargs: Any) -> Any:
        self.connects.append((host, port))
        if not host.startswith("127."):
            raise httpcore.ConnectError(f"test network: {host} is not reachable from here")
        return await self.inner.connect_tcp(host, port, **kwargs)

    async def connect_unix_socket(self, path: str, **kwargs: Any) -> Any:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def run_in_process(
    data: dict[str, Any],
    directory: Path,
    resolver: Callable[[str, int], Any] | None = None,
    pool: ExtractPool | None = None,
) -> tuple[RunReport, LocalOnly]:
    """One run through the real Runner, Fetcher and make_client — with a resolver and
    a local-only network injected (and the extraction pool given, else inline)."""
    config = parse(data, str(directory / "sources.yaml"), directory)
    network = LocalOnly()

    async def go(archive: Archive, extract: ExtractPool) -> RunReport:
        policy = AddressPolicy(config.fetch.allow_private)  # opt-ins per source, as in a run
        kwargs: dict[str, Any] = {"resolver": resolver} if resolver else {}
        async with make_client(
            policy,
            user_agent=config.fetch.user_agent,
            timeout=config.fetch.timeout,
            max_connections=config.fetch.concurrency,
            trust_env=False,
            **kwargs,
        ) as client:
            guarded = client._transport._pool._network_backend  # type: ignore[attr-defined]
            assert type(guarded).__name__ == "GuardedBackend"
            guarded._inner = network
            fetcher = Fetcher(client, config.fetch, robots_cache=archive)
            return await Runner(config, archive, fetcher, extract).run()

    with Archive.open(directory / "news.db") as archive, pool or ExtractPool(0) as extract:
        return asyncio.run(go(archive, extract)), network


def test_dns_rebinding_cannot_slip_a_private_address_past_the_check(
    tmp_path: Path, public: NewsSite, intranet: NewsSite
) -> None:
    """Names resolve once per connection and the connection goes to the very address
    that was checked: a name that answers a public address first and a private one
    next never gets us to the private one."""
    port = intranet.port
    calls: dict[str, int] = {}

    async def resolver(host: str, _port: int) -> list[str]:
        calls[host] = calls.get(host, 0) + 1
        answers = {
            "gazette.example": [PUBLIC],  # the configured source: opted in by name
            # Public at the first lookup, loopback afterwards (rebinding).
            "rebind.example": ["93.184.216.34"] if calls[host] == 1 else ["127.0.0.1"],
            "mixed.example": ["93.184.216.34", "127.0.0.1"],  # one bad answer is enough
            "metadata.example": ["169.254.169.254"],
            "corp.example": ["10.1.2.3"],
            "v6.example": ["::1"],
        }
        if host not in answers:
            raise httpcore.ConnectError(f"test resolver: no {host}")
        return answers[host]

    base = f"http://gazette.example:{public.port}"
    bad = [
        f"http://rebind.example:{port}/story/",
        f"http://mixed.example:{port}/story/",
        f"http://metadata.example:{port}/latest/",
        f"http://corp.example:{port}/",
        f"http://v6.example:{port}/",
    ]
    public.routes["/names.xml"] = serve(rss([base + a.path for a in public.articles] + bad), RSS)
    data = {
        "fetch": {"timeout": 3, "retries": 1, "backoff": 0.01},
        "defaults": {"delay": 0},
        "sources": [{"name": "named", "url": base + "/", "feeds": [base + "/names.xml"]}],
    }
    report, network = run_in_process(data, tmp_path, resolver)
    db = tmp_path / "news.db"
    assert report.sources["named"].new == len(public.articles)
    frontier = states(db)
    for url in bad:
        state, kind, _ = frontier[key(url)]
        assert (state, kind) == ("failed", "BlockedURLError"), (url, frontier[key(url)])
    # rebind.example: looked up once per connection attempt (the public answer was
    # tried, then refused by the test network; the retry got loopback and was refused
    # before connecting). Nothing connected to loopback for it: the intranet saw nothing.
    assert calls["rebind.example"] >= 2
    assert ("93.184.216.34", port) in network.connects
    assert intranet.requests == []
    assert ("127.0.0.1", port) not in network.connects
    assert all(not host.startswith(("10.", "169.254.", "::")) for host, _ in network.connects)


# --- 2. Bombs and giants ---------------------------------------------------------------------


@functools.cache
def _blank_blocks(wbits: int, prefix: bytes) -> tuple[bytes, bytes]:
    """(first, again): deflate data for `prefix` + 1 MiB of spaces, and for 1 MiB more.
    Each ends in a full flush (the compressor forgets its history), so `again` repeated
    N times continues the stream with N MiB more: a bomb of any size costs ~1 KB per MiB
    and no CPU to make."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = packer.compress(prefix + b" " * MB) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(b" " * MB) + packer.flush(zlib.Z_FULL_FLUSH)
    assert again == packer.compress(b" " * MB) + packer.flush(zlib.Z_FULL_FLUSH)
    return first, again


def zlib_bomb(mebibytes: int, prefix: bytes, wbits: int = 31) -> Iterator[bytes]:
    """A gzip (wbits 31) or zlib (15) stream that inflates to `prefix` and `mebibytes`
    MiB of spaces, in 64-MiB chunks. Its trailer never comes: a reader that gets that
    far has already lost."""
    first, again = _blank_blocks(wbits, prefix)
    yield first
    for _ in range((mebibytes - 1) // 64):
        yield again * 64


@functools.cache
def brotli_bomb(prefix: bytes, mebibytes: int = 1024) -> bytes:
    packer = brotli.Compressor(quality=1)
    parts = [packer.process(prefix)]
    blank = b" " * MB
    parts += [packer.process(blank) for _ in range(mebibytes)]
    return b"".join(parts) + packer.finish()


LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]>"
)


def test_compression_bombs_are_cut_at_max_bytes(workdir: Path) -> None:
    """A ~10 GB-when-unpacked sitemap, served as a .xml.gz file and with Content-Encoding:
    gzip, and pages that are 1-10 GB once brotli-, deflate- or gzip-decoded: each is
    abandoned at max_bytes of output, and the run goes on."""
    articles = synthetic_articles(3, seed=41)
    with NewsSite(articles, "Bomb Gazette") as site:
        base = site.base
        sitemap_head = b'<?xml version="1.0"?><urlset><url><loc>' + base.encode() + b"/x</loc>"
        gz = {"Content-Type": "application/x-gzip"}
        site.routes["/sitemap-bomb.xml.gz"] = lambda r: Response(
            200, headers=gz, chunks=zlib_bomb(10 * 1024, sitemap_head)
        )
        site.routes["/sitemap-bomb.xml"] = lambda r: Response(
            200,
            headers={**XML, "Content-Encoding": "gzip"},
            chunks=zlib_bomb(10 * 1024, sitemap_head),
        )
        page_head = b"<!DOCTYPE html><html><head><title>t</title></head><body><p>"
        site.routes["/bomb/br/"] = lambda r: Response(
            200, headers={**HTML, "Content-Encoding": "br"}, chunks=[brotli_bomb(page_head)]
        )
        site.routes["/bomb/deflate/"] = lambda r: Response(
            200,
            headers={**HTML, "Content-Encoding": "deflate"},
            chunks=zlib_bomb(1024, page_head, 15),
        )
        site.routes["/bomb/gzip/"] = lambda r: Response(
            200,
            headers={**HTML, "Content-Encoding": "gzip"},
            chunks=zlib_bomb(10 * 1024, page_head),
        )
        bombs = [base + p for p in ("/bomb/br/", "/bomb/deflate/", "/bomb/gzip/")]
        site.routes["/pages.xml"] = serve(rss([base + a.path for a in articles] + bombs), RSS)
        config = write_config(
            workdir,
            [
                {
                    "name": "bombs",
                    "url": base + "/",
                    "feeds": [base + "/pages.xml"],
                    "sitemaps": [base + "/sitemap-bomb.xml.gz", base + "/sitemap-bomb.xml"],
                }
            ],
            # 20 MB: more than the 10.6 MB the gzip file takes compressed, so it is the
            # inflated size that must stop it.
            fetch={"max_bytes": 20 * MB},
        )
        started = time.monotonic()
        done = run(config)
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 60  # a guard only: inflating 10 GB would take minutes
    db = workdir / "archive" / "news.db"
    assert stored_urls(db) == {base + a.path for a in articles}
    frontier = states(db)
    for url in bombs:
        assert frontier[url][:2] == ("failed", "TooLargeError"), (url, frontier[url])
    errors = feed_errors(db)
    assert "larger than max_bytes once decompressed" in (
        errors[base + "/sitemap-bomb.xml.gz"] or ""
    )
    assert "TooLargeError" in (errors[base + "/sitemap-bomb.xml"] or "")


def test_entity_bombs_and_external_entities_are_refused_quickly(workdir: Path) -> None:
    """Billion laughs, quadratic blow-up, XXE (a file and a URL) and parameter
    entities in feeds and sitemaps: each refused unparsed, recorded against the feed
    with a clear error, and nothing the entities name is ever read or requested."""
    articles = synthetic_articles(2, seed=43)
    with NewsSite(articles, "Entity Gazette") as site:
        base = site.base
        rss_body = b'<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
        rss_body += b"<link>" + base.encode() + b"/x</link></item></channel></rss>"
        big = b"a" * 50_000
        docs = {
            "lol": LAUGHS + rss_body,
            "quadratic": b'<!DOCTYPE r [<!ENTITY a "'
            + big
            + b'">]><rss><channel><title>'
            + b"&a;" * 50_000
            + b"</title></channel></rss>",
            "xxe-file": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<rss><channel><item><title>&x;</title><link>&x;</link></item></channel></rss>",
            "xxe-url": b'<!DOCTYPE r [<!ENTITY x SYSTEM "' + base.encode() + b'/xxe-secret">]>'
            b"<rss><channel><item><title>&x;</title></item></channel></rss>",
            "parameter": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "' + base.encode() + b'/pe.dtd"> %p;]>'
            b"<rss><channel/></rss>",
        }
        feeds, sitemaps = [], []
        for name, body in docs.items():
            declaration = b'<?xml version="1.0"?>\n'
            site.routes[f"/{name}-feed.xml"] = serve(declaration + body, RSS)
            sitemap = body.replace(b"<rss", b"<urlset").replace(b"</rss>", b"</urlset>")
            site.routes[f"/{name}-sitemap.xml"] = serve(declaration + sitemap, XML)
            feeds.append(f"{base}/{name}-feed.xml")
            sitemaps.append(f"{base}/{name}-sitemap.xml")
        # An external DTD is not an entity declaration: parsed, but the DTD never fetched.
        site.routes["/dtd-feed.xml"] = serve(
            b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "'
            + base.encode()
            + b'/evil.dtd">'
            + rss([base + a.path for a in articles])[21:],
            RSS,
        )
        config = write_config(
            workdir,
            [
                {
                    "name": "entities",
                    "url": base + "/",
                    "feeds": [*feeds, base + "/dtd-feed.xml"],
                    "sitemaps": sitemaps,
                }
            ],
        )
        started = time.monotonic()
        done = run(config)
        elapsed = time.monotonic() - started
        seen = site.paths_seen()
    assert done.returncode == 0, done.stderr
    assert elapsed < 30  # a guard only: expanding 10^9 laughs would not finish
    db = workdir / "archive" / "news.db"
    errors = feed_errors(db)
    for url in feeds + sitemaps:
        assert "XML declares entities or a DTD subset; refused unparsed" in (
            errors.get(url) or ""
        ), (
            url,
            errors.get(url),
        )
    assert stored_urls(db) == {base + a.path for a in articles}  # via the DTD feed
    assert not {"/xxe-secret", "/pe.dtd", "/evil.dtd"} & set(seen)
    texts = " ".join(row[0] or "" for row in query(db, "SELECT hint_title FROM urls"))
    assert "root:" not in texts and "lollol" not in texts
    # The same refusals at the parser, with their time bound (loose, as a guard).
    for body in docs.values():
        for parser in (
            lambda b: parse_feed(b, base + "/f"),
            lambda b: list(iter_sitemap(b, base + "/s")),
        ):
            started = time.monotonic()
            with pytest.raises(UnsafeXMLError):
                parser(b'<?xml version="1.0"?>' + body)
            assert time.monotonic() - started < 5


def test_sitemap_loops_depth_and_width_are_bounded(workdir: Path) -> None:
    """Index loops (A -> B -> A), an endless chain of generated indexes, and an index
    with thousands of children: each sitemap is read at most once, no deeper than
    MAX_SITEMAP_DEPTH, no more than MAX_CHILD_SITEMAPS children per run."""
    articles = synthetic_articles(3, seed=45)
    with NewsSite(articles, "Loop Gazette") as site:
        base = site.base
        site.routes["/loop-a.xml"] = serve(sitemap_index([base + "/loop-b.xml"]), XML)
        site.routes["/loop-b.xml"] = serve(
            sitemap_index([base + "/loop-a.xml", base + "/loop-leaf.xml"]), XML
        )
        site.routes["/loop-leaf.xml"] = serve(urlset([base + a.path for a in articles]), XML)

        def chain(request: Request) -> Response:  # /chain?n=k lists /chain?n=k+1, forever
            n = int(request.query.split("=")[1])
            return Response(200, sitemap_index([f"{base}/chain?n={n + 1}"]), XML)

        site.routes["/chain"] = chain
        site.routes["/wide.xml"] = serve(
            sitemap_index([f"{base}/wide/{n}.xml" for n in range(5000)]), XML
        )
        config = write_config(
            workdir,
            [
                {
                    "name": "loops",
                    "url": base + "/",
                    "feeds": [base + "/feed.xml"],
                    "sitemaps": [base + "/loop-a.xml", base + "/chain?n=0", base + "/wide.xml"],
                }
            ],
        )
        done = run(config)
        seen = site.paths_seen()
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    assert seen.count("/loop-a.xml") == 1 and seen.count("/loop-b.xml") == 1
    assert seen.count("/loop-leaf.xml") == 1
    chain_seen = sorted(int(p.split("=")[1]) for p in seen if p.startswith("/chain"))
    assert chain_seen == list(range(MAX_SITEMAP_DEPTH))
    errors = feed_errors(db)
    deepest = f"{base}/chain?n={MAX_SITEMAP_DEPTH - 1}"
    assert "nested deeper than" in (errors.get(deepest) or ""), errors
    wide = [p for p in seen if p.startswith("/wide/")]
    assert 0 < len(wide) <= MAX_CHILD_SITEMAPS
    assert stored_urls(db) == {base + a.path for a in articles}


class GiantSite(NewsSite):
    """Serves /many/N/ as the N-th of endlessly many distinct articles."""

    def page(self, request: Request) -> Response:
        if request.path.startswith("/many/"):
            n = int(request.path.split("/")[2])
            (article,) = synthetic_articles(1, seed=1000 + n)
            article = replace(article, slug=f"many-{n}", title=f"{article.title} [{n}]")
            return Response(200, page(article, self.base).encode(), dict(HTML))
        return super().page(request)


def _many_urls(base: str, count: int) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    for start in range(0, count, 10_000):
        yield b"".join(
            b"<url><loc>%s/many/%d/</loc></url>" % (base.encode(), n)
            for n in range(start, min(count, start + 10_000))
        )
    yield b"</urlset>"


def _gzip_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        yield packer.compress(chunk)
    yield packer.flush()


def test_a_sitemap_with_millions_of_urls_stays_bounded(workdir: Path) -> None:
    """2 million URLs (~90 MB of XML, streamed gzip) pass max_bytes and are refused as
    a whole; 50,000 URLs (streamed, no length) fit, all go into the frontier, and only
    max_articles pages are fetched. The main process stays small throughout."""
    with GiantSite(synthetic_articles(1, seed=47), "Giant Gazette") as site:
        base = site.base
        site.routes["/millions.xml"] = lambda r: Response(
            200,
            headers={**XML, "Content-Encoding": "gzip"},
            chunks=_gzip_stream(_many_urls(base + "/m", 2_000_000)),
        )
        site.routes["/many.xml"] = lambda r: Response(
            200, headers=XML, chunks=_many_urls(base, 50_000)
        )
        config = write_config(
            workdir,
            [
                {
                    "name": "giant",
                    "url": base + "/",
                    "feeds": [base + "/feed.xml"],
                    "sitemaps": [base + "/millions.xml", base + "/many.xml"],
                    "max_articles": 3,
                }
            ],
            fetch={"max_bytes": 8 * MB},
        )
        done, peak = run_measured(config)
        seen = site.paths_seen()
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    assert "TooLargeError" in (feed_errors(db).get(base + "/millions.xml") or "")
    from_many = query(db, "SELECT count(*) FROM urls WHERE url LIKE ?", (base + "/many/%",))
    assert from_many == [(50_000,)]
    assert len(query(db, "SELECT id FROM articles")) == 3
    assert len([p for p in seen if p.startswith(("/many/", "/2026/"))]) <= 3
    assert peak < 250 * MB, f"main process peak RSS {peak // MB} MB"


def run_measured(config: Path) -> tuple[Any, int]:
    """`run` through the real CLI, and the CLI process's own peak RSS in bytes (the
    extraction workers are other processes). VmHWM, not ru_maxrss: Linux carries a
    parent's peak into ru_maxrss across fork and exec, and pytest's can be large."""
    report = config.parent / "peak-rss"
    wrapper = (
        "import atexit, re, runpy, sys\n"
        "out = sys.argv.pop(1)\n"
        "def peak():\n"
        "    status = open('/proc/self/status').read()\n"
        "    open(out, 'w').write(re.search(r'VmHWM:\\s*(\\d+)', status).group(1))\n"
        "atexit.register(peak)\n"
        "sys.argv[0] = 'newsarchive'\n"
        "runpy.run_module('pipeline', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(report), "run", "--config", str(config), "--json"],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done, int(report.read_text()) * 1024  # VmHWM is in kB


# --- 3. Hostile HTML -------------------------------------------------------------------------


def _hostile_pages(base: str, story: SiteArticle) -> dict[str, bytes | tuple[bytes, str]]:
    """Pages that attack the parsers, keyed by path; (body, content type) where the
    content type matters."""
    html = page(story, base)
    main = html.index("<main")
    with_nul = html.replace("<p>", "<p>\x00\x00 ").replace("</title>", "\x00</title>")
    broken = html.encode().replace(b"<p>", b"<p>\xff\xfe\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 ", 3)
    return {
        # 1 MB of nesting (lxml stops at 256 levels, Lexbor goes on).
        "/nested/": (html[:main] + "<i>" * (MB // 3) + html[main:]).encode(),
        "/attribute/": html.replace("<p>", '<p title="' + "A" * (5 * MB) + '">', 1).encode(),
        "/class/": html.replace(
            "<main", '<div class="' + "related " * 400_000 + '">x</div><main'
        ).encode(),
        "/title/": html.replace("</title>", " word" * 200_000 + "</title>").encode(),
        "/links/": html.replace(
            "<main", "<nav>" + '<a href="/x">x</a>' * 100_000 + "</nav><main"
        ).encode(),
        "/invalid-utf8/": broken,
        "/nul/": with_nul.encode(),
        "/absurd-charset/": page(story, base, "x-absurd-charset-9000").encode(),
        "/utf16-label/": (page(story, base, "utf-16").encode(), "text/html"),
        "/ebcdic-label/": (page(story, base, "cp037").encode(), "text/html"),
        "/binary/": (bytes(range(256)) * 4000, "text/html"),
        "/empty/": b"",
        "/corrupt-gzip/": (b"\x1f\x8b\x08\x00garbage" * 100, "gzip"),
    }


def test_hostile_pages_fail_alone_and_the_run_goes_on(workdir: Path) -> None:
    articles = synthetic_articles(3, seed=51)
    story = synthetic_articles(1, seed=52)[0]
    with NewsSite(articles, "Hostile Gazette") as site:
        base = site.base
        hostile = _hostile_pages(base, story)
        for path, spec in hostile.items():
            body, kind = spec if isinstance(spec, tuple) else (spec, "")
            headers = {"Content-Type": kind} if kind.startswith("text/") else dict(HTML)
            if kind == "gzip":
                headers["Content-Encoding"] = "gzip"
            site.routes[path] = serve(body, headers)
        site.routes["/pages.xml"] = serve(
            rss([base + a.path for a in articles] + [base + p for p in hostile]), RSS
        )
        config = write_config(
            workdir,
            [{"name": "hostile", "url": base + "/", "feeds": [base + "/pages.xml"]}],
            fetch={"max_bytes": 8 * MB, "retries": 0},
        )
        done = run(config)
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    assert {base + a.path for a in articles} <= stored_urls(db)
    frontier = states(db)
    for path in hostile:
        state = frontier[base + path][0]
        assert state in ("stored", "duplicate", "skipped", "failed", "retry"), (path, state)
    # The pages whose story survives the attack are stored.
    for path in ("/attribute/", "/class/", "/links/", "/nul/", "/absurd-charset/"):
        assert frontier[base + path][0] in ("stored", "duplicate"), (path, frontier[base + path])
    texts = query(db, "SELECT title, text FROM articles")
    assert texts and not [t for t in texts if "\x00" in (t[0] or "") + t[1]]
    assert frontier[base + "/empty/"][0] in ("skipped", "failed")


@pytest.mark.xdist_group("extract_workers")  # with the other tests of this process's forkserver
def test_extraction_time_and_memory_limits_fail_the_page_not_the_run(
    tmp_path: Path, public: NewsSite
) -> None:
    """A 1 MB-deep nest of <div>s (quadratic in HTML parsers: minutes of CPU) and a page
    that needs more memory than a worker may have: each recorded as failed, its worker
    replaced, and the other stories of the run stored. Real workers, short limits."""
    base = public.base
    html = page(synthetic_articles(1, seed=55)[0], base)
    main = html.index("<main")
    public.routes["/deep/"] = serve((html[:main] + "<div>" * (MB // 5) + html[main:]).encode())
    public.routes["/hog/"] = serve(
        ("<html><body>" + "<p>word " * 1_500_000 + "</body></html>").encode()
    )
    public.routes["/limits.xml"] = serve(
        rss([base + "/deep/", base + "/hog/"] + [base + a.path for a in public.articles]), RSS
    )
    data = {
        "fetch": {"timeout": 10, "retries": 0, "max_bytes": 20 * MB},
        "defaults": {"delay": 0, "host_concurrency": 1},
        "sources": [{"name": "limits", "url": base + "/", "feeds": [base + "/limits.xml"]}],
    }
    pool = ExtractPool(1, timeout=1.0, memory_mb=60)  # a story takes ~0.05 s in a worker
    started = time.monotonic()
    report, _ = run_in_process(data, tmp_path, pool=pool)
    assert time.monotonic() - started < 60
    frontier = states(tmp_path / "news.db")
    deep, hog = frontier[base + "/deep/"], frontier[base + "/hog/"]
    assert deep[0] == "failed" and deep[1] in ("ExtractionTimeout", "WorkerCrashed"), deep
    assert hog[0] == "failed" and hog[1] in ("WorkerCrashed", "ExtractionTimeout"), hog
    assert report.workers_replaced >= 2
    assert report.sources["limits"].new == len(public.articles)


# --- 4. Terminal output and files --------------------------------------------------------------

ESCAPES = "\x1b[2J\x1b[31m\x1b]0;pwned\x07\x9b31m\x08\r\u202e\u2066"
# What must never reach a terminal from a page: ESC (CSI/OSC), C1 CSI, BEL, backspace,
# carriage return, bidirectional overrides and isolates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_escape_sequences_from_pages_never_reach_the_terminal(workdir: Path) -> None:
    (story,) = synthetic_articles(1, seed=57)
    story = replace(
        story,
        title=f"Harbour {ESCAPES}alert{ESCAPES} tonight",
        authors=(f"Mallory {ESCAPES}Jones",),
        paragraphs=(
            f"The harbour {ESCAPES}alert was raised at {ESCAPES}dawn today.",
            *story.paragraphs,
        ),
    )
    with NewsSite([story], "Escape Gazette") as site:
        config = write_config(workdir, [{"name": "esc", "url": site.base + "/"}])
        done = run(config, "-vv")
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    ((url, title),) = query(db, "SELECT url, title FROM articles")
    # The archive keeps the title as the page gave it (the text is cleaned by extraction).
    assert "\x1b[2J" in title and "\u202e" in title and "\x9b" in title
    outputs = [done]
    for args in (("search", "harbour alert"), ("show", url)):
        shown = run_cli(*args, "--config", str(config), cwd=workdir)
        assert shown.returncode == 0, (args, shown.stderr)
        assert "alert" in shown.stdout
        assert "Mallory" in shown.stdout or args[0] == "search"
        outputs.append(shown)
    for shown in outputs:
        for stream in (shown.stdout, shown.stderr):
            bad = {hex(ord(c)) for c in FORBIDDEN.findall(stream)}
            assert not bad, (shown.args, bad, stream[-500:])
    # --json is data for programs: control characters are escaped there by JSON itself.
    as_json = run_cli("search", "harbour", "--json", "--config", str(config), cwd=workdir)
    assert "\x1b" not in as_json.stdout and "\\u001b" in as_json.stdout


TRAVERSAL_TITLES = [
    "../../../../../../tmp/newsarchive-escaped",
    "..\\..\\..\\windows\\system32\\evil",
    "/etc/cron.d/evil",
    "CON",
    "NUL.txt",
    ".",
    "..",
    "~root/.ssh/authorized_keys",
    "a/" * 200 + "deep",
    "\x00/etc/passwd",
    "%2e%2e%2f%2e%2e%2fescaped",
    "\u202etxt.exe",
]


def test_a_title_that_tries_path_traversal_stays_inside_the_export(workdir: Path) -> None:
    stories = [
        replace(story, title=title, slug=f"traversal-{n}")
        for n, (story, title) in enumerate(
            zip(synthetic_articles(len(TRAVERSAL_TITLES), seed=59), TRAVERSAL_TITLES, strict=True)
        )
    ]
    with NewsSite(stories, "Traversal Gazette") as site:
        config = write_config(workdir, [{"name": "traversal", "url": site.base + "/"}])
        done = run(config)
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    titles = {row[0] for row in query(db, "SELECT title FROM articles")}
    assert "../../../../../../tmp/newsarchive-escaped" in titles  # stored as the page said
    targets = [workdir / "exports" / "deep" / f"export-{fmt}" for fmt in ("txt", "md")]
    targets[0].parent.mkdir(parents=True)
    marks = ("escaped", "evil", "authorized_keys", "passwd", "deep", "txt.exe")

    def beside() -> set[Path]:
        """What exists in the workdir outside the export targets and the archive, and,
        next to the workdir (where other tests may be writing at the same time), any
        file named after what the titles aim at."""
        mine = {
            p
            for p in workdir.rglob("*")
            if not any(p.is_relative_to(t) for t in targets)
            and not p.is_relative_to(workdir / "archive")
        }
        near = {
            p
            for p in workdir.parent.rglob("*")
            if not p.is_relative_to(workdir) and any(m in p.name for m in marks)
        }
        return mine | near

    before = beside()
    for fmt, target in zip(("txt", "md"), targets, strict=True):
        exported = run_cli(
            "export", "--format", fmt, "--output", str(target), "--config", str(config), cwd=workdir
        )
        assert exported.returncode == 0, exported.stderr
        files = [p for p in target.rglob("*") if p.is_file()]
        assert len([p for p in files if p.suffix == f".{fmt}"]) == len(stories)
        for path in files:
            assert path.resolve().is_relative_to(target.resolve()), path
            assert re.fullmatch(r"[A-Za-z0-9._-]+", path.name), path.name
    assert beside() == before  # nothing written next to the workdir
    assert not Path("/tmp/newsarchive-escaped").exists()


# --- regressions: bugs these tests found, each fixed -------------------------------------


def test_a_charset_python_cannot_decode_with_fails_only_its_page(workdir: Path) -> None:
    articles = synthetic_articles(2, seed=61)
    story = synthetic_articles(1, seed=62)[0]
    with NewsSite(articles, "Charset Gazette") as site:
        base = site.base
        site.routes["/undefined/"] = serve(
            page(story, base).encode(), {"Content-Type": "text/html; charset=undefined"}
        )
        site.routes["/punycode/"] = serve(page(story, base, "punycode").encode(), {})
        site.routes["/pages.xml"] = serve(
            rss([base + a.path for a in articles] + [base + "/undefined/", base + "/punycode/"]),
            RSS,
        )
        home = pages.listing_page("Home", "Charset Gazette", articles)
        home = home.encode("ascii", "xmlcharrefreplace").decode()  # plain ASCII, as idna needs
        home = home.replace('<meta charset="utf-8">', '<meta charset="idna">')
        site.routes["/idna-home/"] = serve(home.encode(), {"Content-Type": "text/html"})
        config = write_config(
            workdir,
            [
                {"name": "pages", "url": base + "/", "feeds": [base + "/pages.xml"]},
                {"name": "home", "url": base + "/idna-home/", "sitemaps": [base + "/none.xml"]},
            ],
        )
        done = run(config)
    assert done.returncode == 0
    frontier = states(workdir / "archive" / "news.db")
    assert frontier[base + "/undefined/"][0] in ("stored", "failed")
    assert {base + a.path for a in articles} <= stored_urls(workdir / "archive" / "news.db")


@pytest.mark.parametrize("label", ["utf-16", "cp037"])
def test_meta_charsets_a_browser_ignores_are_ignored(label: str) -> None:
    story = synthetic_articles(1, seed=63)[0]
    body = page(story, "http://s.example", label).encode()
    body += b" " * (len(body) % 2)  # UTF-16 decodes any even number of bytes
    text = to_text(body, decide_encoding(body, "text/html"))
    assert "<title>" in text and story.title in text


def test_a_link_to_an_unencodable_host_fails_only_its_page(workdir: Path) -> None:
    articles = synthetic_articles(2, seed=65)
    with NewsSite(articles, "IDNA Gazette") as site:
        base = site.base
        bad = ["http://xn--ls8h.la/2026/01/story/", f"http://{'a' * 64}.example/2026/01/story/"]
        site.routes["/go/idna/"] = redirect("http://xn--/2026/01/story/")
        site.routes["/pages.xml"] = serve(
            rss([base + a.path for a in articles] + bad + [base + "/go/idna/"]), RSS
        )
        config = write_config(
            workdir, [{"name": "idna", "url": base + "/", "feeds": [base + "/pages.xml"]}]
        )
        done = run(config)
    assert done.returncode == 0
    frontier = states(workdir / "archive" / "news.db")
    for url in [*bad, base + "/go/idna/"]:
        assert frontier[key(url)][0] == "failed", (url, frontier[key(url)])


def test_a_link_with_a_double_slash_path_does_not_crash_the_run(workdir: Path) -> None:
    articles = synthetic_articles(2, seed=67)
    with NewsSite(articles, "Slash Gazette") as site:
        base = site.base
        # http.server collapses a leading "//" in the request path: both land here.
        site.routes["/2026/01/story.html"] = serve(page(articles[0], base).encode())
        links = [base + a.path for a in articles] + [base + "//[.", base + "//2026/01/story.html"]
        site.routes["/pages.xml"] = serve(rss(links), RSS)
        config = write_config(
            workdir, [{"name": "slash", "url": base + "/", "feeds": [base + "/pages.xml"]}]
        )
        done = run(config)
        seen = site.paths_seen()
    assert done.returncode == 0
    assert "/01/story.html" not in seen  # the address with its first segment eaten
    assert base + "//2026/01/story.html" in states(workdir / "archive" / "news.db")


def _laughs_after(prefix: bytes, amplification: int = 100_000) -> bytes:
    """A feed whose entity declarations sit after `prefix`: ~2 MB of output from a
    small input (under expat's amplification limit, so expat expands it all)."""
    declarations = b'<!DOCTYPE rss [<!ENTITY a "' + b"lol" * 80 + b'">]>'
    refs = b"&a;" * (amplification // 240)
    return (
        prefix
        + declarations
        + b'<rss version="2.0"><channel><title>t</title><item><title>'
        + refs
        + b"</title><link>http://127.0.0.1/2026/01/laughs/</link></item></channel></rss>"
    )


def test_entity_declarations_after_a_long_prolog_or_in_utf16_are_refused(workdir: Path) -> None:
    articles = synthetic_articles(2, seed=69)
    with NewsSite(articles, "Prolog Gazette") as site:
        base = site.base
        padded = _laughs_after(b"<!--" + b" " * 70_000 + b"-->")
        utf16 = ('<?xml version="1.0" encoding="utf-16"?>' + _laughs_after(b"").decode()).encode(
            "utf-16"
        )
        site.routes["/padded.xml"] = serve(padded, RSS)
        site.routes["/utf16.xml"] = serve(utf16, RSS)
        feeds = [base + "/feed.xml", base + "/padded.xml", base + "/utf16.xml"]
        config = write_config(workdir, [{"name": "prolog", "url": base + "/", "feeds": feeds}])
        done = run(config)
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    errors = feed_errors(db)
    for url in feeds[1:]:
        assert "refused" in (errors.get(url) or ""), (url, errors)
    assert max(len(row[0] or "") for row in query(db, "SELECT hint_title FROM urls")) < 10_000


def test_a_deeply_nested_listing_page_does_not_stall_discovery() -> None:
    # Lexbor is quadratic in nesting depth (100 KB of <div>s took ~1 s, 1 MB ~60 s, all
    # of it blocking the event loop): a linear pre-scan refuses the page before parsing.
    listing = "<html><body>" + "<div>" * 20_000 + '<a href="/2026/01/a-story-slug-here">x</a>'
    for finder in (article_links, feed_links):
        with pytest.raises(DiscoveryError, match="nesting deeper than"):
            finder(listing, "http://s.example/")
    tidy = "<html><body>" + "<div>" * 100 + '<a href="/2026/01/a-story-slug-here">x</a>'
    assert [e.url for e in article_links(tidy, "http://s.example/")] == [
        "http://s.example/2026/01/a-story-slug-here"
    ]


def test_an_opted_in_host_is_opted_in_only_for_its_own_source(
    workdir: Path, public: NewsSite, intranet: NewsSite
) -> None:
    intranet.routes["/f.xml"] = serve(rss([]), RSS)
    public.routes["/leak.xml"] = serve(
        rss([f"http://127.0.0.1:{intranet.port}/admin/", public.base + public.articles[0].path]),
        RSS,
    )
    config = write_config(
        workdir,
        [
            # The user archives an intranet news page on purpose ...
            {"name": "intranet", "url": intranet.base + "/", "feeds": [intranet.base + "/f.xml"]},
            # ... and a public site, whose feed links into the intranet.
            {"name": "public", "url": public.base + "/", "feeds": [public.base + "/leak.xml"]},
        ],
    )
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert "/admin/" not in intranet.paths_seen()
    state = states(workdir / "archive" / "news.db")[f"http://127.0.0.1:{intranet.port}/admin/"]
    assert state[:2] == ("failed", "BlockedURLError")


def test_an_unparsable_redirect_is_a_permanent_redirect_error(public: NewsSite) -> None:
    public.routes["/bad-location/"] = redirect("http://[::1")

    async def go() -> BaseException | None:
        policy = AddressPolicy(opted_in_hosts=frozenset({PUBLIC}))
        async with make_client(policy, user_agent="t", timeout=5, max_connections=2) as client:
            settings = parse(
                {"fetch": {"retries": 0}, "sources": [{"name": "a", "url": public.base}]}
            )
            fetcher = Fetcher(client, settings.fetch)
            try:
                await fetcher.fetch(public.base + "/bad-location/")
            except FetchError as exc:
                return exc
        return None

    error = asyncio.run(go())
    assert isinstance(error, FetchError) and error.permanent, error
    assert type(error).__name__ == "RedirectError"


def test_a_sitemap_in_a_multibyte_encoding_does_not_crash_the_run(workdir: Path) -> None:
    articles = synthetic_articles(2, seed=71)
    with NewsSite(articles, "Shift Gazette") as site:
        base = site.base
        body = urlset([base + a.path for a in articles]).replace(
            b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="Shift_JIS"?>'
        )
        site.routes["/sjis.xml"] = serve(body, XML)
        config = write_config(
            workdir, [{"name": "sjis", "url": base + "/", "sitemaps": [base + "/sjis.xml"]}]
        )
        done = run(config)
    assert done.returncode == 0
    assert stored_urls(workdir / "archive" / "news.db") == {base + a.path for a in articles}


@pytest.mark.parametrize(
    "fetch",
    [
        {"revalidate_hours": float("inf")},
        {"timeout": float("nan")},
        {"user_agent": "bot é"},
        {"user_agent": "bot\r\nX-Injected: 1"},
        {"max_bytes": 10**30},
    ],
    ids=["inf", "nan", "latin1-agent", "crlf-agent", "max-bytes"],
)
def test_config_values_the_run_cannot_use_exit_2(workdir: Path, fetch: dict[str, Any]) -> None:
    config = write_config(workdir, [{"name": "a", "url": "http://127.0.0.1:9/"}], fetch=fetch)
    done = run_cli("run", "--config", str(config), cwd=workdir)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-500:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"key 'fetch.{next(iter(fetch))}'" in lines[0], lines
    assert not (workdir / "archive" / "news.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("search", "harbour \udcff"),
        ("show", "\udcff"),
        ("show", "http://a.example/\udcff"),
        ("show", "²"),
    ],
    ids=["search-bytes", "show-bytes", "show-url-bytes", "show-superscript"],
)
def test_search_and_show_arguments_never_crash(workdir: Path, args: tuple[str, str]) -> None:
    db = workdir / "archive" / "news.db"
    Archive.open(db).close()
    done = run_cli(*args, "--db", str(db), cwd=workdir)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.stderr.startswith("newsarchive: error:")


def test_a_sitemap_of_dead_links_does_not_make_a_run_request_them_all(workdir: Path) -> None:
    with NewsSite(synthetic_articles(1, seed=73), "Dead Gazette") as site:
        base = site.base
        site.routes["/dead.xml"] = serve(urlset([f"{base}/dead/{n}/" for n in range(200)]), XML)
        config = write_config(
            workdir,
            [
                {
                    "name": "dead",
                    "url": base + "/",
                    "feeds": [base + "/feed.xml"],
                    "sitemaps": [base + "/dead.xml"],
                    "max_articles": 3,
                }
            ],
        )
        done = run(config)
        requested = [p for p in site.paths_seen() if p.startswith("/dead/")]
    assert done.returncode == 0, done.stderr
    assert len(requested) <= 4 * 3  # e.g. 4 x max_articles attempts per run, then wait


@pytest.mark.parametrize("workers", ["1", "0"])
def test_deeply_nested_json_ld_loses_only_the_metadata(workdir: Path, workers: str) -> None:
    (story,) = synthetic_articles(1, seed=75)
    with NewsSite([story], "JSON Gazette") as site:
        html = page(story, site.base).replace(
            "</head>", '<script type="application/ld+json">' + "[" * 100_000 + "</script></head>"
        )
        site.routes[story.path] = serve(html.encode())
        config = write_config(workdir, [{"name": "json", "url": site.base + "/"}])
        done = run(config, "--workers", workers)
    assert done.returncode == 0
    assert stored_urls(workdir / "archive" / "news.db") == {site.base + story.path}


def test_json_output_escapes_c1_controls_and_bidi_overrides(workdir: Path) -> None:
    url = "http://127.0.0.1:9/2026/01/escape/"
    title = f"Harbour {ESCAPES}alert"
    text = "The harbour alert was raised at dawn today, the coastguard said. " * 4
    article = Article(url=url, canonical_url=url, text=text, content_hash="e", title=title)
    db = workdir / "archive" / "news.db"
    with Archive.open(db) as archive:  # as a run stores it (see the escape test above)
        archive.save(
            [PageResult(Candidate(url, "esc"), "article", "2026-01-01T00:00:00Z", article=article)],
            None,
        )
    for args in (("search", "harbour", "--json"), ("show", "1", "--json")):
        shown = run_cli(*args, "--db", str(db), cwd=workdir)
        assert shown.returncode == 0 and "alert" in shown.stdout, shown.stderr
        assert not FORBIDDEN.findall(shown.stdout.replace("\n", "")), args
