"""HTML, feeds and sitemaps of the bundled sample news site.

Pages look like a typical WordPress news theme: a mega-menu, a cookie notice, share
bars, an embedded social post inside the story, a figure credit, a newsletter box,
an author bio, a "Related posts" list with titles and bylines, a "Leave a Comment"
form, a "Most read" sidebar and a footer. `bloat` pads pages with the inline
scripts, styles and menus that make real news pages ~150 KB.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any


@dataclass(frozen=True, slots=True)
class SiteArticle:
    slug: str
    section: str
    title: str
    paragraphs: tuple[str, ...]
    published: str  # ISO 8601 with Z
    language: str = "en"
    authors: tuple[str, ...] = ()
    agency: str | None = None
    updated: str | None = None
    summary: str = ""
    tags: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"/{self.published[:4]}/{self.published[5:7]}/{self.slug}/"

    @property
    def byline(self) -> str:
        return " and ".join(self.authors) if self.authors else (self.agency or "Staff")

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> SiteArticle:
        return cls(
            slug=item["slug"],
            section=item["section"],
            title=item["title"],
            paragraphs=tuple(item["paragraphs"]),
            published=item["published"],
            language=item.get("language") or "en",
            authors=tuple(item.get("authors") or ()),
            agency=item.get("agency"),
            updated=item.get("updated"),
            summary=item.get("summary") or "",
            tags=tuple(item.get("tags") or ()),
        )


def _date(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _slugify(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


_STYLE = """<style>body{font-family:Georgia,serif;margin:0;color:#222}
.site-header{background:#0b2545;color:#fff;padding:1em}.main-menu ul{list-style:none;display:flex}
.share-bar a{margin-right:.5em}.cookie-notice{position:fixed;bottom:0;background:#eee}
.related-posts article{display:inline-block;width:30%}.sidebar{float:right;width:25%}</style>"""

_SCRIPT = """<script>window.dataLayer=window.dataLayer||[];
function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','G-DEMO');</script>"""


def bloat(kb: int, seed: str) -> tuple[str, str]:
    """Inline script/style blobs and a mega-menu adding about `kb` KB to a page."""
    if kb <= 0:
        return "", ""
    rng = random.Random(seed)
    words = [
        "news",
        "local",
        "sport",
        "weather",
        "business",
        "culture",
        "opinion",
        "video",
        "podcast",
        "events",
        "harbour",
        "council",
        "schools",
        "transport",
        "health",
    ]
    script = (
        "var __CONFIG__="
        + json.dumps(
            {
                f"k{i}": "".join(
                    rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(60)
                )
                for i in range(kb * 4)
            }
        )
        + ";"
    )
    css = "".join(
        f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{i % 4096:03x}}}\n"
        for i in range(kb * 6)
    )
    menu = "".join(
        f'<li><a href="/section/{rng.choice(words)}/{i}/">{rng.choice(words).title()} '
        f"{rng.choice(words)}</a></li>"
        for i in range(kb * 3)
    )
    head = f"<style>{css}</style><script>{script}</script>"
    return head, f'<nav class="mega-menu"><ul>{menu}</ul></nav>'


def article_page(
    a: SiteArticle,
    site: str,
    base: str,
    related: list[SiteArticle],
    most_read: list[SiteArticle],
    bloat_kb: int = 0,
    padding: tuple[str, str] | None = None,
) -> str:
    """A WordPress-style article page; `bloat_kb` pads it (or `padding`, a precomputed
    (head, menu) pair from `bloat`, shared by every page of a site)."""
    url = base + a.path
    people = [{"@type": "Person", "name": n} for n in a.authors] or [
        {"@type": "Organization", "name": a.agency or site}
    ]
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "datePublished": a.published,
        "dateModified": a.updated or a.published,
        "author": people,
        "publisher": {"@type": "Organization", "name": site},
        "description": a.summary,
        "mainEntityOfPage": url,
        "inLanguage": a.language,
        "keywords": ", ".join(a.tags),
    }
    bloat_head, bloat_menu = padding if padding is not None else bloat(bloat_kb, a.slug)
    middle = max(1, len(a.paragraphs) // 2)
    paras = [f"<p>{escape(p)}</p>" for p in a.paragraphs]
    # An embedded post whose widget failed to load, as WordPress then prints it: the
    # card's title line in a plain paragraph (cf. shared/examples/naive-scrape.txt).
    embed = (
        '<p>Halloway Watch \U0001f30a on X: "Crowds gathering early today \u2014 follow our '
        'live coverage #PortHalloway ..." <a href="https://social.example/hallowaywatch/'
        'status/1">social.example</a></p>'
    )
    figure = (
        '<figure class="wp-block-image"><img src="/img/photo.jpg" alt="">'
        "<figcaption>Photo: Gazette archive / Kit Ames</figcaption></figure>"
    )
    body = "".join(paras[:middle]) + embed + figure + "".join(paras[middle:])
    related_html = "".join(
        f'<article class="related-item"><h4><a href="{r.path}">{escape(r.title)}</a></h4>'
        f'<span class="author-name">{escape(r.byline)}</span></article>'
        for r in related
    )
    most_html = "".join(f'<li><a href="{m.path}">{escape(m.title)}</a></li>' for m in most_read)
    authors_html = " and ".join(
        f'<a rel="author" href="/author/{_slugify(n)}/">{escape(n)}</a>' for n in a.authors
    ) or escape(a.agency or "Staff")
    meta_authors = "".join(f'<meta name="author" content="{escape(n)}">' for n in a.authors)
    tags_html = " ".join(f'<a href="/tag/{_slugify(t)}/" rel="tag">{escape(t)}</a>' for t in a.tags)
    when = _date(a.published).strftime("%-d %B %Y, %H:%M")
    return f"""<!DOCTYPE html>
<html lang="{a.language}"><head><meta charset="utf-8">
<title>{escape(a.title)} | {escape(site)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{escape(a.summary)}">
<meta property="og:title" content="{escape(a.title)}">
<meta property="og:site_name" content="{escape(site)}">
<meta property="og:type" content="article"><meta property="og:url" content="{url}">
<meta property="og:image" content="{base}/img/photo.jpg">
<meta property="article:published_time" content="{a.published}">
<meta property="article:section" content="{a.section}">{meta_authors}
<link rel="canonical" href="{url}">
<link rel="alternate" type="application/rss+xml" title="{escape(site)}" href="/feed.xml">
<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>
{_STYLE}{_SCRIPT}{bloat_head}</head>
<body class="single single-post">
<div class="cookie-notice" id="cookie-notice">We use cookies to improve your experience on
our site. <button>Accept all cookies</button> <a href="/privacy/">Privacy policy</a></div>
<header class="site-header"><a class="logo" href="/">{escape(site)}</a>
<nav class="main-menu"><ul><li><a href="/">Home</a></li><li><a href="/section/city/">City</a></li>
<li><a href="/section/science/">Science</a></li><li><a href="/section/business/">Business</a></li>
<li><a href="/section/sport/">Sport</a></li><li><a href="/section/culture/">Culture</a></li>
<li><a href="/section/world/">World</a></li></ul></nav>{bloat_menu}</header>
<main id="main"><article class="post type-post">
<header class="entry-header"><span class="cat-links"><a href="/section/{a.section}/">
{a.section.title()}</a></span><h1 class="entry-title">{escape(a.title)}</h1>
<div class="entry-meta">By {authors_html} &middot;
<time class="entry-date published" datetime="{a.published}">{when}</time></div></header>
<div class="share-bar"><span>Share this:</span> <a href="#">Facebook</a> <a href="#">X</a>
<a href="#">WhatsApp</a> <a href="#">Email</a></div>
<div class="entry-content">{body}
<div class="newsletter-box"><h3>Get the Gazette in your inbox</h3><p>Sign up for our free
morning newsletter and never miss a story from Port Halloway.</p><form><input type="email"
placeholder="Your email"><button>Subscribe</button></form></div></div>
<footer class="entry-footer"><div class="tags-links">Tags: {tags_html}</div>
<div class="author-bio"><h4>About the author</h4><p>{escape(a.byline)} writes for
{escape(site)}. Send tips to newsroom@gazette.example.</p></div></footer></article>
<section class="related-posts"><h3>Related posts</h3>{related_html}</section>
<div id="comments" class="comments-area"><h3 id="reply-title">Leave a Comment</h3>
<form class="comment-form"><p>Your email address will not be published.</p><textarea
name="comment"></textarea><input name="author" placeholder="Name"><button>Post Comment</button>
</form></div></main>
<aside class="sidebar widget-area"><h3>Most read</h3><ol>{most_html}</ol></aside>
<footer class="site-footer"><p>&copy; 2026 {escape(site)} &middot; <a href="/about/">About us</a>
&middot; <a href="/privacy/">Privacy</a> &middot; <a href="/contact/">Contact</a></p></footer>
{_SCRIPT}</body></html>"""


def listing_page(title: str, site: str, items: list[SiteArticle], extra: str = "") -> str:
    teasers = "".join(
        f'<article class="teaser"><h2><a href="{a.path}">{escape(a.title)}</a></h2>'
        f"<p>{escape(a.summary)}</p><span>{escape(a.byline)}</span></article>"
        for a in items
    )
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | {escape(site)}</title>
<link rel="alternate" type="application/rss+xml" title="{escape(site)}" href="/feed.xml">
{_STYLE}</head><body><header class="site-header"><a href="/">{escape(site)}</a>
<nav><a href="/about/">About</a> <a href="/author/kit-ames/">Kit Ames</a></nav></header>
<main><h1>{escape(title)}</h1>{teasers}{extra}</main>
<footer><a href="/about/">About us</a></footer></body></html>"""


def simple_page(title: str, site: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | {escape(site)}</title></head><body><main><article>
<h1>{escape(title)}</h1>{body}</article></main></body></html>"""


def rss(site: str, base: str, items: list[SiteArticle]) -> str:
    entries = "".join(
        f"<item><title>{escape(a.title)}</title><link>{base}{a.path}?utm_source=rss&amp;"
        f'utm_medium=feed</link><guid isPermaLink="false">{a.slug}</guid>'
        f"<pubDate>{format_datetime(_date(a.published))}</pubDate>"
        f"<description>{escape(a.summary)}</description></item>"
        for a in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(site)}</title><link>{base}/</link><description>Latest news"
        f"</description>{entries}</channel></rss>"
    )


def sitemap_index(base: str, names: list[tuple[str, str]]) -> str:
    items = "".join(
        f"<sitemap><loc>{base}{path}</loc><lastmod>{lastmod}</lastmod></sitemap>"
        for path, lastmod in names
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns='
        f'"http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
    )


def urlset(base: str, items: list[SiteArticle], site: str = "", news: bool = False) -> str:
    def entry(a: SiteArticle) -> str:
        extra = ""
        if news:
            extra = (
                f"<news:news><news:publication><news:name>{escape(site)}</news:name>"
                f"<news:language>{a.language}</news:language></news:publication>"
                f"<news:publication_date>{a.published}</news:publication_date>"
                f"<news:title>{escape(a.title)}</news:title></news:news>"
            )
        return (
            f"<url><loc>{base}{a.path}</loc><lastmod>{a.updated or a.published}</lastmod>"
            f"{extra}</url>"
        )

    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
        f'"http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>'
        f"{''.join(entry(a) for a in items)}</urlset>"
    )
