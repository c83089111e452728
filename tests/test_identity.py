"""Issue 12 item 4: one story per story. A canonical is believed only when plausible;
a different text under a canonical another address holds is another story; revisions
come only from fetching the same address again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.extract.extractor import extract
from pipeline.store import Archive

from .test_store import STORY, article, stored

PAGE = "https://news.example/local/2024/05/14/harbour-berths"
BODY = "".join(
    f"<p>{p}</p>"
    for p in [
        "The harbour authority approved 4 new berths on Tuesday, at a cost of 12.5 million"
        " euros. Work starts in June and should take 18 months, the authority said.",
        "“It is the largest investment in the port since 1998,” said director Mira Santos,"
        " who has led the authority since 2015 and oversaw the last expansion.",
    ]
)


def _canonical_of(href: str) -> str | None:
    html = (
        f'<html><head><title>Berths</title><link rel="canonical" href="{href}"></head>'
        f"<body><article><h1>Berths</h1>{BODY}</article></body></html>"
    )
    found = extract(html, PAGE)
    return found.canonical_url if found else None


@pytest.mark.parametrize(
    "href", ["https://news.example/", "/", "https://news.example/local/", "/local/2024/"]
)
def test_a_canonical_at_the_sites_root_or_a_section_above_the_page_is_not_believed(
    href: str,
) -> None:
    assert _canonical_of(href) == PAGE


@pytest.mark.parametrize(
    "href",
    [
        "https://news.example/local/2024/05/14/harbour-berths-approved",
        "https://news.example/?p=4411",
    ],
)
def test_a_canonical_naming_another_address_of_the_story_is_believed(href: str) -> None:
    assert _canonical_of(href) == href


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive.open(tmp_path / "news.db")


def query_one(archive: Archive, sql: str, params: tuple[object, ...] = ()) -> tuple[object, ...]:
    return tuple(archive.db.conn.execute(sql, params).fetchone())


def test_stories_sharing_one_canonical_are_two_stories_not_revisions(archive: Archive) -> None:
    shared = "https://s.example/news/a"  # a plugin's canonical on every page
    other = STORY.replace("harbour wall", "school roof").replace("Engineers", "Builders")
    assert stored(archive, shared, article(shared, canonical=shared)) == "new"
    story_b = article("https://s.example/news/b", text=other, canonical=shared)
    assert stored(archive, "https://s.example/news/b", story_b) == "new"
    rows = query_one(archive, "SELECT count(*), count(DISTINCT canonical_url) FROM articles")
    assert rows == (2, 2)
    assert query_one(archive, "SELECT count(*) FROM revisions") == (0,)
    # A's text is still A's.
    text = query_one(archive, "SELECT text FROM articles WHERE url = ?", (shared,))
    assert text == (STORY,)


def test_a_revision_comes_from_fetching_the_same_address_again(archive: Archive) -> None:
    url = "https://s.example/news/a"
    assert stored(archive, url, article(url, canonical="https://s.example/news/a-story")) == "new"
    changed = STORY + " A correction was added on Tuesday."
    again = article(url, text=changed, canonical="https://s.example/news/a-story")
    assert stored(archive, url, again) == "revised"
    assert query_one(archive, "SELECT count(*) FROM revisions") == (1,)


def test_published_keeps_the_publishers_offset_and_a_utc_form_for_sorting(
    archive: Archive,
) -> None:
    # Issue 12 item 6: converted to UTC, "23:30 on 5 March in New York" became 6 March,
    # and the local day people cite was lost.
    url = "https://s.example/news/late"
    art = replace(article(url), published="2024-03-05T23:30:00-05:00")
    assert stored(archive, url, art) == "new"
    row = query_one(archive, "SELECT published, published_utc FROM articles WHERE url = ?", (url,))
    assert row == ("2024-03-05T23:30:00-05:00", "2024-03-06T04:30:00Z")
