"""Seeded train/evaluation splits: stratified by class, or random (regression)."""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and evaluation rows.

    Each label keeps its share in both parts; a label seen once stays in training, so
    the model can at least know it exists.
    """
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    order = rng.permutation(len(labels))
    # Rank of each row within its label, in the shuffled order.
    by_label = order[np.argsort(inverse[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(labels), dtype=np.int64)
    rank[by_label] = np.arange(len(labels)) - np.repeat(starts, counts)
    n_test = np.minimum(np.floor(counts * test_size + 0.5), counts - 1).astype(np.int64)
    is_test = rank < n_test[inverse]
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def random_split(rows: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and evaluation rows, drawn at random (at least one each
    when there are two rows or more)."""
    order = np.random.default_rng(seed).permutation(rows)
    n_test = min(max(round(rows * test_size), 1), rows - 1) if rows > 1 else 0
    return np.sort(order[n_test:]), np.sort(order[:n_test])
