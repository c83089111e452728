"""pipeline/text.py: the fast word and shingle helpers give exactly what their plain
definitions give (they decide dedup identity and extraction's fallback checks)."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from pipeline.text import normal_words, normalise, shingle_set


def _normalise_by_definition(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", re.sub(r"[^\w]+", " ", folded)).strip()


def _shingles_by_definition(text: str, size: int = 4) -> set[tuple[str, ...]]:
    words = _normalise_by_definition(text).split()
    return {tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}


_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from(" \t\n\u00a0\u2009-–.,'’ß"),
    max_size=200,
)


@given(_TEXT)
def test_normalise_and_its_words_follow_the_definition(text: str) -> None:
    assert normalise(text) == _normalise_by_definition(text)
    assert normal_words(text) == _normalise_by_definition(text).split()


@given(_TEXT, st.integers(min_value=1, max_value=5))
def test_shingle_sets_follow_the_definition(text: str, size: int) -> None:
    assert shingle_set(text, size) == _shingles_by_definition(text, size)


def test_examples() -> None:
    assert normalise("  Straße – “Quoted”,\u00a0spaced\tout ") == "strasse quoted spaced out"
    assert shingle_set("a b c") == {("a", "b", "c")}
    assert shingle_set("") == {()}
    assert shingle_set("One, two; three four five") == {
        ("one", "two", "three", "four"),
        ("two", "three", "four", "five"),
    }
