"""Politeness and failure on the real web (issue 13, items 7-11), through the real CLI
against local sites: robots.txt rules matched on the URL as requested, one guess per
host per run, proxies under the address policy, unresolvable hosts, pages whose
extraction worker was killed from outside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.demo.site import NewsSite, Response
from tests.synth import synthetic_articles

from .conftest import run_cli, write_config

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
