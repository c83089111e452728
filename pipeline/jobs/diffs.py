"""Word-level diffs between two versions of a story, without the noise.

Before comparing, both texts lose what is not an edit of the story: the source's
learnt boilerplate lines (`text.line_key` keys), the date and time in "Updated at …"
lines (in several languages), and white space (texts are compared as word
sequences, so a re-wrapped paragraph is no change). `difflib.SequenceMatcher` then
finds the words deleted and inserted; long unchanged runs are cut down to a few
words of context around each edit. Paragraphs of the new version that announce a
correction ("Correction:", "An earlier version of this story …", "Korrektur:",
"Rectificatif", "Corrección:", …) are reported as corrections. Pure functions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from pipeline.text import line_key

CONTEXT = 8  # unchanged words kept on each side of an edit

# "Updated at 10:42", "Last updated: 3 March 2026", "Aktualisiert am 03.03.2026, 10:42 Uhr",
# "Mis à jour le 3 mars 2026 à 10h42", "Actualizado el…", "Aggiornato il…", "Atualizado em…".
_UPDATED_LINE = re.compile(
    r"^\W*(?:(?:last |zuletzt )?(?:updated|modified|aktualisiert|geändert)|"
    r"(?:publié le .{0,40})?mis à jour|actualizad[oa]|aggiornat[oa]|atualizad[oa]|"
    r"bijgewerkt|zaktualizowano|обновлено)\b",
    re.IGNORECASE,
)
_UPDATED_MAX = 160  # characters: a longer line is a sentence of the story
# What may follow the label in a timestamp line: numbers, and these words.
_DATE_TEXT = """at on am um uhr le la à a el de del il alle ore em às op om h min gmt utc cet cest
    bst est edt pst pdt et pt pm t z today heute aujourd hui hoy oggi hoje
    jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june
    july august september october november december monday tuesday wednesday thursday
    friday saturday sunday januar februar märz mai juni juli oktober dezember montag
    dienstag mittwoch donnerstag freitag samstag sonntag janvier février mars avril juin
    juillet août septembre octobre novembre décembre lundi mardi mercredi jeudi vendredi
    samedi dimanche enero febrero marzo abril mayo junio julio agosto septiembre octubre
    noviembre diciembre lunes martes miércoles jueves viernes sábado domingo gennaio
    febbraio aprile maggio giugno luglio settembre ottobre dicembre janeiro fevereiro
    março maio junho julho setembro outubro novembro dezembro"""
_DATE_WORDS = frozenset(_DATE_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+")

_CORRECTION = re.compile(
    r"^\W*(?:"
    # English
    r"corrections?\s*:|clarifications?\s*:|editor'?s note\s*:|"
    r"(?:an?|the) (?:earlier|previous|prior) version of this (?:story|article|report|post|piece)|"
    r"this (?:story|article|report|post) (?:has been|was) (?:corrected|amended|updated to correct)|"
    # German
    r"korrektur\s*:|berichtigung\s*:|richtigstellung\s*:|"
    r"in einer (?:früheren|vorherigen|ersten) (?:version|fassung)|"
    r"(?:dieser|der) (?:artikel|text|beitrag) wurde (?:korrigiert|berichtigt)|"
    # French
    r"rectificatif|correction\s*:|erratum|"
    r"une (?:précédente|première|version précédente|ancienne) version de cet article|"
    r"cet article a été (?:corrigé|modifié pour corriger)|"
    # Spanish
    r"corrección\s*:|fe de erratas|fe de errores|"
    r"una versión anterior de (?:este|esta) (?:artículo|nota|información|noticia)|"
    # Italian, Portuguese, Dutch
    r"correzione\s*:|rettifica|correção\s*:|errata\s*:|"
    r"uma versão anterior (?:deste|desta) (?:texto|reportagem|notícia|artigo)|"
    r"correctie\s*:|rectificatie|in een eerdere versie van dit (?:artikel|bericht)"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of words: `op` is "equal", "delete", "insert" or "skip" (unchanged words
    left out; `text` then says how many)."""

    op: str
    text: str


@dataclass(frozen=True, slots=True)
class TextDiff:
    """What changed between two versions of a story."""

    title_before: str | None
    title_after: str | None
    segments: tuple[Segment, ...]
    change: float  # share of the words deleted or inserted (0..1)
    words_deleted: int
    words_inserted: int
    corrections: tuple[str, ...]  # new paragraphs that announce a correction

    @property
    def title_changed(self) -> bool:
        return " ".join((self.title_before or "").split()) != " ".join(
            (self.title_after or "").split()
        )

    @property
    def changed(self) -> bool:
        return self.title_changed or self.words_deleted + self.words_inserted > 0


def is_correction(paragraph: str) -> bool:
    """Whether a paragraph announces a correction of the story."""
    return bool(_CORRECTION.match(paragraph.strip()))


def _masked(line: str) -> str:
    """An "Updated at …" line without its date and time (its label is kept). A line
    that says more than a date after the label is a sentence, and stays as it is."""
    match = _UPDATED_LINE.match(line)
    if match is None or len(line) > _UPDATED_MAX:
        return line
    rest = line[match.end() :].casefold()
    if any(word not in _DATE_WORDS for word in _WORD.findall(rest)):
        return line
    return match.group(0).strip()


def paragraphs(text: str, boilerplate: frozenset[str] = frozenset()) -> list[str]:
    """The story's paragraphs as compared: no blank lines, no learnt boilerplate lines,
    "Updated at" lines without their dates, white space collapsed."""
    kept = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line or (boilerplate and line_key(line) in boilerplate):
            continue
        kept.append(_masked(line))
    return kept


def _segments(before: list[str], after: list[str], context: int) -> list[Segment]:
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    out: list[Segment] = []
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            words = before[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            head = [] if first else words[:context]
            tail = [] if last else words[-context:]
            if len(words) <= len(head) + len(tail) + 1:
                out.append(Segment("equal", " ".join(words)))
                continue
            if head:
                out.append(Segment("equal", " ".join(head)))
            out.append(Segment("skip", str(len(words) - len(head) - len(tail))))
            if tail:
                out.append(Segment("equal", " ".join(tail)))
            continue
        if tag in ("delete", "replace"):
            out.append(Segment("delete", " ".join(before[i1:i2])))
        if tag in ("insert", "replace"):
            out.append(Segment("insert", " ".join(after[j1:j2])))
    return out


def diff(
    before_text: str,
    after_text: str,
    *,
    title_before: str | None = None,
    title_after: str | None = None,
    boilerplate: frozenset[str] = frozenset(),
    context: int = CONTEXT,
) -> TextDiff:
    """The word-level difference from `before_text` to `after_text`, noise ignored."""
    old, new = paragraphs(before_text, boilerplate), paragraphs(after_text, boilerplate)
    old_words = [w for p in old for w in p.split()]
    new_words = [w for p in new for w in p.split()]
    if old_words == new_words:
        segments: list[Segment] = []
    else:
        segments = _segments(old_words, new_words, context)
    deleted = sum(len(s.text.split()) for s in segments if s.op == "delete")
    inserted = sum(len(s.text.split()) for s in segments if s.op == "insert")
    total = len(old_words) + len(new_words)
    earlier = set(old)
    return TextDiff(
        title_before=title_before,
        title_after=title_after,
        segments=tuple(segments),
        change=(deleted + inserted) / total if total else 0.0,
        words_deleted=deleted,
        words_inserted=inserted,
        corrections=tuple(p for p in new if p not in earlier and is_correction(p)),
    )


def parse_share(value: str) -> float:
    """A --min-change value ("2%", "0.02", "2") as a share from 0 to 1; ValueError if not."""
    text = value.strip()
    percent = text.endswith("%")
    number = float(text.rstrip("%").strip())
    if number != number or number < 0:  # NaN or negative
        raise ValueError(value)
    share = number / 100 if percent or number > 1 else number
    if share > 1:
        raise ValueError(value)
    return share
