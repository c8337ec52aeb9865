"""The Huffman tree of hierarchical softmax (``loss=hs``).

Frequent labels get short paths, so training touches few output rows per example.
Leaves are labels ``0..L-1``; internal nodes are numbered from 0 in creation order
and own one output row each (``L - 1`` rows in all).
"""

from __future__ import annotations

import heapq

import numpy as np


def huffman_paths(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label, the internal nodes from leaf to root and the branch taken at each.

    Returns ``(paths, codes, offsets)`` in CSR form: label ``y`` uses
    ``paths[offsets[y]:offsets[y+1]]`` with targets ``codes[...]`` (0.0 or 1.0).
    """
    n = len(counts)
    parent = np.full(max(2 * n - 1, 1), -1, dtype=np.int64)
    branch = np.zeros(max(2 * n - 1, 1), dtype=np.float32)
    # (count, tie-breaker, node) keeps the build deterministic.
    heap = [(int(c), i, i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    next_node = n
    while len(heap) > 1:
        c0, _, a = heapq.heappop(heap)
        c1, _, b = heapq.heappop(heap)
        parent[a], parent[b] = next_node, next_node
        branch[b] = 1.0
        heapq.heappush(heap, (c0 + c1, next_node, next_node))
        next_node += 1
    paths: list[int] = []
    codes: list[float] = []
    offsets = [0]
    for leaf in range(n):
        node = leaf
        while parent[node] != -1:
            paths.append(int(parent[node]) - n)
            codes.append(float(branch[node]))
            node = parent[node]
        offsets.append(len(paths))
    return (
        np.asarray(paths, dtype=np.int64),
        np.asarray(codes, dtype=np.float32),
        np.asarray(offsets, dtype=np.int64),
    )


def path_matrices(paths: np.ndarray, codes: np.ndarray, offsets: np.ndarray, n_nodes: int):
    """Dense (labels x nodes) masks of the right-branch and left-branch steps."""
    n_labels = len(offsets) - 1
    right = np.zeros((n_labels, n_nodes), dtype=np.float32)
    left = np.zeros((n_labels, n_nodes), dtype=np.float32)
    for y in range(n_labels):
        for q in range(offsets[y], offsets[y + 1]):
            (right if codes[q] == 1.0 else left)[y, paths[q]] = 1.0
    return right, left
