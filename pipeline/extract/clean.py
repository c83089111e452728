"""Page cleaning before trafilatura (selectolax/Lexbor). Pure; no I/O, no module state.

Generic rules only (none names a site). `preclean` removes, in place:
- the source's `drop` selectors, scripts, styles, embeds, forms' controls, nav, aside,
  figcaptions, hidden nodes, embedded social posts and WordPress link cards;
- elements whose class/id words name clutter trafilatura's own lists can miss
  (related, recommended, newsletter, subscribe, sharing, cookie/consent, author bio,
  outbrain/taboola, disqus, breadcrumbs, credits, copyright, disclosure, author box,
  reading time), never the story's container;
- the block under a clutter heading ("Related posts", "Read more", "You may also like",
  "Leave a comment", ... in several languages) even in plain, unclassed markup: the
  heading and the teaser-like siblings after it (links, titles, bylines);
- lists whose every item is a link, paragraphs that are nothing but links, and a
  short label over a linked headline ("Lea también: <a>…</a>").

`header_texts` notes the article header's text (headline, standfirst, byline) for
`boilerplate.clean_lines` to drop from the top of the extracted text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pipeline.extract.boilerplate import CLUTTER_HEADING_RE, HEADING_HINT, SENTENCE_END, fold, words
from pipeline.extract.explain import DROP, PRECLEAN, Trace

# Elements that never hold story text.
_DROP_TAGS = (
    "script, style, noscript, template, svg, canvas, iframe, object, embed, video, audio,"
    " button, select, textarea, input, dialog, nav, aside, figcaption"
)
_TAG_RULE = "tag"  # the trace names the element's tag
_CODE_TAGS = ("script", "style", "noscript", "template", "svg", "canvas")  # no text to show
_HIDDEN = (
    "[hidden], [aria-hidden='true'], [style*='display:none' i], [style*='display: none' i],"
    " [style*='visibility:hidden' i], [style*='visibility: hidden' i]"
)
# Embedded social posts: the archive keeps the story, not what was posted around it
# (unless ExtractOptions.keep_social_posts). Link cards of other pages always go.
_SOCIAL_POSTS = (
    "blockquote.twitter-tweet, blockquote.twitter-video, blockquote.instagram-media,"
    " blockquote.tiktok-embed, blockquote.threads-post, blockquote[data-instgrm-permalink],"
    " .fb-post"
)
_EMBED_CARDS = ".twitter-timeline, .wp-embedded-content"

# class/id tokens of clutter containers trafilatura's own lists can miss. A token
# matches when one of these words is one of its hyphen/underscore/camelCase parts,
# or two adjacent parts run together ("jp-relatedposts", "author-bio", "cookieNotice",
# "TestReport__AuthorBox"), so "tag-sports" on an <article> or "elementor-widget" on
# a story container never match.
_CLUTTER_WORDS = frozenset(
    {
        "related",
        "relatedposts",
        "recommended",
        "recommendations",
        "newsletter",
        "newsletters",
        "subscribe",
        "subscription",
        "sharing",
        "sharebar",
        "sharedaddy",
        "cookie",
        "cookies",
        "gdpr",
        "consent",
        "authorbio",
        "bio",
        "outbrain",
        "taboola",
        "disqus",
        "breadcrumb",
        "breadcrumbs",
        "credit",
        "credits",
        "copyright",  # a copyright notice or a photo's copyright line
        "disclosure",  # an affiliate or advertising disclosure
        "authorbox",  # the author's box (portrait, bio, contact) under the story
        "readingtime",  # "5 min read"
        "readtime",
    }
)
_SLUG_WORDS = frozenset(
    words("a an the of to for with and or in on at by how why what when your our")
)
_TOKEN_SPLIT = re.compile(r"[-_]+|(?<=[a-z])(?=[A-Z])")
_NOT_CLUTTER_RE = re.compile(r"commentary|^(?:tag|category|has|single|post|page)-|headline")
# Cheap first test on the whole attribute: most class/id values contain none of the words.
_CLUTTER_HINT = re.compile("|".join(sorted({w[:5] for w in _CLUTTER_WORDS})))
# The same hint as a CSS selector, so Lexbor (in C) picks the few candidate nodes
# instead of Python looking at every node with a class or id.
_CLUTTER_CANDIDATES = ", ".join(
    f'[{name}*="{hint}" i]'
    for hint in sorted({w[:5] for w in _CLUTTER_WORDS})
    for name in ("class", "id")
)
_HEADING_TAGS = "h2, h3, h4, h5, h6, p, div, span, strong, b, li, section > header"


# Words that also name parts of a story (a "disclosure" accordion of an explainer, a
# section on copyright): they mark clutter only on a short element.
_SHORT_ONLY = frozenset({"copyright", "disclosure", "authorbox", "readingtime", "readtime"})
_SHORT = 400  # characters
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _clutter_words(token: str) -> set[str]:
    """The clutter words a class or id token is made of (none for a heading's slug)."""
    if _NOT_CLUTTER_RE.search(token.lower()):
        return set()
    parts = [part.lower() for part in _TOKEN_SPLIT.split(token) if part]
    if len(parts) >= 4 and any(part in _SLUG_WORDS for part in parts):
        return set()  # a slug made from a heading ("sharing-with-a-single-developer")
    pairs = [a + b for a, b in pairwise(parts)]
    return {part for part in (*parts, *pairs) if part in _CLUTTER_WORDS}


def _is_clutter(node: LexborNode) -> bool:
    attrs = node.attributes
    for name in ("class", "id"):
        value = attrs.get(name)
        if not value or _CLUTTER_HINT.search(value.lower()) is None:
            continue
        if name == "id" and node.tag in _HEADINGS:
            continue  # an anchor made from the heading's words ("copyright-reform")
        for token in value.split():
            found = _clutter_words(token)
            if found - _SHORT_ONLY or (found and _text_len(node) < _SHORT):
                return True
    return False


def _text_len(node: LexborNode) -> int:
    return len(node.text(deep=True).strip())


def _marked(node: LexborNode, removed: set[int]) -> bool:
    """Whether `node` or one of its ancestors is already scheduled for removal."""
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id in removed:
            return True
        current = current.parent
    return False


def _remove_all(
    nodes: Iterable[LexborNode], trace: Trace | None = None, rule: str | dict[int, str] = ""
) -> int:
    """Decompose `nodes`, skipping those inside one already removed; how many were
    removed. With a `trace`, note each removed node's text under `rule` (or
    `rule[node.mem_id]`)."""
    removed: set[int] = set()
    chosen: list[LexborNode] = []
    for node in nodes:
        if not _marked(node, removed):
            removed.add(node.mem_id)
            chosen.append(node)
    if trace is not None:
        for node in chosen:
            name = rule if isinstance(rule, str) else rule.get(node.mem_id, "")
            if name == _TAG_RULE:
                name = f"<{node.tag}> element (holds no story text)"
            if node.tag not in _CODE_TAGS:
                step = DROP if name.startswith("drop ") else PRECLEAN
                trace.remove(step, name, node.text(deep=True, separator=" "))
    for node in chosen:
        node.decompose()
    return len(chosen)


def _link_text_len(node: LexborNode) -> int:
    return sum(len(a.text(deep=True).strip()) for a in node.css("a"))


def _teaser_part(node: LexborNode) -> bool:
    """Whether a block after a clutter heading belongs to it: empty (images), a form,
    mostly links, a list of linked teaser cards, or a short line that ends no
    sentence (a title, a byline, a date)."""
    if node.tag == "form":
        return True
    text = " ".join(node.text(deep=True).split())
    if not text:
        return True
    if _link_text_len(node) >= 0.5 * len(text):
        return True
    if node.tag in ("ul", "ol"):
        items = [li for li in node.iter() if li.tag == "li"]
        # Teaser cards: a linked headline and a line of dek in every item.
        return bool(items) and all(
            li.css_first("a[href]") is not None and _text_len(li) < 300 for li in items
        )
    if node.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return False
    return len(text) < 100 and not text.endswith(SENTENCE_END)


def _clutter_block(heading: LexborNode) -> list[LexborNode]:
    """The heading and the siblings after it that make up the clutter block it introduces."""
    block = [heading]
    sibling = heading.next
    while sibling is not None:
        if sibling.is_element_node:
            if not _teaser_part(sibling):
                break
            block.append(sibling)
        sibling = sibling.next
    return block


def _heading_blocks(tree: LexborHTMLParser, body_len: int) -> list[LexborNode]:
    found: list[LexborNode] = []
    seen: set[int] = set()
    for node in tree.css(_HEADING_TAGS):
        raw = node.text(deep=True)
        if not raw or len(raw) > 80 or not HEADING_HINT.match(raw.lower()):
            continue
        folded = fold(raw)
        if not folded or not CLUTTER_HEADING_RE.match(folded):
            continue
        # Climb out of wrappers that hold nothing but the heading text.
        target = node
        parent = node.parent
        while (
            parent is not None
            and parent.tag not in ("body", "html", "main", "article")
            and fold(parent.text(deep=True)) == folded
        ):
            target = parent
            parent = parent.parent
        if target.mem_id in seen:
            continue
        seen.add(target.mem_id)
        block = _clutter_block(target)
        loose = [n for n in block[1:] if n.tag not in ("ul", "ol")]
        tail_len = sum(_text_len(n) for n in loose)
        if tail_len and sum(_link_text_len(n) for n in loose) < 0.3 * tail_len:
            # Plain text after the heading: keep it, it may be the story.
            block = [target]
        if sum(_text_len(n) for n in block) > 0.5 * body_len:
            continue
        found.extend(block)
    return found


def _link_paragraphs(tree: LexborHTMLParser) -> list[LexborNode]:
    """Paragraphs that are one link (or several) and nothing else: teasers for other
    pages ("SEE ALSO ...", a headline in bold), not sentences of the story."""
    found = []
    for node in tree.css("p"):
        text = " ".join(node.text(deep=True).split())
        if len(text.split()) >= 4 and _link_text_len(node) >= 0.95 * len(text):
            found.append(node)
    return found


# A short label before a linked headline: "Lea también:", "Auch lesen:", "MIRA:".
_LABEL_MAX_WORDS = 4
_LABEL_END = (":", "»", ">", "|")


_FILE = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|zip|csv|mp3|mp4|jpe?g|png)(?:[?#]|$)", re.I)


def _not_a_page(href: str) -> bool:
    """Whether a link goes somewhere other than another page (a file, an anchor, mail)."""
    href = href.strip()
    return href.startswith(("#", "mailto:", "tel:")) or bool(_FILE.search(href))


def _labelled_links(tree: LexborHTMLParser) -> list[LexborNode]:
    """Paragraphs and headings that are a short label and a linked headline after it
    ("Lea también: <a>…</a>", "MIRA: <a>…</a>"): a teaser for another page, whatever
    the label's language. Its form decides, not its words: a label of a few words
    ending in a colon (or », >, |), then link text only, of at least four words."""
    found = []
    for node in tree.css("p, h2, h3, h4, h5, h6"):
        if any(_not_a_page(a.attributes.get("href") or "") for a in node.css("a")):
            continue  # a link to a report, a file, a place on the page: the story's own
        links = [" ".join(a.text(deep=True).split()) for a in node.css("a")]
        links = [link for link in links if link]
        if not links:
            continue
        text = " ".join(node.text(deep=True).split())
        start = text.find(links[0])
        label = text[:start].strip() if start > 0 else ""
        linked = sum(len(link) for link in links)
        if (
            label.endswith(_LABEL_END)
            and len(label.split()) <= _LABEL_MAX_WORDS
            and sum(len(link.split()) for link in links) >= 4
            and len(text) - len(label) - linked <= len(links) + 2
        ):
            found.append(node)
    return found


def _link_lists(tree: LexborHTMLParser) -> list[LexborNode]:
    """Lists whose every item is (nearly) all link text: teaser and navigation lists."""
    found = []
    for node in tree.css("ul, ol"):
        items = [li for li in node.iter() if li.tag == "li"]
        if len(items) < 2:
            continue
        if all(
            _link_text_len(li) >= 0.8 * max(1, _text_len(li)) and _text_len(li) > 0 for li in items
        ):
            found.append(node)
    return found


def _is_head_container(node: LexborNode) -> bool:
    if node.tag == "header":
        return True
    value = (node.attributes.get("class") or "") + " " + (node.attributes.get("id") or "")
    return any("head" in token.lower() for token in value.split())


def _same_words(a: str, b: str) -> bool:
    """Whether most words of the shorter of two texts occur in the other (a headline and
    a title that adds the site's name or a kicker)."""
    words_a, words_b = set(fold(a).split()), set(fold(b).split())
    if not words_a or not words_b:
        return False
    return len(words_a & words_b) >= 0.6 * min(len(words_a), len(words_b))


def _headline_block(tree: LexborHTMLParser, body_len: int, title: str | None) -> list[LexborNode]:
    """The article header around each <h1> that carries the title: headline, standfirst,
    byline and date. (An <h1> that says something else is part of the text.)"""
    found = []
    for h1 in tree.css("h1"):
        if title and not _same_words(h1.text(deep=True), title):
            continue
        block = h1
        node = h1.parent
        for _ in range(4):
            if node is None or node.tag in ("body", "html", "main", "article"):
                break
            size = _text_len(node)
            if size > 1500 or size > 0.3 * body_len:
                break
            if sum(1 for p in node.css("p") if _text_len(p) >= 100) >= 2:
                break
            if _is_head_container(node):
                block = node
            node = node.parent
        found.append(block)
    return found


def header_texts(tree: LexborHTMLParser, title: str | None = None) -> list[str]:
    """The text of the article header (headline, standfirst, byline, date): the
    archive keeps those as metadata, so they are dropped from the top of the story text.
    Call before `preclean`. (Removing the header from the page instead misleads
    trafilatura's choice of the main content on some layouts.)"""
    body = tree.body
    if body is None:
        return []
    body_len = _text_len(body) or 1
    return [
        " ".join(block.text(deep=True, separator=" ").split())
        for block in _headline_block(tree, body_len, title)
    ]


def _unwrap_posts(tree: LexborHTMLParser) -> None:
    """Kept social posts lose the class names of their widget wrappers, which
    trafilatura discards as clutter: the post's text stays, the widget chrome goes."""
    for quote in tree.css(_SOCIAL_POSTS):
        text = fold(quote.text(deep=True))
        node: LexborNode | None = quote
        while node is not None and node.tag not in ("body", "html", "article", "main"):
            if fold(node.text(deep=True)) != text:
                break
            for name in ("class", "id"):
                if name in node.attrs:
                    del node.attrs[name]
            node = node.parent


def _selector_rules(tree: LexborHTMLParser, selectors: list[str]) -> dict[int, str]:
    """Which rule each node a selector matches is removed by (the first one that
    matches it), for the trace."""
    names = {
        _DROP_TAGS: _TAG_RULE,
        _EMBED_CARDS: "link card",
        _SOCIAL_POSTS: "embedded social post",
    }
    rules: dict[int, str] = {}
    for selector in selectors:
        for node in tree.css(selector):
            rules.setdefault(node.mem_id, names.get(selector) or f"drop {selector!r}")
    return rules


def preclean(
    tree: LexborHTMLParser,
    drop: Iterable[str] = (),
    keep_social_posts: bool = False,
    trace: Trace | None = None,
) -> None:
    """Remove clutter from `tree` in place, before text extraction (noting what went
    and why in `trace`, when given)."""
    body = tree.body
    if body is None:
        return
    builtin = [_DROP_TAGS, _EMBED_CARDS]
    if keep_social_posts:
        _unwrap_posts(tree)
    else:
        builtin.append(_SOCIAL_POSTS)
    # The built-in rules in one selector: one walk over the tree instead of three.
    selectors = [", ".join(builtin), *drop]
    order = [*builtin[:2], *drop, *builtin[2:]]  # which rule names a node, for the trace
    rules = _selector_rules(tree, order) if trace is not None else {}
    _remove_all((node for selector in selectors for node in tree.css(selector)), trace, rules)
    body_len = _text_len(body) or 1
    guarded = ("html", "body", "main", "article")
    candidates = [
        node
        for node in tree.css(_HIDDEN)
        if node.tag not in guarded and _text_len(node) < 0.5 * body_len
    ]
    if _remove_all(candidates, trace, "hidden element"):
        body_len = _text_len(body) or 1  # (the body's whole text: measured again if it changed)
    candidates = [
        node
        for node in tree.css(_CLUTTER_CANDIDATES)
        if node.tag not in guarded and _is_clutter(node) and _text_len(node) < 0.4 * body_len
    ]
    if _remove_all(candidates, trace, "clutter class or id (related, newsletter, sharing, …)"):
        body_len = _text_len(body) or 1
    _remove_all(_heading_blocks(tree, body_len), trace, "block under a clutter heading")
    _remove_all(_link_lists(tree), trace, "list of links")
    _remove_all(_link_paragraphs(tree), trace, "paragraph of links")
    _remove_all(_labelled_links(tree), trace, "a label and a link (a teaser)")
