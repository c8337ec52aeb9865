"""Prediction features: from cleaned tokens to averaged hidden vectors.

Per vocabulary word the sum of its own row and its character n-gram rows is computed
once, so a text costs one row per token plus one per word n-gram instead of a dozen
per token. Unknown tokens get the same treatment on first sight and are cached. A numba
kernel then sums each text's units and hashed word n-gram rows in one pass. The rows
are read through ``InputRows``: every row, the pruned ones, or quantization codes.

Threads may predict at once: a unit's row is written before its token is published, and
a full cache is replaced by a fresh one, never overwritten under a reader.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlcycle.models.fasttext.rows import InputRows
from mlcycle.models.fasttext.vocab import EOS, Vocabulary, token_hash

_OOV_CAPACITY = 20_000  # cached unknown tokens before the cache starts afresh


@dataclass(frozen=True)
class Units:
    """Summed input rows per token: the vocabulary's, then unknown tokens' as they come."""

    sums: np.ndarray  # (capacity, dim) float32
    rows: np.ndarray  # (capacity,) how many input rows each sum counts for
    hashes: np.ndarray  # (capacity,) the token's hash, for word n-grams
    index: dict[str, int]  # token -> unit; grows as unknown tokens are seen

    @property
    def full(self) -> bool:
        return len(self.index) >= len(self.sums)


class _Full(Exception):
    """The unknown-token cache a caller holds has no room left."""


class Encoder:
    """Turns token lists into averaged hidden vectors with a trained input matrix."""

    def __init__(
        self,
        vocab: Vocabulary,
        rows: InputRows,
        word_ngrams: int,
        unknown_capacity: int = _OOV_CAPACITY,
    ) -> None:
        self.vocab = vocab
        self.rows = rows
        self.unknown_capacity = unknown_capacity
        self.word_ngrams = word_ngrams
        self.nwords = vocab.size
        self._stored = rows.kernel_args()
        self._lock = threading.Lock()
        units = self._room(rows.dim)
        sums, counts = rows.sums([vocab.token_rows(w, i) for i, w in enumerate(vocab.words)])
        units.sums[: self.nwords] = sums
        units.rows[: self.nwords] = counts
        units.hashes[: self.nwords] = [token_hash(w) for w in vocab.words]
        self._units = units

    def _room(self, dim: int, unknown: int | None = None) -> Units:
        """Empty units for the vocabulary plus ``unknown`` unknown tokens (default: the
        cache's capacity)."""
        capacity = self.nwords + (self.unknown_capacity if unknown is None else unknown)
        return Units(
            np.zeros((capacity, dim), dtype=np.float32),
            np.zeros(capacity, dtype=np.float32),
            np.zeros(capacity, dtype=np.uint64),
            self.vocab.index(),
        )

    def _renewed(self, full: Units, unknown: int | None = None) -> Units:
        """A fresh cache: the vocabulary's units (never rewritten) copied from ``full``."""
        units, n = self._room(full.sums.shape[1], unknown), self.nwords
        units.sums[:n] = full.sums[:n]
        units.rows[:n] = full.rows[:n]
        units.hashes[:n] = full.hashes[:n]
        return units

    def _add_unknown(self, units: Units, token: str) -> int:
        """Cache an unknown token's sub-word sum in ``units``; return its unit id."""
        with self._lock:
            unit = units.index.get(token)
            if unit is not None:
                return unit
            if units.full:
                if self._units is units:
                    self._units = self._renewed(units)
                raise _Full
            unit = len(units.index)
            sums, counts = self.rows.sums([self.vocab.token_rows(token, -1)])
            units.sums[unit] = sums[0]
            units.rows[unit] = counts[0]
            units.hashes[unit] = token_hash(token)
            units.index[token] = unit  # published last: readers see a complete row
            return unit

    def unit_ids(
        self, token_lists: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, np.ndarray, Units]:
        """Unit id of every token, EOS closing each text, the offsets and their units."""
        for _ in range(2):
            units = self._units
            try:
                return (*self._ids(units, token_lists), units)
            except _Full:
                continue  # the cache was renewed: start again on the fresh one
        # This call has more unknown tokens than a whole cache holds: units of its own.
        unknown = len({token for tokens in token_lists for token in tokens})
        units = self._renewed(self._units, unknown)
        return (*self._ids(units, token_lists), units)

    def _ids(
        self, units: Units, token_lists: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        get = units.index.get
        ids: list[int | None] = []
        offsets = [0]
        eos = units.index[EOS]
        for tokens in token_lists:
            ids.extend(map(get, tokens))
            ids.append(eos)
            offsets.append(len(ids))
        if None in ids:
            flat = [tok for tokens in token_lists for tok in (*tokens, EOS)]
            ids = [
                self._add_unknown(units, tok) if u is None else u
                for u, tok in zip(ids, flat, strict=False)
            ]
        return np.array(ids, dtype=np.int64), np.array(offsets, dtype=np.int64)

    def hidden(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """The averaged feature vector of each text (EOS appended, as in training)."""
        from mlcycle.models.fasttext.gather import hidden_batch

        ids, offsets, units = self.unit_ids(token_lists)
        out = np.empty((len(token_lists), units.sums.shape[1]), dtype=np.float32)
        hidden_batch(
            ids,
            offsets,
            units.sums,
            units.rows,
            units.hashes,
            self.word_ngrams,
            np.int64(self.nwords),
            np.uint64(self.vocab.bucket),
            self._stored,
            out,
        )
        return out
