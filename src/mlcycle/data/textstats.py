"""Vectorised text normalisation, words and character n-grams over Arrow arrays.

The reference profile of a dataset version and the monitoring of production traffic
must count words the same way, so both call these functions. A text is *folded* to
lower-case unaccented letters (``é`` -> ``e``, ``Œ`` -> ``oe``); every other character
separates words. Words are runs of two letters or more; character trigrams are taken
inside words, a space marking each word's edges.

Counting works on the raw bytes of the Arrow buffer: once accents are folded, each
byte maps to a letter code (a=1 ... z=26) or 0, words are located with array
arithmetic and trigrams tallied by ``bincount``, so a million texts take about a
second and no Python loop runs per text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NGRAM_N = 3
MIN_WORD = 2
_ALPHABET = " abcdefghijklmnopqrstuvwxyz"  # code 0 is the word boundary
_CODES = np.zeros(256, dtype=np.uint8)
_CODES[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)] = np.arange(1, 27, dtype=np.uint8)
_CODES[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(1, 27, dtype=np.uint8)
_LIGATURES = (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE"), ("ß", "ss"))
_CHUNK_BYTES = 8 << 20  # trigrams are counted in slices, so memory stays flat

Texts: TypeAlias = pa.Array | pa.ChunkedArray | Sequence[str | None]


def as_array(texts: Texts) -> pa.Array:
    """One contiguous Arrow string array from an array, chunked array or Python list."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.string())
    elif not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), pa.string())
    return texts


def _fold_accents(texts: Texts) -> pa.Array:
    """Texts with ligatures expanded and diacritics removed (only non-ASCII rows pay)."""
    array = pc.fill_null(as_array(texts), "")
    accented = pc.invert(pc.string_is_ascii(array))
    if not pc.any(accented).as_py():
        return array
    subset = array.filter(accented)
    for ligature, letters in _LIGATURES:
        subset = pc.replace_substring(subset, ligature, letters)
    subset = pc.replace_substring_regex(pc.utf8_normalize(subset, "NFKD"), r"\p{Mn}+", "")
    return pc.replace_with_mask(array, accented, subset)


def normalise(texts: Texts) -> pa.Array:
    """Lower-case, accent-free, letters-only, single-spaced text (null becomes empty)."""
    low = pc.utf8_lower(_fold_accents(texts))
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(low, r"[^a-z]+", " "))


def tokens(normalised: pa.Array) -> pa.ListArray:
    """The words of each normalised text (words of one letter carry no signal: dropped)."""
    words = pc.utf8_split_whitespace(normalised)
    flat = pc.list_flatten(words)
    keep = pc.greater_equal(pc.utf8_length(flat), MIN_WORD)
    if pc.all(keep).as_py() is not False:
        return words
    row_of = np.repeat(np.arange(len(words)), np.diff(np.asarray(words.offsets)))
    kept = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    counts = np.bincount(row_of[kept], minlength=len(words))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat.filter(keep))


@dataclass(frozen=True)
class TextStats:
    """Word frequencies, words per text and trigram tallies of a set of texts."""

    word_counts: pa.StructArray  # pc.value_counts output: values, counts
    words_per_text: np.ndarray
    trigrams: np.ndarray  # counts indexed by trigram code (base 27)

    @property
    def total_words(self) -> int:
        return int(self.words_per_text.sum())


def analyse(texts: Texts) -> TextStats:
    """Fold ``texts`` once and count their words and trigrams."""
    codes, offsets = _letter_codes(texts)
    words, per_text = _words(codes, offsets)
    return TextStats(pc.value_counts(words), per_text, _trigrams(codes, offsets))


def token_counts(texts: Texts, top: int | None = None) -> dict[str, int]:
    """Word frequencies, most frequent first (ties by word), optionally the ``top`` only."""
    return ranked(analyse(texts).word_counts, top)


def char_ngram_counts(texts: Texts, top: int | None = None) -> dict[str, int]:
    """Character trigram frequencies inside words: ``"pain"`` gives `` pa``, ``pai``,
    ``ain``, ``in `` (a space marks the word's edges)."""
    return decode_trigrams(analyse(texts).trigrams, top)


def _letter_codes(texts: Texts) -> tuple[np.ndarray, np.ndarray]:
    """Every byte's letter code (0 for anything but a letter) and each text's offsets."""
    array = _fold_accents(texts).cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    if len(array) == 0 or offsets[-1] == offsets[0]:
        return np.zeros(0, np.uint8), offsets - offsets[0]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return _CODES[data], offsets - offsets[0]


def _words(codes: np.ndarray, offsets: np.ndarray) -> tuple[pa.LargeStringArray, np.ndarray]:
    """The words (runs of ``MIN_WORD`` letters or more) as strings, and words per text."""
    n = len(codes)
    letter = codes != 0
    text_start = np.zeros(n + 1, dtype=bool)
    text_start[offsets[:-1]] = True  # a word never runs from one text into the next
    before = np.concatenate(([False], letter[:-1])) & ~text_start[:n]
    after = np.concatenate((letter[1:], [False])) & ~text_start[1:]
    starts = np.flatnonzero(letter & ~before)
    ends = np.flatnonzero(letter & ~after) + 1
    long = (ends - starts) >= MIN_WORD
    starts, ends = starts[long], ends[long]
    inside = np.zeros(n + 1, dtype=np.int8)
    inside[starts] += 1
    inside[ends] -= 1
    member = np.cumsum(inside[:n], dtype=np.int8).astype(bool)
    data = (codes[member] + 96).astype(np.uint8)  # back to the bytes a..z
    word_offsets = np.concatenate(([0], np.cumsum(ends - starts))).astype(np.int64)
    words = pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(word_offsets), pa.py_buffer(data)
    )
    return words, _per_text(starts, offsets)


def _per_text(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """How many of the sorted byte ``positions`` fall in each text."""
    return np.diff(np.searchsorted(positions, offsets, side="left"))


def _trigrams(codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Trigram tallies, as if each text had a space before and after it."""
    total = np.zeros(27**NGRAM_N, dtype=np.int64)
    lengths = np.diff(offsets)
    start = 0
    while start < len(lengths):
        stop = int(np.searchsorted(offsets, offsets[start] + _CHUNK_BYTES, side="right")) - 1
        stop = min(max(stop, start + 1), len(lengths))
        total += _interior(codes, offsets[start : stop + 1])
        start = stop
    c = codes.astype(np.int64)
    heads, tails = offsets[:-1][lengths >= 2], offsets[1:][lengths >= 2]
    one = offsets[:-1][lengths == 1]
    edges = np.concatenate(
        [
            c[heads] * 27 + c[heads + 1],  # " ab"
            c[one] * 27,  # " a "
            c[tails - 2] * 729 + c[tails - 1] * 27,  # "ab "
        ]
    )
    middles = np.concatenate([c[heads], c[one], c[tails - 1]])
    return total + np.bincount(edges[middles != 0], minlength=27**NGRAM_N)


def _interior(codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Trigrams lying wholly inside the texts of one slice, their middle a letter."""
    c = codes[offsets[0] : offsets[-1]].astype(np.uint16)
    if len(c) < NGRAM_N:
        return np.zeros(27**NGRAM_N, dtype=np.int64)
    grams = c[:-2] * 729 + c[1:-1] * 27 + c[2:]
    valid = c[1:-1] != 0
    starts = offsets[1:-1] - offsets[0]
    for back in (1, 2):  # no gram may run from one text into the next
        edge = starts - back
        valid[edge[edge >= 0]] = False
    return np.bincount(grams[valid], minlength=27**NGRAM_N)


def decode_trigrams(counts: np.ndarray, top: int | None = None) -> dict[str, int]:
    """Trigram tallies as ``{"ain": 12, ...}``, most frequent first."""
    present = np.flatnonzero(counts)
    order = present[np.lexsort((present, -counts[present]))]
    if top is not None:
        order = order[:top]
    alphabet = np.array(list(_ALPHABET))
    letters = [alphabet[order // 729], alphabet[(order // 27) % 27], alphabet[order % 27]]
    names = ["".join(parts) for parts in zip(*letters, strict=True)]
    return dict(zip(names, counts[order].tolist(), strict=True))


def ranked(value_counts: pa.StructArray, top: int | None = None) -> dict[str, int]:
    """``pc.value_counts`` output as a dict, most frequent first, ties by value."""
    pairs = zip(
        value_counts.field("values").to_pylist(),
        value_counts.field("counts").to_pylist(),
        strict=True,
    )
    ordered = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
    return dict(ordered[:top] if top is not None else ordered)
