"""Addresses the fetcher cannot or must not request: hosts httpx or DNS cannot encode,
Locations httpx cannot parse, and private addresses opted in for one source only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline.config.loader import FetchSettings
from pipeline.demo.site import NewsSite, Response
from pipeline.errors import BlockedURLError, FetchError, InvalidURLError, RedirectError
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.fetch.netguard import AddressPolicy, make_client, opted_in, system_resolver
from pipeline.models import Fetched

HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = b"<html><body><p>Hello</p></body></html>"


def mock_fetch(
    handler: Callable[[httpx.Request], httpx.Response], url: str, **kwargs: Any
) -> tuple[Fetched | FetchError, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def go() -> Fetched | FetchError:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as client:
            fetcher = Fetcher(client, FetchSettings(retries=2))
            fetcher.set_rules(url, HostRules(delay=0, respect_robots=False))
            try:
                return await fetcher.fetch(url, **kwargs)
            except FetchError as exc:
                return exc

    return asyncio.run(go()), seen


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers=HTML, stream=httpx.ByteStream(PAGE))


@pytest.mark.parametrize(
    "url",
    [
        "http://xn--ls8h.la/2026/01/story/",  # valid punycode, but not valid IDNA 2008
        "http://xn--/2026/01/story/",  # no punycode at all
        f"http://{'a' * 64}.example/2026/01/story/",  # a label too long for DNS
        f"http://{'a.' * 127}example/",  # a name too long for DNS
    ],
)
def test_a_host_that_cannot_be_encoded_is_a_permanent_invalid_url_error(url: str) -> None:
    result, seen = mock_fetch(ok, url)
    assert isinstance(result, InvalidURLError) and result.permanent, result
    assert result.url == url and seen == []


def test_a_redirect_to_a_host_that_cannot_be_encoded_is_a_redirect_error() -> None:
    result, seen = mock_fetch(
        lambda r: httpx.Response(302, headers={"Location": "http://xn--/2026/01/story/"}),
        "http://n.example/go/",
    )
    assert isinstance(result, RedirectError) and result.permanent, result
    assert len(seen) == 1  # not retried


@pytest.mark.parametrize("location", ["http://[::1", "http://[::1]:x/", "http://[fe80::1%/"])
def test_an_unparsable_location_is_a_redirect_error_not_retried(location: str) -> None:
    result, seen = mock_fetch(
        lambda r: httpx.Response(302, headers={"Location": location}), "http://n.example/go/"
    )
    assert isinstance(result, RedirectError) and result.permanent, result
    assert len(seen) == 1


def test_a_validator_with_latin1_bytes_is_sent_back_as_received() -> None:
    etag = '"caf\xe9"'  # as Fetched.header gives it: the raw bytes read as latin-1
    result, seen = mock_fetch(ok, "http://n.example/a", etag=etag)
    assert isinstance(result, Fetched)
    assert seen[0].headers.raw[-1] == (b"If-None-Match", b'"caf\xe9"')


def test_the_resolver_refuses_a_name_dns_cannot_carry() -> None:
    with pytest.raises(InvalidURLError):
        asyncio.run(system_resolver("a" * 64 + ".example", 80))


def test_a_source_view_shares_the_fetcher() -> None:
    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(ok)) as client:
            fetcher = Fetcher(client, FetchSettings())
            fetcher.set_rules("http://n.example/", HostRules(delay=0, respect_robots=False))
            view = fetcher.for_source(opted_in(["http://n.example/"]))
            await view.fetch("http://n.example/a")
            await fetcher.fetch("http://n.example/b")
            return fetcher.requests

    assert asyncio.run(go()) == 2  # one tally, one host table (the rules apply to both)


def test_opt_ins_are_origins() -> None:
    origins = opted_in(
        ["http://Intranet.example/", "https://127.0.0.1:8443/feed", "http://[::1]:80/", "bad:"]
    )
    assert origins == {
        ("intranet.example", 80),
        ("intranet.example", 443),  # no port: the site's move to https stays opted in
        ("127.0.0.1", 8443),
        ("::1", 80),
        ("::1", 443),
    }


def _get_all(
    site: NewsSite, steps: list[tuple[str, frozenset[tuple[str, int]] | None]]
) -> list[Fetched | FetchError]:
    """Fetch each (url, opt-in) in turn through one client and one fetcher (None: the
    fetcher itself, without any source's opt-ins)."""

    async def go() -> list[Fetched | FetchError]:
        async with make_client(
            AddressPolicy(), user_agent="t", timeout=5, max_connections=4
        ) as client:
            fetcher = Fetcher(client, FetchSettings(retries=0))
            fetcher.set_rules(site.base, HostRules(0, 2, respect_robots=False))
            results: list[Fetched | FetchError] = []
            for url, opt_in in steps:
                view = fetcher if opt_in is None else fetcher.for_source(opt_in)
                try:
                    results.append(await view.fetch(url))
                except FetchError as exc:
                    results.append(exc)
            return results

    return asyncio.run(go())


def test_a_private_host_is_opted_in_only_for_the_source_that_configured_it(
    site: NewsSite,
) -> None:
    site.routes["/admin/"] = lambda r: Response(200, PAGE, HTML)
    own = opted_in([site.base + "/"])
    other = opted_in(["http://public.example/"])
    results = _get_all(
        site,
        [
            (site.base + "/", own),  # leaves a keep-alive connection in the pool ...
            (site.base + "/admin/", other),  # ... which another source may not reuse
            (site.base + "/admin/", None),
            (site.base + "/", own),
        ],
    )
    assert isinstance(results[0], Fetched) and isinstance(results[3], Fetched)
    for refused in results[1:3]:
        assert isinstance(refused, BlockedURLError), refused
        assert "loopback address 127.0.0.1" in str(refused)
    assert "/admin/" not in site.paths_seen()


def test_an_opt_in_is_for_its_port_only(site: NewsSite) -> None:
    host, port = site.base.removeprefix("http://").split(":")
    (result,) = _get_all(site, [(site.base + "/", frozenset({(host, int(port) + 1)}))])
    assert isinstance(result, BlockedURLError)


def test_a_redirect_out_of_an_opted_in_origin_is_checked_again(site: NewsSite) -> None:
    site.routes["/jump/"] = lambda r: Response(
        302, headers={"Location": f"http://localhost:{site.port}/admin/"}
    )
    (result,) = _get_all(site, [(site.base + "/jump/", opted_in([site.base + "/"]))])
    assert isinstance(result, BlockedURLError) and "localhost" in str(result)
    assert "/admin/" not in site.paths_seen()
