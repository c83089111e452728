"""Issue 16 item 1 end to end: the real CLI against a local site whose article pages
are consent, challenge and login walls (in several languages) or paywalled stories.
Walls are never stored and are tried again later; paywalled stories are stored with
their label; a source whose pages turn into challenges is flagged `blocked`; the user's
cookies reach the site and no log line or WARC record holds them."""

from __future__ import annotations

import gzip
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from pipeline.demo.site import NewsSite, Request, Response, Route
from tests.synth import synthetic_articles

from .access_pages import CHALLENGE, CONSENT, LOGIN, PAYWALLED
from .conftest import query, run_cli, write_config

HTML = {"Content-Type": "text/html; charset=utf-8"}
NO_SITEMAPS = "User-agent: *\nDisallow:\n"


def _serve(html: str, status: int = 200) -> Route:
    def route(request: Request) -> Response:
        return Response(status, html.encode("utf-8"), dict(HTML))

    return route


def _config(workdir: Path, site: NewsSite, **extra: object) -> Path:
    source = {"name": "gazette", "url": site.base + "/", "feeds": [site.base + "/feed.xml"]}
    return write_config(workdir, [{**source, **extra}])


def test_walls_are_not_stored_and_paywalled_stories_are_stored_with_their_label(
    workdir: Path,
) -> None:
    articles = synthetic_articles(9, seed=5)
    with NewsSite(articles, robots=NO_SITEMAPS) as site:
        walls = {
            site.articles[0].path: ("consent_wall", _serve(CONSENT["de"])),
            site.articles[1].path: ("consent_wall", _serve(CONSENT["fr"])),
            site.articles[2].path: ("bot_challenge", _serve(CHALLENGE["cloudflare"])),
            site.articles[3].path: ("bot_challenge", _serve(CHALLENGE["akamai"], 403)),
            site.articles[4].path: ("login_wall", _serve(LOGIN["en"])),
            site.articles[5].path: ("login_wall", _serve(LOGIN["de"])),
        }
        paywalled = {
            site.articles[6].path: _serve(PAYWALLED["en-metadata"]),
            site.articles[7].path: _serve(PAYWALLED["de-marker"]),
        }
        for path, (_label, route) in walls.items():
            site.routes[path] = route
        for path, route in paywalled.items():
            site.routes[path] = route
        config = _config(workdir, site)
        done = run_cli("run", "--config", str(config), "--json", cwd=workdir)
        assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    stored = dict(query(db, "SELECT url, access FROM articles"))
    for path in walls:
        assert site.base + path not in stored
    assert {url: stored[url] for url in stored} == {
        **{site.base + p: "paywalled" for p in paywalled},
        site.base + site.articles[8].path: "ok",
    }
    states = {
        url: (state, kind)
        for url, state, kind in query(db, "SELECT url, state, error_kind FROM urls")
    }
    for path, (label, _route) in walls.items():
        assert states[site.base + path] == ("retry", label), path
    kinds = sorted(k for (k,) in query(db, "SELECT kind FROM failures"))
    assert kinds == sorted(label for label, _ in walls.values())

    found = run_cli(
        "export", "--db", str(db), "--access", "paywalled", "--format", "jsonl", cwd=workdir
    )
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert sorted(r["url"] for r in rows) == sorted(site.base + p for p in paywalled)
    assert {r["access"] for r in rows} == {"paywalled"}
    ok = run_cli(
        "search",
        "berths OR harbour OR Brücke",
        "--db",
        str(db),
        "--access",
        "ok",
        "--json",
        cwd=workdir,
    )
    assert ok.returncode == 0, ok.stderr
    assert all(
        json.loads(line)["url"] not in {site.base + p for p in paywalled}
        for line in ok.stdout.splitlines()
    )
    shown = run_cli("show", site.base + site.articles[6].path, "--db", str(db), cwd=workdir)
    assert "access: paywalled" in shown.stdout


def test_a_challenge_is_retried_on_a_later_run_and_stored_once_the_site_serves_the_story(
    workdir: Path,
) -> None:
    articles = synthetic_articles(3, seed=8)
    with NewsSite(articles, robots=NO_SITEMAPS) as site:
        blocked = site.articles[0]
        site.routes[blocked.path] = _serve(CHALLENGE["cloudflare"], 503)
        config = _config(workdir, site)
        first = run_cli("run", "--config", str(config), cwd=workdir)
        assert first.returncode == 0, first.stderr
        db = workdir / "archive" / "news.db"
        url = site.base + blocked.path
        assert query(db, "SELECT state, error_kind FROM urls WHERE url = ?", (url,)) == [
            ("retry", "bot_challenge")
        ]
        assert query(db, "SELECT count(*) FROM articles WHERE url = ?", (url,)) == [(0,)]
        # Asked once in the run (a challenge is not asked again at once), not 1 + retries.
        assert site.paths_seen().count(blocked.path) == 1
        # The back-off has not passed: the next run leaves it alone.
        run_cli("run", "--config", str(config), cwd=workdir)
        assert site.paths_seen().count(blocked.path) == 1
        # Time passes (the back-off is over) and the site serves the story again.
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE urls SET next_attempt_at = '2000-01-01T00:00:00Z' WHERE url = ?", (url,)
            )
        del site.routes[blocked.path]
        later = run_cli("run", "--config", str(config), cwd=workdir)
        assert later.returncode == 0, later.stderr
    assert query(db, "SELECT access FROM articles WHERE url = ?", (url,)) == [("ok",)]
    assert query(db, "SELECT state FROM urls WHERE url = ?", (url,)) == [("stored",)]


def test_a_source_whose_pages_turn_into_challenges_is_flagged_blocked(workdir: Path) -> None:
    articles = synthetic_articles(6, seed=9)
    with NewsSite(articles, robots=NO_SITEMAPS) as site:
        config = _config(workdir, site)
        assert run_cli("run", "--config", str(config), cwd=workdir).returncode == 0
        # The site starts answering every new story with a challenge.
        fresh = synthetic_articles(10, seed=10)[6:]
        site.set_articles([*articles, *fresh])
        for article in fresh:
            site.routes[article.path] = _serve(CHALLENGE["perimeterx"], 403)
        done = run_cli("run", "--config", str(config), "--json", cwd=workdir)
    report = json.loads(done.stdout)
    unhealthy = " ".join(report["sources"]["gazette"]["unhealthy"])
    assert "were walls" in unhealthy and "bot_challenge" in unhealthy
    stats = run_cli("stats", "--config", str(config), "--json", cwd=workdir)
    assert "blocked" in json.loads(stats.stdout)["gazette"]["flags"]


def test_cookies_from_cookies_file_reach_the_site_and_are_never_logged_or_captured(
    workdir: Path,
) -> None:
    secret, token = "s3cr3t-consent-cookie-4711", "t0ken-abc-998877"
    articles = synthetic_articles(3, seed=11)
    with NewsSite(articles, robots=NO_SITEMAPS) as site:
        cookies = workdir / "cookies.txt"
        cookies.write_text(
            "# Netscape HTTP Cookie File\n"
            f"127.0.0.1\tFALSE\t/\tFALSE\t0\tconsent\t{secret}\n"
            f".other.example\tTRUE\t/\tFALSE\t0\telsewhere\tnot-for-this-site\n",
            "utf-8",
        )

        # Without the consent cookie the site shows its consent wall.
        def gated(request: Request) -> Response:
            if f"consent={secret}" in request.headers.get("cookie", ""):
                return site.page(request)
            return Response(200, CONSENT["en"].encode(), dict(HTML))

        for article in site.articles:
            site.routes[article.path] = gated
        config = _config(
            workdir, site, cookies_file="cookies.txt", headers={"X-Subscriber-Token": token}
        )
        done = run_cli("run", "-vv", "--config", str(config), cwd=workdir)
        assert done.returncode == 0, done.stderr
        seen = [r.headers for r in site.requests if r.path in {a.path for a in articles}]
    assert seen and all(f"consent={secret}" in h.get("cookie", "") for h in seen)
    assert all("not-for-this-site" not in h.get("cookie", "") for h in seen)
    assert all(h.get("x-subscriber-token") == token for h in seen)
    db = workdir / "archive" / "news.db"
    assert query(db, "SELECT count(*) FROM articles") == [(3,)]
    captured = b"".join(
        gzip.decompress(Path(w).read_bytes())
        for w in (workdir / "archive" / "warc").glob("*.warc.gz")
    )
    assert b"WARC-Type: request" in captured and b"[redacted]" in captured
    for value in (secret, token):
        assert value not in done.stdout and value not in done.stderr
        assert value.encode() not in captured


def test_bad_headers_and_cookie_files_are_one_line_config_errors(workdir: Path) -> None:
    base = {"name": "gazette", "url": "https://news.example/"}
    cases = [
        ({"headers": {"X-Token": "a\r\nInjected: 1"}}, "line break"),
        ({"headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({"cookies_file": "missing.txt"}, "file not found"),
        ({"cookies_file": "broken.txt"}, "line 2"),
    ]
    (workdir / "broken.txt").write_text(
        "# Netscape HTTP Cookie File\nnews.example TRUE / FALSE 0 consent hidden-value\n",
        "utf-8",
    )
    for extra, expected in cases:
        config = write_config(workdir, [{**base, **extra}])
        done = run_cli("run", "--config", str(config), cwd=workdir)
        assert done.returncode == 2, done.stderr
        message = done.stderr.strip()
        assert len(message.splitlines()) == 1, message
        assert expected in message and "gazette" in message and "line" in message, message
        assert "hidden-value" not in message and "Injected" not in message
        key = next(iter(extra))
        assert f"'{key}" in message, message


def test_try_shows_the_access_label_and_why(workdir: Path) -> None:
    page = workdir / "page.html"
    page.write_text(PAYWALLED["de-marker"], "utf-8")
    url = "https://zeitung.example/2024/05/neue-bruecke"
    plain = run_cli("try", url, "--html", str(page), cwd=workdir)
    assert plain.returncode == 0, plain.stderr
    assert "Access: paywalled (the text ends at a subscribe-to-continue notice)" in plain.stdout
    page.write_text(CONSENT["it"], "utf-8")
    done = run_cli("try", url, "--html", str(page), "--json", cwd=workdir)
    report = json.loads(done.stdout)
    assert (report["access"], report["article"]) == ("consent_wall", None)
    assert report["verdict"] == "a consent dialog in place of the story"


def test_a_story_much_shorter_than_its_feed_summary_is_stored_as_paywalled(
    workdir: Path,
) -> None:
    articles = synthetic_articles(2, seed=12)
    whole, cut = articles
    # The feed's summary holds the whole story; the page serves two paragraphs of it.
    cut = replace(cut, summary=" ".join(cut.paragraphs * 2))
    with NewsSite([whole, cut], robots=NO_SITEMAPS) as site:
        teaser = "".join(f"<p>{p}</p>" for p in cut.paragraphs[:2])
        site.routes[cut.path] = _serve(
            f"<html><head><title>{cut.title}</title></head><body><article>"
            f"<h1>{cut.title}</h1>{teaser}</article></body></html>"
        )
        done = run_cli("run", "--config", str(_config(workdir, site)), cwd=workdir)
        assert done.returncode == 0, done.stderr
    db = workdir / "archive" / "news.db"
    assert dict(query(db, "SELECT url, access FROM articles")) == {
        site.base + whole.path: "ok",
        site.base + cut.path: "paywalled",
    }
