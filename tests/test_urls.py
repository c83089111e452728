"""URL canonicalisation: one identity per story address."""

from __future__ import annotations

import pytest

from pipeline.urls import canonicalize, host_of, same_site


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "HTTP://Example.COM:80/a/../b/?utm_source=x&b=2&a=1&fbclid=z#frag",
            "http://example.com/b/?a=1&b=2",
        ),
        ("https://ex.com:443/Path?gclid=1&utm_medium=rss", "https://ex.com/Path"),
        ("https://ex.com", "https://ex.com/"),
        ("https://ex.com:8443/x", "https://ex.com:8443/x"),
        ("https://bücher.example/é?q=ü", "https://xn--bcher-kva.example/%C3%A9?q=%C3%BC"),
        ("https://user:pw@ex.com/a%7e%2f b", "https://ex.com/a~%2F%20b"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("https://ex.com/?p=123", "https://ex.com/?p=123"),
        ("  https://ex.com/story  ", "https://ex.com/story"),
    ],
)
def test_canonical_forms(raw: str, canonical: str) -> None:
    assert canonicalize(raw) == canonical
    assert canonicalize(canonical) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "mailto:a@b.c",
        "ftp://x.example/",
        "/relative",
        "http://",
        "http://ex.com:99999/",
        "data:,x",
    ],
)
def test_unusable_addresses_give_none(raw: str) -> None:
    assert canonicalize(raw) is None


def test_relative_links_resolve_against_their_page() -> None:
    assert canonicalize("../b?utm_campaign=x", base="https://ex.com/a/c/") == "https://ex.com/a/b"


def test_hosts_and_sites() -> None:
    assert host_of("https://Ex.com:443/x") == "ex.com"
    assert host_of("http://127.0.0.1:8000/x") == "127.0.0.1:8000"
    assert same_site("https://m.bbc.co.uk/a", "https://www.bbc.co.uk/b")
    assert not same_site("https://bbc.co.uk/a", "https://cnn.com/b")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # "%2E" is a dot, as in browsers: decoded before dot segments are resolved.
        ("http://a.example/b/%2E%2E/c", "http://a.example/c"),
        ("https://a.example/x/%2e/y", "https://a.example/x/y"),
        ("http://a.example/b/.%2e/", "http://a.example/"),
        ("http://a.example/%2e%2e%2e/x", "http://a.example/.../x"),  # not a dot segment
        ("http://a.example/a/b/..", "http://a.example/a/"),
        # A path beginning with "//" is a path, never an authority.
        ("https://site.example//2026/01/story.html", "https://site.example//2026/01/story.html"),
        ("https://news.example//[.", "https://news.example//%5B."),
        ("http://localhost//../..", "http://localhost/"),
        ("http://a.example/a/..//b", "http://a.example//b"),
    ],
)
def test_dot_segments_and_double_slash_paths(raw: str, canonical: str) -> None:
    assert canonicalize(raw) == canonical
    assert canonicalize(canonical) == canonical


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("http://a.example/\ud800", None),
        ("http://a.example/?q=\udcff", None),
        ("x\udcff", "http://a.example/"),
    ],
)
def test_a_lone_surrogate_is_no_address(raw: str, base: str | None) -> None:
    assert canonicalize(raw, base=base) is None
