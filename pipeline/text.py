"""Pure helpers over article text: normalisation, identity hashes, near-duplicate
signatures (MinHash over word shingles, with LSH band keys for finding candidates)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

# Han (and its extensions and compatibility forms), kana, Hangul: scripts written without
# spaces between words, whose characters each say what alphabets say in about three.
CJK_RANGES = (
    ("\u1100", "\u11ff"),  # Hangul Jamo
    ("\u3040", "\u30ff"),  # Hiragana, Katakana
    ("\u3130", "\u318f"),  # Hangul compatibility Jamo
    ("\u3400", "\u4dbf"),  # CJK Extension A
    ("\u4e00", "\u9fff"),  # CJK Unified Ideographs
    ("\uac00", "\ud7af"),  # Hangul syllables
    ("\uf900", "\ufaff"),  # CJK compatibility ideographs
    ("\uff66", "\uff9f"),  # half-width Katakana
    ("\U00020000", "\U0003134f"),  # CJK Extensions B-G
)
CJK = re.compile("[" + "".join(f"{a}-{b}" for a, b in CJK_RANGES) + "]")
_NON_WORD = re.compile(r"[^\w]+")
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The text reduced to its words: NFKC, case-folded, punctuation and spacing folded.

    Two copies of a story that differ only in quotes, dashes, spacing or case
    normalise to the same string. (Each run of non-word characters, spaces included,
    becomes one space: nothing is left to collapse after that.)
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def normal_words(text: str) -> list[str]:
    """`normalise(text).split()`, without building the string (half the time)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def story_text(standfirst: str | None, text: str) -> str:
    """A story's whole text: its standfirst (the lead under the headline), then its
    body, as `export` writes it; the body alone when it opens with the lead already."""
    if not standfirst:
        return text
    if normalise(standfirst) in normalise(text[: 2 * len(standfirst) + 200]):
        return text
    return f"{standfirst}\n\n{text}"


def content_hash(text: str) -> str:
    """Identity of a story's text (hex, 128 bits): equal for copies that normalise alike."""
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).hexdigest()


def line_key(line: str) -> str:
    """A short key for one line of text, for learning lines that repeat across a site."""
    return hashlib.blake2b(normalise(line).encode("utf-8"), digest_size=8).hexdigest()


_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xC2B2AE3D27D4EB4F)
_SHIFT = np.uint64(31)
_HIGH = np.uint64(32)
MINHASH_SIZE = 64  # values in a MinHash signature
LSH_BANDS = 16  # bands of MINHASH_SIZE // LSH_BANDS values each


def _constants(label: str, size: int, odd: bool) -> np.ndarray:
    """Fixed forever (stored signatures depend on them), so derived from blake2b rather
    than a random generator whose stream may change between numpy versions."""
    values = [
        int.from_bytes(hashlib.blake2b(f"{label}-{i}".encode(), digest_size=8).digest(), "big")
        | (1 if odd else 0)
        for i in range(size)
    ]
    array = np.array(values, dtype=np.uint64)
    array.setflags(write=False)
    return array


_PERM_A = _constants("newsarchive-minhash-a", MINHASH_SIZE, odd=True)
_PERM_B = _constants("newsarchive-minhash-b", MINHASH_SIZE, odd=False)


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big")


def _shingles(words: list[str], shingle: int = 3) -> np.ndarray:
    """64-bit hashes of the word shingles: each distinct word is hashed once and a
    shingle's hash mixes its words' hashes (wrapping uint64 arithmetic)."""
    if not words:
        return np.zeros(0, dtype=np.uint64)
    table = {w: _word_hash(w) for w in dict.fromkeys(words)}
    hashes = np.fromiter((table[w] for w in words), dtype=np.uint64, count=len(words))
    if len(words) < shingle:
        return hashes[:1]
    count = len(words) - shingle + 1
    mixed = hashes[:count].copy()
    for offset in range(1, shingle):
        mixed = (mixed * _MIX1) ^ hashes[offset : count + offset]
    mixed ^= mixed >> _SHIFT
    return np.asarray(mixed * _MIX2, dtype=np.uint64)


def _minhash(shingles: np.ndarray) -> bytes:
    """The MinHash signature (MINHASH_SIZE 32-bit values) of a set of shingle hashes:
    for each of the fixed multiply-shift hash functions, the least hash of any shingle."""
    if len(shingles) == 0:
        return b""
    permuted = (shingles[:, None] * _PERM_A[None, :] + _PERM_B[None, :]) >> _HIGH
    return bytes(permuted.min(axis=0).astype(">u4").tobytes())


def minhash(text: str) -> bytes:
    return _minhash(_shingles(normalise(text).split()))


def fingerprints(text: str) -> tuple[str, bytes]:
    """(content_hash, MinHash signature) of a text, normalising it once."""
    normal = normalise(text)
    digest = hashlib.blake2b(normal.encode("utf-8"), digest_size=16).hexdigest()
    return digest, _minhash(_shingles(normal.split()))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two texts' shingle sets from their signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return float(np.mean(np.frombuffer(a, ">u4") == np.frombuffer(b, ">u4")))


def lsh_keys(signature: bytes) -> list[int]:
    """One key per band of the signature (signed 64-bit, for SQLite). Texts with a
    Jaccard similarity s share at least one key with probability 1-(1-s^4)^16:
    0.99 at s=0.7, 0.64 at 0.5, 0.0016 at 0.1 — near-duplicates meet, strangers don't."""
    if not signature:
        return []
    width = len(signature) // LSH_BANDS
    keys = []
    for band in range(LSH_BANDS):
        chunk = bytes([band]) + signature[band * width : (band + 1) * width]
        value = int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "big")
        keys.append(to_signed64(value))
    return keys


def to_signed64(value: int) -> int:
    """SQLite integers are signed 64-bit; store unsigned hashes in that range."""
    return value - (1 << 64) if value >= 1 << 63 else value


def shingle_set(text: str, size: int = 4) -> set[tuple[str, ...]]:
    """The distinct word `size`-grams of the text's normalised words (for comparing how
    much of one text another keeps)."""
    words = normal_words(text)
    if len(words) <= size:
        return {tuple(words)}
    return set(zip(*(words[i:] for i in range(size)), strict=False))
