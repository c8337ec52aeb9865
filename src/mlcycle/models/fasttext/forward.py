"""Prediction features: from cleaned tokens to averaged hidden vectors.

Per vocabulary word the sum of its own row and its character n-gram rows is computed
once, so a text costs one row per token plus one per word n-gram instead of a dozen
per token. Unknown tokens get the same treatment on first sight and are cached. A numba
kernel then sums each text's units and hashed word n-gram rows in one pass.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain

import numpy as np

from mlcycle.models.fasttext.vocab import EOS, Vocabulary, token_hash

_OOV_CAPACITY = 20_000  # cached unknown tokens before the cache starts afresh


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

    def unit_ids(self, token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Unit id of every token, EOS closing each text, and the texts' offsets."""
        get = self.unit_of.get
        ids: list[int | None] = []
        offsets = [0]
        eos = self.unit_of[EOS]
        for tokens in token_lists:
            ids.extend(map(get, tokens))
            ids.append(eos)
            offsets.append(len(ids))
        if None in ids:
            flat = [tok for tokens in token_lists for tok in (*tokens, EOS)]
            ids = [
                self._add_unknown(tok) if u is None else u
                for u, tok in zip(ids, flat, strict=False)
            ]
        return np.array(ids, dtype=np.int64), np.array(offsets, dtype=np.int64)

    def hidden(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """The averaged feature vector of each text (EOS appended, as in training)."""
        from mlcycle.models.fasttext.kernels import hidden_batch

        ids, offsets = self.unit_ids(token_lists)
        out = np.empty((len(token_lists), self.units.shape[1]), dtype=np.float32)
        hidden_batch(
            ids,
            offsets,
            self.units,
            self.unit_rows,
            self.unit_hash,
            self.buckets,
            self.word_ngrams,
            np.uint64(len(self.buckets) - 1),
            out,
        )
        return out
