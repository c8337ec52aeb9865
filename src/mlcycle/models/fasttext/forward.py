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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

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

    def _add_unknown(self, units: Units, tokens: Iterable[str]) -> None:
        """Cache the sub-word sums of ``tokens``, unknown to the vocabulary, in ``units``
        (all of a batch's at once: one call to the kernel rather than one a token)."""
        with self._lock:
            new = [token for token in tokens if token not in units.index]
            first, end = len(units.index), len(units.index) + len(new)
            if end > len(units.sums):
                if self._units is units:
                    self._units = self._renewed(units)
                raise _Full
            if not new:
                return
            sums, counts = self.rows.sums([self.vocab.token_rows(token, -1) for token in new])
            units.sums[first:end] = sums
            units.rows[first:end] = counts
            units.hashes[first:end] = [token_hash(token) for token in new]
            for unit, token in enumerate(new, first):
                units.index[token] = unit  # published last: readers see complete rows

    def unit_ids(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray, Units]:
        """Unit id of every token, the texts' offsets into them, and their units.

        ``tokens`` are the texts' tokens in one list, EOS closing each text
        (:meth:`~mlcycle.models.fasttext.cleaner.TextCleaner.flat_tokens`)."""
        for _ in range(2):
            units = self._units
            try:
                return (*self._ids(units, tokens), units)
            except _Full:
                continue  # the cache was renewed: start again on the fresh one
        # This call has more unknown tokens than a whole cache holds: units of its own.
        units = self._renewed(self._units, len(set(tokens)))
        return (*self._ids(units, tokens), units)

    def _ids(self, units: Units, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.fromiter(map(units.index.get, tokens, repeat(-1)), np.int64, len(tokens))
        missing = np.flatnonzero(ids < 0)
        if missing.size:
            unknown = [tokens[p] for p in missing.tolist()]
            self._add_unknown(units, dict.fromkeys(unknown))  # first seen, first stored
            ids[missing] = list(map(units.index.__getitem__, unknown))
        ends = np.flatnonzero(ids == units.index[EOS])
        return ids, np.concatenate(([0], ends + 1))

    def hidden(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The averaged feature vector of each text, and which texts had no token but
        EOS; ``tokens`` as for :meth:`unit_ids`."""
        from mlcycle.models.fasttext.gather import hidden_batch

        ids, offsets, units = self.unit_ids(tokens)
        out = np.empty((len(offsets) - 1, units.sums.shape[1]), dtype=np.float32)
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
        return out, np.diff(offsets) == 1


def flat(token_lists: Sequence[Sequence[str]]) -> list[str]:
    """Token lists as :meth:`Encoder.unit_ids` reads them: in one list, EOS after each."""
    return [token for tokens in token_lists for token in (*tokens, EOS)]
