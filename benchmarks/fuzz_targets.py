"""Fuzz targets for the entry points that read strangers' bytes, and the drivers that
run them for a fixed time: atheris (coverage-guided libFuzzer) where it is installed,
else hypothesis at a high example count. `benchmarks/fuzz.sh MINUTES` runs them all.

    python benchmarks/fuzz_targets.py --target extract --seconds 120 --out /tmp/fuzz/extract
    python benchmarks/fuzz_targets.py --summarize /tmp/fuzz

Targets (each takes one byte string; the first bytes choose options):

    extract    pipeline.extract.extractor.extract(html, url, ExtractOptions)   -> Article | None
    worker     decode.decide_encoding + workers.extract_bytes        -> (Article | None, reason)
    discovery  feeds.parse_feed / iter_sitemap / feed_links / article_links / sniff /
               robots_sitemaps                                       -> results | DiscoveryError
    urls       urls.canonicalize (+ idempotent, http(s) only, host kept)
    decode     decode.BoundedDecoder (<= limit | TooLarge | BadEncoding),
               decide_encoding + to_text                            -> str

A crash is any other exception (or a broken property). Crashes that match a bug already
pinned by an xfail test are counted as "known" and the run goes on; each new one is
saved (crash-<hash>.bin) and the run goes on too, so one run reports every distinct
crash it finds. Each target process writes summary.json; --summarize prints them all
and exits 1 when there is a new crash.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import re
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import brotli

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_NAMES = ("extract", "worker", "discovery", "urls", "decode")
BASES = (
    "https://news.example/section/feed.xml",
    "http://127.0.0.1:8080/",
    "https://bücher.example/a/b/c",
    "http://[::1]:9/x?y=1#z",
    "",
)
CHARSETS = (
    "utf-8",
    "windows-1252",
    "iso-8859-1",
    "shift_jis",
    "euc-jp",
    "gb2312",
    "big5",
    "koi8-r",
    "utf-16",
    "utf-16be",
    "utf-32",
    "utf-7",
    "cp037",
    "x-user-defined",
    "bogus",
    "",
)
ENCODINGS = ("", "gzip", "deflate", "br", "identity", "gzip, br", "br, gzip", "x-gzip", "zstd")


# --- the targets ------------------------------------------------------------------------------


def _pick(data: bytes, index: int, choices: tuple[Any, ...]) -> Any:
    return choices[data[index] % len(choices)] if len(data) > index else choices[0]


def t_extract(data: bytes) -> None:
    from pipeline.extract.extractor import extract
    from pipeline.models import Article, ExtractOptions

    options = _pick(
        data,
        0,
        (
            ExtractOptions(),
            ExtractOptions(drop=(".related", "#comments", "aside"), min_text_length=0),
            ExtractOptions(include_tables=False, keep_social_posts=False, now="2026-01-01"),
        ),
    )
    url = _pick(data, 1, BASES) or "https://news.example/"
    result = extract(data[2:].decode("utf-8", "replace"), url, options)
    assert result is None or isinstance(result, Article), type(result)


def t_worker(data: bytes) -> None:
    from pipeline.decode import decide_encoding
    from pipeline.extract.workers import extract_bytes
    from pipeline.models import Article, ExtractOptions

    body = data[2:]
    label = _pick(data, 0, CHARSETS)
    content_type = f"text/html; charset={label}" if label else "text/html"
    encoding = (
        decide_encoding(body, content_type) if data[:1] != b"\x00" else _pick(data, 1, CHARSETS)
    )
    result, reason = extract_bytes(
        body, encoding or None, "https://news.example/a", ExtractOptions()
    )
    assert result is None or isinstance(result, Article), type(result)
    assert (result is None) == bool(reason), reason


def t_discovery(data: bytes) -> None:
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
    from pipeline.errors import DiscoveryError

    which = data[0] % 6 if data else 0
    url = _pick(data, 1, BASES) or "https://news.example/"
    body = data[2:]
    text = body.decode("utf-8", "replace")
    try:
        if which == 0:
            found: list[Any] = parse_feed(body, url, _pick(data, 1, (None, "application/rss+xml")))
        elif which == 1:
            found = list(iter_sitemap(body, url))
        elif which == 2:
            found = [Entry(u) for u in feed_links(text, url)]
        elif which == 3:
            found = article_links(text, url)
        elif which == 4:
            found = [Entry(u) for u in robots_sitemaps(text.splitlines(), url)]
            found = [e for e in found if _canonical_ok(e.url)]
        else:
            assert sniff(body) in ("feed", "sitemap", "sitemapindex", "text", "html")
            found = []
    except DiscoveryError:  # UnsafeXMLError is one
        return
    for item in found:
        assert isinstance(item, Entry | ChildSitemap), type(item)
        if which != 4:
            assert _canonical_ok(item.url), f"not canonical: {item.url!r}"


def _canonical_ok(url: str) -> bool:
    from pipeline.urls import canonicalize

    return canonicalize(url) == url if url.startswith("http") else True


def _norm_host(host: str) -> str:
    import ipaddress

    host = host.strip().rstrip(".").lower()
    try:
        return ipaddress.IPv6Address(host.split("%")[0]).compressed
    except ValueError:
        pass
    return host if host.isascii() else host.encode("idna").decode("ascii")


def t_urls(data: bytes) -> None:
    from pipeline.urls import canonicalize

    base = _pick(data, 0, (None, *BASES))
    url = data[1:].decode("utf-8", "replace")
    result = canonicalize(url, base=base or None)
    if result is None:
        return
    assert isinstance(result, str)
    assert result.startswith(("http://", "https://")), result
    assert result.isascii(), result
    assert result.isprintable(), result
    assert " " not in result, result
    again = canonicalize(result)
    assert again == result, f"not idempotent: {url!r} -> {result!r} -> {again!r}"
    if base is None:
        try:
            before = urlsplit(url.strip()).hostname
        except ValueError:
            return
        if before is not None:
            try:
                expected = _norm_host(before)
            except UnicodeError:
                return
            assert urlsplit(result).hostname == expected, f"host changed: {url!r} -> {result!r}"


def t_decode(data: bytes) -> None:
    from pipeline.decode import BadEncoding, BoundedDecoder, TooLarge, decide_encoding, to_text

    header = _pick(data, 0, ENCODINGS)
    limit = (1, 100, 4096, 65536, 10_000_000)[data[1] % 5] if len(data) > 1 else 4096
    gzip_file = len(data) > 2 and data[2] % 2 == 1
    step = 1 + (data[3] if len(data) > 3 else 0) * 7
    body = data[4:]
    try:
        decoder = BoundedDecoder(header, limit, gzip_file=gzip_file)
        for start in range(0, len(body), step):
            decoder.feed(body[start : start + step])
        out = decoder.finish()
        assert len(out) <= limit, (len(out), limit)
    except (TooLarge, BadEncoding):
        out = body
    label = _pick(data, 2, CHARSETS)
    content_type = f"text/html; charset={label}" if label else None
    encoding = decide_encoding(out, content_type)
    assert isinstance(to_text(out, encoding), str)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "extract": t_extract,
    "worker": t_worker,
    "discovery": t_discovery,
    "urls": t_urls,
    "decode": t_decode,
}


# --- known bugs (pinned by xfail tests; see tests/test_hostile.py, test_properties.py) ------

KNOWN: list[tuple[str, str, str]] = [
    # (label, regex on "Type: message", regex on the traceback's file:function lines).
    # Empty: every bug these targets found is fixed, with a regression test in tests/.
]


def signature(exc: BaseException) -> tuple[str, str | None]:
    """(a stable name for the crash, the known bug it is, if any)."""
    message = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.name}" for f in frames]
    trace = "\n".join(where)
    for label, text_re, frames_re in KNOWN:
        if re.search(text_re, message, re.S) and (not frames_re or re.search(frames_re, trace)):
            return label, label
    ours = [w for w in where if w.startswith("pipeline/")] or where or ["?"]
    first_line = message.splitlines()[0] if message else ""
    if isinstance(exc, AssertionError):  # "tag: details": the tag names the property
        first_line = first_line.split(": ")[0] + ": " + first_line.split(": ")[1][:40]
    first_line = re.sub(r"0x[0-9a-f]+|\d+", "N", first_line)[:120]
    return f"{ours[-1]} | {where[-1]} | {first_line}", None


# --- seed corpora -----------------------------------------------------------------------------


def seeds(target: str) -> list[bytes]:
    """Small valid inputs for each target (and a few hostile ones), made here."""
    from pipeline.demo import pages
    from tests.synth import synthetic_articles

    articles = synthetic_articles(3, seed=5, paragraphs=(2, 3))
    base = "https://news.example"
    html = pages.article_page(articles[0], "Seed Gazette", base, articles[1:], articles[1:])
    small = (
        "<html><head><title>T</title><meta charset=utf-8>"
        '<script type="application/ld+json">{"@type":"NewsArticle","headline":"H",'
        '"datePublished":"2026-01-01","author":{"name":"A"}}</script></head><body>'
        "<article><h1>H</h1><p>"
        + "A sentence of the story, long enough to count. "
        * 6
        + "</p><aside class=related><h2>Related</h2><ul><li><a href=/a>a</a></li></ul></aside>"
        "</article></body></html>"
    )
    feed = pages.rss("Seed", base, articles)
    index = pages.sitemap_index(base, [("/a.xml", "2026-01-01"), ("/b.xml.gz", "2026-01-02")])
    urlset = pages.urlset(base, articles, "Seed", news=True)
    listing = pages.listing_page("Home", "Seed", articles)
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>E</title>'
        '<link rel="alternate" href="/2026/01/e"/><updated>2026-01-01T00:00:00Z</updated>'
        "</entry></feed>"
    )
    if target == "extract":
        return [b"\x00\x00" + html.encode(), b"\x01\x02" + small.encode()]
    if target == "worker":
        return [
            b"\x01\x00" + html.encode(),
            b"\x00\x03" + small.encode("utf-8"),
            b"\x02\x00" + small.encode("cp1252", "replace"),
            b"\x09\x00" + small.replace("utf-8", "utf-16").encode("utf-16"),
        ]
    if target == "discovery":
        return [
            b"\x00\x00" + feed.encode(),
            b"\x00\x00" + atom.encode(),
            b"\x01\x00" + urlset.encode(),
            b"\x01\x00" + index.encode(),
            b"\x01\x00" + b"https://news.example/t1\nhttps://news.example/t2\n",
            b"\x02\x00" + html.encode(),
            b"\x03\x00" + listing.encode(),
            b"\x04\x00" + b"User-agent: *\nSitemap: https://news.example/s.xml\n",
            b"\x05\x00" + feed.encode(),
        ]
    if target == "urls":
        return [
            b"\x00" + u.encode()
            for u in (
                "HTTP://Example.COM:80/a/../b/?utm_source=x&b=2&a=1&fbclid=z#frag",
                "https://bücher.example/é?q=ü",
                "https://user:pw@ex.com/a%7e%2f b",
                "http://[::1]:8080/x",
                "../b?utm_campaign=x",
                "//cdn.example/x.js",
                "javascript:alert(1)",
            )
        ] + [b"\x02" + b"../../x/./y?z=%41"]
    if target == "decode":
        text = small.encode()
        return [
            b"\x00\x02\x00\x10" + text,
            b"\x01\x03\x00\x05" + gzip.compress(text),
            b"\x02\x03\x00\x01" + zlib.compress(text),
            b"\x03\x03\x00\x02" + brotli.compress(text),
            b"\x00\x03\x01\x03" + gzip.compress(text),
            b"\x01\x00\x00\x00" + gzip.compress(b"\0" * 100_000),
        ]
    raise KeyError(target)


# --- results ----------------------------------------------------------------------------------


class Results:
    """Counts, crash signatures and reproducers of one target's run, saved as it goes."""

    def __init__(self, target: str, engine: str, out: Path, seconds: float) -> None:
        self.target = target
        self.engine = engine
        self.out = out
        self.seconds = seconds
        self.started = time.monotonic()
        self.executions = 0
        self.new: dict[str, dict[str, Any]] = {}
        self.known: dict[str, int] = {}
        self.last_save = 0.0
        out.mkdir(parents=True, exist_ok=True)

    def check(self, data: bytes) -> BaseException | None:
        """Run the target on `data`; record and return a new crash, else None."""
        self.executions += 1
        try:
            TARGETS[self.target](data)
        except Exception as exc:  # noqa: BLE001 - every exception is a finding here
            name, known = signature(exc)
            if known is not None:
                self.known[known] = self.known.get(known, 0) + 1
                return None
            entry = self.new.setdefault(name, {"count": 0, "example": None, "error": ""})
            entry["count"] += 1
            if entry["example"] is None:
                digest = hashlib.sha1(data).hexdigest()[:12]
                path = self.out / f"crash-{digest}.bin"
                path.write_bytes(data)
                entry["example"] = str(path)
                entry["error"] = "".join(traceback.format_exception(exc))[-3000:]
            return exc
        finally:
            now = time.monotonic()
            if now - self.last_save > 10:
                self.save("running")
        return None

    def save(self, state: str) -> None:
        self.last_save = time.monotonic()
        data = {
            "target": self.target,
            "engine": self.engine,
            "state": state,
            "seconds": round(time.monotonic() - self.started, 1),
            "executions": self.executions,
            "new": self.new,
            "known": self.known,
        }
        tmp = self.out / "summary.json.tmp"
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
        tmp.replace(self.out / "summary.json")

    def over(self) -> bool:
        return time.monotonic() - self.started >= self.seconds


# --- the drivers ------------------------------------------------------------------------------


def run_atheris(results: Results) -> None:
    import atheris

    with atheris.instrument_imports(include=["pipeline", "feedparser", "courlan"]):
        pass

    corpus = results.out / "corpus"
    corpus.mkdir(exist_ok=True)
    for n, seed in enumerate(seeds(results.target)):
        (corpus / f"seed-{n}").write_bytes(seed)

    def one_input(data: bytes) -> None:
        if results.over():
            results.save("finished")
            sys.stdout.flush()
            os._exit(0)  # libFuzzer would not return: stop here, summary saved
        results.check(data)

    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={int(results.seconds) + 30}",  # a backstop; we stop first
        "-timeout=30",
        "-rss_limit_mb=3072",
        "-max_len=65536",
        "-print_final_stats=1",
        f"-artifact_prefix={results.out}/",
    ]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def _strategy(target: str) -> Any:
    """Structured inputs for the hypothesis engine: the seeds, mutated."""
    from hypothesis import strategies as st

    sys.path.insert(0, str(REPO / "tests"))
    import test_properties as props  # the property tests' strategies

    seed_list = seeds(target)
    chunks = st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"<div>" * 50,
                b"</p>",
                b"<![CDATA[",
                b"]]>",
                b"<!--",
                b"&#1114112;",
                b"&amp;",
                b"<?xml version='1.0' encoding='utf-16'?>",
                b'<meta charset="shift_jis">',
                b'<script type="application/ld+json">',
                b"</script>",
                b"\x00",
                b"\xff\xfe",
                b"\x1f\x8b\x08\x00",
                b"//",
                b"%2e%2E",
                b"xn--",
                b"[::1]",
            ]
        ),
    )

    @st.composite
    def mutated(draw: Any) -> bytes:
        data = bytearray(draw(st.sampled_from(seed_list)))
        for _ in range(draw(st.integers(0, 8))):
            at = draw(st.integers(0, len(data)))
            op = draw(st.integers(0, 2))
            if op == 0:
                data[at:at] = draw(chunks)
            elif op == 1:
                data[at : at + draw(st.integers(0, 64))] = b""
            else:
                piece = bytes(data[at : at + draw(st.integers(0, 200))])
                data[at:at] = piece * draw(st.integers(1, 20))
        return bytes(data)

    structured: dict[str, Any] = {
        "urls": st.one_of(props._ANY_URL, props.urls()).map(lambda u: b"\x00" + u.encode()),
        "discovery": st.tuples(st.integers(0, 5), props._DOC_BYTES).map(
            lambda t: bytes([t[0], 0]) + t[1]
        ),
        "extract": props._HTML.map(lambda h: b"\x00\x00" + h.encode("utf-8", "replace")),
    }
    options = [mutated(), st.binary(max_size=2000)]
    if target in structured:
        options.append(structured[target])
    return st.one_of(*options)


def run_hypothesis(results: Results) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    strategy = _strategy(results.target)
    batch = 200

    def one_batch() -> None:
        @settings(
            max_examples=batch,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def probe(data: bytes) -> None:
            if results.over():
                return
            crash = results.check(data)
            if crash is not None:
                raise crash  # let hypothesis shrink it (the shrunk one is recorded too)

        with contextlib.suppress(Exception):  # each crash is recorded by Results.check
            probe()

    while not results.over():
        one_batch()
    results.save("finished")


# --- the command line -------------------------------------------------------------------------


def summarize(out: Path) -> int:
    new_total = 0
    print(f"fuzz results in {out}")
    for path in sorted(out.glob("*/summary.json")):
        data = json.loads(path.read_text())
        rate = data["executions"] / max(1.0, data["seconds"])
        print(
            f"  {data['target']:<10} {data['engine']:<10} {data['state']:<9} "
            f"{data['executions']:>9} inputs in {data['seconds']:>6.0f} s ({rate:,.0f}/s)"
        )
        for label, count in sorted(data["known"].items()):
            print(f"      known bug x{count}: {label}")
        for name, entry in data["new"].items():
            new_total += 1
            print(
                f"      NEW CRASH x{entry['count']}: {name}\n        reproducer: {entry['example']}"
            )
        artifacts = sorted(path.parent.glob("timeout-*")) + sorted(path.parent.glob("oom-*"))
        for artifact in artifacts:
            new_total += 1
            print(f"      NEW {artifact.name.split('-')[0].upper()}: {artifact}")
    print(f"new crashes: {new_total}")
    return 1 if new_total else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=TARGET_NAMES)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--summarize", type=Path, metavar="DIR")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="run one saved input")
    args, _ = parser.parse_known_args(argv)
    if args.summarize:
        return summarize(args.summarize)
    if args.replay:
        TARGETS[args.target](args.replay.read_bytes())  # raises: the traceback is the report
        print("no crash")
        return 0
    if not args.target or not args.out:
        parser.error("--target and --out are required")
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    results = Results(args.target, engine, args.out, args.seconds)
    results.save("started")
    if engine == "atheris":
        run_atheris(results)
    else:
        run_hypothesis(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
