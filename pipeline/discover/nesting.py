"""How deep a page nests its elements, judged before any HTML parser sees it: Lexbor's
parse time grows with depth times size, so a page nested deeper than browsers build
is refused (discovery parses home and listing pages)."""

from __future__ import annotations

import re

MAX_NESTING = 512  # elements deep, as Chromium's HTML parser builds a tree at most
# Elements that never nest: void ones, and those a start tag of their kind closes
# (directly or through the elements it closes with it).
_FLAT = (
    "area|base|basefont|bgsound|br|col|embed|frame|hr|image|img|input|keygen|link|meta|"
    "param|source|track|wbr|p|li|dt|dd|option|optgroup|rb|rp|rt|rtc|tr|td|th|thead|tbody|"
    "tfoot|colgroup|caption|a|nobr|button|form|select"
)
# In lower-cased HTML, one match per comment, raw-text element (which ends at its end
# tag, or eats the rest of the page, as in a browser) or tag of an element that nests:
# (raw-text name, "/", tag name, attributes).
_MARKUP = re.compile(
    r"<!--(?:.*?-->|.*)"
    r"|<(script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext)\b"
    r"[^>]*+>(?:.*?</\1|.*)"
    rf"|<(?!/?(?:{_FLAT})[\s/>])"
    r"(/?)([a-z][^\s/>]*)([^>]*+)>?",
    re.DOTALL,
)
_FOREIGN = ("svg", "math")
# HTML elements that end SVG/MathML content (where "/>" closes a tag, as in XML).
_BREAKOUT_TAGS = (
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr "
    "i img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup "
    "table tt u ul var font"
)
_BREAKOUT = frozenset(_BREAKOUT_TAGS.split())
# Of the elements that nest, the "special" ones, past which an end tag of another name
# closes nothing, and among them the scope boundaries, past which even theirs do not.
_SPECIAL_TAGS = (
    "address article aside blockquote body center details dialog dir div dl fieldset "
    "figcaption figure footer frameset h1 h2 h3 h4 h5 h6 head header hgroup listing main "
    "menu nav noscript ol pre search section summary ul"
)
_BOUNDARY_TAGS = "applet html marquee object table template foreignobject desc mi mo mn ms mtext"
_BOUNDARY = frozenset(_BOUNDARY_TAGS.split())
_SPECIAL = frozenset(_SPECIAL_TAGS.split()) | _BOUNDARY
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def nesting_exceeds(html: str, limit: int = MAX_NESTING) -> bool:
    """Whether `html` may nest elements more than `limit` deep: one linear pass over its
    tags with the stack of open elements a parser keeps, simplified — void elements and
    those closed by a sibling are left out, an end tag closes down to its element unless
    a special element (or, for a special one, a scope boundary) stands above it, and
    "/>" closes a tag in SVG/MathML only."""
    if html.count("<") <= limit:
        return False
    stack: list[str] = []
    at: dict[str, list[int]] = {}  # name -> its places in the stack
    special: list[int] = []  # places of special elements
    boundary: list[int] = []  # places of scope boundaries
    foreign = 0  # SVG/MathML elements open
    for _, slash, name, rest in _MARKUP.findall(html.lower()):
        if not name:
            continue  # a comment or raw text
        keep = len(stack)  # how many open elements stay open
        if slash:
            places = at.get(name)
            blockers = boundary if name in _SPECIAL else special
            if not places or (blockers and blockers[-1] > places[-1]):
                continue  # an end tag that closes nothing
            keep = places[-1]
        elif name in _HEADINGS and stack and stack[-1] in _HEADINGS:
            keep -= 1  # a heading closes the heading it would be in
        while len(stack) > keep:
            gone = stack.pop()
            at[gone].pop()
            for places_of in (special, boundary):
                if places_of and places_of[-1] == len(stack):
                    places_of.pop()
            foreign -= foreign > 0 and gone in _FOREIGN
        if slash:
            continue
        if foreign and name in _BREAKOUT:
            foreign = 0
        elif (foreign or name in _FOREIGN) and rest.endswith("/"):
            continue
        foreign += name in _FOREIGN
        if name in _SPECIAL:
            special.append(len(stack))
            if name in _BOUNDARY:
                boundary.append(len(stack))
        at.setdefault(name, []).append(len(stack))
        stack.append(name)
        if len(stack) > limit:
            return True
    return False
