"""Pure helpers over article text: normalisation, identity hashes, near-duplicate hashes."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text reduced to its words: NFKC, case-folded, punctuation and spacing folded.

    Two copies of a story that differ only in quotes, dashes, spacing or case
    normalise to the same string.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", folded)).strip()


def content_hash(text: str) -> str:
    """Identity of a story's text (hex, 128 bits): equal for copies that normalise alike."""
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).hexdigest()


def line_key(line: str) -> str:
    """A short key for one line of text, for learning lines that repeat across a site."""
    return hashlib.blake2b(normalise(line).encode("utf-8"), digest_size=8).hexdigest()


def _shingle_hashes(words: list[str], size: int) -> list[int]:
    if len(words) < size:
        grams = [" ".join(words)] if words else []
    else:
        grams = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
    return [
        int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "big")
        for g in grams
    ]


def simhash(text: str, shingle: int = 3) -> int:
    """64-bit Charikar SimHash over word shingles of the normalised text.

    Near-identical texts (a wire story republished with small edits) differ in few
    bits; see `hamming`. Counting each bit position is done by slicing one string
    of all hashes in binary, which keeps this well under a millisecond for a
    typical article.
    """
    hashes = _shingle_hashes(normalise(text).split(), shingle)
    if not hashes:
        return 0
    bits = "".join(f"{h:064b}" for h in hashes)
    half = len(hashes) / 2
    value = 0
    for position in range(64):
        if bits[position::64].count("1") > half:
            value |= 1 << (63 - position)
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return (a ^ b).bit_count()


def simhash_bands(value: int, bands: int = 4) -> tuple[int, ...]:
    """Split a 64-bit hash into `bands` equal bands. Two hashes within
    `bands - 1` bits of each other share at least one band exactly (pigeonhole),
    so an index on each band finds every near-duplicate candidate."""
    width = 64 // bands
    mask = (1 << width) - 1
    return tuple((value >> (i * width)) & mask for i in range(bands))


def to_signed64(value: int) -> int:
    """SQLite integers are signed 64-bit; store unsigned hashes in that range."""
    return value - (1 << 64) if value >= 1 << 63 else value


def from_signed64(value: int) -> int:
    return value + (1 << 64) if value < 0 else value
