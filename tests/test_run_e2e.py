"""`newsarchive run` end to end: a local news site with faults, the real CLI, a real DB."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.demo import pages
from pipeline.demo.pages import SiteArticle
from pipeline.demo.site import NewsSite, Request, Response
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config
from .gate import Gate

CP1252_TEXT = (
    "The café on Quay Road charged £4.50 for a “naïve” espresso — a price that regulars "
    "called ‘outrageous’ at Tuesday’s meeting, where 57 people queued for the microphone."
)


class FaultySite:
    """A NewsSite plus a second feed of pages that misbehave in every usual way."""

    def __init__(self, site: NewsSite, extra: list[SiteArticle]) -> None:
        self.site = site
        self.calls: Counter[str] = Counter()
        self.extra = {a.slug: a for a in extra}
        base = site.base
        routes = {
            "/flaky/": self.flaky,
            "/busy/": self.busy,
            "/slow/": self.slow,
            "/reset/": lambda r: Response(close=True),
            "/r1/": lambda r: Response(302, headers={"Location": "/r2/"}),
            "/r2/": lambda r: Response(301, headers={"Location": f"{base}/r3/"}),
            "/r3/": lambda r: Response(307, headers={"Location": "/landed/"}),
            "/landed/": lambda r: self.article("landed"),
            "/loop-a/": lambda r: Response(302, headers={"Location": "/loop-b/"}),
            "/loop-b/": lambda r: Response(302, headers={"Location": "/loop-a/"}),
            "/gone/": lambda r: Response(404, b"<html>gone</html>", {"Content-Type": "text/html"}),
            "/removed/": lambda r: Response(410, b"", {"Content-Type": "text/html"}),
            "/huge/": lambda r: Response(
                200,
                headers={"Content-Type": "text/html"},
                chunks=(b"<p>" + b"x" * 65536 for _ in range(400)),
            ),
            "/report.pdf": lambda r: Response(
                200, b"%PDF-1.4 ...", {"Content-Type": "application/pdf"}
            ),
            "/cp1252/": self.cp1252,
            "/wire-copy/": self.wire_copy,
            "/private/secret-story/": lambda r: self.article("landed"),
            "/faults.xml": self.feed,
        }
        site.routes.update(routes)

    def article(self, slug: str) -> Response:
        a = self.extra[slug]
        html = pages.article_page(a, self.site.name, self.site.base, [], [])
        return Response(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def flaky(self, request: Request) -> Response:
        self.calls["flaky"] += 1
        if self.calls["flaky"] == 1:
            return Response(503, b"try later", {"Content-Type": "text/plain"})
        return self.article("flaky")

    def busy(self, request: Request) -> Response:
        self.calls["busy"] += 1
        if self.calls["busy"] == 1:
            return Response(429, b"slow down", {"Retry-After": "0"})
        return self.article("busy")

    def slow(self, request: Request) -> Response:
        request.hold(30)  # until the client gives up (or the site stops)
        return self.article("landed")

    def cp1252(self, request: Request) -> Response:
        a = self.extra["cp1252"]
        html = pages.article_page(a, self.site.name, self.site.base, [], [])
        html = html.replace('<meta charset="utf-8">', '<meta charset="windows-1252">')
        body = html.encode("cp1252", errors="xmlcharrefreplace")  # as such a page would
        return Response(200, body, {"Content-Type": "text/html"})

    def wire_copy(self, request: Request) -> Response:
        original = self.site.articles[0]
        copy = SiteArticle(
            slug="wire-copy",
            section="world",
            title=original.title + " (HPA)",
            paragraphs=original.paragraphs,
            published=original.published,
            agency="Harbour Press Association",
        )
        html = pages.article_page(copy, self.site.name, self.site.base, [], [])
        return Response(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def feed(self, request: Request) -> Response:
        paths = [
            "/flaky/",
            "/busy/",
            "/slow/",
            "/reset/",
            "/r1/",
            "/loop-a/",
            "/gone/",
            "/removed/",
            "/huge/",
            "/report.pdf",
            "/cp1252/",
            "/wire-copy/",
            "/private/secret-story/",
        ]
        items = "".join(
            f"<item><title>{p}</title><link>{self.site.base}{p}</link></item>" for p in paths
        )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}'
            "</channel></rss>"
        )
        return Response(200, body.encode(), {"Content-Type": "application/rss+xml"})


@pytest.fixture
def faulty() -> Iterator[FaultySite]:
    extra = [
        replace(a, slug=slug)
        for a, slug in zip(
            synthetic_articles(4, seed=99), ("flaky", "busy", "landed", "cp1252"), strict=True
        )
    ]
    extra[3] = replace(extra[3], paragraphs=(CP1252_TEXT, *extra[3].paragraphs))
    with NewsSite(synthetic_articles(12, seed=3), "Test Gazette", latency=0.02) as site:
        yield FaultySite(site, extra)


def _config(workdir: Path, site: NewsSite, **fetch: object) -> Path:
    return write_config(
        workdir,
        [
            {
                "name": "gazette",
                "url": site.base + "/",
                "feeds": [site.base + "/feed.xml", site.base + "/faults.xml"],
            }
        ],
        # /slow/ answers only after the client gave up: twice (one retry) per run.
        fetch={
            "timeout": 0.5,
            "max_bytes": 2_000_000,
            "user_agent": "newsarchive-test/1.0",
            **fetch,
        },
    )


def test_run_archives_the_site_and_survives_every_fault(faulty: FaultySite, workdir: Path):
    site = faulty.site
    config = _config(workdir, site)
    done = run_cli("run", "--config", str(config), cwd=workdir)
    assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"

    # Every reachable story exactly once, with its metadata.
    rows = query(db, "SELECT url, title, author, published, language, text FROM articles")
    by_url = {r[0]: r for r in rows}
    for article in site.articles:
        url = site.base + article.path
        assert url in by_url, f"{url} not archived"
        _, title, author, published, language, text = by_url[url]
        assert title == article.title
        assert author == "; ".join(article.authors)
        assert published[:16] == article.published[:16]
        assert language == "en"
        assert article.paragraphs[0] in text and article.paragraphs[-1] in text
    assert len(rows) == len(site.articles) + 4  # + flaky, busy, landed, cp1252
    assert len({r[0] for r in rows}) == len(rows)

    # Transient failures retried within the run.
    assert faulty.calls["flaky"] == 2 and faulty.calls["busy"] == 2
    assert site.base + "/flaky/" in by_url and site.base + "/busy/" in by_url
    # Redirect chain: stored at the final address.
    assert site.base + "/landed/" in by_url
    # windows-1252 without mojibake.
    cp = by_url[site.base + "/cp1252/"][5]
    assert CP1252_TEXT in cp

    # Syndicated copy: recorded as a duplicate of the first copy, not a new story.
    dups = query(db, "SELECT d.url, a.url FROM duplicates d JOIN articles a ON a.id = d.article_id")
    assert dups == [(site.base + "/wire-copy/", site.base + site.articles[0].path)]

    # Failures: permanent ones not to be retried, transient ones to be retried later.
    states = dict(query(db, "SELECT url, state || ':' || coalesce(error_kind, '') FROM urls"))
    assert states[site.base + "/gone/"] == "failed:HTTPStatusError"
    assert states[site.base + "/removed/"] == "failed:HTTPStatusError"
    assert states[site.base + "/huge/"] == "failed:TooLargeError"
    assert states[site.base + "/report.pdf"] == "failed:NotHTMLError"
    assert states[site.base + "/loop-a/"] == "failed:RedirectError"
    assert states[site.base + "/private/secret-story/"] == "failed:RobotsDisallowed"
    assert states[site.base + "/slow/"] == "retry:FetchTimeout"
    assert states[site.base + "/reset/"] == "retry:ConnectError"

    seen = site.paths_seen()
    # robots.txt forbids /private/: never requested.
    assert "/private/secret-story/" not in seen
    # Tracking-parameter duplicates (the feed adds utm_*): each story requested once.
    counts = Counter(p.split("?")[0] for p in seen)
    for article in site.articles:
        assert counts[article.path] == 1, article.path
    # Politeness: the configured User-Agent on every request, never more than
    # host_concurrency (2) requests in flight.
    assert all(r.headers.get("user-agent") == "newsarchive-test/1.0" for r in site.requests)
    assert site.max_in_flight <= 2

    # A second run fetches no stored article again; feeds are asked conditionally.
    before = len(site.requests)
    again = run_cli("run", "--config", str(config), "--json", cwd=workdir)
    assert again.returncode == 0, again.stderr
    second = site.requests[before:]
    stored_paths = {article.path for article in site.articles}
    assert not [r for r in second if r.path.split("?")[0] in stored_paths]
    feed_requests = [r for r in second if r.path == "/feed.xml"]
    assert feed_requests and all("if-none-match" in r.headers for r in feed_requests)
    summary = json.loads(again.stdout)
    assert summary["totals"]["new"] == 0
    assert len(query(db, "SELECT id FROM articles")) == len(rows)


def test_concurrency_reaches_but_never_exceeds_host_concurrency(workdir: Path):
    with NewsSite(synthetic_articles(16, seed=5)) as site:
        # Each story page waits until three are asked for together: a run that keeps
        # fewer in flight stalls at the gate, one that sends more has four there at once.
        Gate(site, [a.path for a in site.articles], batch=3)
        config = write_config(
            workdir, [{"name": "s", "url": site.base + "/"}], defaults={"host_concurrency": 3}
        )
        done = run_cli("run", "--config", str(config), cwd=workdir)
        assert done.returncode == 0, done.stderr
        assert site.max_in_flight == 3
        assert len(query(workdir / "archive" / "news.db", "SELECT id FROM articles")) == 16


def test_max_articles_caps_new_stories_per_run_and_the_rest_wait(workdir: Path):
    with NewsSite(synthetic_articles(10, seed=8)) as site:
        config = write_config(workdir, [{"name": "s", "url": site.base + "/", "max_articles": 4}])
        db = workdir / "archive" / "news.db"
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert len(query(db, "SELECT id FROM articles")) == 4
        pending = query(db, "SELECT count(*) FROM urls WHERE state = 'pending'")[0][0]
        assert pending == 6
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        assert len(query(db, "SELECT id FROM articles")) == 8
        # The newest stories come first.
        newest = {site.base + a.path for a in site.articles[:8]}
        assert {r[0] for r in query(db, "SELECT url FROM articles")} == newest


def test_a_source_that_yields_nothing_because_it_failed_exits_1(workdir: Path, site: NewsSite):
    with NewsSite([]) as broken:
        broken.routes["/"] = lambda r: Response(500, b"down")
        config = write_config(
            workdir,
            [
                {"name": "good", "url": site.base + "/"},
                {"name": "bad", "url": broken.base + "/", "feeds": [broken.base + "/nofeed.xml"]},
            ],
            fetch={"retries": 0},
        )
        done = run_cli("run", "--config", str(config), cwd=workdir)
    assert done.returncode == 1
    assert "source 'bad' yielded nothing" in done.stderr
    db = workdir / "archive" / "news.db"
    assert len(query(db, "SELECT id FROM articles WHERE source = 'good'")) == len(site.articles)
    record = query(db, "SELECT status, exit_code FROM runs")
    assert record == [("finished", 1)]
    errors = query(db, "SELECT error FROM run_sources WHERE source = 'bad'")[0][0]
    assert "nofeed.xml" in errors and "404" in errors


def test_feed_autodiscovery_sitemaps_and_listing_fallback(workdir: Path):
    arts = synthetic_articles(6, seed=11)
    with NewsSite(arts) as site:  # feed announced on the home page, sitemap in robots.txt
        config = write_config(workdir, [{"name": "auto", "url": site.base + "/"}])
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        seen = site.paths_seen()
        assert "/feed.xml" in seen and "/sitemap_index.xml" in seen
        assert "/news-sitemap.xml" in seen and "/sitemap-articles.xml" in seen
    with NewsSite(arts, robots="User-agent: *\nDisallow:\n") as bare:
        bare.routes["/feed.xml"] = lambda r: Response(404, b"")
        bare.routes["/sitemap.xml"] = lambda r: Response(404, b"")
        home = pages.listing_page("Home", "Bare", arts)  # no <link rel=alternate>
        bare.routes["/"] = lambda r: Response(200, home.encode(), {"Content-Type": "text/html"})
        (workdir / "b").mkdir()
        config = write_config(workdir / "b", [{"name": "bare", "url": bare.base + "/"}])
        assert run_cli("run", "--config", str(config), cwd=workdir / "b").returncode == 0
        db = workdir / "b" / "archive" / "news.db"
        assert len(query(db, "SELECT id FROM articles")) == len(arts)
        # Link discovery leaves out the about and author pages.
        urls = {r[0] for r in query(db, "SELECT url FROM urls")}
        assert not any("/author/" in u or u.endswith("/about/") for u in urls)
