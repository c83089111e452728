"""A source's `cookies_file:` (a Netscape cookies.txt, as browsers' export extensions
and curl write it), read with http.cookiejar.MozillaCookieJar, and the Cookie header
those cookies make for one request.

Cookies are the user's credentials: no message, log line or repr holds a value. They
are sent only to the source's own hosts (the fetcher checks), and only where the
cookie's own domain, path and secure flag allow.
"""

from __future__ import annotations

import http.cookiejar
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_FIELDS = 7  # domain, include-subdomains, path, secure, expires, name, value


@dataclass(frozen=True, slots=True)
class Cookie:
    domain: str  # ".example.com" (subdomains too) or "example.com"
    path: str
    secure: bool  # https only
    name: str
    value: str = field(repr=False)


class CookiesFileError(ValueError):
    """The cookies file cannot be used; the message holds no cookie value."""


def load_cookies(path: Path) -> tuple[Cookie, ...]:
    """The unexpired cookies of the Netscape cookies.txt at `path` (session cookies
    included). CookiesFileError names the problem (and the file's line) when it is
    missing, unreadable or not in that format."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CookiesFileError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CookiesFileError(f"{path}: cannot read ({type(exc).__name__})") from None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("#HttpOnly_"):
            text = text[len("#HttpOnly_") :]
        elif not text or text.startswith("#"):
            continue
        fields = text.split("\t")
        if len(fields) != _FIELDS:
            raise CookiesFileError(
                f"{path}: line {number} is not a cookie line of a Netscape cookies.txt"
                f" ({_FIELDS} tab-separated fields)"
            )
        if (fields[1].upper() == "TRUE") != fields[0].startswith("."):
            raise CookiesFileError(
                f"{path}: line {number}: a domain begins with a dot exactly when its"
                " second field (include subdomains) is TRUE"
            )
    jar = http.cookiejar.MozillaCookieJar(str(path))
    try:
        with warnings.catch_warnings():  # its own "bug!" warnings quote the file
            warnings.simplefilter("ignore")
            jar.load(ignore_discard=True, ignore_expires=True)
    except http.cookiejar.LoadError as exc:  # its message may quote a line: not repeated
        hint = ""
        if "does not look like" in str(exc):
            hint = " (its first line must be '# Netscape HTTP Cookie File')"
        raise CookiesFileError(f"{path}: not a Netscape cookies.txt{hint}") from None
    except OSError as exc:
        raise CookiesFileError(f"{path}: cannot read ({type(exc).__name__})") from None
    now = time.time()
    return tuple(
        Cookie(
            "." + c.domain.lstrip(".") if c.domain_specified else c.domain,
            c.path or "/",
            bool(c.secure),
            c.name,
            c.value or "",
        )
        for c in jar
        if not c.expires or c.expires > now  # 0: a session cookie (as curl writes it)
    )


def cookie_header(cookies: tuple[Cookie, ...], url: str) -> str | None:
    """The Cookie header value for a request of `url` (None when no cookie applies)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    chosen = [
        c
        for c in cookies
        if _domain_match(host, c.domain)
        and _path_match(path, c.path)
        and (parts.scheme == "https" or not c.secure)
    ]
    chosen.sort(key=lambda c: -len(c.path))  # RFC 6265: longer paths first
    return "; ".join(f"{c.name}={c.value}" for c in chosen) or None


def _domain_match(host: str, domain: str) -> bool:
    domain = domain.lower()
    bare = domain.lstrip(".")
    return host == bare or (domain.startswith(".") and host.endswith(domain))


def _path_match(path: str, prefix: str) -> bool:
    if path == prefix or prefix == "/":
        return True
    return path.startswith(prefix if prefix.endswith("/") else prefix + "/")
