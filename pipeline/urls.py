"""URL identity: canonical forms, hosts, same-site checks. Pure; no network.

`canonicalize` is the one place that decides when two addresses are the same story:
lower-case scheme and host (IDNA hosts stay in their ASCII form), default ports and
fragments and credentials removed, dot segments resolved (a "%2E" counts as a dot, as
in browsers; a path beginning with "//" stays a path), percent-encoding normalised,
tracking parameters (utm_*, fbclid, gclid, ... — courlan's list) removed and the
remaining query parameters sorted. It is idempotent and never raises; text that is
not text (a lone surrogate) is no address.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import (
    parse_qsl,
    quote,
    unquote_plus,
    urlencode,
    urljoin,
    urlsplit,
    urlunsplit,
)

from courlan import extract_domain
from courlan.clean import TRACKERS_RE

_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_ENCODED_DOT = re.compile(r"%2[eE]")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are in a path (RFC 3986 pchar and "/" plus "%" of escapes).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_HOST_OK = re.compile(r"^[a-z0-9._-]+$|^\[[0-9a-f:.]+\]$")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalise_escapes(part: str) -> str:
    """Decode escapes of unreserved characters, upper-case the rest, escape what must be."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    part = _PERCENT.sub(fix, part)
    # A "%" that does not start an escape is a literal percent sign.
    part = re.sub(r"%(?![0-9A-F]{2})", "%25", part)
    return quote(part, safe=_PATH_SAFE)


def _resolve_dots(path: str) -> str:
    """RFC 3986 remove_dot_segments for an absolute path. A "%2E" is a dot here, as in
    the WHATWG URL parser: it is decoded before the segments are read, so that "/a/%2E%2E/b"
    and "/a/../b" are one address and the result is stable. A path beginning with "//"
    keeps its empty first segment (it is a path, never an authority)."""
    path = _ENCODED_DOT.sub(".", path if path.startswith("/") else "/" + path)
    if "." not in path:
        return path
    segments = path.split("/")[1:]  # the path is absolute: it starts with "/"
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # "/a/b/.." is the directory "/a/"
    return "/" + "/".join(kept)


def _host(netloc_host: str | None) -> str | None:
    if not netloc_host:
        return None
    host = netloc_host.strip().rstrip(".").lower()
    if not host:
        return None
    if ":" in host:  # an IPv6 literal (urlsplit strips the brackets)
        try:
            return f"[{ipaddress.IPv6Address(host.split('%')[0]).compressed}]"
        except ValueError:
            return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return host if _HOST_OK.match(host) else None


def clean_query(query: str) -> str:
    """Tracking parameters removed, the rest sorted by name (stable for repeated names)."""
    if not query:
        return ""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key and not TRACKERS_RE.search(key.lower())
    ]
    pairs.sort(key=lambda pair: pair[0])
    return urlencode(pairs)


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The canonical form of `url` (made absolute against `base`), or None when it is
    not a usable http(s) address. Never raises."""
    try:
        raw = url.strip()
        if base is not None:
            raw = urljoin(base, raw)
        raw.encode("utf-8")  # a lone surrogate (argv, a YAML escape) is no text: None
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return None
        host = _host(parts.hostname)
        port = parts.port
    except (ValueError, TypeError, UnicodeError):
        return None
    if host is None:
        return None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalise_escapes(_resolve_dots(parts.path or "/"))
    query = clean_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def wire_form(url: str, base: str | None = None) -> str | None:
    """`url` as it is to be requested: made absolute against `base`, its fragment,
    surrounding blanks and tracking parameters dropped, and nothing else changed — the
    rest of its query keeps its order and its spelling. robots.txt rules are matched
    against this, and this is what is requested. None when it is no http(s) address.
    (`canonicalize` is for identity: it re-encodes and reorders the query.)"""
    try:
        raw = url.strip()
        if base is not None:
            raw = urljoin(base, raw)
        raw = raw.partition("#")[0]
        raw.encode("utf-8")
        parts = urlsplit(raw)
        if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
            return None
    except (ValueError, TypeError, UnicodeError):
        return None
    if parts.query:
        kept = [
            pair
            for pair in parts.query.split("&")
            if not TRACKERS_RE.search(unquote_plus(pair.partition("=")[0]).lower())
        ]
        if len(kept) != len(parts.query.split("&")):
            raw = urlunsplit(parts._replace(query="&".join(kept)))
    return raw


def host_of(url: str) -> str:
    """The host[:port] that politeness limits apply to ("" when unparsable)."""
    try:
        parts = urlsplit(url)
        host = _host(parts.hostname) or ""
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    return host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{host_of(url)}"


def site_of(url: str) -> str:
    """The registrable domain ("bbc.co.uk" for "m.bbc.co.uk"), or the host for IPs."""
    host = host_of(url).split(":")[0].strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    return extract_domain(url) or host


def same_site(a: str, b: str) -> bool:
    return site_of(a) == site_of(b)


def is_http_url(url: str) -> bool:
    try:
        return urlsplit(url.strip()).scheme.lower() in DEFAULT_PORTS
    except ValueError:
        return False
