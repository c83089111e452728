"""Discovery with a fake fetcher and frontier: one unusable page fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.config.loader import Source
from pipeline.discover.discoverer import Discoverer
from pipeline.errors import DiscoveryError, HTTPStatusError
from pipeline.models import Candidate, FeedState, Fetched

HOME = "https://news.example/"
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
DEEP = "<html><body>" + "<div>" * 20_000 + '<a href="/2026/01/a-story-slug-here">x</a>'


class FakeFetcher:
    max_bytes = 1 << 20

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages

    async def fetch(self, url: str, **_: Any) -> Fetched:
        if url not in self.pages:
            raise HTTPStatusError(url, 404)
        body = self.pages[url].encode()
        headers = (("Content-Type", "text/html; charset=utf-8"),)
        return Fetched(url, url, 200, headers, body, body, "utf-8", "2026-01-10T12:00:00Z")

    fetch_once = fetch

    async def robots(self, url: str) -> None:
        return None


class FakeFrontier:
    def __init__(self) -> None:
        self.states: dict[str, FeedState] = {}
        self.candidates: list[Candidate] = []

    def feed_states(self, source: str) -> list[FeedState]:
        return list(self.states.values())

    def save_feed_state(self, state: FeedState) -> None:
        self.states[state.url] = state

    def forget_feeds(self, source: str, keep: Iterable[str]) -> None:
        pass

    def add_candidates(self, candidates: Iterable[Candidate], now: datetime) -> int:
        added = list(candidates)
        self.candidates += added
        return len(added)


def discover(pages: dict[str, str], listings: tuple[str, ...] = ()) -> tuple[Any, FakeFrontier]:
    frontier = FakeFrontier()
    source = Source("news", HOME, listings=listings)
    discoverer = Discoverer(source, FakeFetcher(pages), frontier, NOW, timedelta(hours=24))  # type: ignore[arg-type]
    return asyncio.run(discoverer.run()), frontier


def test_a_home_page_nested_too_deep_is_an_error_of_its_own() -> None:
    listing = HOME + "latest/"
    fine = '<html><body><a href="/2026/01/the-council-votes-on-budget">Council</a>'
    stats, frontier = discover({HOME: DEEP, listing: fine}, listings=(listing,))
    reasons = [e.reason for e in stats.errors if isinstance(e, DiscoveryError)]
    assert reasons == ["HTML nesting deeper than 512 elements; page not parsed"]
    home = frontier.states[HOME]
    assert home.status == "error" and home.failures == 1
    assert home.error == "invalid: HTML nesting deeper than 512 elements; page not parsed"
    assert [c.url for c in frontier.candidates] == [HOME + "2026/01/the-council-votes-on-budget"]


def test_a_deep_home_page_as_the_fallback_listing_fails_alone() -> None:
    stats, frontier = discover({HOME: DEEP})
    assert [type(e).__name__ for e in stats.errors] == ["DiscoveryError", "DiscoveryError"]
    assert frontier.candidates == []
