"""Property-based tests (hypothesis) of the entry points that see strangers' bytes or
a user's text: URL canonicalisation, the config loader, the feed/sitemap/link parsers,
the charset and content-decoding path, and the full-text query path.

Each property says what the function may do with *any* input: return its documented
result or raise its documented error — never anything else. The example counts here
are modest so the suite stays fast; `benchmarks/fuzz.sh MINUTES` runs the same
properties (and atheris, where installed) for as long as you like.

The bugs these properties found are fixed; each is pinned by explicit examples at the
end of the file, so it stays fixed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import brotli
import pytest
import yaml
from courlan.clean import TRACKERS_RE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config.loader import Config, load, parse
from pipeline.decode import BadEncoding, BoundedDecoder, TooLarge, decide_encoding, to_text
from pipeline.discover.feeds import (
    ChildSitemap,
    Entry,
    article_links,
    feed_links,
    iter_sitemap,
    parse_feed,
    robots_sitemaps,
    sniff,
)
from pipeline.errors import ConfigError, DiscoveryError, QueryError, UsageError
from pipeline.models import Article, Candidate, PageResult
from pipeline.store import Archive, queries
from pipeline.urls import canonicalize

# NEWSARCHIVE_EXAMPLES raises the counts (benchmarks/fuzz.sh does, for long runs).
EXAMPLES = int(os.environ.get("NEWSARCHIVE_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = "https://news.example/section/feed.xml"

# --- strategies ---------------------------------------------------------------------------

_LABEL = st.from_regex(r"\A[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?\Z")
_UNICODE_LABEL = st.text(
    st.characters(categories=["Ll", "Lu", "Lo", "Nd"], max_codepoint=0x2FFFF),
    min_size=1,
    max_size=8,
)
_HOSTS = st.one_of(
    st.lists(st.one_of(_LABEL, _UNICODE_LABEL), min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.sampled_from(
        ["localhost", "LOCALHOST.", "127.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]", "xn--"]
    ),
    st.text(max_size=12),
)
_PATH_BITS = st.sampled_from(
    [*"abcXYZ019-._~!$&'()*+,;=:@/%? #[]\\\"<>^`{|}", "%2e", "%2F", "%25", "%zz", "é", "\u202e"]
)
_PATHS = st.lists(
    st.one_of(
        st.lists(_PATH_BITS, max_size=6).map("".join),
        st.sampled_from(["..", ".", "", "%2E%2E", "%2e"]),
    ),
    max_size=6,
).map(lambda segments: "/" + "/".join(segments))
_TRACKING = st.sampled_from(
    ["utm_source", "utm_medium", "utm_campaign", "fbclid", "gclid", "UTM_Term", "mc_cid"]
)
_QUERY_KEYS = st.one_of(_TRACKING, st.text(st.sampled_from(list("abcp_=&+%[]é")), max_size=5))
_QUERIES = st.lists(st.tuples(_QUERY_KEYS, st.text(max_size=5)), max_size=5).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(
        st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", "file", "javascript", "data", ""])
    )
    userinfo = draw(st.sampled_from(["", "user@", "user:pw@", "@", "a@b@"]))
    host = draw(_HOSTS)
    port = draw(
        st.one_of(
            st.just(""),
            st.integers(0, 70000).map(lambda p: f":{p}"),
            st.sampled_from([":", ":x", ":80", ":443", ":-1"]),
        )
    )
    path = draw(_PATHS)
    query = draw(_QUERIES)
    fragment = draw(st.sampled_from(["", "#", "#frag", "#a?b=c"]))
    return f"{scheme}://{userinfo}{host}{port}{path}{'?' + query if query else ''}{fragment}"


_ANY_URL = st.one_of(urls(), st.text(max_size=60))


def _norm_host(host: str) -> str:
    """The comparable form of a host: lower case, no trailing dot or blanks, IDNA, IPv6
    compressed."""
    host = host.strip().rstrip(".").lower()
    try:
        return ipaddress.IPv6Address(host.split("%")[0]).compressed
    except ValueError:
        pass
    return host if host.isascii() else host.encode("idna").decode("ascii")


# --- URL canonicalisation ---------------------------------------------------------------------


@FAST
@given(url=_ANY_URL, base=st.one_of(st.none(), st.just(BASE), _ANY_URL))
def test_canonicalize_never_raises_and_gives_an_http_url_or_none(url: str, base: str | None):
    result = canonicalize(url, base=base)
    assert result is None or isinstance(result, str)
    if result is not None:
        parts = urlsplit(result)
        assert parts.scheme in ("http", "https")
        assert parts.hostname
        assert not parts.fragment and "@" not in parts.netloc
        assert result.isascii() and result.isprintable() and " " not in result


@FAST
@given(url=_ANY_URL)
def test_canonicalize_is_idempotent(url: str) -> None:
    once = canonicalize(url)
    if once is not None:
        assert canonicalize(once) == once


@FAST
@given(url=urls())
def test_canonicalize_never_changes_the_host(url: str) -> None:
    result = canonicalize(url)
    if result is None:
        return
    try:
        before = urlsplit(url.strip()).hostname
    except ValueError:
        return
    assert before is not None
    assert urlsplit(result).hostname == _norm_host(before)


@FAST
@given(host=_LABEL, path=_PATHS, query=_QUERIES)
def test_canonicalize_drops_tracking_parameters_and_sorts_the_rest(
    host: str, path: str, query: str
) -> None:
    url = f"https://{host}.example{path}?{query}"
    result = canonicalize(url)
    assert result is not None
    keys = [k for k, _ in parse_qsl(urlsplit(result).query, keep_blank_values=True)]
    assert not [k for k in keys if TRACKERS_RE.search(k.lower())]
    assert keys == sorted(keys)


# Regressions: inputs that once broke canonicalize.


@pytest.mark.parametrize(
    "url", ["http://a.example/b/%2E%2E/c", "https://a.example/x/%2e/y", "http://a.example/%2e%2E/"]
)
def test_canonicalize_is_idempotent_for_encoded_dot_segments(url: str) -> None:
    once = canonicalize(url)
    assert once is not None and canonicalize(once) == once


@pytest.mark.parametrize("url", ["https://news.example//[.", "http://localhost//[/.."])
def test_canonicalize_never_raises_on_a_double_slash_path(url: str) -> None:
    assert canonicalize(url) is None or canonicalize(url) == canonicalize(canonicalize(url) or "")


@pytest.mark.parametrize("url", ["http://a.example/\ud800", "http://a.example/?q=\udcff"])
def test_canonicalize_never_raises_on_a_lone_surrogate(url: str) -> None:
    assert canonicalize(url) in (None, canonicalize(canonicalize(url) or ""))


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://site.example//2026/01/story.html", "//2026/01/story.html"),
        ("http://localhost//../..", "/"),
    ],
)
def test_canonicalize_keeps_a_double_slash_path(url: str, path: str) -> None:
    result = canonicalize(url)
    assert result is not None and urlsplit(result).path == path
    assert canonicalize(result) == result


# --- the config loader ------------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.integers(-(10**400), 10**400),  # past what a float or a C size holds
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["http://a.example/", "https://b.example/feed", "en", "xx", "[", "a{2}"]),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=8),
)
_KEYS = st.one_of(
    st.sampled_from(
        [
            "archive",
            "fetch",
            "defaults",
            "sources",
            "warc",
            "name",
            "url",
            "feeds",
            "sitemaps",
            "listings",
            "include",
            "exclude",
            "drop",
            "language",
            "delay",
            "host_concurrency",
            "max_articles",
            "respect_robots",
            "min_text_length",
            "refresh_after",
            "refresh_every",
            "capture",
            "user_agent",
            "concurrency",
            "timeout",
            "retries",
            "backoff",
            "max_bytes",
            "allow_private",
            "revalidate_hours",
            "dir",
            "max_file_mb",
            "compression",
            "near_duplicate_threshold",
        ]
    ),
    st.text(max_size=8),
    st.integers(),
    st.none(),
    st.booleans(),
)
_YAML_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=25,
)


@st.composite
def configs(draw: st.DrawFn) -> Any:
    """Config-shaped data: mostly the real keys, with any values."""
    source = draw(st.dictionaries(_KEYS, _YAML_DATA, max_size=6))
    if draw(st.booleans()):
        source.setdefault("name", draw(st.sampled_from(["a", "b-2", "Bad Name", ""])))
        source.setdefault("url", draw(st.sampled_from(["http://a.example/", "ftp://x", 5])))
    top: dict[Any, Any] = draw(st.dictionaries(_KEYS, _YAML_DATA, max_size=4))
    top["sources"] = draw(st.one_of(st.just([source]), st.lists(_YAML_DATA, max_size=3)))
    for section in ("fetch", "defaults", "warc"):
        if draw(st.booleans()):
            top[section] = draw(st.dictionaries(_KEYS, _YAML_DATA, max_size=4))
    return draw(st.one_of(st.just(top), _YAML_DATA))


@FAST
@given(data=configs())
def test_config_parse_gives_a_config_or_a_config_error(data: Any) -> None:
    outcome = _config_or_error(parse, data, "sources.yaml", Path("/srv/news"))
    if isinstance(outcome, ConfigError):
        assert str(outcome).startswith("sources.yaml")
    else:
        assert isinstance(outcome, Config) and outcome.sources


def _config_or_error(fn: Any, *args: Any) -> Config | ConfigError:
    try:
        return fn(*args)  # type: ignore[no-any-return]
    except ConfigError as exc:
        return exc


def _yaml_texts() -> st.SearchStrategy[str]:
    dumped = configs().map(lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False))
    mutated = st.tuples(dumped, st.integers(0, 400), st.text(max_size=6)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    )
    fragments = st.lists(
        st.sampled_from(
            [
                "sources:",
                "\n",
                "  - ",
                "name: a",
                "url: http://a.example/",
                "&x ",
                "*x",
                "!!binary aGk=",
                "!!python/name:os.system",
                "? ",
                ": ",
                "[",
                "]",
                "{",
                "}",
                "'",
                '"',
                "\t",
                "%YAML 1.1\n---\n",
                "<<: *x",
                "\ufeff",
                "---\n",
                "...\n",
                ".inf",
                "0x1F",
                "1e3",
                "~",
            ]
        ),
        max_size=30,
    ).map("".join)
    return st.one_of(dumped, mutated, fragments, st.text(max_size=80))


@FAST
@given(text=_yaml_texts())
def test_config_load_gives_a_config_or_a_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sources.yaml"
        path.write_text(text, "utf-8")
        outcome = _config_or_error(load, path)
    if isinstance(outcome, ConfigError):
        assert str(outcome).startswith(str(path))
    else:
        assert isinstance(outcome, Config)


# --- feeds, sitemaps and links ----------------------------------------------------------------

_XML_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "&amp;",
            "&lt;",
            "&#0;",
            "&#x10FFFF;",
            "&#xD800;",
            "&nbsp;",
            "&undefined;",
            "<![CDATA[x]]>",
            "]]>",
            "<!-- c -->",
            "javascript:alert(1)",
            "http://127.0.0.1/",
            "/2026/01/a-long-story-slug-here",
            "https://news.example/2026/05/x",
            "Tue, 06 Jan 2026 10:00:00 GMT",
            "2026-13-45T99:99:99Z",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01",
            "\x00",
            "\ud7ff",
        ]
    ),
)
_DECLS = st.sampled_from(
    [
        "",
        '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        '<?xml version="1.0" encoding="windows-1252"?>',
        '<?xml version="1.1"?>',
        "\ufeff",
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x.dtd">',
    ]
)


@st.composite
def xml_docs(draw: st.DrawFn) -> bytes:
    """Feeds and sitemaps built from the real element names, with any text in them."""
    item_tag, link_tag, root = draw(
        st.sampled_from(
            [
                ("item", "link", '<rss version="2.0"><channel><title>t</title>{}</channel></rss>'),
                ("entry", "link", '<feed xmlns="http://www.w3.org/2005/Atom">{}</feed>'),
                (
                    "url",
                    "loc",
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>',
                ),
                ("sitemap", "loc", "<sitemapindex>{}</sitemapindex>"),
                ("item", "link", "<rdf:RDF>{}</rdf:RDF>"),
            ]
        )
    )
    children = st.sampled_from(
        [link_tag, "title", "pubDate", "lastmod", "updated", "news:publication_date", "guid"]
    )
    items = draw(
        st.lists(
            st.lists(st.tuples(children, _XML_TEXT), max_size=4).map(
                lambda kids: "".join(f"<{t}>{v}</{t}>" for t, v in kids)
            ),
            max_size=5,
        )
    )
    body = root.format("".join(f"<{item_tag}>{x}</{item_tag}>" for x in items))
    if draw(st.booleans()):  # cut it anywhere: truncated downloads happen
        body = body[: draw(st.integers(0, len(body)))]
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"]))
    return (draw(_DECLS) + body).encode(encoding, errors="replace")


_DOC_BYTES = st.one_of(xml_docs(), st.binary(max_size=300))


def _check_entries(entries: list[Any]) -> None:
    for entry in entries:
        assert isinstance(entry, Entry | ChildSitemap)
        assert canonicalize(entry.url) == entry.url


# feedparser warns (an error under pytest) when parse_feed asks a dated item for
# updated_parsed; harmless outside the tests.
FEEDPARSER_310 = pytest.mark.filterwarnings(
    "ignore:To avoid breaking existing software:DeprecationWarning"
)


@FEEDPARSER_310
@FAST
@given(body=_DOC_BYTES, content_type=st.sampled_from([None, "application/rss+xml", "text/html"]))
def test_parse_feed_gives_entries_or_a_discovery_error(body: bytes, content_type: str | None):
    try:
        entries = parse_feed(body, BASE, content_type)
    except DiscoveryError:
        return
    _check_entries(entries)


@FAST
@given(body=_DOC_BYTES)
def test_iter_sitemap_gives_entries_or_a_discovery_error(body: bytes) -> None:
    try:
        entries = list(iter_sitemap(body, BASE))
    except DiscoveryError:
        return
    _check_entries(entries)
    assert sniff(body) in ("feed", "sitemap", "sitemapindex", "text", "html")


_HTML_BITS = st.sampled_from(
    [
        "<html>",
        "<head>",
        "<body>",
        '<link rel="alternate" type="application/rss+xml" href="/feed/">',
        '<link rel="ALTERNATE stylesheet" type=" Application/Atom+XML " href="//x.example/f">',
        '<a href="/2026/05/city-council-votes-on-budget">',
        '<a href="javascript:alert(1)">',
        '<a href="http://[::1">',
        '<a href="http://xn--/x">',
        '<a href="https://news.example/story/12345678">',
        "</a>",
        "<nav>",
        "</nav>",
        "<div>",
        "<template>",
        "<svg><a href='/2026/01/svg-link-story'>",
        "\x00",
        "\ufffd",
        "<!--",
        "-->",
        "<base href='http://evil.example/'>",
    ]
)
_HTML = st.one_of(st.lists(st.one_of(_HTML_BITS, st.text(max_size=10)), max_size=25).map("".join))


@FAST
@given(html=_HTML, page=st.one_of(st.just("https://news.example/"), _ANY_URL))
def test_link_finders_never_fail(html: str, page: str) -> None:
    for url in feed_links(html, page):
        assert canonicalize(url) == url
    _check_entries(article_links(html, page))
    assert isinstance(robots_sitemaps(html.splitlines(), page), list)


# --- charsets and content-decoding ------------------------------------------------------------

_LABELS = st.sampled_from(
    [
        "utf-8",
        "UTF8",
        "latin1",
        "iso-8859-1",
        "windows-1252",
        "cp1251",
        "koi8-r",
        "shift_jis",
        "euc-jp",
        "gb2312",
        "big5",
        "utf-16",
        "utf-16le",
        "utf-32",
        "utf-7",
        "x-user-defined",
        "bogus-charset",
        "",
        '"utf-8"',
        "rot13",
        "hex",
        "base64",
        "zlib",
        "cp037",
        "idna",
        "punycode",
        "undefined",
        "unicode_escape",
    ]
)


@st.composite
def html_bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    label = draw(_LABELS)
    where = draw(st.sampled_from(["header", "meta", "xml", "none"]))
    text = draw(st.text(max_size=40))
    raw = draw(st.binary(max_size=40))
    head = {
        "meta": f'<meta charset="{label}">',
        "xml": f'<?xml version="1.0" encoding="{label}"?>',
    }.get(where, "")
    body = head.encode("ascii") + text.encode("utf-8", "surrogatepass") + raw
    content_type = f"text/html; charset={label}" if where == "header" else "text/html"
    return body, draw(st.sampled_from([content_type, None, "text/html; charset"]))


@FAST
@given(case=html_bodies())
def test_charset_decisions_always_decode(case: tuple[bytes, str | None]) -> None:
    body, content_type = case
    encoding = decide_encoding(body, content_type)
    text = to_text(body, encoding)
    assert isinstance(text, str) and "\x00" not in text


def _encode(kind: str, data: bytes) -> bytes:
    if kind == "gzip":
        return zlib.compress(data, wbits=31)
    if kind == "deflate":
        return zlib.compress(data)
    if kind == "raw-deflate":
        return zlib.compress(data, wbits=-15)
    if kind == "br":
        return brotli.compress(data)
    return data


@FAST
@given(
    data=st.binary(max_size=3000),
    kind=st.sampled_from(["gzip", "deflate", "raw-deflate", "br", "identity", "garbage"]),
    header=st.sampled_from(["gzip", "deflate", "br", "identity", "", "gzip, br", "x-gzip", "zstd"]),
    limit=st.integers(1, 5000),
    cut=st.integers(1, 4096),
)
def test_bounded_decoder_gives_at_most_limit_bytes_or_a_documented_error(
    data: bytes, kind: str, header: str, limit: int, cut: int
) -> None:
    wire = _encode(kind, data) if kind != "garbage" else data
    try:
        decoder = BoundedDecoder(header, limit)
        for start in range(0, len(wire), cut):
            decoder.feed(wire[start : start + cut])
        out = decoder.finish()
    except (TooLarge, BadEncoding):
        return
    assert len(out) <= limit
    if kind == header and kind in ("gzip", "br") and len(data) <= limit:
        assert out == data


# --- the full-text query path -----------------------------------------------------------------

_TEXTS = [
    "The harbour wall was repaired by the council after the winter storm damaged it badly.",
    "Budget talks at the town hall ended without agreement on the new sea defences plan.",
    "A \x1b[31mred\x1b[0m title and \u202edesrever\u202c text from a hostile page.",
]


@pytest.fixture(scope="module")
def archive() -> Iterator[Archive]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "news.db"
        with Archive.open(db) as writable:
            results = []
            for n, text in enumerate(_TEXTS):
                url = f"https://news.example/2026/01/story-{n}"
                art = Article(
                    url=url,
                    canonical_url=url,
                    text=text,
                    content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    title=f"Story {n}: " + text[:30],
                    published=f"2026-01-0{n + 1}T10:00:00Z",
                    language="en",
                )
                results.append(
                    PageResult(Candidate(url, "s"), "article", "2026-01-10T00:00:00Z", article=art)
                )
            writable.save(results, None)
        with Archive.open(db, readonly=True) as readonly:
            yield readonly


_FTS_BITS = st.sampled_from(
    [
        "harbour",
        "wall",
        '"sea wall"',
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        ")",
        "(",
        "*",
        "title:",
        "text:",
        "{title text}:",
        "^",
        "+",
        "-",
        '"',
        ":",
        "\x00",
        "\x1b",
        "é",
        "🎉",
        " ",
        "rank",
        "'",
        ";",
        "--",
        "%",
        "_",
    ]
)
_FTS = st.one_of(st.lists(_FTS_BITS, max_size=12).map("".join), st.text(max_size=40))


@FAST
@given(
    query=_FTS,
    since=st.one_of(st.none(), st.sampled_from(["2026-01-02", "7d", "bad", "2026-01-02T10:00"])),
    limit=st.integers(1, 50),
)
def test_search_gives_hits_or_a_query_error(
    archive: Archive, query: str, since: str | None, limit: int
) -> None:
    try:
        hits = queries.search(archive, query, queries.Filters(since=since), limit)
    except (QueryError, UsageError):
        return
    assert len(hits) <= limit
    assert all(isinstance(hit.id, int) for hit in hits)


# --- regressions: bugs the properties found, each fixed -----------------------------------


@FEEDPARSER_310
@pytest.mark.parametrize(
    "body",
    [
        b'<rss version="2.0"><channel><item><link>&#1114112;</link></item></channel></rss>',
        b'<rss version="2.0"><channel><item><link>&#xD800;</link></item></channel></rss>',
        b'<?xml version="1.0" encoding="\xd0\xd0UTF-8"?><rss version="2.0"><channel/></rss>',
        b'<?xml version="1.0" encoding="UTF-8\x00"?><rss version="2.0"><channel/></rss>',
    ],
    ids=["past-unicode", "surrogate", "label-bytes", "label-nul"],
)
def test_parse_feed_lets_no_feedparser_exception_out(body: bytes) -> None:
    try:
        entries = parse_feed(body, BASE)
    except DiscoveryError:
        return
    _check_entries(entries)


@pytest.mark.parametrize("encoding", ["shift_jis", "euc-jp", "gb2312", "big5", "utf-7", "bogus"])
def test_iter_sitemap_with_an_encoding_expat_cannot_read(encoding: str) -> None:
    body = (
        f'<?xml version="1.0" encoding="{encoding}"?><urlset>'
        "<url><loc>https://news.example/2026/01/a</loc></url></urlset>"
    ).encode()
    try:
        entries = list(iter_sitemap(body, BASE))
    except DiscoveryError:
        return
    assert entries == [Entry("https://news.example/2026/01/a")]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=undefined", b"<p>x</p>"),
        ("text/html", b'<meta charset="punycode"><p>x</p>'),
        ("text/html", b'<meta charset="idna"><p>plain ascii</p>'),
        ("text/html", b'<meta charset="unicode_escape"><p>C:\\new\\table</p>'),
    ],
)
def test_charset_labels_that_are_not_web_encodings(content_type: str, body: bytes) -> None:
    encoding = decide_encoding(body, content_type)
    assert encoding not in ("idna", "punycode", "undefined", "unicode-escape")
    assert "<p>" in to_text(body, encoding)


_SOURCE = {"name": "a", "url": "http://a.example/"}


@pytest.mark.parametrize(
    "data",
    [
        {"fetch": {"revalidate_hours": 10**400}, "sources": [_SOURCE]},
        {"sources": [{**_SOURCE, "refresh_after": 10**400}]},
        {"sources": [{**_SOURCE, "include": ["(" * 2000 + ")" * 2000]}]},
        {"sources": [{**_SOURCE, "exclude": ["a{4294967296}"]}]},
    ],
    ids=["huge-int-hours", "huge-int-days", "nested-regex", "regex-repeat"],
)
def test_config_parse_errors_are_config_errors(data: Any) -> None:
    with pytest.raises(ConfigError, match=r"^sources\.yaml: (source 'a': )?key '"):
        parse(data)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "{a: " * 3000 + "1" + "}" * 3000,
        'user_agent: "\\U00110000"',
        'archive: "\\U80000000"',
    ],
    ids=["deep-list", "deep-map", "escape-past-unicode", "escape-past-int"],
)
def test_config_load_of_deeply_nested_yaml(text: str, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: not valid YAML")


@pytest.mark.parametrize(
    "data",
    [
        {"fetch": {"revalidate_hours": math.inf}, "sources": [_SOURCE]},
        {"fetch": {"timeout": math.nan}, "sources": [_SOURCE]},
        {"fetch": {"backoff": math.nan}, "sources": [_SOURCE]},
        {"sources": [{**_SOURCE, "refresh_every": math.inf}]},
        {"fetch": {"user_agent": "newsarchive/1 (é)"}, "sources": [_SOURCE]},
        {"fetch": {"user_agent": "bot\nX-Injected: 1"}, "sources": [_SOURCE]},
        {"fetch": {"max_bytes": 10**30}, "sources": [_SOURCE]},
        {"archive": "news\x00.db", "sources": [_SOURCE]},
    ],
    ids=[
        "inf-hours",
        "nan-timeout",
        "nan-backoff",
        "inf-every",
        "ua-latin",
        "ua-newline",
        "max-bytes",
        "nul-path",
    ],
)
def test_config_values_the_run_cannot_use_are_config_errors(data: Any) -> None:
    with pytest.raises(ConfigError, match=r"^sources\.yaml: (source 'a': )?key '"):
        parse(data)


def test_search_with_a_query_that_is_not_utf8(archive: Archive) -> None:
    with Archive.open(archive.path, readonly=True) as fresh, pytest.raises(QueryError):
        queries.search(fresh, "harbour \udcff", queries.Filters(), 5)
