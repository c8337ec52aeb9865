"""The input matrix as a model keeps it: every row, the rows training touched, or codes.

Rows are numbered as in the full matrix: the vocabulary's words, then the hashed
buckets (character n-grams and word n-grams). Three forms:

- ``dense``: every row, float32 (models saved before pruning existed; ``prune: false``).
- ``pruned``: only the rows some training text touched, found as the rows that differ
  from their initial value. The others still hold that value, which ``gather.py``
  regenerates from the seed when a new text hits them: predictions are exactly the
  full model's, on any text.
- ``quantized``: the kept rows as product-quantization codes (``quantize.py``); rows not
  kept count for nothing, as in fastText's pruned models.

Only numpy and the shipped modules: this travels inside registered models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# As in gather.py, which is imported only when rows are read (numba is slow to import).
MISSING_INIT, MISSING_DROP = 0, 1
KINDS = ("dense", "pruned", "quantized")
_KEPT, _TABLE, _CODES, _CENTROIDS = "kept.npy", "input.npy", "codes.npy", "centroids.npy"


@dataclass(frozen=True)
class InputRows:
    """Kept rows of an ``n_rows`` x ``dim`` input matrix, and how to read the others."""

    kind: str
    n_rows: int
    seed: int
    kept: np.ndarray  # sorted int64 ids of the kept rows (every row for ``dense``)
    table: np.ndarray  # (kept, dim) float32; (0, dim) when quantized
    codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.uint8))
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 1), np.float32))
    remap: np.ndarray = field(init=False, repr=False)  # row -> place in the table, or -1

    def __post_init__(self) -> None:
        remap = np.full(self.n_rows, -1, dtype=np.int32)
        remap[self.kept] = np.arange(len(self.kept))
        object.__setattr__(self, "remap", remap)

    @classmethod
    def dense(cls, matrix: np.ndarray, seed: int) -> InputRows:
        return cls("dense", len(matrix), seed, np.arange(len(matrix)), matrix)

    def pruned(self) -> InputRows:
        """Only the rows that differ from their initial value (SGD touched them).

        The others are regenerated bit for bit when read, so nothing a model predicts
        changes. Models of format 1 started from other random rows: all are kept.
        """
        from mlcycle.models.fasttext.gather import changed_rows

        if self.kind != "dense":
            return self
        kept = np.flatnonzero(changed_rows(self.table, self._seed64))
        return InputRows("pruned", self.n_rows, self.seed, kept, self.table[kept])

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    @property
    def missing(self) -> int:
        return MISSING_DROP if self.kind == "quantized" else MISSING_INIT

    @property
    def _seed64(self) -> np.uint64:
        return np.uint64(self.seed % 2**64)

    def kernel_args(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.uint64, int]:
        """What ``gather.py``'s kernels take to read a row."""
        return (self.remap, self.table, self.codes, self.centroids, self._seed64, self.missing)

    def sums(self, groups: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Per group of row ids, the sum of its rows and how many rows it counts."""
        offsets = np.zeros(len(groups) + 1, dtype=np.int64)
        np.cumsum([len(g) for g in groups], out=offsets[1:])
        flat = np.fromiter((r for g in groups for r in g), np.int64, int(offsets[-1]))
        return self._sums(flat, offsets)

    def matrix(self) -> np.ndarray:
        """Every row as the model reads it (a dense copy, for tests)."""
        every = np.arange(self.n_rows, dtype=np.int64)
        return self._sums(every, np.arange(self.n_rows + 1, dtype=np.int64))[0]

    def _sums(self, flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from mlcycle.models.fasttext.gather import sum_rows

        sums = np.empty((len(offsets) - 1, self.dim), dtype=np.float32)
        counts = np.empty(len(offsets) - 1, dtype=np.float32)
        sum_rows(flat, offsets, *self.kernel_args(), sums, counts)
        return sums, counts

    # -- persistence ----------------------------------------------------------------

    def save(self, folder: Path, write: Any) -> dict[str, Any]:
        """Write the arrays with ``write(path, array)``; return what ``load`` needs."""
        write(folder / _TABLE, self.table)
        if self.kind != "dense":
            mask = np.zeros(self.n_rows, dtype=bool)
            mask[self.kept] = True
            write(folder / _KEPT, np.packbits(mask))  # one bit a row beats 4 bytes an id
        if self.kind == "quantized":
            write(folder / _CODES, self.codes)
            write(folder / _CENTROIDS, self.centroids)
        return {"kind": self.kind, "rows": self.n_rows}

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any], seed: int) -> InputRows:
        kind, n_rows = meta["kind"], int(meta["rows"])
        if kind not in KINDS:
            raise ValueError(f"input rows of kind {kind!r} are not one of {', '.join(KINDS)}")
        table = np.load(folder / _TABLE)
        if kind == "dense":
            return cls.dense(table, seed)
        kept = np.flatnonzero(np.unpackbits(np.load(folder / _KEPT), count=n_rows))
        if kind == "pruned":
            rows = cls(kind, n_rows, seed, kept, table)
        else:
            codes, centroids = np.load(folder / _CODES), np.load(folder / _CENTROIDS)
            rows = cls(kind, n_rows, seed, kept, table, codes, centroids)
        if len(rows.codes if kind == "quantized" else rows.table) != len(kept):
            raise ValueError(f"{len(kept)} rows are marked kept but not as many are stored")
        return rows
