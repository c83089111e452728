"""HTTP with manners: one shared AsyncClient, global and per-host limits, per-host
delay, robots.txt, redirects checked hop by hop, retries with backoff and
Retry-After, conditional GET, size caps after decompression, charset decisions.

robots.py loads and caches a host's robots.txt; checks.py holds the pure address and
Retry-After checks. Clock, sleep and randomness come in
through `Timing`, so tests never sleep.
`Fetcher.for_source` gives the view of the fetcher a source fetches through: its
requests carry the origins the source opted in to private addresses (see netguard).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urljoin

import httpx
from protego import Protego

from pipeline.config.loader import FetchSettings
from pipeline.decode import BadEncoding, BoundedDecoder, TooLarge, Truncated, decide_encoding
from pipeline.errors import (
    BlockedURLError,
    ChallengeError,
    ConnectError,
    FetchError,
    FetchTimeout,
    HostNotFound,
    HTTPStatusError,
    InvalidURLError,
    NotHTMLError,
    RedirectError,
    RobotsDisallowed,
    ServerError,
    TooLargeError,
    TransientFetchError,
    TruncatedError,
)
from pipeline.fetch.checks import check_address, opted, parse_retry_after
from pipeline.fetch.credentials import Credentials
from pipeline.fetch.netguard import OPT_IN, Origin, UnresolvableHost
from pipeline.fetch.once import SharedDocuments
from pipeline.fetch.robots import (
    MAX_CRAWL_DELAY,
    MAX_ROBOTS_BYTES,
    RobotsCache,
    load_robots,
    robots_token,
)
from pipeline.models import Fetched
from pipeline.sniff import computed_type, is_html, may_be_html
from pipeline.times import Timing, iso
from pipeline.urls import host_of, is_http_url

log = logging.getLogger(__name__)

Kind = Literal["page", "feed", "robots"]
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 120.0  # longer waits are left to a later run
_REDIRECTS = {301, 302, 303, 307, 308}
_CHALLENGE_STATUSES = frozenset({403, 429, 503})  # answers whose body may be a bot challenge
_CHALLENGE_BYTES = 1_000_000  # of such a body, read to judge it
# Judges an error answer's body (status, body, charset): why it is a bot challenge, or None.
ChallengeJudge = Callable[[int, bytes, str | None], str | None]


@dataclass(frozen=True, slots=True)
class HostRules:
    delay: float = 1.0
    concurrency: int = 2
    respect_robots: bool = True


@dataclass(slots=True)
class _Host:
    rules: HostRules
    slots: asyncio.Semaphore
    delay: float
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    robots_loaded: bool = False
    robots: Protego | None = None
    robots_error: FetchError | None = None
    unresolved: HostNotFound | None = None  # DNS had no address for it in this run


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


@dataclass(slots=True)
class _Tally:
    requests: int = 0  # shared by a fetcher and its per-source views


class Fetcher:
    """Fetches URLs politely through one shared httpx.AsyncClient."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: FetchSettings,
        timing: Timing | None = None,
        robots_cache: RobotsCache | None = None,
        challenge: ChallengeJudge | None = None,
    ) -> None:
        self._client = client
        self._challenge = challenge  # extract.access's judgement, handed down by the run
        self._cache = robots_cache
        self._settings = settings
        self._timing = timing or Timing()
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._rules: dict[str, HostRules] = {}
        self._agent = robots_token(settings.user_agent)
        self._tally = _Tally()
        self._opt_in: frozenset[Origin] = frozenset()
        self._credentials = Credentials()
        self._shared = SharedDocuments()  # discovery documents of hosts sources share

    @property
    def requests(self) -> int:
        """HTTP requests sent, retries and redirects included (by every view)."""
        return self._tally.requests

    @property
    def max_bytes(self) -> int:
        return self._settings.max_bytes

    def for_source(
        self, opt_in: frozenset[Origin], credentials: Credentials | None = None
    ) -> Fetcher:
        """This fetcher as one source fetches through it: the same client, limits,
        politeness and robots.txt, its requests marked with the origins the source's own
        configuration opted in (netguard.opted_in) — only they may be private addresses —
        and carrying the source's own headers and cookies to its own sites."""
        view = copy.copy(self)  # shallow: the host table, semaphores and tally are shared
        view._opt_in = opt_in
        view._credentials = credentials or Credentials()
        self._shared.add_source({host for host, _port in opt_in})
        return view

    async def fetch_once(
        self,
        url: str,
        *,
        kind: Kind = "feed",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """fetch() a discovery document (a home page, feed or sitemap) once per run on a
        host that several sources share; see once.SharedDocuments."""
        return await self._shared.get(
            url,
            kind,
            (etag, last_modified),
            opted(url, self._opt_in),
            lambda: self.fetch(url, kind=kind, etag=etag, last_modified=last_modified),
        )

    # --- politeness ---------------------------------------------------------------

    def set_rules(self, url: str, rules: HostRules) -> None:
        """Politeness for a host; when sources share a host the strictest rules win."""
        host = host_of(url)
        old = self._rules.get(host)
        if old is not None:
            rules = HostRules(
                delay=max(old.delay, rules.delay),
                concurrency=min(old.concurrency, rules.concurrency),
                respect_robots=old.respect_robots or rules.respect_robots,
            )
        self._rules[host] = rules

    def ensure_rules(self, url: str, rules: HostRules) -> None:
        """Politeness for a host not configured yet (an article host of a source)."""
        host = host_of(url)
        if host not in self._rules and host not in self._hosts:
            self._rules[host] = rules

    def _host(self, url: str) -> _Host:
        host = host_of(url)
        state = self._hosts.get(host)
        if state is None:
            rules = self._rules.get(host, HostRules())
            state = _Host(
                rules=rules, slots=asyncio.Semaphore(rules.concurrency), delay=rules.delay
            )
            self._hosts[host] = state
        return state

    async def _wait_turn(self, host: _Host) -> None:
        """Space request starts to one host by its delay."""
        async with host.turn:
            wait = host.next_start - self._timing.monotonic()
            if wait > 0:
                await self._timing.sleep(wait)
            host.next_start = self._timing.monotonic() + host.delay

    # --- robots.txt ---------------------------------------------------------------

    async def robots(self, url: str) -> Protego | None:
        """The host's parsed robots.txt (None: there is none, everything allowed).
        Fetched once per host per run. Raises TransientFetchError while it is
        unavailable (5xx, network): RFC 9309 says to assume nothing is allowed."""
        host = self._host(url)
        async with host.robots_lock:
            if not host.robots_loaded:
                host.robots, host.robots_error = await load_robots(
                    url, lambda u: self.fetch(u, kind="robots"), self._cache, self._timing.utcnow()
                )
                host.robots_loaded = True
                if host.robots is not None:
                    delay = host.robots.crawl_delay(self._agent)
                    rate = host.robots.request_rate(self._agent)
                    if rate is not None and rate.requests:
                        delay = max(delay or 0, rate.seconds / rate.requests)
                    if delay:
                        host.delay = max(host.delay, min(float(delay), MAX_CRAWL_DELAY))
        if host.robots_error is not None:
            raise host.robots_error
        return host.robots

    async def _check_robots(self, url: str) -> None:
        if not self._host(url).rules.respect_robots:
            return
        try:
            parser = await self.robots(url)
        except HostNotFound as exc:
            raise exc.at(url) from None
        if parser is not None and not parser.can_fetch(url, self._agent):
            raise RobotsDisallowed(url)

    # --- fetching -----------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        kind: Kind = "page",
        etag: str | None = None,
        last_modified: str | None = None,
        gzip_file: bool = False,
    ) -> Fetched:
        """GET `url`, following redirects, retrying transient failures.

        Raises a FetchError subclass; a 304 answer to a conditional GET comes back as
        Fetched(not_modified=True)."""
        headers: dict[bytes, bytes] = {}  # as received (latin-1): httpx takes str as ASCII
        if etag:
            headers[b"If-None-Match"] = etag.encode("latin-1", "replace")
        if last_modified:
            headers[b"If-Modified-Since"] = last_modified.encode("latin-1", "replace")
        attempt = 0
        while True:
            try:
                return await self._follow(url, kind, headers, gzip_file)
            except TransientFetchError as exc:
                wait = self._backoff(attempt, exc)
                if attempt >= self._settings.retries or wait is None:
                    if isinstance(exc, HostNotFound):
                        self._host(exc.url).unresolved = exc  # asked once per run
                    raise
                log.debug("GET %s: %s; retry %d in %.1f s", url, exc, attempt + 1, wait)
                attempt += 1
                await self._timing.sleep(wait)

    def _backoff(self, attempt: int, exc: TransientFetchError) -> float | None:
        """Exponential backoff with jitter; a Retry-After longer than we are willing
        to wait inside one run ends the attempts (the next run tries again)."""
        if isinstance(exc, ChallengeError):
            return None  # asking again at once gets the same challenge: a later run tries
        wait = min(60.0, self._settings.backoff * 2.0**attempt) * (0.5 + self._timing.random() / 2)
        retry_after = exc.retry_after if isinstance(exc, ServerError) else None
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER:
                return None
            wait = max(wait, retry_after)
        return wait

    async def _follow(
        self, url: str, kind: Kind, headers: dict[bytes, bytes], gzip_file: bool
    ) -> Fetched:
        seen = {url}
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if not is_http_url(current):
                raise BlockedURLError(current, "only http and https URLs are fetched")
            check_address(current)
            unresolved = self._host(current).unresolved
            if unresolved is not None:
                raise unresolved.at(current)
            if kind != "robots":
                await self._check_robots(current)
            result = await self._request(current, kind, headers, gzip_file)
            if isinstance(result, Fetched):
                if current != url:
                    return replace(result, requested_url=url)
                return result
            try:
                target = urljoin(current, result.location.strip())
            except ValueError as exc:
                raise RedirectError(url, f"unusable Location {result.location!r}: {exc}") from None
            if not is_http_url(target):
                raise RedirectError(url, f"redirect to a non-http URL {target!r}")
            if target in seen:
                raise RedirectError(url, f"redirect loop at {target}")
            seen.add(target)
            current = target
        raise RedirectError(url, f"more than {MAX_REDIRECTS} redirects")

    async def _request(
        self, url: str, kind: Kind, headers: dict[bytes, bytes], gzip_file: bool
    ) -> Fetched | _Redirect:
        host = self._host(url)
        async with host.slots:
            await self._wait_turn(host)
            async with self._global:
                self._tally.requests += 1
                extensions = {OPT_IN: self._opt_in} if self._opt_in else None
                own = self._credentials.for_url(url)  # this hop's: none for other sites
                try:
                    async with asyncio.timeout(self._settings.timeout):
                        request = self._client.build_request(
                            "GET", url, headers={**own, **headers}, extensions=extensions
                        )
                        started = self._timing.monotonic()
                        response = await self._send(request, url)
                        try:
                            result = await self._read(response, url, kind, gzip_file)
                        finally:
                            await response.aclose()
                        log.debug(
                            "GET %s (%s): HTTP %d, %d bytes in %.0f ms",
                            url,
                            kind,
                            response.status_code,
                            len(result.raw_body) if isinstance(result, Fetched) else 0,
                            1000 * (self._timing.monotonic() - started),
                        )
                        return result
                except TimeoutError:
                    raise FetchTimeout(
                        url, f"no complete answer in {self._settings.timeout:g} s"
                    ) from None
                except httpx.TimeoutException as exc:
                    raise FetchTimeout(url, f"timed out ({type(exc).__name__})") from None
                except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    cause = exc.__cause__
                    if isinstance(cause, UnresolvableHost):
                        raise HostNotFound(url, cause.host, cause.detail) from None
                    raise ConnectError(url, f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise BlockedURLError(url, str(exc)) from None
                except BlockedURLError as exc:
                    raise BlockedURLError(url, exc.reason) from None
                except InvalidURLError as exc:
                    raise InvalidURLError(url, exc.reason) from None

    async def _send(self, request: httpx.Request, url: str) -> httpx.Response:
        """client.send, with the errors httpx raises while it reads a redirect's Location
        (it does so even when not following redirects) made RedirectErrors."""
        try:
            return await self._client.send(request, stream=True)
        except httpx.RemoteProtocolError as exc:
            # A Location httpx cannot parse: a protocol error, the InvalidURL its context.
            if isinstance(exc.__context__, httpx.InvalidURL):
                raise RedirectError(url, f"unusable Location: {exc.__context__}") from None
            raise
        except UnicodeError as exc:
            # The request's own host was checked (check_address): this is the host of
            # the Location, which httpx cannot IDNA-decode ("http://xn--/").
            raise RedirectError(url, f"unusable Location host: {exc}") from None

    async def _read(
        self, response: httpx.Response, url: str, kind: Kind, gzip_file: bool
    ) -> Fetched | _Redirect:
        status = response.status_code
        if status in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise RedirectError(url, f"HTTP {status} without a Location")
            return _Redirect(location)
        if kind == "page" and status in _CHALLENGE_STATUSES and self._challenge is not None:
            await self._check_challenge(response, url, status)
        if status == 429 or status == 408 or status >= 500:
            raise ServerError(
                url,
                status,
                parse_retry_after(response.headers.get("retry-after"), self._timing.utcnow()),
            )
        if status >= 400 or (status >= 300 and status != 304):
            raise HTTPStatusError(url, status)
        content_type = response.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if kind == "page" and not may_be_html(content_type):
            raise NotHTMLError(url, media)
        limit = MAX_ROBOTS_BYTES if kind == "robots" else self._settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLargeError(url, limit)
        raw, body = b"", b""
        if status != 304:
            raw, body = await self._body(response, url, limit, gzip_file)
        if kind == "page" and status != 304 and not is_html(body, content_type):
            raise NotHTMLError(url, computed_type(body, content_type))
        return Fetched(
            url=url,
            requested_url=url,
            status=status,
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw
            ),
            raw_body=raw,
            body=body,
            encoding=decide_encoding(body, content_type) if body else None,
            fetched_at=iso(self._timing.utcnow()),
            http_version=response.http_version,
            reason=response.reason_phrase,
            request_headers=self._credentials.recorded(response.request.headers.raw),
            not_modified=status == 304,
        )

    async def _check_challenge(self, response: httpx.Response, url: str, status: int) -> None:
        """Raise ChallengeError when this error answer's body is a bot challenge."""
        assert self._challenge is not None
        content_type = response.headers.get("content-type", "")
        try:
            _raw, body = await self._body(response, url, _CHALLENGE_BYTES, False)
        except FetchError:  # an unreadable error body is judged by its status alone
            return
        if not body or not may_be_html(content_type):
            return
        why = self._challenge(status, body, decide_encoding(body, content_type))
        if why is not None:
            raise ChallengeError(
                url,
                status,
                why,
                parse_retry_after(response.headers.get("retry-after"), self._timing.utcnow()),
            )

    async def _body(
        self, response: httpx.Response, url: str, limit: int, gzip_file: bool
    ) -> tuple[bytes, bytes]:
        """Stream the payload, decoding as it comes; abandon it past `limit` bytes,
        whether compressed or inflated."""
        encoding = response.headers.get("content-encoding")
        try:
            decoder = BoundedDecoder(encoding, limit, gzip_file=gzip_file)
            parts: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > limit:
                    raise TooLarge
                parts.append(chunk)
                decoder.feed(chunk)
            raw = b"".join(parts)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and len(raw) < int(declared):
                raise TruncatedError(url, f"body of {len(raw)} bytes, {declared} announced")
            body = decoder.finish()
        except TooLarge:
            raise TooLargeError(url, limit) from None
        except Truncated:
            raise TruncatedError(url, f"{encoding} body cut before its end") from None
        except BadEncoding as exc:
            raise ConnectError(url, f"corrupt {encoding} content: {exc}") from None
        return raw, (raw if body == raw else body)
