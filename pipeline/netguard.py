"""Where newsarchive may connect: the SSRF policy, enforced at connect time.

Every TCP connection goes through `GuardedBackend.connect_tcp`, which resolves the
host once, refuses addresses on loopback, private, shared, link-local (cloud
metadata), multicast, reserved or unspecified networks, and connects to the very
address it checked — so DNS rebinding cannot slip a private address past the check.
Hosts the user wrote into sources.yaml (a source's url, feeds, sitemaps, listings)
are opted in, and `fetch.allow_private: true` opts everything in. Proxies configured
through the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, as curl reads
them) are the user's choice and are used as they are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpcore
import httpx
from httpx._utils import get_environment_proxies  # httpx's own curl-compatible reading

from .errors import BlockedURLError

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not "private" to Python
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def forbidden_reason(address: IPAddress) -> str | None:
    """Why connecting to `address` is refused by default, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden_reason(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("shared", isinstance(address, ipaddress.IPv4Address) and address in _SHARED),
        ("reserved", address.is_reserved),
    )
    return next((name for name, hit in checks if hit), None)


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_private: bool = False
    opted_in_hosts: frozenset[str] = frozenset()  # lower-case host names or IP literals

    def check(self, host: str, address: str) -> None:
        """Raise BlockedURLError when `host`, resolved to `address`, is refused."""
        if self.allow_private or host.lower().strip("[]") in self.opted_in_hosts:
            return
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            raise BlockedURLError(host, f"unusable address {address!r}") from None
        reason = forbidden_reason(ip)
        if reason is not None:
            raise BlockedURLError(
                f"http://{host}/",
                f"{host} resolves to {reason} address {ip}; refused (opt in by configuring "
                "a source on that host, or fetch.allow_private: true)",
            )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address policy in front of every connect."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            ipaddress.ip_address(host.strip("[]"))
            addresses = [host.strip("[]")]
        except ValueError:
            addresses = await self._resolver(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            self._policy.check(host, address)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedURLError(path, "unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through GuardedBackend."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        limits: httpx.Limits | None = None,
    ) -> None:
        super().__init__(retries=0)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=50)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver),
        )


def make_client(
    policy: AddressPolicy,
    *,
    user_agent: str,
    timeout: float,
    max_connections: int,
    resolver: Resolver = system_resolver,
    trust_env: bool = True,
) -> httpx.AsyncClient:
    """The run's one AsyncClient: guarded direct connections, environment proxies as set."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    if trust_env:
        for pattern, proxy in get_environment_proxies().items():
            mounts[pattern] = (
                None if proxy is None else httpx.AsyncHTTPTransport(proxy=proxy, limits=limits)
            )
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver, limits),
        mounts=mounts,
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=trust_env,
    )
