"""How much trafilatura extraction asks for (pipeline/extract/extractor.py): its fast
mode first, its full mode (readability and justext second opinions) only when the fast
text looks cut, and plain extraction of the untouched page only when the text lacks
what the page's paragraphs say."""

from __future__ import annotations

from typing import Any

import pytest
import trafilatura
from selectolax.lexbor import LexborHTMLParser

from pipeline.extract import extractor
from pipeline.extract.extractor import extract
from pipeline.text import shingle_set

URL = "https://news.example/2024/03/05/harbour"
STORY = [
    "The harbour authority approved four new berths on Tuesday, at a cost of 12.5 million"
    " euros. Work starts in June and should take 18 months, the authority said.",
    "“It is the largest investment in the port since 1998,” said director Mira Santos,"
    " who has led the authority since 2015 and oversaw the last expansion of the quays.",
    "Fishermen's groups welcomed the plan but asked for guarantees that the old slipway,"
    " used by small boats for a century, would stay open during the works.",
    "The city council will vote on the final budget in May; the opposition has asked for"
    " an independent study of the traffic the new berths will bring to the old town.",
]


def _page(body: str) -> str:
    return (
        "<html><head><title>Harbour gets four new berths</title></head>"
        f"<body><h1>Harbour gets four new berths</h1>{body}</body></html>"
    )


class Calls:
    """trafilatura.extract, recording what each call was asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[str, bool]] = []  # (the page given, fast mode)
        real = trafilatura.extract

        def spy(page: str, *args: Any, **kwargs: Any) -> str | None:
            self.seen.append((page, bool(kwargs.get("fast", False))))
            result: str | None = real(page, *args, **kwargs)
            return result

        monkeypatch.setattr(extractor.trafilatura, "extract", spy)


def test_a_story_in_paragraphs_is_extracted_in_fast_mode_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = Calls(monkeypatch)
    html = _page("<article>" + "".join(f"<p>{p}</p>" for p in STORY) + "</article>")
    article = extract(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == STORY
    assert [fast for _page, fast in calls.seen] == [True]  # no second opinion, no plain run


def test_a_page_without_paragraph_text_gets_the_full_mode_but_no_plain_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The story in <div>s: the page's <p>s say nothing (under 200 characters), so the
    # full mode is asked (and the fast mode not at all); there is nothing to compare
    # with, so no plain run either.
    calls = Calls(monkeypatch)
    divs = "".join(f"<div>{p}</div>" for p in STORY)
    html = _page(f"<script>var ads = 1;</script><article>{divs}</article>")
    article = extract(html, URL)
    assert article is not None
    assert all(p in article.text for p in STORY)
    # the full mode straight away: the fast text could not decide anything
    assert [fast for _page, fast in calls.seen] == [False]
    assert all(page != html for page, _fast in calls.seen)  # the untouched page: never


def _cut(text: str, paragraphs: str, body: str) -> bool:
    tree = LexborHTMLParser(f"<html><body>{body}</body></html>")
    return extractor._looks_cut(text, paragraphs, shingle_set(paragraphs), tree, 400)


def test_fast_text_looks_cut_when_short_or_lacking_the_pages_text() -> None:
    story = " ".join(STORY)
    body = "".join(f"<p>{p}</p>" for p in STORY)
    assert not _cut(story, story, body)
    assert _cut(story[:300], story[:300], body[:320])  # short
    assert _cut(story, story[:150], body)  # the page's <p>s say next to nothing
    other = " ".join(f"Another sentence number {i} about the weather." for i in range(30))
    assert _cut(story, f"{story} {other}", body)  # half the paragraphs' 4-grams missing
    assert _cut(story, f"{story} {story} {story}", body)  # under half their length
    # the story's text but under 30% of the cleaned page's (a story outside the <p>s)
    assert _cut(story, story, body + f"<div>{other * 4}</div>")
