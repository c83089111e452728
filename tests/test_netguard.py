"""SSRF policy through the real fetch path: refusals, opt-ins, rebinding, proxies."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pipeline.config.loader import FetchSettings
from pipeline.demo.site import NewsSite, Response
from pipeline.errors import BlockedURLError, RedirectError
from pipeline.fetch.fetcher import Fetcher, HostRules
from pipeline.fetch.netguard import (
    AddressPolicy,
    environment_proxies,
    forbidden_reason,
    make_client,
)
from pipeline.models import Fetched

Resolver = Callable[[str, int], Awaitable[list[str]]]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_classification(address: str, reason: str | None) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


def get(
    url: str,
    policy: AddressPolicy,
    resolver: Resolver | None = None,
    rules_for: str | None = None,
    **client: Any,
) -> Fetched | Exception:
    async def go() -> Fetched | Exception:
        kwargs: dict[str, Any] = {"resolver": resolver} if resolver else {}
        async with make_client(
            policy, user_agent="t", timeout=5, max_connections=4, **kwargs, **client
        ) as http:
            fetcher = Fetcher(http, FetchSettings(retries=0))
            fetcher.set_rules(rules_for or url, HostRules(0, 2, respect_robots=False))
            try:
                return await fetcher.fetch(url)
            except (BlockedURLError, RedirectError) as exc:
                return exc

    return asyncio.run(go())


def test_a_configured_private_host_is_allowed_but_a_redirect_to_another_is_refused(
    site: NewsSite,
) -> None:
    site.routes["/jump/"] = lambda r: Response(
        302, headers={"Location": f"http://localhost:{site.port}/admin/"}
    )
    site.routes["/meta/"] = lambda r: Response(
        302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    policy = AddressPolicy(opted_in_hosts=frozenset({"127.0.0.1"}))
    assert isinstance(get(site.base + "/", policy), Fetched)
    jumped = get(site.base + "/jump/", policy)
    assert isinstance(jumped, BlockedURLError)
    assert "localhost resolves to loopback address 127.0.0.1" in str(jumped)
    assert "/admin/" not in site.paths_seen()
    meta = get(site.base + "/meta/", policy)
    assert isinstance(meta, BlockedURLError) and "link-local" in str(meta)
    # Not opted in at all: refused before any connection.
    before = len(site.requests)
    assert isinstance(get(site.base + "/", AddressPolicy()), BlockedURLError)
    assert len(site.requests) == before


def test_allow_private_opts_everything_in(site: NewsSite) -> None:
    result = get(f"http://localhost:{site.port}/", AddressPolicy(allow_private=True))
    assert isinstance(result, Fetched) and result.status == 200


def test_names_resolve_once_and_the_checked_address_is_the_one_connected(site: NewsSite) -> None:
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)  # would answer a private address on a second lookup
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    policy = AddressPolicy(opted_in_hosts=frozenset({"news.test"}))
    result = get(f"http://news.test:{site.port}/", policy, rebinding)
    assert isinstance(result, Fetched) and result.status == 200
    assert calls == ["news.test"]
    assert site.requests[-1].headers["host"] == f"news.test:{site.port}"

    async def evil(host: str, port: int) -> list[str]:
        return ["8.8.8.8", "10.0.0.5"]  # one private answer is enough to refuse

    refused = get("http://evil.test/", AddressPolicy(), evil)
    assert isinstance(refused, BlockedURLError) and "10.0.0.5" in str(refused)


def test_an_environment_proxy_is_trusted(site: NewsSite, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTP_PROXY", site.base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = get("http://news.invalid/about/", AddressPolicy())
    assert isinstance(result, Fetched) and result.status == 200
    assert site.requests[-1].path == "http://news.invalid/about/"  # absolute-form: proxied


def test_environment_proxies_are_read_as_curl_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        for variant in (name, name.lower()):
            monkeypatch.delenv(variant, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "proxy.corp:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3129")
    monkeypatch.setenv("NO_PROXY", "localhost, .intranet.example,news.example,10.1.2.3,::1")
    assert environment_proxies() == {
        "http://": "http://proxy.corp:3128",
        "https://": "http://proxy.corp:3129",
        "all://localhost": None,
        "all://*.intranet.example": None,
        "all://*news.example": None,
        "all://10.1.2.3": None,
        "all://[::1]": None,
    }
    monkeypatch.setenv("NO_PROXY", "example.com,*")
    assert environment_proxies() == {}
