"""Prediction: from cleaned tokens to ranked labels, in numpy only.

Per vocabulary word the sum of its own row and its character n-gram rows is computed
once, so a text costs one row per token plus one per word n-gram instead of a dozen
per token. Unknown tokens get the same treatment on first sight and are cached. The
whole batch is then a few gathers, segment sums and one matrix product.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain

import numpy as np

from mlcycle.models.fasttext.vocab import EOS, NGRAM_MULTIPLIER, Vocabulary, token_hash

_OOV_CAPACITY = 20_000  # cached unknown tokens before the cache starts afresh


def segment_sums(matrix: np.ndarray, rows: np.ndarray, segments: np.ndarray, n: int):
    """Sum ``matrix[rows]`` by segment id (``segments`` sorted); empty segments give 0.

    ``matrix``'s last row must be zeros: it pads the gather so a trailing empty
    segment never indexes past the end.
    """
    starts = np.searchsorted(segments, np.arange(n))
    picked = matrix[np.append(rows, matrix.shape[0] - 1)]
    sums = np.add.reduceat(picked, starts, axis=0)
    ends = np.append(starts[1:], len(rows))
    sums[starts == ends] = 0.0
    return sums


class Encoder:
    """Turns token lists into averaged hidden vectors with a trained input matrix."""

    def __init__(self, vocab: Vocabulary, inp: np.ndarray, word_ngrams: int) -> None:
        self.vocab = vocab
        self.word_ngrams = word_ngrams
        self.nwords = vocab.size
        self.buckets = inp[self.nwords :]  # bucket rows, then one zero row
        self._lock = threading.Lock()
        words = vocab.words
        rows = [vocab.token_rows(w, i) for i, w in enumerate(words)]
        starts = np.cumsum([0] + [len(r) for r in rows[:-1]])
        flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64)
        capacity = self.nwords + _OOV_CAPACITY
        self.units = np.zeros((capacity, inp.shape[1]), dtype=np.float32)
        self.units[: self.nwords] = np.add.reduceat(inp[flat], starts, axis=0)
        self.unit_rows = np.zeros(capacity, dtype=np.float32)
        self.unit_rows[: self.nwords] = [len(r) for r in rows]
        self.unit_hash = np.zeros(capacity, dtype=np.uint64)
        self.unit_hash[: self.nwords] = [token_hash(w) for w in words]
        self.unit_of = vocab.index()

    def _add_unknown(self, token: str) -> int:
        """Cache an unknown token's sub-word sum; return its unit id."""
        with self._lock:
            unit = self.unit_of.get(token)
            if unit is not None:
                return unit
            if len(self.unit_of) >= self.units.shape[0]:
                self.unit_of = self.vocab.index()  # start the unknown cache afresh
            unit = len(self.unit_of)
            rows = [r - self.nwords for r in self.vocab.token_rows(token, -1)]
            self.units[unit] = self.buckets[rows].sum(axis=0)
            self.unit_rows[unit] = len(rows)
            self.unit_hash[unit] = token_hash(token)
            self.unit_of[token] = unit
            return unit

    def hidden(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """The averaged feature vector of each text (EOS appended, as in training)."""
        n = len(token_lists)
        lengths = np.fromiter((len(t) + 1 for t in token_lists), dtype=np.int64, count=n)
        unit_of = self.unit_of
        get = unit_of.get
        flat = chain.from_iterable(chain(t, (EOS,)) for t in token_lists)
        units = np.fromiter(
            (u if (u := get(tok)) is not None else self._add_unknown(tok) for tok in flat),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        text_of = np.repeat(np.arange(n), lengths)
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        sums = np.add.reduceat(self.units[units], starts, axis=0)
        counts = np.add.reduceat(self.unit_rows[units], starts)
        ends = starts + lengths
        hashes = self.unit_hash[units]
        for order in range(2, self.word_ngrams + 1):
            span = order - 1
            if len(hashes) <= span:
                break
            hashes = hashes[:-1] * NGRAM_MULTIPLIER + self.unit_hash[units[span:]]
            valid = np.arange(len(hashes)) + span < ends[text_of[: len(hashes)]]
            rows = (hashes[valid] % np.uint64(len(self.buckets) - 1)).astype(np.int64)
            segments = text_of[: len(hashes)][valid]
            sums += segment_sums(self.buckets, rows, segments, n)
            counts += np.bincount(segments, minlength=n)
        return sums / np.maximum(counts, 1.0)[:, None]
