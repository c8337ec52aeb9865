"""Numba kernels that read the input matrix at prediction, whatever form it is stored in.

A model keeps some of its input rows (all of them, the rows training touched, or the
rows product quantization kept) in a table of float32 rows or of one-byte codes into
per-subspace centroids; ``remap`` gives each row's place in that table, or -1. A row
not kept is either its initial value, regenerated from the seed (``MISSING_INIT``: a
pruned model predicts exactly as the full one), or absent from the average
(``MISSING_DROP``: a quantized model, as fastText's pruned ones).

Initial values come from a counter-based hash of (seed, row, column), so any single row
can be regenerated without drawing the whole matrix. Training draws its matrix with the
same function, which is what makes the regenerated rows exact.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MISSING_INIT, MISSING_DROP = 0, 1  # as in rows.py
_MULT = np.uint64(116_049_371)  # word n-gram hashing, as in vocab.py and kernels.py
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(nogil=True, cache=True)
def _splitmix(x):
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(nogil=True, cache=True)
def _add_initial(acc, seed, row):
    """Add row ``row``'s initial value, uniform in (-1/dim, 1/dim) as fastText's."""
    dim = acc.shape[0]
    scale = np.float32(2.0 / dim)
    base = _splitmix(np.uint64(seed)) ^ (np.uint64(row) * np.uint64(dim))
    for d in range(dim):
        bits = _splitmix(base + np.uint64(d)) >> np.uint64(40)  # 24 bits: exact in float32
        unit = np.float32(bits) * np.float32(1.0 / 16_777_216.0)
        acc[d] += (unit - np.float32(0.5)) * scale


@njit(nogil=True, cache=True)
def initial_matrix(seed, rows, dim):
    """The whole input matrix at its initial values (training starts from it)."""
    out = np.zeros((rows, dim), dtype=np.float32)
    for r in range(rows):
        _add_initial(out[r], seed, r)
    return out


@njit(nogil=True, cache=True)
def changed_rows(matrix, seed):
    """Per row, whether it differs from its initial value (training updated it)."""
    changed = np.zeros(matrix.shape[0], dtype=np.bool_)
    initial = np.zeros(matrix.shape[1], dtype=np.float32)
    for r in range(matrix.shape[0]):
        initial[:] = 0.0
        _add_initial(initial, seed, r)
        for d in range(matrix.shape[1]):
            if matrix[r, d] != initial[d]:
                changed[r] = True
                break
    return changed


@njit(nogil=True, cache=True)
def _add_row(acc, row, remap, table, codes, centroids, seed, missing):
    """Add input row ``row`` to ``acc``; return how many rows that counts for (0 or 1)."""
    k = remap[row]
    if k < 0:
        if missing == MISSING_DROP:
            return 0.0
        _add_initial(acc, seed, row)
        return 1.0
    if centroids.shape[0] == 0:
        for d in range(acc.shape[0]):
            acc[d] += table[k, d]
        return 1.0
    dsub = centroids.shape[2]
    for s in range(codes.shape[1]):
        centroid = centroids[s, codes[k, s]]
        start = s * dsub
        for j in range(min(dsub, acc.shape[0] - start)):
            acc[start + j] += centroid[j]
    return 1.0


@njit(nogil=True, cache=True)
def sum_rows(rows, offsets, remap, table, codes, centroids, seed, missing, sums, counts):
    """Per group ``g``, the sum of rows ``rows[offsets[g]:offsets[g+1]]`` and their count."""
    for g in range(offsets.shape[0] - 1):
        sums[g, :] = 0.0
        counts[g] = 0.0
        for q in range(offsets[g], offsets[g + 1]):
            counts[g] += _add_row(sums[g], rows[q], remap, table, codes, centroids, seed, missing)


@njit(nogil=True, cache=True)
def hidden_batch(
    unit_ids,
    text_offsets,
    units,
    unit_rows,
    unit_hash,
    word_ngrams,
    nwords,
    bucket,
    stored,
    out,
):
    """Averaged features per text: token units plus hashed word n-gram rows, into ``out``.

    ``stored`` is ``(remap, table, codes, centroids, seed, missing)`` as in ``_add_row``.
    """
    remap, table, codes, centroids, seed, missing = stored
    for t in range(text_offsets.shape[0] - 1):
        start, end = text_offsets[t], text_offsets[t + 1]
        acc = out[t]
        acc[:] = 0.0
        count = 0.0
        for p in range(start, end):
            u = unit_ids[p]
            for d in range(acc.shape[0]):
                acc[d] += units[u, d]
            count += unit_rows[u]
            h = unit_hash[u]
            for p2 in range(p + 1, min(end, p + word_ngrams)):
                h = h * _MULT + unit_hash[unit_ids[p2]]
                row = nwords + np.int64(h % bucket)
                count += _add_row(acc, row, remap, table, codes, centroids, seed, missing)
        if count > 0.0:
            for d in range(acc.shape[0]):
                acc[d] /= count
