"""Vocabulary, hashing and sub-word features of the fastText-style model.

A token (a cleaned, stemmed word) is represented by the rows of the input matrix it
activates: its own row when it is in the vocabulary, plus one hashed bucket row per
character n-gram of ``<token>``. Word n-grams are hashed into the same buckets from
the tokens' hashes. Hashes are CRC-32 (stable across processes and platforms, unlike
Python's ``hash``), so a saved model finds the same buckets everywhere.

Only numpy and the standard library: this module travels inside registered models.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# Closes every text, as in fastText, where it acts as a learned bias; the cleaner emits it.
from mlcycle.models.fasttext.cleaner import END as EOS

NGRAM_MULTIPLIER = np.uint64(116_049_371)


def token_hash(token: str) -> int:
    return zlib.crc32(token.encode())


def char_ngram_buckets(token: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """Bucket indices (0-based, before the vocabulary offset) of ``<token>``'s n-grams."""
    if maxn <= 0 or token == EOS:
        return []
    word = f"<{token}>"
    out = []
    for n in range(minn, maxn + 1):
        for start in range(len(word) - n + 1):
            out.append(zlib.crc32(word[start : start + n].encode()) % bucket)
    return out


@dataclass(frozen=True)
class Vocabulary:
    """Tokens kept as words (count >= minCount), most frequent first, EOS included."""

    words: list[str]
    minn: int
    maxn: int
    bucket: int

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_count: int, minn: int, maxn: int, bucket: int
    ) -> Vocabulary:
        counts: Counter[str] = Counter()
        lines = 0
        for tokens in token_lists:
            counts.update(tokens)
            lines += 1
        counts[EOS] = lines
        # EOS is always kept: every text has it, and it must never be an unknown token.
        kept = [(w, n) for w, n in counts.items() if n >= min_count or w == EOS]
        kept.sort(key=lambda item: (-item[1], item[0]))  # deterministic order
        return cls([word for word, _ in kept], minn, maxn, bucket)

    @property
    def size(self) -> int:
        return len(self.words)

    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.words)}

    def token_rows(self, token: str, word_id: int) -> list[int]:
        """Input-matrix rows one occurrence of ``token`` activates."""
        offset = self.size
        subwords = [
            offset + b for b in char_ngram_buckets(token, self.minn, self.maxn, self.bucket)
        ]
        return [word_id, *subwords] if word_id >= 0 else subwords


@dataclass
class EncodedTexts:
    """Texts as token-type ids, plus per type its hash and its input rows (CSR)."""

    type_ids: np.ndarray  # int32, all texts' tokens back to back (EOS closes each text)
    text_offsets: np.ndarray  # int64, len = n_texts + 1
    type_hashes: np.ndarray  # uint64 per type
    type_rows: np.ndarray  # int32, rows of all types back to back
    type_row_offsets: np.ndarray  # int64, len = n_types + 1


def encode(token_lists: Sequence[Sequence[str]], vocab: Vocabulary) -> EncodedTexts:
    """Encode cleaned texts for training: every distinct token becomes one type."""
    word_ids = vocab.index()
    type_of: dict[str, int] = {}
    flat: list[int] = []
    offsets = [0]
    for tokens in token_lists:
        for token in (*tokens, EOS):
            type_id = type_of.get(token)
            if type_id is None:
                type_id = type_of[token] = len(type_of)
            flat.append(type_id)
        offsets.append(len(flat))
    types = list(type_of)
    rows = [vocab.token_rows(t, word_ids.get(t, -1)) for t in types]
    row_offsets = np.zeros(len(types) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=row_offsets[1:])
    return EncodedTexts(
        type_ids=np.asarray(flat, dtype=np.int32),
        text_offsets=np.asarray(offsets, dtype=np.int64),
        type_hashes=np.asarray([token_hash(t) for t in types], dtype=np.uint64),
        type_rows=np.fromiter(
            (r for rs in rows for r in rs), dtype=np.int32, count=int(row_offsets[-1])
        ),
        type_row_offsets=row_offsets,
    )
