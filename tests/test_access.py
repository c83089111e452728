"""Issue 16 item 1: every fetched page says whether the story was really there. The
classifier (extract/access.py) on hand-written pages: walls in several languages are
labelled and not stories; paywalled stories are stories, labelled; real stories that
talk about cookies, captchas, logins or subscriptions stay `ok`."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from pipeline.extract.access import challenge_body, classify, read_markup
from pipeline.extract.extractor import explain, extract_traced

from .access_pages import (
    CHALLENGE,
    CONSENT,
    LOGIN,
    PAYWALLED,
    STORY_DE,
    STORY_EN,
    ld,
    page,
    story_page,
)

URL = "https://news.example/2024/03/05/harbour-berths"


@pytest.mark.parametrize("language", sorted(CONSENT))
def test_consent_dialogs_are_consent_walls_in_six_languages(language: str) -> None:
    article, stages = extract_traced(CONSENT[language], URL)
    assert article is None
    assert stages.access == "consent_wall", stages.skipped
    assert "consent" in stages.skipped


@pytest.mark.parametrize("kind", sorted(CHALLENGE))
def test_bot_challenges_are_labelled(kind: str) -> None:
    article, stages = extract_traced(CHALLENGE[kind], URL)
    assert article is None
    assert stages.access == "bot_challenge", stages.skipped


def test_markup_read_lazily_looks_for_challenge_markup_only_for_a_short_text() -> None:
    # extract reads the page's markup with lazy=True: the anti-bot markup (a scan of
    # the whole source) is looked for only when the text is short enough for a wall.
    html = CHALLENGE["perimeterx"]
    markup = read_markup(LexborHTMLParser(html), html, lazy=True)
    assert markup.challenge is None
    assert read_markup(LexborHTMLParser(html), html).challenge is True
    # 1,000 characters of text: too long for the challenge words, a wall by its markup.
    text = (" ".join(STORY_EN) * 2)[:1000]
    assert classify(markup, text, html=html).label == "bot_challenge"
    assert classify(read_markup(LexborHTMLParser(html), html), text).label == "bot_challenge"
    assert classify(markup, text).label == "ok"  # no source to look in
    story = " ".join(STORY_EN) * 4  # 1,900 characters: never a wall, whatever the markup
    assert classify(markup, story, html=html).label == "ok"


@pytest.mark.parametrize("language", sorted(LOGIN))
def test_login_forms_in_place_of_the_story_are_login_walls(language: str) -> None:
    article, stages = extract_traced(LOGIN[language], URL)
    assert article is None
    assert stages.access == "login_wall", stages.skipped


def test_a_challenge_served_with_an_error_status_is_recognised_by_its_body() -> None:
    assert challenge_body(503, CHALLENGE["cloudflare"]) is not None
    assert challenge_body(403, CHALLENGE["akamai"]) is not None
    assert challenge_body(429, CHALLENGE["perimeterx"]) is not None
    # A plain error page is no challenge, and a 404 is never one.
    plain = page("Service unavailable", "<h1>503</h1><p>We'll be back soon.</p>")
    assert challenge_body(503, plain) is None
    assert challenge_body(404, CHALLENGE["cloudflare"]) is None


def test_paywalled_stories_are_stories_with_their_label() -> None:
    for name, html in PAYWALLED.items():
        article, why = explain(html, URL)
        assert article is not None, name
        assert article.access == why.access == "paywalled", name
        assert why.access_reason, name


def test_a_story_much_shorter_than_its_feed_summary_is_paywalled() -> None:
    html = story_page("Harbour gets new berths", STORY_EN)
    summary = " ".join(STORY_EN * 3) + " The authority will publish the plans in May."
    article, _ = extract_traced(html, URL, summary=summary)
    assert article is not None and article.access == "paywalled"
    # A summary shorter than the story says nothing.
    article, _ = extract_traced(html, URL, summary=STORY_EN[0])
    assert article is not None and article.access == "ok"


def test_real_stories_that_mention_walls_are_ok() -> None:
    cookies = [
        *STORY_EN,
        "Shops that accept all cookies from the bakery will pay less, and the captcha on the"
        " booking site will go, the authority said. Readers can sign in to comment.",
    ]
    pages = {
        "cookie words": story_page("Harbour", cookies),
        # A consent vendor's banner and a login box in the chrome beside a whole story.
        "vendor banner": page(
            "Harbour",
            "<div id='onetrust-banner-sdk'><p>We use cookies. Accept all cookies.</p></div>"
            "<form><input type='password' name='pw'><button>Log in</button></form>"
            + "<article>"
            + "".join(f"<p>{p}</p>" for p in STORY_EN * 2)
            + "</article>",
        ),
        "free metadata": story_page("Brücke", STORY_DE, head=ld(isAccessibleForFree=True)),
        # Marked not free, but the marked part was served with its text (Barron's does so).
        "served part": page(
            "Harbour",
            "<article><div class='paywall'>"
            + "".join(f"<p>{p}</p>" for p in STORY_EN * 2)
            + "</div></article>",
            ld(
                isAccessibleForFree=False,
                hasPart={"isAccessibleForFree": False, "cssSelector": ".paywall"},
            ),
        ),
        "noscript notice": story_page(
            "Harbour",
            STORY_EN,
            tail="<noscript>Please enable JavaScript to see the comments.</noscript>",
        ),
    }
    for name, html in pages.items():
        article, why = explain(html, URL)
        assert article is not None, (name, why.verdict)
        assert article.access == "ok", (name, why.access_reason)
