"""The training kernel of a model with categorical columns beside the text.

``kernels.train_shard`` with one more term in the hidden vector: the text's averaged
rows plus one embedding row per categorical column (``categories.py``). A kernel of its
own, so a model of texts alone runs the very loop it ran before, not a loop with one
more branch. An averaged input row receives ``1/n`` of the gradient, a categorical row
all of it, since it enters the hidden vector as it is.

Which examples read a column as unknown is a hash of (seed, epoch, example, column),
not a random stream: any thread finds the same draws.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mlcycle.models.fasttext.gather import _splitmix
from mlcycle.models.fasttext.kernels import _gather_rows, _update_output


@njit(nogil=True, cache=True)
def _unknown_now(seed, epoch, example, column, threshold):
    """Whether this draw reads the column as unknown (``threshold / 2**64`` of them)."""
    key = np.uint64(epoch) * np.uint64(0x9E3779B1) + np.uint64(example) * np.uint64(64)
    return _splitmix(seed ^ _splitmix(key + np.uint64(column))) < threshold


@njit(nogil=True, cache=True)
def _add_categories(hidden, cat, cat_ids, t, unknown_rows, seed, epoch, threshold, picked):
    """Add example ``t``'s categorical rows to ``hidden``; note them in ``picked``.

    A column is read as unknown on its own draw, or with all the others on the
    example's draw (a client sending the text alone)."""
    columns = cat_ids.shape[1]
    every = _unknown_now(seed, epoch, t, columns, threshold)
    for c in range(columns):
        row = cat_ids[t, c]
        if every or _unknown_now(seed, epoch, t, c, threshold):
            row = unknown_rows[c]
        picked[c] = row
        hidden += cat[row]


@njit(nogil=True, cache=True)
def train_shard_categorical(
    inp,
    out,
    cat,
    cat_ids,
    unknown_rows,
    seed,
    threshold,
    type_ids,
    text_offsets,
    type_hashes,
    type_rows,
    type_row_offsets,
    labels,
    order,
    epochs,
    lr0,
    loss,
    word_ngrams,
    nwords,
    bucket,
    paths,
    codes,
    path_offsets,
    buf_size,
    progress,
    slot,
):
    """``train_shard`` where ``cat[cat_ids[t]]`` is added to each example's hidden vector."""
    dim = inp.shape[1]
    hidden = np.zeros(dim, dtype=np.float32)
    grad = np.zeros(dim, dtype=np.float32)
    scores = np.zeros(out.shape[0], dtype=np.float32)
    buf = np.empty(buf_size, dtype=np.int64)
    picked = np.empty(cat_ids.shape[1], dtype=np.int64)
    total = epochs * order.shape[0]
    step = 0
    for epoch in range(epochs):
        for i in range(order.shape[0]):
            t = order[i]
            lr = lr0 * (1.0 - step / total)
            step += 1
            if step % 1024 == 0:
                progress[slot] = step
            n = _gather_rows(
                t,
                type_ids,
                text_offsets,
                type_hashes,
                type_rows,
                type_row_offsets,
                word_ngrams,
                nwords,
                bucket,
                buf,
            )
            hidden[:] = 0.0
            for j in range(n):
                hidden += inp[buf[j]]
            hidden /= np.float32(n)
            _add_categories(hidden, cat, cat_ids, t, unknown_rows, seed, epoch, threshold, picked)
            grad[:] = 0.0
            _update_output(
                out, hidden, grad, labels[t], lr, loss, paths, codes, path_offsets, scores
            )
            grad /= np.float32(n)
            for c in range(picked.shape[0]):
                cat[picked[c]] += grad
            for j in range(n):
                inp[buf[j]] += grad
    progress[slot] = step
