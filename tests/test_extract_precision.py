"""Precision rules: clutter that trafilatura keeps, removed on evidence of position or
structure (not of the story's wording), each with a story case it must keep."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from pipeline.extract.clean import preclean

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
