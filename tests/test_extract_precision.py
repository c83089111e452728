"""Precision rules: clutter that trafilatura keeps, removed on evidence of position or
structure (not of the story's wording), each with a story case it must keep."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from pipeline.extract.clean import preclean
from pipeline.extract.edges import trim_edges
from pipeline.extract.extractor import extract

STORY = [
    "The harbour authority approved 4 new berths on Tuesday, at a cost of 12.5 million euros.",
    "Work starts in June and should take 18 months, the authority said in a statement.",
    "“It is the largest investment in the port since 1998,” said director Mira Santos.",
]


def _story_html() -> str:
    return "".join(f"<p>{line}</p>" for line in STORY)


def _cleaned(body: str) -> str:
    tree = LexborHTMLParser(f"<html><head></head><body>{body}</body></html>")
    preclean(tree)
    return " ".join((tree.body.text(separator=" ") if tree.body is not None else "").split())


# --------------------------------------------- class names: copyright, disclosure, author box


def test_copyright_disclosure_author_box_and_reading_time_elements_are_removed() -> None:
    text = _cleaned(
        '<article><span class="readingTime">Ten tekst przeczytasz w mniej niż minutę</span>'
        '<section class="editorial-disclosure"><p>This post contains references to products'
        " from our advertisers.</p></section>"
        f'<div class="entry">{_story_html()}</div>'
        '<p class="image-copyright">© Oli Scarff/Getty Images</p>'
        '<div class="TestReport__AuthorBox"><p>Inga Buller ist Head of Social bei CHIP.</p></div>'
        '<div class="copyright"><p>Materiał chroniony prawem autorskim.</p></div></article>'
    )
    assert all(line in text for line in STORY)
    for clutter in ("przeczytasz", "advertisers", "Getty", "Inga Buller", "chroniony"):
        assert clutter not in text


def test_class_words_match_whole_parts_or_adjacent_pairs_only() -> None:
    # "author" and "box" are not adjacent in "author-info-box"; "copy" is not "copyright";
    # the story's container keeps its text whatever its class says.
    text = _cleaned(
        '<div class="author-info-box"><p>Mira Santos reports on the port.</p></div>'
        f'<div class="box-copy">{_story_html()}</div>'
    )
    assert "Mira Santos reports on the port." in text
    assert all(line in text for line in STORY)


# ----------------------------------------------------- a short label and a linked headline


def test_a_label_and_a_linked_headline_are_a_teaser_in_any_language() -> None:
    text = _cleaned(
        f"<article><p>{STORY[0]}</p>"
        '<p><strong>Lea también:</strong> <a href="/a">Impiden ingreso a Nicaragua a reportero'
        " y camarógrafo</a></p>"
        f"<p>{STORY[1]}</p>"
        '<h3>MIRA: <a href="/b">Madre se acerca a conocer los motivos de captura</a></h3>'
        '<p>Auch lesen: <a href="/c">Diese 3 Sternzeichen verschenken ihr Herz</a></p>'
        f"<p>{STORY[2]}</p></article>"
    )
    assert all(line in text for line in STORY)
    for teaser in ("Lea también", "Nicaragua", "MIRA", "Madre", "Auch lesen", "Sternzeichen"):
        assert teaser not in text


def test_sentences_with_links_and_short_linked_credits_are_kept() -> None:
    kept = [
        # a sentence around its link
        'The report (<a href="/r">read the full port authority report</a>) was approved.',
        # a label over a short link: a product or a name, not a headline
        'Kreole: <a href="/s">Stella Hoops</a>',
        # a long lead-in is a sentence, not a label
        'Director Mira Santos said on Tuesday that the plans are here: <a href="/p">new'
        " berths for the harbour of the city</a>",
    ]
    paragraphs = "".join(f"<p>{p}</p>" for p in kept)
    text = _cleaned(f"<article>{_story_html()}{paragraphs}</article>")
    for phrase in ("read the full port authority report", "Stella Hoops", "new berths for the"):
        assert phrase in text


# ------------------------------------------- the text's edges: before and after the story

LONG = [
    "The harbour authority approved four new berths on Tuesday, at a cost of 12.5 million"
    " euros, after two years of planning and a public consultation.",
    "Work starts in June and should take eighteen months, the authority said in a statement"
    " published on its website on Tuesday evening.",
    "“It is the largest investment in the port since 1998,” said director Mira Santos, who"
    " expects the first ships at the new berths in the spring of 2026.",
]


def test_dates_and_advertising_labels_before_the_first_sentence_go() -> None:
    lines = ["Anzeige, enthält Affiliate Links", "23.10.2018", "Publicado: Jueves, 21 Abril 2022"]
    assert trim_edges([*lines, *STORY]) == STORY


def test_a_schedule_inside_the_story_and_a_place_and_date_line_stay() -> None:
    lines = [
        "Darmstadt - Januar 2021",  # a dateline with a place: not only a date
        STORY[0],
        "Donnerstag, 03. Februar 2022",  # a schedule between sentences
        "DP World Tour: Ras al Khaimah Championship, 1. Tag, 11:30 Uhr bei Sky Sport 1",
        STORY[1],
    ]
    assert trim_edges(lines) == lines


def test_a_stamped_date_after_the_last_sentence_goes() -> None:
    tail = ["Aktualisiert am 17.01.2021.", "Letzte Änderung 14.02.2019"]
    assert trim_edges([*STORY, *tail]) == STORY


def test_dates_after_the_story_without_a_stamp_word_stay() -> None:
    tail = ["29 November 2018 | 20 January 2019", "Einsendeschluss: 03.11.2019 (Poststempel)"]
    assert trim_edges([*STORY, *tail]) == [*STORY, *tail]


def test_a_contact_block_after_the_story_goes() -> None:
    block = [
        "Pressekontakt",
        "Pressesprecher*in Markus Ulrich",
        "Almstadtstraße 7",
        "10119 Berlin",
        "Tel.: (030) 78 95 47 78",
        "E-Mail: presse@verband.example",
    ]
    assert trim_edges([*LONG, *block]) == LONG


def test_an_address_that_is_the_page_and_a_single_contact_line_stay() -> None:
    # The page is the address (a company's profile): no story of two long lines before.
    profile = [
        LONG[0],
        "Truckwash A31",
        "Ottostraße 14",
        "Tel.: +49 4964 95816-120",
        "Fax: +49 4964 95816-29",
    ]
    assert trim_edges(profile) == profile
    # One phone number after a story is a detail of it, not a contact block.
    story = [*LONG, "Reservations", "+81 158-23-2012"]
    assert trim_edges(story) == story
    # A label before the block that is itself a line of the story stays.
    notice = [
        *LONG,
        "Fotos zum Download finden Sie hier: https://bit.ly/3wdTgn1",
        "Pressekontakte:",
        "ASB: poea@asb.example, Tel. 030 / 2325 786 -122",
        "DLRG: presse@dlrg.example, Tel. 05723 / 955-440",
    ]
    assert trim_edges(notice) == notice[:4]


def test_extract_drops_the_date_before_and_the_contact_block_after_the_story() -> None:
    contact = ["Pressekontakt", "Dr. Tim Loppe", "Tel.: 0211 77900 363", "tim.loppe@example.org"]
    body = "".join(f"<p>{line}</p>" for line in ["23.10.2018", *LONG, *contact])
    html = f"<html><head><title>Berths</title></head><body><article>{body}</article></body></html>"
    article = extract(html, "https://news.example/berths")
    assert article is not None
    assert article.text == "\n\n".join(LONG)


def test_credit_and_source_lines_after_the_last_sentence_go() -> None:
    tail = ["Titelbild: Flickr, CC BY 2.0", "Quelle: Deutscher Jagdverband (DJV), 02. Februar 2022"]
    assert trim_edges([*STORY, *tail, "Crédits photos : Bestimage"]) == STORY


def test_a_source_line_inside_the_story_and_a_closing_sentence_stay() -> None:
    lines = [
        STORY[0],
        "Quelle: Statistisches Bundesamt, 2021",  # under a table, before the story's end
        STORY[1],
        "Source: the port authority, which said on Tuesday that the berths are fully funded.",
    ]
    assert trim_edges(lines) == lines


# ------------------------------------------- story text the rules must keep (a review's cases)


def test_schedules_appeals_and_helplines_after_the_story_are_no_contact_block() -> None:
    """Dates and times are no phone numbers, and a block without an e-mail address is
    no press contact: each of these tails is the story's."""
    tails = [
        ["Tour dates:", "Berlin, Columbia Halle: 05.03.2024", "Hamburg, Docks: 07.03.2024"],
        ["Programme:", "09.30 – 10.30 Opening speech", "08.00 – 09.00 Breakfast with the mayor"],
        [
            "Anyone with information should call police on 0161 856 1234.",
            "Or call Crimestoppers on 0800 555 111.",
        ],
        ["Where to get help:", "Childline: 0800 1111", "Mind: 0300 123 3393"],
    ]
    story = [f"{line} {line}" for line in STORY]  # long lines: a contact block may follow
    for tail in tails:
        assert trim_edges([*story, *tail]) == [*story, *tail], tail
    # a press contact (a name, a phone number and an e-mail address) still goes
    contact = ["Pressekontakt", "Dr. Tim Loppe", "Tel.: 0211 77900 363", "tim.loppe@example.de"]
    assert trim_edges([*story, *contact]) == story


def test_a_timeline_s_dates_before_the_first_sentence_stay() -> None:
    lines = ["5 March 2024", "Rain starts", "6 March 2024", "The river rises", *STORY]
    assert trim_edges(lines) == lines
    # one dateline under the headline goes
    assert trim_edges(["18 Kindersitze im Test", "23.10.2018", *STORY]) == [
        "18 Kindersitze im Test",
        *STORY,
    ]


def test_event_dates_gallery_lines_and_sponsored_headlines_stay() -> None:
    tail = ["Date: Saturday 12 March 2024", "Bilder/Videos vom Hochwasser in der Galerie"]
    assert trim_edges([*STORY, *tail]) == [*STORY, *tail]
    head = ["Sponsored walk raises 5,000 euros for flood victims"]
    assert trim_edges([*head, *STORY]) == [*head, *STORY]


def test_heading_anchors_and_long_disclosure_panels_are_story() -> None:
    answer = (
        "Die Verlage müssen offenlegen, wer ihre Inhalte finanziert, und das gilt auch"
        " für Beiträge, die von Stiftungen oder Unternehmen bezahlt wurden, sagt die"
        " Medienanstalt; Verstöße kosten bis zu 50.000 Euro Bußgeld im Einzelfall. "
    ) * 3
    text = _cleaned(
        f"<article>{_story_html()}"
        '<h2 id="copyright-reform">Copyright reform in the port city</h2>'
        f'<div class="disclosure__panel"><p>{answer}</p></div></article>'
    )
    assert "Copyright reform in the port city" in text
    assert "Bußgeld im Einzelfall" in text


def test_a_label_over_a_linked_report_or_anchor_stays() -> None:
    text = _cleaned(
        f"<article>{_story_html()}"
        '<p>Read the full report: <a href="/files/flood-risk-2024.pdf">Flood risk in the'
        " river districts 2024</a></p>"
        '<p>Skip to: <a href="#timeline">The timeline of the flood night</a></p></article>'
    )
    assert "Flood risk in the river districts 2024" in text
    assert "The timeline of the flood night" in text
