"""Line-level rules: clutter lines in extracted text, per-site learning.

Pure functions; no I/O, no module state.

- `clean_lines` takes trafilatura's text output (one block per line) and returns the
  story's blocks: the headline, kicker, standfirst and dateline/byline lines at the
  top are dropped (the archive keeps those as metadata), and so are teaser and
  promotion lines ("SEE MORE: ...", "Follow us on ...", "Get X delivered ..."),
  embedded social-post title lines, image credits, tag lists, comment notices, a
  trailing related-stories list, and lines learnt as the source's boilerplate.
- `learn` finds a source's boilerplate: lines that recur on many of its pages
  (`text.line_key` keys, which `ExtractOptions.boilerplate` carries into `extract`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from pipeline.extract.explain import BOILERPLATE, LINES, Trace
from pipeline.text import line_key

_FOLD_RE = re.compile(r"[^\w]+")
SENTENCE_END = (".", "!", "?", "…", ":", ";", '"', "”", "»", "'", "’", ")")


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """The items of a word list written as one string (split at `sep`, default spaces)."""
    return tuple(item.strip() for item in text.split(sep) if item.strip())


def fold(text: str) -> str:
    """NFKC, case-folded, punctuation dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_FOLD_RE.sub(" ", folded).split())


# Headings that introduce a block of clutter, in several languages (matched on `fold`).
CLUTTER_HEADING_RE = re.compile(
    r"^(?:our |the )?(?:"
    r"related(?: \w+)?|more related \w+|read (?:more|next|also)|also read|see also|see more|"
    r"more (?:stories|news|articles|from|on|in|like this|to read|to explore|videos?)\b.*|"
    r"you (?:may|might|could) (?:also )?(?:like|enjoy|be interested(?: in)?)|"
    r"recommended(?: \w+){0,2}|(?:most|more) (?:popular|read|viewed|shared|watched)(?: \w+)?|"
    r"popular(?: \w+)?|trending(?: \w+)?|top stories|latest (?:news|stories|posts|articles)|"
    r"editor s picks|what to read next|what to watch next|you may have missed|"
    r"don t miss|do not miss|in case you missed it|"
    r"leave a (?:comment|reply)|post a comment|add a comment|write a comment|"
    r"\d* ?comments?|join the (?:conversation|discussion)|"
    r"share(?: this(?: article| story| post| page)?)?|share on \w+(?: \w+)?|"
    r"sign up\b.*|subscribe\b.*|newsletter|get our newsletter|"
    r"about the author|tags?|topics?|keywords|filed under|"
    r"lesen sie auch|mehr zum thema|das könnte sie auch interessieren|weitere artikel|"
    r"leia (?:também|mais)|veja também|notícias relacionadas|"
    r"lire aussi|à lire aussi|sur le même sujet|voir aussi|"
    r"te puede interesar|lee también|noticias relacionadas|artículos relacionados|"
    r"leggi anche|potrebbe interessarti|articoli correlati|"
    r"czytaj (?:też|także)|přečtěte si také|související články|"
    r"baca juga|berita terkait|artikel terkait|"
    r"читайте также|похожие статьи|по теме"
    r")$"
)

# A cheap test on the lower-cased raw text before folding: can it start such a heading?
HEADING_HINT = re.compile(
    r"^[^\w]*(?:our |the )?(?:\d|related|more|read|also|see|you|recommend|most|popular|"
    r"trending|top|latest|editor|what|don|do not|in case|leave|post a|add a|write a|"
    r"comment|join|share|"
    r"sign|subscri|newsletter|get our|about the|tag|topic|keyword|filed|lesen|mehr|das k|"
    r"weitere|leia|veja|not[ií]cias|lire|à lire|sur le|voir|te puede|lee|leggi|potrebbe|"
    r"articoli|art[ií]culos|czytaj|přečtěte|souvis|baca|berita|artikel|читайте|похожие|"
    r"по теме)"
)

# Whole lines (folded) that are clutter.
_LINE_RE = re.compile(
    r"^(?:"
    r"(?:click|tap) here\b.*\b(?:subscribe|newsletter|sign up|signup|register|free trial)\b.*|"
    r"follow (?:us|\w+(?: \w+)?) on (?:twitter|facebook|instagram|x|youtube|tiktok|linkedin)\b.*|"
    r"(?:sign up|subscribe)\b.{0,200}|"
    r"advertisement|advertising|advert|ads?|anzeige|publicidad|publicité|pub|sponsored|"
    r"story continues below.*|scroll (?:down )?to continue.*|"
    r"(?:photo|image|picture|foto|bild|video|graphic)s?(?: credits?)?|"
    r"(?:reporting|writing|editing|additional reporting) by .+|"
    r"tell us what you think.*|"
    r"(?:last )?(?:published|updated|modified)(?: on| at)? \d.{0,40}|"
    r"by|text size|print|thank you|loading|an error has occurred.*|"
    r"this article has been sent to.*|(?:click|tap) here to (?:get|download) .{0,40}\bapp"
    r")$"
)
# Teaser prefixes ("SEE MORE: ...", "Related: ...") on the raw line.
_PREFIX_RE = re.compile(
    r"^(?:see more|read more|more|related|also read|read also|read next|watch|listen|"
    r"don'?t miss|recommended|lesen sie auch|mehr zum thema|leia também|"
    r"leia mais|veja também|lire aussi|à lire aussi|lee también|leggi anche|baca juga|"
    r"czytaj też|читайте также|tags|topics|keywords|schlagworte|etiquetas)\s*[:|>»]",
    re.IGNORECASE,
)
_CREDIT_RE = re.compile(
    r"^\(?(?:photo|image|picture|foto|bild|credit|source|photograph)s?"
    r"(?: credits?| by| source)?\s*[:©/]",
    re.IGNORECASE,
)
# A promotion: an imperative call to action with a subscription/price signal.
_PROMO_RE = re.compile(
    r"^(?:get|subscribe|sign up|join|download|become|never miss) \b.*\b(?:subscri\w*|"
    r"newsletter|issues? for|delivered|inbox|free trial|paywall|"
    r"(?:£|\$|€|₹|rs\.?)\s?\d[\d.,]* (?:a|per|for the first) (?:week|month|year|issue))",
    re.IGNORECASE,
)
_APPEAL_RE = re.compile(
    r"^(?:if you (?:enjoyed|liked|value|appreciate|found)\b|enjoyed this (?:article|story)|"
    r"support (?:our|independent|quality) journalism|become a (?:member|subscriber|patron))",
    re.IGNORECASE,
)
_CONTACT_RE = re.compile(
    r"^(?:e-?mail|follow|contact|reach|write to) .{0,150}"
    r"(?:@\w|\bon (?:twitter|x|facebook)\b|https?://|www\.)",
    re.IGNORECASE,
)
_FOLLOW_RE = re.compile(
    r"\bfollow (?:him|her|them|us|me)\b.{0,30}\bon (?:twitter|x|facebook|instagram)\b|"
    r"\b(?:sign up|subscribe)\b.{0,80}\bnewsletters?\b|"
    r"\bnewsletters?\b.{0,80}\b(?:sign up|subscribe)\b",
    re.IGNORECASE,
)
_COMMENT_POLICY_RE = re.compile(
    r"\b(?:comments?|comentários?|comentarios?|commentaires?|kommentare?|commenti)\b.*"
    r"\b(?:moderat\w*|aprovad\w*|approved|policy|guidelines|rules|regras|reglas|respect\w*)",
    re.IGNORECASE,
)
_SOCIAL_POST_RE = re.compile(
    r"^.{1,120}? on (?:X|Twitter|Instagram|Facebook|Threads|TikTok|Bluesky|Mastodon|"
    r"LinkedIn|YouTube)\s*:\s*[\"“„«]",
)
_TEASER_TAG_RE = re.compile(
    r"^\S+(?:\s+\S+){2,}\s*\[(?:[A-Z][A-Z ]{2,20}|Video|Photos|Gallery|Pics)\]\s*\|?$"
)
_SHORTCODE_RE = re.compile(r"\[/[a-z_]+\]|\[[a-z_]+\s+[a-z_]+=[^\]]*\]")
_IMAGE_URL_RE = re.compile(r"^(?:https?:)?//\S+\.(?:jpe?g|png|gif|webp|svg|avif)(?:\?\S*)?$", re.I)
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\d(?:[T ][\d:.+\-Z]+)?$")
_NAV_SPLIT = re.compile(r"\s[·|•]\s")
# A list's comma, not a decimal comma ("32,23 Mio. t", "1,5 %").
_LIST_COMMA = re.compile(r"(?<!\d),|,(?!\d)")
_LEGAL_RE = re.compile(
    r"©|\b(?:impressum|imprint|datenschutz|privacy|terms|cookies|contact|kontakt|disclaimer|"
    r"sitemap|aviso legal|mentions légales|privacidad|termini)\b",
    re.IGNORECASE,
)
_CSS_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+){2,}$")

# Dateline/byline lines at the top: mostly date words, or a credit ("Posted by ...").
DATE_WORDS = frozenset(
    words(
        "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april"
        " june july august september october november december monday tuesday wednesday"
        " thursday friday saturday sunday mon tue wed thu fri sat sun am pm a m p m at on of"
        " the and updated published posted last modified ago hour hours minute minutes min"
        " mins day days week weeks gmt utc est edt cet cest bst pst pdt ist et pt janeiro"
        " fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"
        " segunda terça quarta quinta sexta sábado domingo feira às de do da em enero febrero"
        " marzo mayo junio julio septiembre octubre noviembre diciembre lunes martes miércoles"
        " jueves viernes sábado domingo del el janvier février mars avril mai juin juillet"
        " août septembre octobre novembre décembre lundi mardi mercredi jeudi vendredi samedi"
        " dimanche le à mis jour publié januar februar märz juni juli oktober dezember montag"
        " dienstag mittwoch donnerstag freitag samstag sonntag um uhr am aktualisiert"
        " veröffentlicht gennaio febbraio aprile maggio giugno luglio settembre ottobre"
        " dicembre alle ore"
    )
)
_CREDIT_LINE_RE = re.compile(
    r"^.{0,30}\b(?:posted|published|written|publicado|publié|veröffentlicht|pubblicato)"
    r"(?: \w+)? (?:by|por|par|von|da)\b",
    re.IGNORECASE,
)


def _date_line(line: str, folded: str) -> bool:
    """A short line made of a date or time and little else."""
    if len(line) > 120 or line.endswith((".", "!", "?")):
        return False
    tokens = folded.split()
    if not tokens or not any(t.isdigit() for t in tokens):
        return False
    other = [t for t in tokens if not t.isdigit() and t not in DATE_WORDS and not t[0].isdigit()]
    return len(other) <= len(tokens) // 4


def _meta_line(line: str, folded: str) -> bool:
    return _date_line(line, folded) or (len(line) < 250 and bool(_CREDIT_LINE_RE.match(line)))


def structural_clutter(line: str) -> bool:
    """Whether a line is clutter by its form alone, whatever its words: an image URL, a
    bare timestamp, a CSS class name, a shortcode, a social post's link card, a teaser
    tagged [VIDEO], a footer row of short labels."""
    stripped = line.strip(" \t-–—•·|*>")
    if not stripped:
        return True
    if _IMAGE_URL_RE.match(stripped) or _TIMESTAMP_RE.match(stripped):
        return True
    if _CSS_NAME_RE.match(stripped) or _SHORTCODE_RE.search(stripped):
        return True
    if _SOCIAL_POST_RE.match(stripped) or _TEASER_TAG_RE.match(stripped):
        return True
    return len(stripped) < 200 and _footer_row(line.strip())


def worded_clutter(line: str, folded: str | None = None) -> bool:
    """Whether a line's words are those of clutter ("READ MORE: ...", "Photo: ...",
    "Subscribe for £1 a month", "Advertisement"). Words only confirm: `clean_lines`
    removes such a line only where its position or form says it is not the story's."""
    stripped = line.strip(" \t-–—•·|*>")
    if len(stripped) < 400 and (
        _PREFIX_RE.match(stripped)
        or _CREDIT_RE.match(stripped)
        or _PROMO_RE.match(stripped)
        or _APPEAL_RE.match(stripped)
        or _CONTACT_RE.match(stripped)
        or _COMMENT_POLICY_RE.search(stripped)
        or _FOLLOW_RE.search(stripped)
    ):
        return True
    folded = fold(stripped) if folded is None else folded
    return not folded or bool(_LINE_RE.match(folded))


def sentence(line: str) -> bool:
    """A line of prose: a sentence or more of the story, not a label or a teaser."""
    stripped = line.strip()
    return len(stripped) >= 60 and stripped.endswith(SENTENCE_END) and " " in stripped


def _footer_row(line: str) -> bool:
    """A site footer's row of short labels ("© Site · Imprint · Privacy"), not a sentence."""
    if line.startswith("|") or not _LEGAL_RE.search(line):
        return False
    parts = [p for p in _NAV_SPLIT.split(line) if p.strip()]
    return len(parts) >= 3 and all(len(p.split()) <= 4 for p in parts)


def _keyword_list(line: str) -> bool:
    """A comma-separated list of short keywords (a tag list), not a sentence."""
    parts = [p for p in _LIST_COMMA.split(line) if p.strip()]
    return (
        len(parts) >= 3
        and not line.rstrip().endswith((".", "!", "?"))
        and all(len(p.split()) <= 5 for p in parts)
    )


def _teaser_like(line: str) -> bool:
    """A short line that does not end a sentence: a headline or a byline in a list."""
    stripped = line.strip()
    return len(stripped) < 160 and (not stripped.endswith(SENTENCE_END) or len(stripped) < 60)


def _heading_line(line: str, folded: str) -> bool:
    return bool(folded) and len(line) < 80 and bool(CLUTTER_HEADING_RE.match(folded))


def _cut_tail(lines: list[str], folded: list[str]) -> int:
    """Where a trailing clutter block starts (a clutter heading followed only by
    teaser-like lines), or len(lines)."""
    end = len(lines)
    teasers_after = True  # all lines after `index` are teaser-like
    cut = end
    for index in range(end - 1, len(lines) // 3 - 1, -1):
        if teasers_after and _heading_line(lines[index], folded[index]):
            cut = index
        teasers_after = teasers_after and _teaser_like(lines[index])
    return cut


def _cut_head(lines: list[str], folded: list[str], headlines: set[str], header: list[str]) -> int:
    """Where the story starts, after kicker, headline, standfirst, dateline, byline."""
    start = 0
    for index, fline in enumerate(folded[:6]):
        if fline in headlines and all(len(x) < 100 for x in lines[:index]):
            start = index + 1
            break
    dropped = set(folded[:start])
    while start < min(len(lines), 10):
        line, fline = lines[start], folded[start]
        if fline in dropped and fline not in headlines:
            break  # the header's standfirst again: now it is the story's first paragraph
        if not (
            fline in headlines
            or _meta_line(line, fline)
            or (len(line) < 400 and any(fline in block for block in header))
        ):
            break
        dropped.add(fline)
        start += 1
    return start


def _strip_run_in(line: str, fline: str, prefixes: list[str]) -> str:
    """`line` without a leading header/headline that an extractor ran into it (matched
    on folded words, so spacing and punctuation differences do not matter)."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if not prefix or not fline.startswith(prefix + " "):
            continue
        needed = len(prefix.split())
        if needed < 2:
            continue  # a one-word headline ("Emden") is also how its story's first sentence begins
        words = line.split()
        seen = 0
        for index, word in enumerate(words):
            seen += len(fold(word).split())
            if seen >= needed:
                return " ".join(words[index + 1 :])
    return line


def clean_lines(
    text: str,
    headlines: Iterable[str] = (),
    header: Iterable[str] = (),
    boilerplate: frozenset[str] = frozenset(),
    trace: Trace | None = None,
) -> list[str]:
    """The story's blocks from trafilatura's text output (one block per line).

    `headlines`: the page's title candidates; `header`: the text of its article
    header (see `clean.header_texts`); `boilerplate`: learnt `line_key` keys;
    `trace`: notes each removed line and its rule, when given."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    folded = [fold(line) for line in lines]
    heads = {fold(h) for h in headlines if h and h.strip()}
    blocks = [b for b in (fold(h) for h in header if h) if b]
    start = _cut_head(lines, folded, heads, blocks)
    if trace is not None:
        for line in lines[:start]:
            trace.remove(LINES, "article header (headline, standfirst, byline, date)", line)
    lines, folded = lines[start:], folded[start:]
    if lines:  # the header run together with the first paragraph into one block
        first = _strip_run_in(lines[0], folded[0], [*blocks, *heads])
        if first != lines[0]:
            if trace is not None:
                run_in = lines[0][: len(lines[0]) - len(first)]
                trace.remove(LINES, "article header run into the first paragraph", run_in)
            lines, folded = [first, *lines[1:]], [fold(first), *folded[1:]]
            if not first:
                lines, folded = lines[1:], folded[1:]
    end = _cut_tail(lines, folded)
    if trace is not None:
        for line in lines[end:]:
            trace.remove(LINES, "related list at the end", line)
    worded = [worded_clutter(line, fline) for line, fline in zip(lines, folded, strict=True)]
    # The story's end: its last sentence that no word list flags. After it, a line that
    # clutter's words flag is clutter even when it is a sentence ("Sign up for our
    # newsletter to get the latest news."); before it, only when it is no sentence.
    last = max(
        (i for i in range(end) if sentence(lines[i]) and not worded[i]),
        default=-1,
    )
    kept: list[str] = []
    skipping_list = False
    for index in range(end):
        line, fline = lines[index], folded[index]
        if skipping_list and (
            (line.startswith("- ") and _teaser_like(line[2:])) or _keyword_list(line)
        ):
            if trace is not None:
                trace.remove(LINES, "list after a clutter line", line)
            continue
        skipping_list = False
        if (
            structural_clutter(line)
            or (worded[index] and (index > last or not sentence(line)))
            or _heading_line(line, fline)
        ):
            if trace is not None:
                trace.remove(LINES, "clutter line (promotion, credit, heading, …)", line)
            skipping_list = True
            continue
        if boilerplate and line_key(line) in boilerplate:
            if trace is not None:
                trace.remove(BOILERPLATE, "learnt boilerplate of the source", line)
            continue
        kept.append(line)
    return kept


def learn(texts: Iterable[str], min_pages: int = 5, min_share: float = 0.2) -> frozenset[str]:
    """Boilerplate of one source: `text.line_key` keys of the lines that occur on at least
    `min_pages` of the given texts and on at least `min_share` of them.

    Use: texts = the source's latest stored articles (say the last 200; Article.text),
    keys = previous_keys | learn(texts), passed as ExtractOptions.boilerplate for that
    source. Stored texts no longer contain the lines already learnt, hence the union
    (without it they would be forgotten on the next round). A line on 20% of a
    site's pages, and on at least 5 of them, is the site's, not a story's.
    """
    counts: Counter[str] = Counter()
    pages = 0
    for text in texts:
        pages += 1
        keys = {line_key(line) for line in text.splitlines() if fold(line)}
        counts.update(keys)
    needed = max(min_pages, min_share * pages)
    return frozenset(key for key, count in counts.items() if count >= needed)
