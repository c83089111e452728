"""Politeness and failure on the real web (issue 13, items 7-11), through the real CLI
against local sites: robots.txt rules matched on the URL as requested, one guess per
host per run, proxies under the address policy, unresolvable hosts, pages whose
extraction worker was killed from outside."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.demo import pages
from pipeline.demo.site import NewsSite, Request, Response
from tests.synth import synthetic_articles

from .conftest import query, run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    done = run_cli("run", "--config", str(config), *args, cwd=config.parent, env=env)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


def urlset(urls: list[str]) -> bytes:
    locs = "".join(f"<url><loc>{u.replace('&', '&amp;')}</loc></url>" for u in urls)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


# --- 8. one guess per host per run -----------------------------------------------------------


def test_sources_on_one_host_share_its_robots_guessed_sitemap_and_home_page(
    workdir: Path,
) -> None:
    """Four sources on one site (as a newsroom configures one per section), none with
    feeds or sitemaps configured: robots.txt, the guessed /sitemap.xml and the home
    page are each fetched once in the run, and every source still gets its stories."""
    articles = synthetic_articles(8, seed=13)
    robots = "User-agent: *\nDisallow: /private/\n"  # no Sitemap line: /sitemap.xml is a guess
    with NewsSite(articles, "Shared Gazette", robots=robots) as site:
        site.routes["/sitemap.xml"] = lambda r: Response(
            200, urlset([site.base + a.path for a in articles]), {"Content-Type": "text/xml"}
        )
        site.routes["/"] = lambda r: Response(200, b"<html><body><p>Home</p></body></html>", HTML)
        sources = [
            {"name": f"desk-{n}", "url": site.base + "/", "include": [f"-{n}/$|-{n + 4}/$"]}
            for n in range(1, 5)
        ]
        config = write_config(workdir, sources)
        done = run(config, "--json")
        seen = site.paths_seen()
    assert done.returncode == 0, done.stderr
    assert seen.count("/robots.txt") == 1
    assert seen.count("/sitemap.xml") == 1
    assert seen.count("/") == 1
    report = json.loads(done.stdout)
    assert {name: s["new"] for name, s in report["sources"].items()} == {
        f"desk-{n}": 2 for n in range(1, 5)
    }


# --- 10. a host that does not resolve --------------------------------------------------------


def test_a_host_that_does_not_resolve_says_so_once(workdir: Path) -> None:
    config = write_config(workdir, [{"name": "gone", "url": "http://news.invalid/"}])
    done = run(config)
    assert done.returncode == 1
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, done.stderr
    assert "gone: http://news.invalid/: cannot resolve news.invalid" in warnings[0]
    assert "robots.txt" not in done.stderr
    assert "source 'gone' yielded nothing: http://news.invalid/: cannot resolve news.invalid" in (
        done.stderr
    )


# --- 11. a worker killed from outside; --retry-failed ----------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def extraction_workers() -> list[int]:
    """The extraction workers of the CLI run this test started: the children of the
    forkserver of a `python -m pipeline run` child of this process."""
    workers = []
    for cli in _children(os.getpid()):
        if "-m pipeline run" in _cmdline(cli):
            for server in _children(cli):
                if "forkserver" in _cmdline(server):
                    workers += _children(server)
    return workers


def kill_workers_then(body: bytes) -> Any:
    """A route that SIGKILLs the run's extraction workers (as the OOM killer or an
    operator would), waits until they are gone, then answers `body`."""

    def route(request: Request) -> Response:
        waiting = threading.Event()
        for _ in range(2000):  # the workers start with the first extraction
            workers = extraction_workers()
            if workers:
                break
            waiting.wait(0.01)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        for _ in range(2000):
            if not set(workers) & set(extraction_workers()):
                break
            waiting.wait(0.01)
        return Response(200, body, HTML)

    return route


def test_a_page_whose_worker_was_killed_from_outside_is_tried_again(workdir: Path) -> None:
    first, second = synthetic_articles(2, seed=17)  # first is the newer: fetched first
    with NewsSite([first, second], "Killed Gazette") as site:
        html = pages.article_page(second, site.name, site.base, [], []).encode()
        site.routes[second.path] = kill_workers_then(html)
        feed = [f"{site.base}/feed.xml"]
        config = write_config(workdir, [{"name": "gazette", "url": site.base + "/", "feeds": feed}])
        done = run(config, "--workers", "1")
        assert done.returncode == 0, done.stderr
        db = workdir / "archive" / "news.db"
        killed = query(db, "SELECT url, state FROM urls WHERE error_kind = 'WorkerKilled'")
        # The one page in the worker when it was killed: not the page's fault, retried.
        assert len(killed) == 1 and killed[0][1] == "retry", killed
        assert query(db, "SELECT kind, permanent FROM failures") == [("WorkerKilled", 0)]
        assert query(db, "SELECT count(*) FROM urls WHERE state = 'failed'") == [(0,)]


def test_retry_failed_gives_the_failed_urls_of_the_sources_run_another_chance(
    workdir: Path,
) -> None:
    ours, theirs = synthetic_articles(2, seed=19)
    with NewsSite([ours, theirs], "Mended Gazette") as site:
        for story in (ours, theirs):  # broken at first: a permanent failure
            site.routes[story.path] = lambda r: Response(404, b"<p>gone</p>", HTML)
        sources = [
            {"name": name, "url": site.base + "/", "include": [re.escape(story.path)]}
            for name, story in (("ours", ours), ("theirs", theirs))
        ]
        config = write_config(workdir, sources)
        db = workdir / "archive" / "news.db"
        run(config)
        states = "SELECT source, state FROM urls WHERE error_kind IS NOT NULL ORDER BY source"
        assert query(db, states) == [("ours", "failed"), ("theirs", "failed")]
        site.routes.clear()  # the site is mended
        run(config)
        assert query(db, "SELECT count(*) FROM articles") == [(0,)]  # failed stays failed
        done = run(config, "--retry-failed", "--source", "ours", "--json")
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["new"] == 1
    assert query(db, "SELECT source, url FROM articles") == [("ours", site.base + ours.path)]
    assert query(db, states) == [("theirs", "failed")]


# --- 9. a proxy is no way around the address policy ------------------------------------------


class RecordingProxy:
    """A forward proxy on 127.0.0.1 that reaches everything, as proxies in clouds and
    offices do: it answers absolute-form requests from `answers` (URL -> (status,
    headers, body)) and records every URL it is asked for."""

    def __init__(self, answers: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.asked.append(self.path)
                status, headers, body = proxy.answers.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RecordingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return f'<rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode()


def test_a_proxy_is_no_way_around_the_address_policy(workdir: Path) -> None:
    public = "http://gazette.invalid"  # resolvable by the proxy alone
    intranet = "http://127.0.0.1:9"  # the user's own intranet source, opted in
    stories = synthetic_articles(3, seed=23)
    inside = [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9/admin/",
        "http://localhost:9/admin/",
        "http://10.0.0.1/",
        "http://[::1]:9/admin/",
        "http://0x7f.1:9/admin/",
    ]
    rss_type = {"Content-Type": "application/rss+xml"}
    answers: dict[str, tuple[int, dict[str, str], bytes]] = {
        f"{public}/feed.xml": (
            200,
            rss_type,
            rss([public + s.path for s in stories[:2]] + inside + [f"{public}/go/"]),
        ),
        f"{public}/go/": (302, {"Location": "http://169.254.169.254/latest/user-data/"}, b""),
        f"{intranet}/feed.xml": (200, rss_type, rss([intranet + stories[2].path])),
    }
    for base, story in ((public, stories[0]), (public, stories[1]), (intranet, stories[2])):
        answers[base + story.path] = (
            200,
            HTML,
            pages.article_page(story, "Proxied Gazette", base, [], []).encode(),
        )
    sources = [
        {"name": "public", "url": public + "/", "feeds": [public + "/feed.xml"]},
        {"name": "intranet", "url": intranet + "/", "feeds": [intranet + "/feed.xml"]},
    ]
    config = write_config(workdir, sources, fetch={"retries": 0})
    with RecordingProxy(answers) as proxy:
        env = {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""}
        done = run(config, "--json", env=env)
    assert done.returncode == 0, done.stderr
    # Nothing inside was asked of the proxy, directly or by a redirect.
    assert not [url for url in proxy.asked if not url.startswith((public, intranet + "/"))]
    assert f"{intranet}/admin/" not in proxy.asked
    db = workdir / "archive" / "news.db"
    failed = dict(query(db, "SELECT url, error_kind FROM urls WHERE state = 'failed'"))
    assert set(failed.values()) == {"BlockedURLError"}
    assert len(failed) == len(inside) + 1  # and the redirect
    errors = dict(query(db, "SELECT url, error FROM urls WHERE state = 'failed'"))
    assert (
        "link-local address 169.254.169.254" in errors["http://169.254.169.254/latest/meta-data/"]
    )
    assert "localhost is loopback" in errors["http://localhost:9/admin/"]
    # Through the proxy: the public source's stories, and the intranet source's own.
    stored = {row[0] for row in query(db, "SELECT url FROM articles")}
    assert stored == {public + s.path for s in stories[:2]} | {intranet + stories[2].path}


# --- 7. robots.txt is matched on the URL as requested ----------------------------------------


def test_robots_rules_match_the_url_as_requested_and_that_url_is_requested(
    workdir: Path,
) -> None:
    """arabnews.com's `Disallow: /?q=search/`: canonicalising `?q=search/x` into
    `?q=search%2Fx` must not slip past the rule; and the address requested is the one
    the feed wrote (its query order, its slashes), not the canonical form."""
    story, other = synthetic_articles(2, seed=29)
    with NewsSite([story, other], "Query Gazette") as site:
        robots = (FIXTURES / "robots_query.txt").read_text().replace("{base}", site.base)
        site._robots = robots  # the site's robots.txt: query rules on the root
        b = site.base
        disallowed = [
            f"{b}/?q=search/node/harbour",
            f"{b}/?q=node/add&type=story",
            f"{b}{story.path}?print=1",
        ]
        allowed = [f"{b}{story.path}?page=2&amp;id=7/8", f"{b}{other.path}"]
        feed = rss(disallowed + allowed)
        site.routes["/query-feed.xml"] = lambda r: Response(
            200, feed, {"Content-Type": "application/rss+xml"}
        )
        config = write_config(
            workdir, [{"name": "query", "url": b + "/", "feeds": [b + "/query-feed.xml"]}]
        )
        done = run(config, "--json")
        seen = site.paths_seen()
    assert done.returncode == 0, done.stderr
    # Nothing disallowed was requested, in whatever spelling.
    assert not [p for p in seen if "q=search" in p or "q=node" in p or "print=1" in p], seen
    # The allowed page was requested as the feed wrote it.
    assert f"{story.path}?page=2&id=7/8" in seen, seen
    db = workdir / "archive" / "news.db"
    refused = query(db, "SELECT url FROM urls WHERE error_kind = 'RobotsDisallowed'")
    assert len(refused) == len(disallowed)
    assert json.loads(done.stdout)["totals"]["new"] == 2
