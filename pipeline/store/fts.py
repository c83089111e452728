"""What a search query means: the user's words, or FTS5 syntax where the user wrote it.

Two full-text indexes cover the archive's titles and texts (schema.py):

- `articles_fts`, words (unicode61, porter stemming, diacritics folded), for every
  story;
- `articles_trigram`, every three-character substring, for the stories that contain
  Chinese, Japanese or Korean text, whose words are not separated by spaces (the word
  index sees a whole run of CJK text as one "word").

A query is read token by token. Operators (AND, OR, NOT, NEAR, in capitals), "quoted
phrases", parentheses, prefix*, ^initial and column: filters are FTS5 syntax and kept
as written. Every other token is taken as the text the user typed: a token FTS5 would
misread (covid-19, e-mail, don't, C++, N.) is quoted, so it matches as a phrase of
its words and its punctuation is not syntax.

A query with CJK characters searches the trigram index, where a term matches as a
substring. Terms of one or two characters are below what a trigram index can look
up; in a query of plain terms (no operators) they are matched by a scan of the
matching stories' titles and texts instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from pipeline.text import CJK, CJK_RANGES

# The trigger deciding which stories the trigram index holds tests this GLOB character
# class; queries test text.CJK: both list text.CJK_RANGES.
CJK_GLOB = "*[" + "".join(f"{a}-{b}" for a, b in CJK_RANGES) + "]*"
TRIGRAM = 3  # the shortest term the trigram index can look up
_AROUND = 40  # characters either side of a scanned term in its snippet

_OPERATORS = {"AND", "OR", "NOT", "NEAR"}
# A quoted phrase ("" inside is a quote), possibly unterminated; a parenthesis or a
# comma; a braced column set; a run of anything else.
_TOKENS = re.compile(r'"(?:[^"]|"")*"?|[(),]|\{[^}]*\}:?|[^\s(),"{]+')
# What FTS5 takes as a bareword: letters, digits, _ and any non-ASCII character.
_BAREWORD = re.compile(r"[A-Za-z0-9_\x1a\u0080-\U0010ffff]+")
# `column:` before a term (not the `://` of an address), `-column:` to exclude one.
_COLUMN = re.compile(r"(-?[A-Za-z_][A-Za-z0-9_]*):(?!//)(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A query as FTS5 takes it, and what the search must do with it."""

    match: str  # the FTS5 MATCH expression ('' when no term can be looked up)
    syntax: bool  # the user wrote FTS5 operators, parentheses, quotes or filters
    cjk: bool  # search the trigram index
    short: tuple[str, ...] = ()  # CJK-mode terms under TRIGRAM characters: substring scan


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term(text: str) -> str:
    """One bareword-ish token as FTS5 should read it: as it is when FTS5 takes it as
    one, else quoted (a phrase of the words in it; a trailing * stays a prefix)."""
    star = "*" if text.endswith("*") and len(text) > 1 else ""
    body = text[:-1] if star else text
    if _BAREWORD.fullmatch(body):
        return body + star
    return _quote(body) + star


def _too_short(text: str) -> bool:
    return bool(CJK.search(text)) and len(text.strip('"* ')) < TRIGRAM


def parse(query: str) -> Parsed:
    """The FTS5 expression for `query` (see the module's docstring). Raises ValueError
    for a CJK term too short to look up in a query with operators."""
    cjk = bool(CJK.search(query))
    near = "NEAR" in query
    out: list[str] = []
    syntax = False
    terms: list[str] = []  # the plain terms, as typed
    for token in _TOKENS.findall(query):
        if token == ",":
            if near:  # NEAR(a b, 5)
                out.append(token)
            continue
        if token.startswith('"') or token in ("(", ")", "+") or token.startswith("{"):
            out.append(token)
            syntax = True
            terms.append(token)
            continue
        if token in _OPERATORS:
            out.append(token)
            syntax = True
            continue
        lead = ""
        if token.startswith("^") and len(token) > 1:  # the first token of a column
            lead, token = "^", token[1:]
            syntax = True
        column = _COLUMN.fullmatch(token)
        if column:
            syntax = True
            rest = column.group(2)
            out.append(lead + column.group(1) + ":" + (_term(rest) if rest else ""))
            terms.append(rest)
            continue
        if token.endswith("*") and len(token) > 1:
            syntax = True
        out.append(lead + _term(token))
        terms.append(token)
    if cjk and not syntax:
        return Parsed(
            " ".join(_term(t) for t in terms if len(t) >= TRIGRAM),
            syntax,
            cjk,
            tuple(t for t in terms if len(t) < TRIGRAM),
        )
    if cjk and any(_too_short(t) for t in terms):
        raise ValueError(
            "a Chinese, Japanese or Korean term of fewer than 3 characters can only be"
            " searched for without operators"
        )
    return Parsed(" ".join(out), syntax, cjk)


def like_pattern(term: str) -> str:
    """A LIKE pattern (ESCAPE '\\') finding `term` anywhere."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def has_trigram(db: sqlite_utils.Database) -> bool:
    """Whether the archive has the trigram index (SQLite 3.34 or later made it)."""
    row = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_trigram'").fetchone()
    return row is not None


def scan(terms: tuple[str, ...], standfirst: bool = True) -> tuple[list[str], list[Any]]:
    """Clauses finding each of `terms` as a substring of the title, the standfirst (when
    the archive has the column) or the text."""
    columns = ["a.title", *(["a.standfirst"] if standfirst else []), "a.text"]
    clauses, params = [], []
    for term in terms:
        clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
        params += [like_pattern(term)] * len(columns)
    return clauses, params


def scan_snippet(text: str, terms: tuple[str, ...], start_mark: str, end_mark: str) -> str:
    """A snippet around the first of `terms` in `text`, every term marked."""
    lower = text.lower()
    found = [i for i in (lower.find(t.lower()) for t in terms) if i >= 0]
    at = min(found) if found else 0
    start, end = max(0, at - _AROUND), min(len(text), at + _AROUND)
    piece = text[start:end]
    either = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    mark = start_mark + r"\g<0>" + end_mark
    piece = re.sub(either, mark, piece, flags=re.I) if either else piece
    return ("… " if start else "") + " ".join(piece.split()) + (" …" if end < len(text) else "")


def score(bm25: float) -> float:
    """bm25 as a relevance score: sign flipped (higher is better), six significant
    digits (common words score near zero, and stay ordered), never -0.0."""
    return float(f"{-bm25:.6g}") + 0.0
