"""Where newsarchive may connect: the SSRF policy, enforced at connect time.

Every TCP connection goes through `GuardedBackend.connect_tcp`, which resolves the
host once, refuses addresses on loopback, private, shared, link-local (cloud
metadata), multicast, reserved or unspecified networks, and connects to the very
address it checked — so DNS rebinding cannot slip a private address past the check.

Opt-ins are per source: the hosts the user wrote into a source's entry in sources.yaml
(its url, feeds, sitemaps, listings) may be on any address for that source's own
fetches only. The source's fetcher marks each request with them (the OPT_IN request
extension); `GuardedTransport` sends a request to an origin its source opted in through
a pool of its own, where any address is allowed, and every other request through the
guarded pool — so a connection opened to one source's intranet host is never reused
for another source's link there. `fetch.allow_private: true` opts everything in, and
`AddressPolicy.opted_in_hosts` opts hosts in for every request (tools, tests).

Proxies configured through the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
NO_PROXY, as curl reads them) are the user's choice, but no way around the policy:
proxies in clouds and offices often reach exactly the addresses it refuses. Before a
request goes to a proxy (`GuardedProxy`), a literal loopback, private, link-local, ...
address is refused, and so is `localhost`; a name is resolved here, and refused when it
resolves to such an address — a name only the proxy can resolve goes to the proxy. A
source's own opt-ins go through the proxy unchecked. (The proxy resolves names again:
it, not this module, decides where a name it alone resolves leads.)

httpx is pinned (pyproject) to the minor version this is tested with: GuardedTransport
gives httpx's AsyncHTTPTransport a pool of its own through the `_pool` attribute, the
one hook httpx offers for a network backend.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

import httpcore
import httpx

from pipeline.errors import BlockedURLError, InvalidURLError
from pipeline.urls import DEFAULT_PORTS

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Origin = tuple[str, int]  # (host as connected to: lower-case ASCII, IPv6 unbracketed; port)
OPT_IN = "newsarchive.opt_in"  # request extension: frozenset[Origin] its source opted in

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


class UnresolvableHost(httpcore.ConnectError):
    """DNS has no address for `host` (the fetcher makes it errors.HostNotFound)."""

    def __init__(self, host: str, detail: str) -> None:
        self.host = host
        self.detail = detail
        super().__init__(f"cannot resolve {host}: {detail}")


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnresolvableHost(host, exc.strerror or str(exc)) from exc
    except UnicodeError as exc:  # a label over 63 letters: no DNS name at all
        raise InvalidURLError(f"http://{host}/", f"{host} is no DNS name ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def origin_key(url: httpx.URL) -> Origin:
    """The origin a request to `url` connects to, in the form opt-ins are kept in."""
    port = url.port or DEFAULT_PORTS.get(url.scheme, 0)
    return url.raw_host.decode("ascii").lower(), port


def opted_in(urls: Iterable[str]) -> frozenset[Origin]:
    """The origins a source's own addresses opt in to any address, for that source's
    fetches: each URL's host on its port — on both 80 and 443 when the URL names no
    port, so the site's own move from http to https stays allowed."""
    origins: set[Origin] = set()
    for url in urls:
        try:
            parsed = httpx.URL(url)
            host, port = origin_key(parsed)
        except (httpx.InvalidURL, UnicodeError):
            continue
        if host:
            origins.update((host, p) for p in ((port,) if parsed.port else (80, 443)))
    return frozenset(origins)


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


class _TCPOnly(httpcore.AsyncNetworkBackend):
    """A network backend that never opens a unix socket."""

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedURLError(path, "unix sockets are never used")


class GuardedBackend(_TCPOnly):
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
        *,
        opted_in: bool = False,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host` once, check every address (unless the requesting source
        opted this origin in), and connect to one of the addresses checked."""
        try:
            ipaddress.ip_address(host.strip("[]"))
            addresses = [host.strip("[]")]
        except ValueError:
            addresses = await self._resolver(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        if not opted_in:
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

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _OptedInBackend(_TCPOnly):
    """GuardedBackend for origins the requesting source opted in: any address."""

    def __init__(self, guarded: GuardedBackend) -> None:
        self._guarded = guarded

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._guarded.connect_tcp(
            host, port, timeout, local_address, socket_options, opted_in=True
        )

    async def sleep(self, seconds: float) -> None:
        await self._guarded.sleep(seconds)


def _pool(
    limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext
) -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through GuardedBackend. A request to an origin its
    source opted in (the OPT_IN extension) goes through a second pool, whose connections
    may be to any address and are never shared with requests of other sources."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        limits: httpx.Limits | None = None,
    ) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, retries=0)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=50)
        guarded = GuardedBackend(policy, resolver)
        self._pool = _pool(limits, guarded, ssl_context)
        self._opted_in = httpx.AsyncHTTPTransport(verify=ssl_context, retries=0)
        self._opted_in._pool = _pool(limits, _OptedInBackend(guarded), ssl_context)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        opt_in = request.extensions.get(OPT_IN)
        if opt_in and origin_key(request.url) in opt_in:
            return await self._opted_in.handle_async_request(request)
        return await super().handle_async_request(request)

    async def aclose(self) -> None:
        await self._opted_in.aclose()
        await super().aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:  # what `async with AsyncClient(...)` calls instead of aclose
        await self._opted_in.__aexit__(exc_type, exc_value, traceback)
        await super().__aexit__(exc_type, exc_value, traceback)


def environment_proxies() -> dict[str, str | None]:
    """httpx mount patterns for the proxies the environment sets, read as curl reads
    HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (None: no proxy for the pattern)."""
    found = urllib.request.getproxies()  # the environment (on macOS and Windows, the system too)
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if found.get(scheme):
            proxy = found[scheme]
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for entry in (found.get("no") or "").split(","):
        name = entry.strip()
        if name == "*":
            return {}  # no proxy for any host
        if not name:
            continue
        if "://" in name:
            mounts[name] = None
            continue
        try:
            ip = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            # ".example.com" excludes its subdomains; "example.com" the name too.
            mounts["all://localhost" if name.lower() == "localhost" else f"all://*{name}"] = None
        else:
            mounts[f"all://[{ip}]" if ip.version == 6 else f"all://{ip}"] = None
    return mounts


class GuardedProxy(httpx.AsyncBaseTransport):
    """A proxy's transport with the address policy in front (see the module docstring):
    the proxy connects where we cannot check, so the target is checked here."""

    def __init__(
        self, policy: AddressPolicy, resolver: Resolver, proxied: httpx.AsyncBaseTransport
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._proxied = proxied

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        opt_in = request.extensions.get(OPT_IN)
        if not (opt_in and origin_key(request.url) in opt_in):
            await self._check(request.url)
        return await self._proxied.handle_async_request(request)

    async def _check(self, url: httpx.URL) -> None:
        host, port = origin_key(url)
        policy = self._policy
        if policy.allow_private or host.strip("[]") in policy.opted_in_hosts:
            return
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            policy.check(host, host.strip("[]"))  # a literal address: refused or fine
            return
        if host == "localhost" or host.endswith(".localhost"):
            raise BlockedURLError(
                f"http://{host}/", f"{host} is loopback; refused, with or without a proxy"
            )
        try:
            addresses = await self._resolver(host, port)
        except httpcore.ConnectError:
            return  # a name only the proxy can resolve: its own network, its choice
        for address in addresses:
            policy.check(host, address)

    async def aclose(self) -> None:
        await self._proxied.aclose()


def make_client(
    policy: AddressPolicy,
    *,
    user_agent: str,
    timeout: float,
    max_connections: int,
    resolver: Resolver = system_resolver,
    trust_env: bool = True,
) -> httpx.AsyncClient:
    """The run's one AsyncClient: guarded direct connections, and the environment's
    proxies (when `trust_env`) behind the same address policy."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    if trust_env:
        for pattern, proxy in environment_proxies().items():
            mounts[pattern] = (
                None
                if proxy is None
                else GuardedProxy(
                    policy, resolver, httpx.AsyncHTTPTransport(proxy=proxy, limits=limits)
                )
            )
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver, limits),
        mounts=mounts,
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,  # the environment's proxies are the mounts above, guarded
    )
