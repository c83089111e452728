"""Unit tests of the extraction helpers: page cleaning, line cleaning, per-site
boilerplate learning, metadata (titles, credits, dates, language)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from pipeline.extract.boilerplate import clean_lines, learn
from pipeline.extract.clean import preclean
from pipeline.extract.credits import split_credits
from pipeline.extract.extractor import extract
from pipeline.extract.metadata import PageMeta, read_metadata
from pipeline.models import ExtractOptions
from pipeline.text import line_key

STORY = [
    "The harbour authority approved 4 new berths on Tuesday, at a cost of 12.5 million euros.",
    "Work starts in June and should take 18 months, the authority said in a statement.",
    "“It is the largest investment in the port since 1998,” said director Mira Santos.",
]


def _page(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


def _story_html() -> str:
    return "".join(f"<p>{line}</p>" for line in STORY)


# ------------------------------------------------------------------ text lines


def test_clean_lines_drops_social_title_related_list_and_comment_form() -> None:
    text = "\n".join(
        [
            STORY[0],
            STORY[1],
            'Port Watch ⚓ on X: "New berths approved today! #harbour #port ...',
            STORY[2],
            "Related posts",
            "Ten places to see the tall ships",
            "Ana Pereira",
            "The dates of the summer regatta are known",
            "Ana Pereira",
            "Leave a Comment",
        ]
    )
    assert clean_lines(text) == STORY


def test_clean_lines_drops_headline_kicker_and_dateline_at_the_top() -> None:
    headline = "Harbour gets four new berths"
    text = "\n".join(["Business", headline, "March 5, 2024 10:42 am", *STORY])
    assert clean_lines(text, headlines=[headline]) == STORY


def test_clean_lines_drops_the_standfirst_but_not_a_first_paragraph_that_repeats_it() -> None:
    headline = "Harbour gets four new berths"
    dek = "The authority approved the plan on Tuesday after two years of talks."
    header = [f"Business {headline} {dek} By Ana Lima"]
    text = "\n".join([headline, dek, *STORY])
    assert clean_lines(text, headlines=[headline], header=header) == STORY
    text = "\n".join([headline, dek, dek, *STORY])
    assert clean_lines(text, headlines=[headline], header=header) == [dek, *STORY]


def test_clean_lines_drops_teasers_and_credits_anywhere_and_promotions_after_the_story() -> None:
    labels = [  # no sentence of a story: a teaser, a credit, a label
        "READ MORE: Ferry prices to rise in spring",
        "Photo: Jan Novak/Harbour Post",
        "Advertisement",
        "Ten things to do this weekend [VIDEO]",
    ]
    promotions = [  # sentences, but after the story's last sentence
        "Get the Harbour Post newsletter delivered to your inbox. Subscribe for £1 a month.",
        "Follow us on Facebook and Instagram for the latest news.",
    ]
    text = "\n".join([STORY[0], *labels, STORY[1], STORY[2], *promotions])
    assert clean_lines(text) == STORY


def test_clean_lines_keeps_story_sentences_that_only_contain_clutter_words() -> None:
    # Issue 12: each of these was cut from a story because it contains trigger words.
    story = [
        STORY[0],
        "Sign-up numbers for the apprenticeship scheme doubled in March, the ministry said.",
        "Follow the money on Twitter: the fund's own posts show where 4 million euros went.",
        "Comments by the minister were approved by the committee without a vote on Friday.",
        "Get the vaccine delivered to care homes first, the union urged the health minister.",
        STORY[1],
    ]
    assert clean_lines("\n".join(story)) == story


def test_clean_lines_keeps_tables_quotes_and_lists_of_facts() -> None:
    kept = [
        "| Pos. | Driver | Points |",
        "| 1 | Ana Lima | 5040 |",
        "- Challenges coming soon",
        "- Better Android support",
        '"[We] have agreed to grant all licences," it says.',
    ]
    text = "\n".join([STORY[0], *kept, STORY[1]])
    assert clean_lines(text) == [STORY[0], *kept, STORY[1]]


def test_clean_lines_keeps_story_sentences_that_start_like_clutter() -> None:
    story = [
        "Like many retailers, Walmart cut prices to $5 a unit on Friday.",
        "More than 100 people were evacuated from the building, police said.",
        "Latest figures show 3,000 jobs were lost in the sector this year.",
        "Subscribers will pay $10 more a month from June, the company said.",
        "By the end of the year, the city will have spent 4 million euros.",
        "Related to the case, two other men were charged on Monday.",
        "Share prices fell 4% after the announcement.",
        "Comments from the minister were not immediately available.",
        "Photo radar cameras caught 1,200 drivers in a week.",
        "Get-out-the-vote groups raised $2 million in October.",
        "Updated figures will be published on 3 March.",
        "Advertising revenue rose 12% to $4.1bn.",
    ]
    assert clean_lines("\n".join(story)) == story


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=80), max_size=12))
def test_clean_lines_only_removes_lines(lines: list[str]) -> None:
    text = "\n".join(lines)
    source = [" ".join(line.split()) for line in text.splitlines()]
    result = clean_lines(text, headlines=lines[:1])
    position = 0
    for line in result:  # a subsequence of the input lines, never new text
        position = source.index(line, position) + 1


# ------------------------------------------------------------------ boilerplate


def test_learn_keeps_lines_frequent_on_enough_pages() -> None:
    footer = "Send your news tips to the desk at any time of day."
    rare = "This line is on two pages only."
    texts = [f"Story number {i} is different.\n{footer}" for i in range(8)]
    texts[0] += "\n" + rare
    texts[1] += "\n" + rare
    keys = learn(texts, min_pages=3, min_share=0.5)
    assert line_key(footer) in keys
    assert line_key(rare) not in keys
    assert line_key("Story number 3 is different.") not in keys
    assert learn(texts[:2], min_pages=3, min_share=0.5) == frozenset()


def test_extract_drops_learnt_boilerplate() -> None:
    footer = "Send your news tips to the desk at any time of day, we read every message."
    html = _page(f"<article>{_story_html()}<p>{footer}</p></article>")
    plain = extract(html, "https://news.example/a")
    assert plain is not None
    assert footer in plain.text
    options = ExtractOptions(boilerplate=frozenset({line_key(footer)}))
    cleaned = extract(html, "https://news.example/a", options)
    assert cleaned is not None
    assert footer not in cleaned.text
    assert cleaned.text == "\n\n".join(STORY)


# ------------------------------------------------------------------ page cleaning


def test_preclean_keeps_a_story_container_with_a_clutter_class() -> None:
    html = _page(
        f'<div class="entry share-enabled social-bar-on">{_story_html()}</div>'
        '<div class="jp-relatedposts"><a href="/x">Another story</a></div>'
        "<div hidden><p>Hidden offer</p></div>"
    )
    tree = LexborHTMLParser(html)
    preclean(tree)
    text = tree.body.text() if tree.body is not None else ""
    assert all(line in text for line in STORY)
    assert "Another story" not in text
    assert "Hidden offer" not in text


def test_preclean_applies_the_sources_drop_selectors() -> None:
    tree = LexborHTMLParser(_page(f'{_story_html()}<div class="promo-x">Win a car</div>'))
    preclean(tree, drop=(".promo-x",))
    assert "Win a car" not in (tree.body.text() if tree.body is not None else "")


def test_related_block_in_plain_markup_is_removed() -> None:
    html = _page(
        "<article>"
        + _story_html()
        + "<h3>You may also like</h3>"
        + '<div><a href="/a">Ten bridges that shaped the valley</a></div>'
        + "<p>Ana Pereira</p>"
        + '<div><a href="/b">Valley celebrates Flag Day</a></div>'
        + "</article>"
    )
    article = extract(html, "https://news.example/story")
    assert article is not None
    assert article.text == "\n\n".join(STORY)


def test_embedded_social_posts_are_kept_as_quotes_unless_the_source_drops_them() -> None:
    post = (
        '<div class="article-widget article-tweet"><blockquote class="twitter-tweet">'
        "<p>Club statement on the new berths</p>&mdash; Port Authority (@portauthority)"
        ' <a href="https://x.example/portauthority/status/1">March 5, 2024</a></blockquote></div>'
    )
    html = _page(f"<article><p>{STORY[0]}</p>{post}<p>{STORY[1]}</p><p>{STORY[2]}</p></article>")
    kept = extract(html, "https://news.example/a")
    assert kept is not None
    assert "Club statement on the new berths" in kept.text
    assert all(line in kept.text for line in STORY)
    dropped = extract(html, "https://news.example/a", ExtractOptions(keep_social_posts=False))
    assert dropped is not None
    assert dropped.text == "\n\n".join(STORY)


# ------------------------------------------------------------------ metadata


def _meta(
    head: str, body: str = "", url: str = "https://news.example/a", now: str | None = None
) -> PageMeta:
    return read_metadata(LexborHTMLParser(_page(body, head)), url, now)


def test_title_prefers_json_ld_headline_and_strips_site_from_title_element() -> None:
    ld = '{"@type": "NewsArticle", "headline": "Four new berths for the harbour"}'
    head = (
        "<title>Four new berths for the harbour | Harbour Post</title>"
        '<meta property="og:title" content="Four new berths for the harbour | Harbour Post">'
        f'<script type="application/ld+json">{ld}</script>'
    )
    assert _meta(head).title == "Four new berths for the harbour"
    head = (
        '<meta property="og:site_name" content="Harbour Post">'
        "<title>Harbour Post | Four new berths approved</title>"
    )
    assert _meta(head).title == "Four new berths approved"
    head = (
        '<meta property="og:site_name" content="Harbour Post">'
        '<meta property="og:title" content="Ferry fares frozen for 2025 - Harbour Post">'
    )
    assert _meta(head).title == "Ferry fares frozen for 2025"
    # Not a site name: the segment stays.
    head = '<meta property="og:title" content="Review: the new ferry - slow but steady">'
    assert _meta(head).title == "Review: the new ferry - slow but steady"


def test_credits_are_people_with_agencies_apart() -> None:
    assert split_credits(["By JANE DOE and John Roe, Associated Press"], []) == (
        ("Jane Doe", "John Roe"),
        ("Associated Press",),
    )
    assert split_credits(["Autor: Max Mustermann"], []) == (("Max Mustermann",), ())
    assert split_credits(["Par Sébastien Farcis"], []) == (("Sébastien Farcis",), ())
    assert split_credits(["by Ahiza Garcia @ahiza_garcia February 1, 2016: 12:41 PM ET"], []) == (
        ("Ahiza Garcia",),
        (),
    )
    assert split_credits(["Reuters"], []) == ((), ("Reuters",))
    assert split_credits(["Harbour Post"], ["Harbour Post"]) == ((), ("Harbour Post",))


def test_json_ld_authors_and_organisations() -> None:
    ld = (
        '{"@type": "Article", "author": [{"@type": "Person", "name": "Ana Lima"},'
        ' {"@type": "Organization", "name": "Harbour Post Staff"}]}'
    )
    meta = _meta(f'<script type="application/ld+json">{ld}</script>')
    assert meta.authors == ("Ana Lima",)
    assert meta.agencies == ("Harbour Post Staff",)


def test_published_date_order_and_never_in_the_future() -> None:
    ld = '{"@type": "NewsArticle", "datePublished": "2031-05-01T10:00:00Z"}'
    head = (
        f'<script type="application/ld+json">{ld}</script>'
        '<meta property="article:published_time" content="2024-03-05T10:42:00+01:00">'
    )
    assert _meta(head).published == "2031-05-01T10:00:00+00:00"
    assert _meta(head, now="2024-03-06T00:00:00Z").published == "2024-03-05T10:42:00+01:00"
    body = '<time datetime="2024-02-01">1 Feb</time>'
    assert _meta("", body).published == "2024-02-01"
    url = "https://news.example/2023/11/19/story"
    assert _meta("", "", url=url).published == "2023-11-19"
    assert _meta("", "", url=url, now="2023-01-01").published is None


def test_dates_skip_the_epoch_placeholder_and_pre_web_dates_others_contradict() -> None:
    def head(ld_date: str, meta_date: str) -> str:
        ld = f'{{"@type": "NewsArticle", "datePublished": "{ld_date}"}}'
        meta = f'<meta property="article:published_time" content="{meta_date}">'
        return f'<script type="application/ld+json">{ld}</script>{meta}'

    assert _meta(head("1970-01-01T00:00:00Z", "2021-05-03T10:00:00+02:00")).published == (
        "2021-05-03T10:00:00+02:00"
    )
    assert _meta(head("1900-01-01", "2021-05-03")).published == "2021-05-03"
    # Nothing else on the page says otherwise: an old date stands (an archived document).
    assert _meta(head("1989-11-09", "")).published == "1989-11-09"
    assert _meta(head("1970-01-01", "")).published is None


def test_published_keeps_the_publishers_utc_offset() -> None:
    head = '<meta property="article:published_time" content="2024-03-05T23:30:00-0500">'
    assert _meta(head).published == "2024-03-05T23:30:00-05:00"


def test_a_date_only_written_on_the_page_is_found() -> None:
    body = (
        "<article><h1>Reparaturcafé am 31. Januar</h1>"
        '<p class="date">Veröffentlicht am 27. Januar 2020</p>' + _story_html() + "</article>"
    )
    article = extract(_page(body), "https://stadt.example/reparaturcafe")
    assert article is not None
    assert article.published == "2020-01-27"


def test_language_declared_or_detected() -> None:
    html = '<html lang="pt-BR"><body><article>' + _story_html() + "</article></body></html>"
    article = extract(html, "https://news.example/a")
    assert article is not None
    assert article.language == "pt"
    german = (
        "<p>Der Stadtrat hat am Dienstagabend ein neues Radwegenetz beschlossen, das bis 2028"
        " fertig sein soll. Die Kosten schätzt die Verwaltung auf 23 Millionen Euro.</p>"
        "<p>Die Opposition kritisierte, dass für die wegfallenden Parkplätze noch kein Ersatz"
        " gefunden sei, und kündigte weitere Anträge an.</p>"
    )
    article = extract(_page(f"<article>{german}</article>"), "https://news.example/b")
    assert article is not None
    assert article.language == "de"


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_extract_never_raises(fragment: str) -> None:
    html = _page(f"<article><h1>{fragment}</h1><p>{fragment}</p></article>", "<title>x</title>")
    extract(html, "https://news.example/a", ExtractOptions(now="2024-01-01"))


def test_extraction_falls_back_when_cleaning_removes_the_story_container() -> None:
    # Issue 12: pre-cleaning removed the story's container (a clutter word in its class),
    # and the page's text became the teaser list. Plain extraction keeps the story.
    story = [
        "The harbour authority approved 4 new berths on Tuesday, at a cost of 12.5 million"
        " euros. Work starts in June and should take 18 months, the authority said.",
        "“It is the largest investment in the port since 1998,” said director Mira Santos,"
        " who has led the authority since 2015 and oversaw the last expansion.",
        "Fishermen's groups welcomed the plan but asked for guarantees that the old slipway,"
        " used by small boats for a century, would stay open during the works.",
    ]
    teasers = "".join(
        f"<li><a href='/s{i}'>Other headline number {i} about something else</a>"
        f" <span>Short blurb {i}.</span></li>"
        for i in range(40)
    )
    body = (
        "<h1>Harbour gets four new berths</h1>"
        "<div class='entry-content subscription-story'>"
        + "".join(f"<p>{p}</p>" for p in story)
        + f"</div><ul class='teasers'>{teasers}</ul>"
    )
    html = _page(body, "<title>Harbour gets four new berths</title>")
    article = extract(html, "https://news.example/2024/03/05/harbour")
    assert article is not None
    assert article.text.split("\n\n") == story


def test_a_header_run_into_the_first_block_is_stripped_and_a_teaser_is_no_article() -> None:
    from pipeline.extract.boilerplate import clean_lines

    header = ["Culture Skerran: Review on the pool By Ann Lee · 20 November 2026, 12:00"]
    run_in = (
        "Culture Skerran: Review on the pool By Ann Lee · 20 November 2026, 12:00 "
        "Read the full story in our app."
    )
    assert clean_lines(run_in, ["Skerran: Review on the pool"], header) == [
        "Read the full story in our app."
    ]
    teaser = _page(
        "<article><header><span>Culture</span><h1>Skerran: Review on the pool</h1>"
        "<div>By Ann Lee · <time>20 November 2026, 12:00</time></div></header>"
        "<div class='entry-content'><p>Read the full story in our app.</p></div></article>",
        "<title>Skerran: Review on the pool</title>",
    )
    assert extract(teaser, "https://news.example/a") is None


def test_a_one_word_headline_is_not_cut_from_the_first_sentence_that_begins_with_it() -> None:
    # A story headed "Emden" whose first sentence begins "Emden ist ...": the word is
    # the sentence's subject, not the headline run into the paragraph.
    first = "Emden ist vor allem in Deutschland für seine Kunsthalle und den Hafen bekannt."
    text = "\n".join(["Emden", first, *STORY])
    assert clean_lines(text, headlines=["Emden"], header=["Emden"]) == [first, *STORY]


def test_table_rows_with_decimal_commas_are_not_taken_for_a_keyword_list() -> None:
    # A table's rows after its separator row: "10,72" is a number, not three keywords.
    rows = [
        "| Hauptprodukt | Januar bis November 2020 | Januar bis November 2021 | Änderung |",
        "|---|---|---|---|",
        "| Rohbenzin | 10,72 Mio. t | 12,40 Mio. t | 15,7 % |",
        "| Dieselkraftstoff | 32,23 Mio. t | 32,28 Mio. t | 0,1 % |",
    ]
    kept = clean_lines("\n".join([*STORY, *rows]))
    assert kept[-2:] == rows[-2:]


def test_a_control_character_in_the_page_does_not_stop_the_visible_date() -> None:
    """lxml (under htmldate) raised ValueError on a C0 control character while looking
    for a dateline, and the page failed; browsers do not show such characters."""
    story = " ".join(["Der Stadtrat tagte bis spät in die Nacht und stritt über den Haushalt."] * 6)
    html = (
        "<html><head><title>Haushalt beschlossen</title></head><body><article>"
        "<h1>Haushalt beschlossen</h1>"
        f"<p>{story}</p><script>var a = 1;</script>\x01<p>{story}</p></article></body></html>"
    )
    article = extract(html, "https://rat.example/haushalt")
    assert article is not None and article.title == "Haushalt beschlossen"
