"""Discovery documents as sites really serve them (issue 13, items 1-6), end to end:
the local site serves the hand-written files of tests/fixtures/discovery, and the real
Discoverer reads them through the real Fetcher into a real archive (or the real CLI
runs against the site)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.config.loader import parse
from pipeline.demo.site import NewsSite, Request, Response
from pipeline.discover.discoverer import DiscoveryStats, discover
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.fetch.netguard import AddressPolicy, make_client
from pipeline.store import Archive
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def site() -> Iterator[NewsSite]:
    """A site with no stories of its own and a home page that links to nothing: what
    is found comes from the documents a test serves."""
    with NewsSite([], "Bare Gazette") as served:
        served.routes["/"] = lambda request: Response(
            200, b"<!doctype html><html><body><p>Hello</p></body></html>", HTML
        )
        yield served


def fixture(name: str, site: NewsSite) -> bytes:
    return (FIXTURES / name).read_text("utf-8").replace("{base}", site.base).encode()


def serve(body: bytes, content_type: str | None, etag: str | None = None) -> Any:
    def route(request: Request) -> Response:
        headers = {"Content-Type": content_type} if content_type else {}
        if etag is not None:
            headers["ETag"] = etag
            if request.headers.get("if-none-match") == etag:
                return Response(304, b"", headers)
        return Response(200, body, headers)

    return route


def run_discovery(
    site: NewsSite, entry: dict[str, Any], db: Path, now: datetime = NOW
) -> DiscoveryStats:
    """One source's discovery, as a run does it: real client, fetcher and archive."""
    config = parse(
        {"fetch": {"timeout": 5, "retries": 0}, "defaults": {"delay": 0}, "sources": [entry]},
        str(db.parent / "sources.yaml"),
        db.parent,
    )
    source = config.sources[0]

    async def go(archive: Archive) -> DiscoveryStats:
        async with make_client(
            AddressPolicy(allow_private=True), user_agent="t", timeout=5, max_connections=4
        ) as client:
            fetcher = Fetcher(client, config.fetch, robots_cache=archive)
            fetcher.set_rules(source.url, HostRules(0, 2, respect_robots=True))
            return await discover(source, fetcher, archive, now, timedelta(hours=24))

    with Archive.open(db) as archive:
        return asyncio.run(go(archive))


def frontier(db: Path) -> dict[str, tuple[str | None, str | None]]:
    """url -> (published hint, title hint) of every discovered URL."""
    rows = query(db, "SELECT url, hint_published, hint_title FROM urls")
    return {url: (published, title) for url, published, title in rows}


def feed_state(db: Path, url: str) -> tuple[str, str | None, int]:
    rows = query(db, "SELECT status, error, failures FROM feeds WHERE url = ?", (url,))
    assert rows, url
    return rows[0]


# --- 1. image, news and video sitemaps -------------------------------------------------------


def test_image_news_and_video_sitemaps_give_the_pages_not_the_media(
    site: NewsSite, tmp_path: Path
) -> None:
    for name in ("image_sitemap.xml", "news_sitemap.xml", "video_sitemap.xml"):
        site.routes["/" + name] = serve(fixture(name, site), "application/xml")
    db = tmp_path / "news.db"
    stats = run_discovery(
        site,
        {
            "name": "gazette",
            "url": site.base + "/",
            "sitemaps": [
                site.base + "/image_sitemap.xml",
                site.base + "/news_sitemap.xml",
                site.base + "/video_sitemap.xml",
            ],
        },
        db,
    )
    assert stats.errors == []
    b = site.base
    assert frontier(db) == {
        f"{b}/2026/11/harbour-wall-repairs-begin/": ("2026-11-20T09:00:00Z", None),
        f"{b}/2026/11/new-ferry-timetable-from-monday/": (None, None),
        f"{b}/2026/11/market-day-returns-to-the-square/": (None, None),
        # The news extension's own date and title are the story's...
        f"{b}/2026/11/council-votes-on-school-places/": (
            "2026-11-20T07:30:00Z",
            "Council votes on school places",
        ),
        f"{b}/2026/11/winter-shelters-open-early/": ("2026-11-19", "Winter shelters open early"),
        # ...the video's title and date are the video's, not the page's.
        f"{b}/2026/11/watch-the-lifeboat-launch/": ("2026-11-18T16:00:00Z", None),
    }


# --- 2. a truncated sitemap ------------------------------------------------------------------


def test_a_truncated_sitemap_keeps_every_complete_url_and_records_the_damage(
    site: NewsSite, tmp_path: Path
) -> None:
    site.routes["/sitemap-cut.xml"] = serve(
        fixture("truncated_sitemap.xml", site), "application/xml"
    )
    db = tmp_path / "news.db"
    url = site.base + "/sitemap-cut.xml"
    stats = run_discovery(site, {"name": "gazette", "url": site.base + "/", "sitemaps": [url]}, db)
    found = frontier(db)
    assert len(found) == 30
    assert site.base + "/2026/10/story-number-30-from-the-archive/" in found
    assert not [u for u in found if "story-number-31" in u]  # the URL cut in two is no URL
    assert found[site.base + "/2026/10/story-number-7-from-the-archive/"][0] == "2026-10-07"
    # The damage is recorded against the sitemap, and reported.
    status, error, failures = feed_state(db, url)
    assert (status, failures) == ("error", 1)
    assert error is not None and error.startswith("invalid: damaged: malformed sitemap XML")
    assert "kept the 30 before it" in error
    assert [str(e) for e in stats.errors] == [f"{url}: {error.removeprefix('invalid: ')}"]


# --- 3. plain-text sitemaps ------------------------------------------------------------------


def test_a_text_sitemap_with_prose_gives_its_urls_whatever_the_content_type(
    site: NewsSite, tmp_path: Path
) -> None:
    body = fixture("text_sitemap.txt", site)
    site.routes["/sitemap.txt"] = serve(body, "text/plain; charset=utf-8")
    site.routes["/sitemap-untyped.txt"] = serve(body, None)
    site.routes["/sitemap-as-xml.txt"] = serve(body, "application/xml")
    expected = {
        f"{site.base}/2026/11/{slug}/"
        for slug in (
            "bridge-reopens-after-storm-damage",
            "library-extends-its-opening-hours",
            "new-bus-route-to-the-hospital",
            "fishing-quotas-cut-again",
        )
    }
    for n, path in enumerate(("/sitemap.txt", "/sitemap-untyped.txt", "/sitemap-as-xml.txt")):
        db = tmp_path / f"news{n}.db"
        entry = {"name": "gazette", "url": site.base + "/", "sitemaps": [site.base + path]}
        stats = run_discovery(site, entry, db)
        assert stats.errors == [], path
        assert set(frontier(db)) == expected, path
        assert feed_state(db, site.base + path)[:2] == ("ok", None)


# --- 4. date-only lastmod --------------------------------------------------------------------


def test_a_child_sitemap_dated_today_is_read_again_later_that_day(
    site: NewsSite, tmp_path: Path
) -> None:
    """The morning run reads the child; a story added at noon, with the index still
    saying lastmod 2026-11-20 (a date: time unknown), is found by the evening run."""
    story, later = synthetic_articles(2, seed=8)
    child_stories = [story]

    def child(request: Request) -> Response:
        locs = "".join(f"<url><loc>{site.base}{a.path}</loc></url>" for a in child_stories)
        return Response(200, f"<urlset>{locs}</urlset>".encode(), {"Content-Type": "text/xml"})

    site.routes["/child.xml"] = child
    site.routes["/index.xml"] = serve(
        f"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>{site.base}/child.xml</loc><lastmod>2026-11-20</lastmod></sitemap>
        <sitemap><loc>{site.base}/old.xml</loc><lastmod>2026-11-02</lastmod></sitemap>
        </sitemapindex>""".encode(),
        "application/xml",
    )
    site.routes["/old.xml"] = serve(b"<urlset></urlset>", "text/xml")
    db = tmp_path / "news.db"
    entry = {"name": "gazette", "url": site.base + "/", "sitemaps": [site.base + "/index.xml"]}
    morning = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    run_discovery(site, entry, db, morning)
    assert set(frontier(db)) == {site.base + story.path}
    child_stories.append(later)  # published at noon; the index's lastmod is unchanged
    evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    before = site.paths_seen().count("/old.xml")
    run_discovery(site, entry, db, evening)
    assert set(frontier(db)) == {site.base + story.path, site.base + later.path}
    # A child whose date is over is still skipped once read after it.
    assert site.paths_seen().count("/old.xml") == before


# --- 5. a broken feed behind an ETag ---------------------------------------------------------


def test_a_broken_feed_that_answers_304_stays_flagged(workdir: Path) -> None:
    """Three cron runs on a feed that cannot be parsed, served with an ETag: the second
    and third get 304s, which confirm the broken content; the source is flagged."""
    with NewsSite(synthetic_articles(3, seed=5), "Broken Gazette") as site:
        site.routes["/feed.xml"] = serve(
            b"<rss version='2.0'><channel><item><title>a & b</titl", "text/xml", '"v1"'
        )
        config = write_config(
            workdir,
            [{"name": "broken", "url": site.base + "/", "feeds": [site.base + "/feed.xml"]}],
        )
        reports = []
        for _ in range(3):
            done = run_cli("run", "--config", str(config), "--json", cwd=workdir)
            assert "Traceback" not in done.stderr, done.stderr
            reports.append(json.loads(done.stdout))
        assert [r.get("if-none-match") for r in _feed_requests(site)] == [None, '"v1"', '"v1"']
    db = workdir / "archive" / "news.db"
    status, error, failures = feed_state(db, site.base + "/feed.xml")
    assert (status, failures) == ("error", 3)
    assert error is not None and error.startswith("invalid: not a usable feed")
    for report in reports:
        assert report["sources"]["broken"]["feed_errors"] == 1
    unhealthy = reports[-1]["sources"]["broken"]["unhealthy"]
    assert len(unhealthy) == 1 and "feed.xml failed its last 3 checks" in unhealthy[0]


def _feed_requests(site: NewsSite) -> list[dict[str, str]]:
    return [r.headers for r in site.requests if r.path == "/feed.xml"]


# --- 6. JSON Feed, UTF-32, no Content-Type ---------------------------------------------------


def test_a_json_feed_found_on_the_home_page_is_read(site: NewsSite, tmp_path: Path) -> None:
    site.routes["/"] = serve(
        b'<!doctype html><html><head><title>Gazette</title><link rel="alternate"'
        b' type="application/feed+json" href="/feed.json"></head><body><p>Hello</p></body>'
        b"</html>",
        "text/html",
    )
    site.routes["/feed.json"] = serve(fixture("feed.json", site), "application/feed+json")
    db = tmp_path / "news.db"
    stats = run_discovery(site, {"name": "gazette", "url": site.base + "/"}, db)
    assert stats.errors == []
    assert frontier(db) == {
        f"{site.base}/2026/11/tide-tables-for-the-winter/": (
            "2026-11-20T06:15:00Z",
            "Tide tables for the winter",
        ),
        f"{site.base}/2026/11/school-roof-repaired-in-time/": (
            "2026-11-19T18:00:00Z",
            "School roof repaired in time",
        ),
    }
    assert feed_state(db, site.base + "/feed.json")[:2] == ("ok", None)


def test_a_utf32_feed_is_read(site: NewsSite, tmp_path: Path) -> None:
    text = fixture("feed_utf32.xml", site).decode("utf-8")
    for n, codec in enumerate(("utf-32", "utf-32-le", "utf-32-be")):
        site.routes[f"/feed{n}.xml"] = serve(text.encode(codec), "application/rss+xml")
        db = tmp_path / f"news{n}.db"
        entry = {"name": "gazette", "url": site.base + "/", "feeds": [f"{site.base}/feed{n}.xml"]}
        stats = run_discovery(site, entry, db)
        assert stats.errors == [], codec
        assert frontier(db) == {
            f"{site.base}/2026/11/le-port-rouvre-apres-la-tempete/": (
                "2026-11-20T08:00:00Z",
                "Le port rouvre après la tempête",
            ),
            f"{site.base}/2026/11/marche-de-noel-les-dates/": (None, "Marché de Noël : les dates"),
        }, codec


def test_an_empty_feed_without_a_content_type_is_reported_as_empty(
    site: NewsSite, tmp_path: Path
) -> None:
    site.routes["/feed.xml"] = serve(b"", None)
    db = tmp_path / "news.db"
    url = site.base + "/feed.xml"
    stats = run_discovery(site, {"name": "gazette", "url": site.base + "/", "feeds": [url]}, db)
    assert [str(e) for e in stats.errors] == [f"{url}: empty feed (no content)"]


def test_a_home_page_without_a_content_type_is_sniffed(site: NewsSite, tmp_path: Path) -> None:
    """A home page served with no Content-Type, starting with a long generator comment:
    sniffed as a browser does (WHATWG: "<!--" is an HTML signature), not refused as
    "not HTML (no content type)"; its feed is found."""
    banner = "<!-- " + "Generated by the Gazette publishing system. " * 40 + "-->\n"
    home = (
        banner + '<html><head><link rel="alternate" type="application/feed+json"'
        ' href="/feed.json"></head><body><div>Hello</div></body></html>'
    )
    site.routes["/"] = serve(home.encode(), None)
    site.routes["/feed.json"] = serve(fixture("feed.json", site), None)
    db = tmp_path / "news.db"
    stats = run_discovery(site, {"name": "gazette", "url": site.base + "/"}, db)
    assert stats.errors == []
    assert len(frontier(db)) == 2


def test_a_feed_that_is_an_error_text_is_an_error_not_an_empty_sitemap(
    site: NewsSite, tmp_path: Path
) -> None:
    """Anything that is not markup may be a text sitemap, but one with no URL in it is
    what it looks like: an error page, reported as such."""
    site.routes["/feed.xml"] = serve(b"Service temporarily unavailable\n", "text/plain")
    site.routes["/sitemap.txt"] = serve(b"", "text/plain")
    db = tmp_path / "news.db"
    entry = {
        "name": "gazette",
        "url": site.base + "/",
        "feeds": [site.base + "/feed.xml"],
        "sitemaps": [site.base + "/sitemap.txt"],
    }
    stats = run_discovery(site, entry, db)
    assert [str(e) for e in stats.errors] == [
        f"{site.base}/feed.xml: not a sitemap (no http(s) URL on any of its 1 lines)",
        f"{site.base}/sitemap.txt: not a sitemap (no content)",
    ]
