"""Credit lines read as people and agencies.

`split_credits` reads a credit line ("By JANE DOE and John Roe, AP") as people and
agencies: credit words, trailing dates, handles, roles and degrees dropped, all-caps
names re-cased, lists split, agencies and organisations kept apart. Pure; no I/O.
"""

from __future__ import annotations

import re

from pipeline.extract.boilerplate import words


def _squash(text: str) -> str:
    return " ".join(text.split())


_CREDIT_PREFIX = re.compile(
    r"^(?:(?:written|posted|published|reported|text|story|words|edited)\s+)?"
    r"(?:by|par|por|von|di|da|door|av|af|przez|autor(?:in|a)?|author|auteur|"
    r"escrito por|publicado por|texto|text)\b\s*[:\-–]?\s*",
    re.IGNORECASE,
)
_MONTHS = (
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|févr|mars|avr|mai|juin|juil|août|"
    r"sept|déc|ene|abr|ago|dic|dez|mär|okt|gen|mag|giu|lug|ott|set|fev|out"
)
_NAME_END = re.compile(
    r"\s*(?:[\d@|•·\n\t]|https?://|\(\s*https?://|\s[-–—]\s|\bupdated\b|\bpublished\b|"
    r"\b(?:edited|photos?|illustrations?|graphics?) by\b|"
    rf"\b(?:{_MONTHS})[a-zé]*\.?\s+\d|\bon (?:twitter|x)\b)",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset(
    words(
        "last updated published posted share follow comments comment admin administrator"
        " anonymous unknown guest sign log login subscribe menu home search more"
    )
)
_PARTICLES = frozenset(
    words("de da di do dos das del della van von der den du la le el al bin y e")
)
_ROLE = re.compile(
    r"\s+(?:(?:senior|chief|deputy|managing|executive|contributing|staff|special|political|"
    r"business|games|tech|technology|sports?|news|science|health|foreign|white house)\s+)*"
    r"(?:editor|reporter|correspondent|writer|columnist|contributor|producer|analyst)$",
    re.IGNORECASE,
)
_WITH = re.compile(r"\s*\((?:avec|with|mit|con|com|met)\s+", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*(?:;|\s(?:and|&|und|et|y|e|i|og|en)\s)\s*", re.IGNORECASE)
_DEGREE = re.compile(r",\s*(?:MA|MS|MSc|MD|PhD|Ph\.D\.|RN|MPH|BSc|BA|Jr\.?|Sr\.?)$")
_AGENCIES = frozenset(
    words(
        "ap, associated press, the associated press, reuters, afp, agence france-presse,"
        " agence france presse, dpa, efe, ansa, bloomberg, upi, xinhua, tass, kyodo,"
        " yonhap, ani, pti, ians, aap, pa, pa media, press association, canadian press,"
        " the canadian press, lusa, europa press, apa, sda, ats, čtk, ctk, anp, belga,"
        " ntb, ritzau, stt, pap, mti, bta, anadolu, irna, wam, kuna, bernama, antara,"
        " cna",
        ",",
    )
)
_ORG_WORDS = re.compile(
    r"\b(?:news|staff|desk|team|newsroom|editors|editorial|redaktion|rédaction|redacción|"
    r"redação|redazione|agency|agencies|wire|wires|media|press|magazine|online|contributors|"
    r"foundation|inc|ltd|llc|gmbh|group|network|organi[sz]ation|association|institute|"
    r"university|society|council|committee|ministry|department|company|corporation)\b|"
    r"\.(?:com|org|net)\b",
    re.IGNORECASE,
)


def _person(raw: str) -> str:
    """One credited name with prefixes, trailing dates, handles and degrees removed."""
    name = _squash(raw)
    name = _CREDIT_PREFIX.sub("", name)
    cut = _NAME_END.search(name)
    if cut is not None:
        name = name[: cut.start()]
    name = _DEGREE.sub("", name.strip(" ,;:-–—"))
    name = _ROLE.sub("", name).strip(" ,;:-–—")
    if name.isupper() and len(name) > 3:
        name = name.title()
    return name


def _plausible(name: str, strict: bool) -> bool:
    """Whether `name` can be a credit. Declared metadata is believed unless empty or junk;
    text found in the page (`strict`) must also look like a name."""
    words = name.split()
    if not words or len(words) > 6 or len(name) > 60:
        return False
    if words[0].casefold() in _NOT_NAMES or ":" in name:
        return False
    if not strict:
        return any(ch.isalpha() for ch in name)
    if not any(len(w.strip(".")) >= 3 for w in words):
        return False
    if not any(ch.isalpha() for ch in name):
        return False
    ascii_words = [w for w in words if w[0].isascii() and w[0].isalpha()]
    return all(w[0].isupper() or w.casefold() in _PARTICLES or len(w) == 1 for w in ascii_words)


def split_credits(
    credits: list[str], site_names: list[str], strict: bool = False
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(people, agencies) from raw credit strings such as "By JANE DOE and John Roe, AP"."""
    sites = {s.casefold() for s in site_names if s}
    people: list[str] = []
    agencies: list[str] = []
    for credit in credits:
        stripped = _CREDIT_PREFIX.sub("", _squash(credit))
        if _WITH.search(stripped):
            stripped = _WITH.sub(" and ", stripped).replace(")", "")
        parts = _NAME_SPLIT.split(stripped)
        if any(len(p.split()) < 2 for p in parts):
            parts = [stripped]
        for part in parts:
            pieces = [p for p in part.split(",") if p.strip()]
            if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
                names = [_person(p) for p in pieces]
            else:
                names = [_person(part)]
            for name in names:
                folded = name.casefold()
                if not _plausible(name, strict):
                    continue
                if folded in _AGENCIES or folded in sites or _ORG_WORDS.search(name):
                    agencies.append(name)
                else:
                    people.append(name)
    return tuple(dict.fromkeys(people)), tuple(dict.fromkeys(agencies))
