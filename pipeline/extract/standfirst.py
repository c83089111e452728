"""The standfirst: the lead paragraph the newsroom sets under the headline (also called
the lede, deck, dek, chapo, Vorspann, Teaser, entradilla, lead).

It is part of the story as its writers wrote it, but not of its body: the ground truth
of corpus/dev (an article body) leaves it out, and trafilatura's own evaluation set
counts it in the main text. The archive keeps both, apart: `Article.text` is the body,
`Article.standfirst` the lead, and a story's whole text (`story_text`) is the two
together, as `export` writes it. trafilatura itself rarely keeps the lead when the page
marks it as a teaser (docs/extraction.md, "The standfirst").

Found on the untouched page by structure alone, in any language:
- the headline is the <h1> that carries the title (an <h2> or <h3> of three words or
  more on pages without one; without a title, the first <h1>);
- the standfirst is the first element after it, in document order and within the next
  `_WINDOW` elements, that is either marked as a lead by its class, id or itemprop
  (`_LEAD`, and not a caption, byline, image or list: `_NOT_LEAD`; six words or more)
  or a paragraph or subheading in the headline's own <header> or <hgroup> (eight words
  or more); outside links, lists, figures, navigation and forms, not a dateline, at
  most 1,500 characters, mostly not link text;
- the search stops at the first paragraph of prose that is not so marked: the body has
  begun, and a marked element after it is a teaser of another story.

Pure: no I/O, no module state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pipeline.text import CJK

_LEAD = re.compile(
    r"(?:^|[-_\s])(?:lead|leadtext|lede|intro|introtext|introduction|standfirst|chapo|"
    r"excerpt|abstract|summary|subheadline|subhead|subtitle|deck|dek|teaser|teasertext|"
    r"documentdescription|description|kicker|strapline|vorspann|entradilla|bajada|"
    r"sumario|copete|sub-?head(?:line|ing)?)(?:$|[-_\s])",
    re.IGNORECASE,
)
# Marked like a lead, but not one: media, captions, credits, and the page's furniture.
_NOT_LEAD = re.compile(
    r"caption|credit|byline|author|meta|date|time|image|img|photo|picture|media|video|"
    r"gallery|share|social|tag|breadcrumb|label|nav|menu|related|newsletter|comment|"
    r"asset|icon|button|link|list|item|card|sidebar|widget|footer|advert|promo|"
    r"(?:^|[-_])ads?(?:$|[-_])",
    re.IGNORECASE,
)
# A dateline and byline ("20. Mai 2019 - von A. Henkel") is no lead, however marked.
_DATE = re.compile(
    r"\b\d{1,2}[./]\s?(?:\d{1,2}|\w+)[./ ]\s?\d{2,4}\b"  # 20.05.2019, 20. Mai 2019
    r"|\b\d{4}-\d{2}-\d{2}\b"  # 2019-05-20
    r"|\b\d{1,2}\s+[^\W\d_]{3,}\.?\s+\d{4}\b"  # 5 March 2024
    r"|\b[^\W\d_]{3,}\.?\s+\d{1,2},\s*\d{4}\b"  # March 5, 2024
    r"|\b\d{1,2}:\d{2}\b"  # 10:30
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_NOT_COUNTED = frozenset({"script", "style", "noscript", "template", "link", "meta", "svg", "path"})
_ITEMPROPS = frozenset({"description", "abstract", "alternativeheadline"})
# Never inside these: the lead is text of the page, not a link, a list item, a figure.
_OUTSIDE = frozenset(
    [
        "a",
        "li",
        "ul",
        "ol",
        "nav",
        "aside",
        "footer",
        "form",
        "figure",
        "figcaption",
        "button",
        "time",
        "h1",
        "table",
        "select",
        "label",
    ]
)
_WINDOW = 60  # elements after the headline that are looked at
_WALK = 2000  # nodes walked at most, counted or not
_MIN_WORDS, _MAX_CHARS = 6, 1500
_MIN_WORDS_UNMARKED = 8  # an unmarked paragraph in the header: a byline is shorter
_PROSE = 150  # characters: an unmarked <p> this long is the body's first paragraph


def _flat(text: str) -> str:
    return " ".join(text.split())


# Elements that break a line of text; inline ones (a, em, span, a drop cap) do not.
_BREAKS_LIST = """address article aside blockquote br dd div dl dt figure footer h1 h2 h3 h4
h5 h6 header hr li main nav ol p pre section table td th tr ul"""
_BREAKS = frozenset(_BREAKS_LIST.split())


def _text(node: LexborNode) -> str:
    """The node's text as a reader sees it: words split only where a block or a line
    break is ("der <a>Rat</a>," is "der Rat,", not "der Rat ,")."""
    parts = []
    for part in node.traverse(include_text=True):
        if part.tag == "-text":
            parent = part.parent
            if parent is None or parent.tag not in _NOT_COUNTED:  # a script's code
                parts.append(part.text_content or "")
        elif part.tag in _BREAKS:
            parts.append(" ")
    return _flat("".join(parts))


def _marked(node: LexborNode) -> bool:
    """Whether one of the node's class names, or its id or itemprop, names a lead."""
    attrs = node.attributes
    for name in ("class", "id"):
        for token in (attrs.get(name) or "").replace("__", "-").split():
            if _LEAD.search(token) and not _NOT_LEAD.search(token):
                return True
    return (attrs.get("itemprop") or "").strip().lower() in _ITEMPROPS


def _hidden(node: LexborNode) -> bool:
    """Whether the node, or one of its five nearest ancestors, is hidden from readers."""
    current: LexborNode | None = node
    for _ in range(6):
        if current is None or current.tag in ("body", "html"):
            return False
        attrs = current.attributes
        if "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true":
            return True
        if _HIDDEN_STYLE.search(attrs.get("style") or ""):
            return True
        current = current.parent
    return False


def _outside(node: LexborNode) -> bool:
    """Whether `node` is outside links, lists, figures, navigation and forms."""
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _OUTSIDE:
            return False
        parent = parent.parent
    return node.tag not in _OUTSIDE


def _following(start: LexborNode) -> Iterator[LexborNode]:
    """The elements after `start` in document order, not those inside it."""
    node: LexborNode | None = start
    while node is not None and node.tag not in ("body", "html"):
        sibling = node.next
        while sibling is not None:
            if sibling.tag is not None and not sibling.tag.startswith("-"):
                yield from sibling.traverse(include_text=False)
            sibling = sibling.next
        node = node.parent


def _headline(tree: LexborHTMLParser, title: str | None) -> LexborNode | None:
    """The heading that carries the title: an <h1>, else an <h2> or <h3> of three words
    or more (pages without an <h1>); without a title, the first <h1>."""
    if title:
        wanted = _flat(title).casefold()
        for selector, least in (("h1", 1), ("h2", 3), ("h3", 3)):
            for heading in tree.css(selector):
                text = _flat(heading.text(deep=True)).casefold()
                if len(text.split()) >= least and (text in wanted or wanted in text):
                    return heading
    return tree.css_first("h1")


def _header_of(headline: LexborNode) -> LexborNode | None:
    """The <header> or <hgroup> the headline is in (three levels up at most)."""
    node = headline.parent
    for _ in range(3):
        if node is None or node.tag in ("body", "html", "article", "main"):
            return None
        if node.tag in ("header", "hgroup"):
            return node
        node = node.parent
    return None


def _within(node: LexborNode, scope: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == scope.mem_id:
            return True
        parent = parent.parent
    return False


def _unwanted(node: LexborNode) -> bool:
    """Whether a class name says the node is no lead (a byline, a caption, ...)."""
    names = (node.attributes.get("class") or "") + " " + (node.attributes.get("id") or "")
    return any(_NOT_LEAD.search(token) for token in names.split())


def _candidate(node: LexborNode, header: LexborNode | None) -> bool:
    """A lead by its markup, or a paragraph or subheading in the headline's header."""
    if _marked(node):
        return True
    return (
        header is not None
        and node.tag in ("p", "h2", "h3")
        and not _unwanted(node)
        and _within(node, header)
    )


def find_standfirst(
    tree: LexborHTMLParser, title: str | None = None, authors: tuple[str, ...] = ()
) -> str | None:
    """The standfirst of the page in `tree` (untouched: call before cleaning), or None.
    `title`: the story's title, to find its headline; `authors`: its bylines' names (a
    short line naming one is a byline, not a lead)."""
    h1 = _headline(tree, title)
    if h1 is None:
        return None
    header = _header_of(h1)
    headline = _flat(h1.text(deep=True))
    seen = 0
    for walked, node in enumerate(_following(h1)):
        if node.tag in _NOT_COUNTED:
            if walked > _WALK:  # an inline SVG of thousands of paths, say
                break
            continue
        seen += 1
        if seen > _WINDOW:
            break
        if not _candidate(node, header):
            if node.tag == "p" and len(_flat(node.text(deep=True))) >= _PROSE:
                return None  # the body has begun
            continue
        if not _outside(node):
            continue
        text = _text(node)
        words = len(text.split()) + len(CJK.findall(text)) // 2
        least = _MIN_WORDS if _marked(node) else _MIN_WORDS_UNMARKED
        if words < least or len(text) > _MAX_CHARS or text == headline:
            continue
        if words < 20 and (_DATE.search(text) or any(name in text for name in authors)):
            continue  # a dateline or a byline
        if _hidden(node):
            continue
        links = sum(len(_flat(a.text(deep=True))) for a in node.css("a"))
        if links < 0.5 * len(text):
            return text
    return None
