"""Whole pages (tests/fixtures/extract/*.html, written for these tests) against what a
person reading each page says it holds: the story's paragraphs, word for word as the
page prints them, none of the page's clutter, and the title, people, date and site the
page states. Every expectation here was written by hand from the HTML, not recorded
from the extractor's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.extract.boilerplate import learn
from pipeline.extract.extractor import extract
from pipeline.models import Article, ExtractOptions

FIXTURES = Path(__file__).parent / "fixtures" / "extract"


def _extract(name: str, url: str, now: str, **options: object) -> Article | None:
    html = (FIXTURES / f"{name}.html").read_text("utf-8")
    return extract(html, url, ExtractOptions(now=now, **options))  # type: ignore[arg-type]


def _paragraphs(article: Article | None) -> list[str]:
    assert article is not None, "the page is a story"
    return article.text.split("\n\n")


def _absent(article: Article, clutter: list[str]) -> None:
    for words in clutter:
        assert words not in article.text, f"clutter kept: {words!r}"


def test_agency_story_with_a_future_cms_date() -> None:
    article = _extract(
        "agency-byline",
        "https://www.dailytribune.example/world/storm-power-outage",
        "2024-11-04T08:00:00+00:00",
    )
    assert _paragraphs(article) == [
        "PORTLAND, Maine (AP) — A fast-moving storm knocked out power to about 86,000 homes"
        " and businesses along the coast on Sunday, with gusts of up to 72 mph toppling trees"
        " and power lines.",
        "The utility said 640 line workers were on the job and that most customers should be"
        " reconnected by Tuesday evening. At the peak, 31% of its customers in three counties"
        " were without power.",
        "The National Weather Service recorded 2.8 inches of rain in 12 hours at the airport,"
        " a record for the date. Two people were treated for minor injuries after a tree fell"
        " on their car, police said.",
        "Schools in 14 districts will open two hours late on Monday.",
    ]
    assert article is not None
    _absent(article, ["ADVERTISEMENT", "RELATED", "Photo: Robert Lane", "Tags:", "Copyright"])
    assert article.title == "Storm cuts power to 86,000 homes on the coast"
    # "By JANE MORROW and PETER QUINN, Associated Press": two people and an agency.
    assert article.authors == ("Jane Morrow", "Peter Quinn")
    assert article.agencies == ("Associated Press",)
    # The <meta> says 2031 (after the fetch); the dateline's <time> is the publisher's,
    # with its own UTC offset.
    assert article.published == "2024-11-03T14:20:00-05:00"
    assert article.sitename == "The Daily Tribune"
    assert article.language == "en"


def test_german_story_without_declared_language() -> None:
    url = "https://www.rheinischer-bote.example/lokales/2024/05/14/stadtrat-radwegenetz.html"
    article = _extract("german-no-lang", url, "2024-05-15T00:00:00+00:00")
    assert _paragraphs(article) == [
        "Der Stadtrat hat am Dienstagabend mit 31 zu 12 Stimmen ein neues Radwegenetz"
        " beschlossen. Bis 2028 sollen 46 Kilometer geschützte Radwege entstehen, davon 19"
        " Kilometer entlang der Hauptverkehrsstraßen.",
        "Die Kosten schätzt die Verwaltung auf 23,5 Millionen Euro. Das Land übernimmt nach"
        " Angaben der Stadt rund 60 Prozent davon, der Rest wird über den Haushalt der"
        " kommenden vier Jahre finanziert.",
        "Oberbürgermeisterin Katrin Wolf sprach von einem „wichtigen Tag für alle, die in"
        " unserer Stadt mit dem Rad unterwegs sind“. Die Opposition kritisierte, dass für 340"
        " Parkplätze noch kein Ersatz gefunden sei.",
        "Mit dem Bau des ersten Abschnitts zwischen Bahnhof und Universität soll im Frühjahr"
        " begonnen werden. Die Arbeiten dauern voraussichtlich acht Monate.",
    ]
    assert article is not None
    _absent(article, ["Lesen Sie auch", "Brücke am Hafen", "Teilen", "Meistgelesen", "Impressum"])
    assert article.title == "Stadtrat beschließt neues Radwegenetz"
    assert article.authors == ("Max Mustermann",)  # "Von Max Mustermann"
    assert article.published == "2024-05-14"  # only the address says when
    assert article.language == "de"  # the page declares none: detected from the text
    assert article.sitename == "Rheinischer Bote"


_LEDGER = "https://www.northernledger.example/news/harbour-tunnel-toll-rise-1234567"
_LEDGER_PROMO = (
    "Get the Northern Ledger daily newsletter delivered to your inbox."
    " Subscribe now for just £1 for the first month."
)


def test_json_ld_story_with_a_site_suffix_in_its_titles() -> None:
    article = _extract("jsonld-title-suffix", _LEDGER, "2024-01-19T00:00:00+00:00")
    story = [
        "The toll for cars using the harbour tunnel will rise from £2.50 to £2.90 on 1 April,"
        " the operator confirmed on Thursday.",
        "Vans will pay £4.60, up from £4.10, and lorries £9.80. Holders of the resident pass,"
        " about 21,400 people, will keep paying £1.00 per crossing.",
        "The operator said the increase, which is below the 6.7% rise in its maintenance"
        " costs last year, would raise about £3.1m a year. Traffic through the tunnel reached"
        " 16.2 million vehicles in 2023.",
        "Local councillors criticised the timing. “Families are already stretched,” said"
        " councillor Priya Nair, who chairs the transport committee.",
        "The operator will hold two public information sessions, on 6 and 13 February.",
    ]
    paragraphs = _paragraphs(article)
    # The promotion between two story paragraphs is a sentence with nothing in its place
    # or form to tell it from the story: only the site's learnt boilerplate removes it
    # (next test). Everything else is the story, in the page's order.
    assert [p for p in paragraphs if p != _LEDGER_PROMO] == story
    assert article is not None
    _absent(
        article,
        [
            "Read more:",
            "second tunnel bore",
            "Image: Northern Ledger",
            "Follow the Northern Ledger",  # a promotion after the story's last sentence
            "More from Transport",
            "New ferry timetable",
            "By Dana Whitfield",
            "Registered in England",
        ],
    )
    assert not article.text.startswith("Transport")  # the kicker
    assert (
        article.title == "Harbour tunnel toll to rise by 40p from April"
    )  # no "| Northern Ledger"
    assert article.authors == ("Dana Whitfield", "Oliver Brandt")  # "OLIVER BRANDT" re-cased
    assert article.published == "2024-01-18T07:30:00+00:00"
    assert article.modified == "2024-01-18T11:02:00+00:00"
    assert article.language == "en"
    assert article.sitename == "Northern Ledger"
    assert article.canonical_url == _LEDGER


def test_a_promotion_inside_the_story_goes_once_learnt_as_the_sites() -> None:
    other_pages = [f"Story {i} of the Northern Ledger.\n{_LEDGER_PROMO}" for i in range(6)]
    keys = learn(other_pages)
    article = _extract(
        "jsonld-title-suffix", _LEDGER, "2024-01-19T00:00:00+00:00", boilerplate=keys
    )
    assert article is not None
    assert "Northern Ledger daily newsletter" not in article.text
    assert "The operator will hold two public information sessions" in article.text


def test_a_section_front_is_not_a_story() -> None:
    url = "https://www.harbourtimes.example/business"
    assert _extract("section-front", url, "2024-03-02T00:00:00+00:00") is None


def test_wordpress_story_without_related_posts_comments_or_widgets() -> None:
    article = _extract(
        "wordpress-related-comments",
        "https://valleycourier.example/2024/02/26/riverside-flood-barrier-finished/?utm_source=feed",
        "2024-03-01T06:00:00+00:00",
    )
    assert _paragraphs(article) == [
        "The new flood barrier along the Riverside embankment was completed on Monday, 14"
        " months after work began and two weeks ahead of schedule, the county council said.",
        "The 2.4-kilometre wall protects 3,150 homes and 212 businesses that were flooded in"
        " March 2022, when the river rose 4.7 metres above its usual level. The project cost"
        " 18.6 million euros, of which 11.2 million came from the national resilience fund.",
        "“We promised the people of Riverside that they would not go through another winter"
        " like that one,” said council leader Amira Osei. “Every one of the 1,275 steel"
        " panels is now in place.”",
        "Engineers tested the barrier on Saturday by closing all 36 gates at once. The test"
        " took 41 minutes, against a target of one hour.",
        "Residents will be invited to a public walk along the wall on 9 March. A second"
        " phase, covering the 900 metres downstream of the railway bridge, is planned for"
        " 2026 at an estimated cost of 7.9 million euros.",
    ]
    assert article is not None
    _absent(
        article,
        [
            "on X:",  # a link card of a post, not the post
            "Related posts",
            "Ten bridges",
            "Leave a Comment",
            "Share this",
            "newsletter",
            "cookies",
            "About Parvin Hale",
            "Photo: Tom Reyes",
            "Most read",
            "All rights reserved",
        ],
    )
    assert article.title == "Riverside flood barrier finished after 14 months of work"
    assert article.authors == ("Parvin Hale",)
    assert article.published == "2024-02-26T09:15:00+00:00"
    assert article.modified == "2024-02-27T10:00:00+00:00"
    assert article.language == "en"
    assert article.sitename == "Valley Courier"
    # rel=canonical: the story's own address, without the feed's tracking parameter.
    assert article.canonical_url == (
        "https://valleycourier.example/2024/02/26/riverside-flood-barrier-finished/"
    )


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.html")))
def test_extraction_is_pure_and_blocks_are_clean(name: str) -> None:
    """The same page gives the same article twice; blocks are separated by exactly one
    blank line, with no empty blocks."""
    first = _extract(name, "https://site.example/story", "2024-12-01T00:00:00Z")
    assert first == _extract(name, "https://site.example/story", "2024-12-01T00:00:00Z")
    if first is not None:
        blocks = first.text.split("\n\n")
        assert all(block.strip() == block and block for block in blocks)
