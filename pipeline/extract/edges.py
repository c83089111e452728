"""Rules on the edges of the story's text: the lines before its first sentence and
after its last one. Pure functions; no I/O, no module state.

`trim_edges` runs after `boilerplate.clean_lines`. Each rule needs the line's position
(before the story's first sentence, or after its last long line) and its form (a
date, a contact line); words only confirm it, in several languages:

- before the first sentence: a date line ("23.10.2018", "Publicado: Jueves, 21 Abril
  2022"), or an advertising label ("Anzeige, enthält Affiliate Links", "*Werbung.");
- after the last sentence: a date line that a stamp word confirms ("Aktualisiert am
  17.01.2021.", "Letzte Änderung 14.02.2019", "Last modified: 03-10-2004");
- after the last sentence: a credit or source line ("Titelbild: Flickr, CC BY 2.0",
  "Quelle: Deutscher Jagdverband (DJV)", "Crédits photos : Bestimage");
- at the end: a contact block, a run of short lines (names, labels, addresses) that
  holds two e-mail addresses or phone numbers or more ("Pressekontakt / Dr. Tim Loppe
  / Tel.: 0211 77900 363 / Tim.Loppe@naturstrom.de").
"""

from __future__ import annotations

import re
from itertools import pairwise

from pipeline.extract.boilerplate import DATE_WORDS, fold, sentence, words
from pipeline.extract.explain import LINES, Trace

_MONTHS = frozenset(
    words(
        "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april"
        " june july august september october november december janeiro fevereiro março"
        " abril maio junho julho agosto setembro outubro novembro dezembro enero febrero"
        " marzo mayo junio julio septiembre octubre noviembre diciembre janvier février"
        " mars avril mai juin juillet août septembre octobre novembre décembre januar"
        " februar märz juni juli oktober dezember gennaio febbraio aprile maggio giugno"
        " luglio settembre ottobre dicembre styczeń stycznia lutego marca kwietnia maja"
        " czerwca lipca sierpnia września października listopada grudnia"
    )
)
# Words of a date line besides the date itself ("Stand:", "Datum", "Erstellt am").
_STAMP_WORDS = frozenset(
    words(
        "updated modified published posted created letzte änderung geändert"
        " aktualisiert erstellt veröffentlicht stand actualizado actualización"
        " última publicado creado atualizado mis à jour publié créé modifié"
        " aggiornato pubblicato creato zaktualizowano opublikowano"
    )
)
# A numeric date: 23.10.2018, 31/08/2019, 28-04-2021, 2021-04-28.
_NUMERIC_DATE = re.compile(
    r"(?<![\d.])(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}-\d\d-\d\d)(?![\d.]\d)"
)
# A number token of a date or time ("2022", "10h36", "2pm", "6th").
_NUMBER = re.compile(r"^\d+(?:st|nd|rd|th|h\d*|am|pm|uhr)?$")
# The label alone, or followed by punctuation ("Anzeige, enthält Affiliate Links"); not
# a headline that begins with the word ("Sponsored walk raises 5,000 euros").
_AD_LABEL = re.compile(
    r"^\W*(?:anzeige|werbung|advertisement|advertorial|sponsored|gesponsert|publicidad|"
    r"publicité|pubblicità|reklama|patrocinado|paid (?:post|content)|partner content)"
    r"(?:\W*$|\s*[,.:;|(–-])",
    re.IGNORECASE,
)
# A credit or source label ("Titelbild: …", "Quelle: …", "Crédits photos : …").
_CREDIT_LABEL = re.compile(
    r"^\W*(?:titelbild|beitragsbild|aufmacherbild|headerbild|bildquelle|bildnachweis|"
    r"fotos?|bilder?|quellen?|sources?|fuentes?|fontes?|źródło|zdjęcie|fot|"
    r"crédits?(?: photos?)?|image illustrative|illustration|copyright)\s*[:©]",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+|\(0|\b0)\d[\d ()/.\-–]{6,}\d")
# What a phone number's digits may also be: a date, or a time or span of times.
_TIME = re.compile(r"\b\d{1,2}[.:]\d{2}\b")
_LONG_LINE = 100  # a block of the story; shorter ones may be a contact block's lines
_LABEL_LINE = 50  # a name, a label or an address line before a contact line
_CONTACT_LINES = 2  # e-mail addresses or phone numbers that make a contact block
_CONTACT_BLOCK = 15  # lines at most (a longer run of short lines is a list)
_STORY_BEFORE = 2  # long lines of story needed before a contact block


def dated(line: str) -> bool:
    """A short line made of one date (or a date and a time) and date words."""
    line = line.rstrip(". ")
    if len(line) > 120:
        return False
    tokens = fold(line).split()
    has_date = bool(_NUMERIC_DATE.search(line)) or (
        any(t in _MONTHS for t in tokens) and any(len(t) == 4 and t.isdigit() for t in tokens)
    )
    if not has_date:
        return False
    other = [
        t for t in tokens if not _NUMBER.match(t) and t not in DATE_WORDS and t not in _STAMP_WORDS
    ]
    return len(other) <= len(tokens) // 4


def stamped(line: str) -> bool:
    """Whether a date line says what its date is (updated, created, ...)."""
    return any(t in _STAMP_WORDS for t in fold(line).split())


def _phone(line: str) -> bool:
    """A phone number that is not a date or a time ("05.03.2024", "09.30 – 10.30")."""
    found = _PHONE.search(line)
    if found is None:
        return False
    number = found.group(0)
    return not (_NUMERIC_DATE.search(number) or _TIME.search(number))


def _contact(line: str) -> bool:
    return bool(_EMAIL.search(line) or _phone(line))


def contact_block(lines: list[str]) -> int:
    """Where a trailing contact block starts, or len(lines): after the last long line,
    a run of at most 15 short lines with two contact lines (e-mail, phone) or more, one
    of them an e-mail address (a list of helplines or a police appeal has none), from
    the short labels and names just before its first contact line, never past a
    sentence; only after a story of two long lines at least (a page that is mostly an
    address keeps it)."""
    start = len(lines)
    while start > 0 and len(lines[start - 1]) < _LONG_LINE:
        start -= 1
    if len(lines) - start > _CONTACT_BLOCK:
        return len(lines)
    found = [i for i in range(start, len(lines)) if _contact(lines[i])]
    if len(found) < _CONTACT_LINES or not any(_EMAIL.search(lines[i]) for i in found):
        return len(lines)
    cut = found[0]
    while cut > start and len(lines[cut - 1]) < _LABEL_LINE and not sentence(lines[cut - 1]):
        cut -= 1
    if sum(len(line) >= _LONG_LINE for line in lines[:cut]) < _STORY_BEFORE:
        return len(lines)
    return cut


_HEAD_LINES = 3  # dateline and label lines at the top at most


def _dateline(line: str) -> bool:
    return dated(line) or (len(line) < 160 and _AD_LABEL.match(line) is not None)


def trim_edges(lines: list[str], trace: Trace | None = None) -> list[str]:
    """`lines` without the dates and advertising labels before the story's first
    sentence, the stamped dates and credit lines after its last one, and a trailing
    contact block."""
    sentences = [index for index, line in enumerate(lines) if sentence(line)]
    if not sentences:
        return lines
    first, last = sentences[0], sentences[-1]
    end = contact_block(lines)
    # Date and label lines before the first sentence, unless they are a list of dated
    # entries (two of them with another line between: a timeline, a programme).
    top = [index for index in range(first) if _dateline(lines[index])]
    listed = any(b - a > 1 for a, b in pairwise(top))
    head = set() if listed or len(top) > _HEAD_LINES else set(top)
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index >= end:
            rule = "contact block after the story"
        elif index in head:
            rule = "date or advertising label before the story"
        elif index > last and dated(line) and stamped(line):
            rule = "date stamp after the story"
        elif index > last and len(line) < 200 and _CREDIT_LABEL.match(line):
            rule = "credit or source line after the story"
        else:
            kept.append(line)
            continue
        if trace is not None:
            trace.remove(LINES, rule, line)
    return kept
