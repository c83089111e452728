"""extract(html, url, options) -> Article | None. Pure: no network, no database, no files.

Runs in worker processes. The page is parsed once with selectolax (Lexbor):

1. metadata is read from the untouched tree (`metadata.read_metadata`: JSON-LD,
   OpenGraph/meta, microdata, <time>, byline, URL), and the article header's text
   is noted (`clean.header_texts`), and so is the standfirst, the lead under the
   headline (`standfirst.find_standfirst`), which the Article keeps apart from its body;
2. the tree is cleaned (`clean.preclean`: the source's `drop` selectors, scripts and
   embeds, hidden nodes, clutter containers and the blocks under clutter headings);
3. trafilatura extracts the main text from the cleaned page, without its own metadata
   pass (htmldate is its slowest part, and the selectolax reading above measured
   better): in its fast mode first, and again in its full mode (with its readability
   and justext second opinions, a third more time) only when the fast text looks cut:
   short, or lacking half of the page's paragraph text, or under 30% of the cleaned
   page's text, or the page has hardly any paragraph text (the full mode's opinions
   change the text on about 1 page in 20, nearly all of them such pages). When the
   text is still short or lacks half of the page's paragraph text (if it has 200
   characters or more), plain trafilatura on the untouched page is asked too, and its
   text is used when the cleaned one keeps under 30% of it: cleaning never costs a
   story (docs/extraction.md);
4. the text is cleaned line by line (`boilerplate.clean_lines`: headline, standfirst
   and byline at the top, teasers, promotions, credits, a trailing related list,
   and the source's learnt boilerplate lines), and at its edges (`edges.trim_edges`:
   dates and advertising labels before the story's first sentence, date stamps and a
   contact block after its last);
5. a page without prose, or one `story.not_a_story` recognises (a home page, a consent
   or bot-challenge page), is no article: `extract_traced` says why. `explain` also
   records what each rule removed and where each metadata value came from (`try`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import py3langid
import trafilatura
from selectolax.lexbor import LexborHTMLParser

from pipeline.extract.access import OK, WALLS, Markup, Verdict, classify, read_markup
from pipeline.extract.boilerplate import clean_lines
from pipeline.extract.clean import header_texts, preclean
from pipeline.extract.edges import trim_edges
from pipeline.extract.explain import Explanation, Trace
from pipeline.extract.metadata import read_metadata, visible_date
from pipeline.extract.provenance import trace_metadata
from pipeline.extract.standfirst import find_standfirst
from pipeline.extract.story import not_a_story, not_text
from pipeline.models import Article, ExtractOptions
from pipeline.text import CJK, fingerprints, shingle_set, story_text
from pipeline.urls import canonicalize, same_site

log = logging.getLogger(__name__)

_PROSE_LINE = 60
# trafilatura's full mode is asked when its fast text of the cleaned page keeps less
# than this share of the word 4-grams of the page's paragraph text (its <p>s) ...
_FULL_SHARE = 0.5
# ... or is shorter than this share of the paragraph text's length ...
_FULL_LENGTH = 0.5
# ... or than this share of the cleaned page's text (a story not in <p>s: spiegel.de's
# fast text kept 858 of the full text's 15,337 characters).
_FULL_PAGE = 0.3
# When trafilatura's text of the cleaned page keeps less than this share of the word
# 4-grams of its text of the untouched page, cleaning cut the story: fall back.
_FALLBACK_SHARE = 0.3
# Plain extraction (a second trafilatura run) is asked only when the cleaned page's
# text keeps less than this share of the untouched page's paragraph text (its <p>s),
# when that text says something (_CHECK_MIN characters: no fallback on the three
# corpora needed a page with less).
_CHECK_SHARE = 0.5
_CHECK_MIN = 200
_TOO_LITTLE = (
    "not an article (too little text)"  # characters: shorter blocks are headlines, labels, blurbs
)


def _canonical(tree: LexborHTMLParser, url: str) -> str:
    """rel=canonical when it is plausible, else the fetched URL. Plausible: on the same
    site, and neither the site's root nor a section above the page (a listing: "/news/"
    for "/news/2024/05/story"), which sites and plugins put on every page."""
    page = canonicalize(url) or url
    node = tree.css_first('link[rel="canonical"][href]')
    href = node.attributes.get("href") if node is not None else None
    if href:
        candidate = canonicalize(href, base=url)
        if candidate and same_site(candidate, page) and not _listing_of(candidate, page):
            return candidate
    return page


def _listing_of(candidate: str, page: str) -> bool:
    """Whether `candidate` is the root of `page`'s site or a section above `page`."""
    path = urlsplit(candidate).path.rstrip("/")
    if urlsplit(candidate).query:
        return False
    page_path = urlsplit(page).path.rstrip("/")
    return not path or (page_path != path and page_path.startswith(path + "/"))


def _document_title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    return node.text() if node is not None else None


def _detect_language(text: str) -> str | None:
    if len(text) < 20:
        return None
    code, _score = py3langid.classify(text[:3000])
    return str(code)


def _kept_share(plain: str, cleaned: str) -> float:
    """The share of `plain`'s word 4-grams that `cleaned` has too."""
    return _share_of(shingle_set(plain), cleaned)


def _share_of(want: set[tuple[str, ...]], cleaned: str) -> float:
    return len(want & shingle_set(cleaned)) / len(want) if want else 1.0


def _looks_cut(
    text: str, paragraphs: str, said: set[tuple[str, ...]], tree: LexborHTMLParser, least: int
) -> bool:
    """Whether trafilatura's fast text of the cleaned page (`tree`) looks cut, so that
    its full mode is worth asking: short (under `least` characters), or short against the
    page's paragraph text (4-grams `said`) or against the cleaned page's whole text. A
    page with hardly any paragraph text (under _CHECK_MIN characters) gets the full mode:
    its layout is an unusual one, where the second opinions change most."""
    if len(text) < least or len(paragraphs) < _CHECK_MIN:
        return True
    if len(text) < _FULL_LENGTH * len(paragraphs):
        return True
    if _share_of(said, text) < _FULL_SHARE:
        return True
    body = tree.body
    page = " ".join(body.text(deep=True, separator=" ").split()) if body is not None else ""
    return len(text) < _FULL_PAGE * len(page)


def _main_text(page: str, url: str, options: ExtractOptions, **mode: Any) -> str:
    """trafilatura's text of `page` (its full mode, which asks its second-opinion
    extractors too, unless `mode` says otherwise)."""
    text: str = (
        trafilatura.extract(
            page,
            url=url or None,
            include_comments=False,
            include_tables=options.include_tables,
            output_format="txt",
            **mode,
        )
        or ""
    )
    return text


@dataclass(frozen=True, slots=True)
class Stages:
    """What each stage made of one page (benchmarks/trafilatura_eval.py attributes
    gains and losses to stages with it)."""

    extracted: str = ""  # trafilatura's text of the cleaned page
    lines: tuple[str, ...] = ()  # after the line rules (of the fallback's text, if any)
    text: str = ""  # the article's text (after any fallback)
    fallback: str = ""  # why the cleaned text was not kept ("" when it was)
    skipped: str = ""  # why the page is not a story ("" when it is one)
    access: str = OK  # the page's access label (extract/access.py)


def extract(
    html: str, url: str, options: ExtractOptions | None = None, summary: str | None = None
) -> Article | None:
    """The article in `html`, or None when the page is not an article (too little text,
    or a wall in place of the story). `summary`: the story's feed summary, when known."""
    return _extract(html, url, options or ExtractOptions(), None, summary)[0]


def extract_traced(
    html: str, url: str, options: ExtractOptions | None = None, summary: str | None = None
) -> tuple[Article | None, Stages]:
    """`extract`, with what each stage produced (the reason a page is not a story, its
    access label)."""
    return _extract(html, url, options or ExtractOptions(), None, summary)


def explain(
    html: str, url: str, options: ExtractOptions | None = None, summary: str | None = None
) -> tuple[Article | None, Explanation]:
    """`extract`, and why: what each rule removed and where each metadata value came
    from (see explain.py). The Article is the one `extract` returns."""
    trace = Trace()
    article, stages = _extract(html, url, options or ExtractOptions(), trace, summary)
    if stages.skipped and not trace.verdict:
        trace.verdict = stages.skipped
    return article, trace.freeze()


def _walled(
    markup: Markup, text: str, html: str, stages: Stages, trace: Trace | None
) -> tuple[None, Stages] | None:
    """(None, stages) when the page is a wall in place of its story, else None."""
    verdict = classify(markup, text, html=html)
    if verdict.label not in WALLS:
        return None
    _note(trace, verdict)
    return None, replace(stages, skipped=verdict.reason, access=verdict.label)


def _note(trace: Trace | None, verdict: Verdict) -> None:
    if trace is not None:
        trace.access, trace.access_reason = verdict.label, verdict.reason
        if verdict.label in WALLS:
            trace.verdict = verdict.reason


def _extract(
    html: str, url: str, options: ExtractOptions, trace: Trace | None, summary: str | None
) -> tuple[Article | None, Stages]:
    reason = not_text(html)
    if reason is not None:
        log.debug("%s: %s", url, reason)
        return None, Stages(skipped=reason)
    tree = LexborHTMLParser(html)
    markup = read_markup(tree, html, lazy=True)  # before cleaning drops dialogs, forms
    meta = read_metadata(tree, url, options.now)
    if trace is not None:
        trace_metadata(trace, tree, url, meta, options.now)
    header = header_texts(tree, meta.title)
    lead = find_standfirst(tree, meta.title, meta.authors)
    canonical = _canonical(tree, url)
    paragraphs = " ".join(node.text(deep=True) for node in tree.css("p"))
    said = shingle_set(paragraphs)
    preclean(tree, options.drop, options.keep_social_posts, trace)
    page = tree.html or ""
    least = 2 * options.min_text_length
    if len(paragraphs) < _CHECK_MIN:  # the full mode whatever the fast text: straight away
        raw = _main_text(page, url, options)
    else:
        raw = _main_text(page, url, options, fast=True)
        if _looks_cut(raw, paragraphs, said, tree, least):
            raw = _main_text(page, url, options)  # with its second opinions
    cleaned = raw
    fallback = plain = ""
    share = 1.0
    if len(raw) < least or (len(paragraphs) >= _CHECK_MIN and _share_of(said, raw) < _CHECK_SHARE):
        # Hardly any text, or it lacks much of what the page's paragraphs say: did
        # cleaning cut the story?
        plain = _main_text(html, url, options)
        share = _kept_share(plain, raw) if plain else 1.0
    if share < _FALLBACK_SHARE:
        fallback = f"the cleaned page's text keeps {share:.0%} of plain extraction's"
        log.debug("%s: %s: plain extraction used", url, fallback)
        raw = plain
    if trace is not None:
        trace.extracted = raw
    if not raw:
        walled = _walled(markup, "", html, Stages(fallback=fallback), trace)
        if walled is not None:
            return walled
        log.debug("%s: not an article: trafilatura found no main text", url)
        return None, Stages(fallback=fallback, skipped=_TOO_LITTLE)
    lines = trim_edges(clean_lines(raw, meta.headlines, header, options.boilerplate, trace), trace)
    text = "\n\n".join(lines)
    stages = Stages(extracted=cleaned, lines=tuple(lines), text=text, fallback=fallback)
    # An article has prose: a listing page's text is headlines and one-line blurbs.
    # (The standfirst is the story's own text too: it counts.)
    story = story_text(lead, text) if lines else ""
    sizes = [len(line) + 2 * len(CJK.findall(line)) for line in story.split("\n\n")]
    prose = sum(size for size in sizes if size >= _PROSE_LINE)
    size = len(story)
    if size < options.min_text_length or prose < options.min_text_length / 2:
        walled = _walled(markup, text, html, stages, trace)
        if walled is not None:
            return walled
        log.debug(
            "%s: not an article: %d characters of text, %d of them prose (at least %d needed)",
            url,
            len(text),
            prose,
            options.min_text_length,
        )
        if trace is not None:
            trace.verdict = (
                f"not an article: {len(text)} characters of text, {prose} in prose lines"
                f" (at least {options.min_text_length} and {options.min_text_length // 2})"
            )
        return None, replace(stages, skipped=_TOO_LITTLE)
    reason = not_a_story(url, text, _document_title(tree))
    if reason is not None:
        log.debug("%s: %s", url, reason)
        return None, replace(stages, skipped=reason)
    verdict = classify(markup, text, summary=summary, html=html)
    _note(trace, verdict)
    if verdict.label in WALLS:
        log.debug("%s: %s", url, verdict.reason)
        return None, replace(stages, skipped=verdict.reason, access=verdict.label)
    stages = replace(stages, access=verdict.label)
    if trace is not None and lead:
        trace.origin("standfirst", lead, "the lead under the headline")
    if trace is not None and not meta.language:
        trace.origin("language", _detect_language(text), "detected from the text")
    # The story's identity is its whole text: a corrected lead is a revision, and a
    # story stored before the lead was kept apart keeps its hash.
    digest, signature = fingerprints(story)
    return Article(
        url=url,
        canonical_url=canonical,
        text=text,
        content_hash=digest,
        title=meta.title,
        authors=meta.authors,
        agencies=meta.agencies,
        published=meta.published or visible_date(html, url, options.now),
        modified=meta.modified,
        language=meta.language or _detect_language(text),
        sitename=meta.sitename,
        description=meta.description,
        standfirst=lead,
        tags=meta.tags,
        image=meta.image,
        minhash=signature,
        access=verdict.label,
    ), stages
