"""Numba kernels of training: Hogwild SGD, and retraining the classifier alone.

Each thread runs ``train_shard`` on its own slice of the examples with the GIL
released, updating the shared matrices without locks, as fastText does: collisions
are rare and harmless for sparse updates. The learning rate decays linearly to zero
over the thread's share of the work. Prediction's kernels are in ``gather.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LOSS_OVA, LOSS_SOFTMAX, LOSS_HS = 0, 1, 2
_MULT = np.uint64(116_049_371)


@njit(nogil=True, cache=True)
def _sigmoid(x: float) -> float:
    if x < -30.0:
        return 0.0
    if x > 30.0:
        return 1.0
    return 1.0 / (1.0 + np.exp(-x))


@njit(nogil=True, cache=True)
def _gather_rows(
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
):
    start, end = text_offsets[t], text_offsets[t + 1]
    n = 0
    for p in range(start, end):
        ty = type_ids[p]
        for q in range(type_row_offsets[ty], type_row_offsets[ty + 1]):
            buf[n] = type_rows[q]
            n += 1
    for p in range(start, end):
        h = type_hashes[type_ids[p]]
        for p2 in range(p + 1, min(end, p + word_ngrams)):
            h = h * _MULT + type_hashes[type_ids[p2]]
            buf[n] = nwords + np.int64(h % bucket)
            n += 1
    return n


@njit(nogil=True, cache=True)
def _logistic_update(out_row, hidden, grad, target, lr):
    score = np.float32(0.0)
    for d in range(hidden.shape[0]):
        score += out_row[d] * hidden[d]
    g = np.float32(lr * (target - _sigmoid(score)))
    for d in range(hidden.shape[0]):
        grad[d] += g * out_row[d]
        out_row[d] += g * hidden[d]


@njit(nogil=True, cache=True)
def _softmax_update(out, hidden, grad, label, lr, scores):
    n_labels, dim = out.shape
    top = -np.inf
    for k in range(n_labels):
        s = np.float32(0.0)
        for d in range(dim):
            s += out[k, d] * hidden[d]
        scores[k] = s
        top = max(top, s)
    total = 0.0
    for k in range(n_labels):
        scores[k] = np.exp(scores[k] - top)
        total += scores[k]
    for k in range(n_labels):
        target = 1.0 if k == label else 0.0
        g = np.float32(lr * (target - scores[k] / total))
        for d in range(dim):
            grad[d] += g * out[k, d]
            out[k, d] += g * hidden[d]


@njit(nogil=True, cache=True)
def _update_output(out, hidden, grad, y, lr, loss, paths, codes, path_offsets, scores):
    """One example's step on the output rows of its loss; the input's gradient into grad."""
    if loss == LOSS_OVA:
        for k in range(out.shape[0]):
            _logistic_update(out[k], hidden, grad, 1.0 if k == y else 0.0, lr)
    elif loss == LOSS_SOFTMAX:
        _softmax_update(out, hidden, grad, y, lr, scores)
    else:
        for q in range(path_offsets[y], path_offsets[y + 1]):
            _logistic_update(out[paths[q]], hidden, grad, codes[q], lr)


@njit(nogil=True, cache=True)
def train_shard(
    inp,
    out,
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
    """Train on ``order`` (example indices) for ``epochs`` passes; report in progress[slot]."""
    dim = inp.shape[1]
    hidden = np.zeros(dim, dtype=np.float32)
    grad = np.zeros(dim, dtype=np.float32)
    scores = np.zeros(out.shape[0], dtype=np.float32)
    buf = np.empty(buf_size, dtype=np.int64)
    total = epochs * order.shape[0]
    step = 0
    for _ in range(epochs):
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
            grad[:] = 0.0
            _update_output(
                out, hidden, grad, labels[t], lr, loss, paths, codes, path_offsets, scores
            )
            grad /= np.float32(n)
            for j in range(n):
                inp[buf[j]] += grad
    progress[slot] = step


@njit(nogil=True, cache=True)
def train_output(
    out, hidden, labels, order, epochs, lr0, loss, paths, codes, path_offsets, progress, slot
):
    """SGD on the output matrix alone, for fixed features ``hidden`` (one row a text)."""
    grad = np.zeros(hidden.shape[1], dtype=np.float32)  # the input's share: not applied
    scores = np.zeros(out.shape[0], dtype=np.float32)
    total = epochs * order.shape[0]
    step = 0
    for _ in range(epochs):
        for i in range(order.shape[0]):
            t = order[i]
            lr = lr0 * (1.0 - step / total)
            step += 1
            if step % 1024 == 0:
                progress[slot] = step
            _update_output(
                out, hidden[t], grad, labels[t], lr, loss, paths, codes, path_offsets, scores
            )
    progress[slot] = step
