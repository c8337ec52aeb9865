"""Product quantization of a trained model's rows, as fastText's ``quantize`` does.

Each row is cut into sub-vectors of ``dsub`` floats; per subspace a seeded k-means
learns 256 centroids from a sample of the rows, and every row keeps one byte per
subspace: the nearest centroid. At ``dim=150, dsub=2`` a row drops from 600 bytes to 75.
With ``cutoff`` only that many rows are kept, largest norms first (the end-of-text row
always), as fastText's ``-cutoff``; the others count for nothing in a text's average.

Only numpy and numba (no faiss, no scikit-learn): this module ships with the model.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from mlcycle.models.fasttext.rows import InputRows

CENTROIDS = 256  # one byte a code
_ITERATIONS = 25
# k-means learns from at most this many rows. fastText takes 256 a centroid from random
# starts; 64 a centroid from a k-means++ start lost no more on the engine benchmark
# (732 classes, before retraining: -0.14 pt of top-1, against -0.15) in a quarter of the time.
_SAMPLE = 64 * CENTROIDS


def quantize_rows(
    rows: InputRows, dsub: int, cutoff: int, keep: list[int], seed: int, threads: int
) -> InputRows:
    """``rows`` (dense or pruned) as codes; ``keep`` are rows the cutoff never drops."""
    kept = _largest(rows, cutoff, keep)
    codes, centroids = product_quantize(rows.table[rows.remap[kept]], dsub, seed, threads)
    empty = np.zeros((0, rows.dim), dtype=np.float32)
    return InputRows("quantized", rows.n_rows, rows.seed, kept, empty, codes, centroids)


def product_quantize(
    vectors: np.ndarray, dsub: int, seed: int, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``(rows, subspaces)`` uint8 and centroids ``(subspaces, 256, dsub)`` float32.

    The last subspace is narrower when ``dsub`` does not divide the width: its
    centroids are padded with zeros that decoding never reads.
    """
    n, dim = vectors.shape
    starts = list(range(0, dim, dsub))
    codes = np.zeros((n, len(starts)), dtype=np.uint8)
    centroids = np.zeros((len(starts), min(CENTROIDS, n), dsub), dtype=np.float32)

    def one(sub: int) -> None:
        part = np.ascontiguousarray(vectors[:, starts[sub] : starts[sub] + dsub])
        found = _learn(part, np.random.default_rng([seed, sub]), centroids.shape[1])
        centroids[sub, :, : part.shape[1]] = found
        _nearest(part, found, codes[:, sub])

    with ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(one, range(len(starts))))
    return codes, centroids


def decode(codes: np.ndarray, centroids: np.ndarray, dim: int) -> np.ndarray:
    """The rows ``codes`` stand for, as a float32 matrix ``(rows, dim)``."""
    parts = [centroids[sub, codes[:, sub]] for sub in range(codes.shape[1])]
    return np.concatenate(parts, axis=1)[:, :dim].astype(np.float32, copy=False)


def _largest(rows: InputRows, cutoff: int, keep: list[int]) -> np.ndarray:
    """Sorted ids of the kept rows with the ``cutoff`` largest norms, plus ``keep``."""
    if not cutoff or cutoff >= len(rows.kept):
        return rows.kept
    norms = np.linalg.norm(rows.table, axis=1)
    largest = rows.kept[np.argsort(-norms, kind="stable")[:cutoff]]
    return np.union1d(largest, np.asarray(keep, dtype=np.int64))


def _learn(points: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
    """Seeded k-means (k-means++ start, then Lloyd) on a sample of ``points``."""
    sample = points[rng.permutation(len(points))[:_SAMPLE]]
    # Drawn up front (numba has its own generator): the k-means++ draws, and where an
    # empty cluster restarts.
    draws = rng.random(k)
    restarts = rng.integers(0, len(sample), size=(_ITERATIONS, k))
    return _kmeans(sample, _plus_plus(sample, draws), restarts)


@njit(nogil=True, cache=True)
def _plus_plus(points, draws):
    """k-means++: each next centroid a point drawn in proportion to its squared distance
    to the nearest centroid so far (better clusters than random points, for one pass each).
    """
    n, width = points.shape
    centroids = np.empty((draws.shape[0], width), dtype=points.dtype)
    centroids[0] = points[int(draws[0] * n)]
    closest = np.full(n, np.inf)
    for c in range(1, draws.shape[0] + 1):
        total = 0.0
        for i in range(n):
            distance = 0.0
            for d in range(width):
                diff = points[i, d] - centroids[c - 1, d]
                distance += diff * diff
            closest[i] = min(closest[i], distance)
            total += closest[i]
        if c == draws.shape[0]:
            break
        target, chosen = draws[c] * total, n - 1
        for i in range(n):
            target -= closest[i]
            if target < 0.0:
                chosen = i
                break
        centroids[c] = points[chosen]
    return centroids


@njit(nogil=True, cache=True)
def _nearest(points, centroids, codes):
    """Index of the nearest centroid of each point, into ``codes``."""
    for i in range(points.shape[0]):
        best, best_distance = 0, np.inf
        for c in range(centroids.shape[0]):
            distance = 0.0
            for d in range(points.shape[1]):
                diff = points[i, d] - centroids[c, d]
                distance += diff * diff
            if distance < best_distance:
                best, best_distance = c, distance
        codes[i] = best


@njit(nogil=True, cache=True)
def _kmeans(points, centroids, restarts):
    """Lloyd's iterations from ``centroids`` until hardly a point (one in a thousand)
    changes cluster; an empty cluster restarts on a random point."""
    k, width = centroids.shape
    assigned = np.full(points.shape[0], -1, dtype=np.int64)
    previous = np.empty_like(assigned)
    for iteration in range(restarts.shape[0]):
        previous[:] = assigned
        _nearest(points, centroids, assigned)
        if np.sum(previous != assigned) * 1000 < points.shape[0]:
            break
        sums = np.zeros((k, width))
        counts = np.zeros(k)
        for i in range(points.shape[0]):
            sums[assigned[i]] += points[i]
            counts[assigned[i]] += 1.0
        for c in range(k):
            if counts[c] > 0:
                centroids[c] = sums[c] / counts[c]
            else:
                centroids[c] = points[restarts[iteration, c]]
    return centroids
