"""The training runs: Hogwild SGD over threads, the rows it touched, and retraining.

``train`` learns both matrices as fastText does, from initial rows any one of which
``gather.py`` can regenerate alone (rows training leaves alone can then be dropped).
``retrain`` learns the output matrix again for fixed features, after quantization
changed them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlcycle.models.fasttext.categories import UNKNOWN_RATE, Categories
from mlcycle.models.fasttext.params import FastTextParams
from mlcycle.models.fasttext.tree import huffman_paths
from mlcycle.models.fasttext.vocab import EncodedTexts

Progress = Callable[[float], None] | None


def initial_matrix(params: FastTextParams, nwords: int) -> np.ndarray:
    """The input matrix before training: ``gather.py``'s initial rows (words, buckets)."""
    from mlcycle.models.fasttext.gather import initial_matrix

    return initial_matrix(np.uint64(params.seed % 2**64), nwords + params.bucket, params.dim)


def train(
    inp: np.ndarray,
    out: np.ndarray,
    encoded: EncodedTexts,
    y: np.ndarray,
    params: FastTextParams,
    nwords: int,
    label_counts: np.ndarray,
    rng: np.random.Generator,
    progress: Progress,
    categories: Categories | None = None,
    category_ids: np.ndarray | None = None,
) -> None:
    """Train ``inp`` and ``out`` (and the categorical table, when the examples have
    values ``category_ids`` of ``categories``) in place on ``params.threads()`` Hogwild
    threads."""
    from mlcycle.models.fasttext.kernels import train_shard

    args = (*_texts(encoded), y)
    tail = (
        params.lr,
        _loss_code(params.loss),
        params.wordNgrams,
        np.int64(nwords),
        np.uint64(params.bucket),
        *huffman_paths(label_counts),
        _buffer_size(encoded, params.wordNgrams),
    )

    def work(order: np.ndarray, epochs: int, done: np.ndarray, slot: int) -> None:
        train_shard(inp, out, *args, order, epochs, *tail, done, slot)

    if categories is not None and category_ids is not None:
        work = _categorical_work(inp, out, args, tail, categories, category_ids, params.seed)
    _hogwild(work, len(y), params, rng, progress)


def _categorical_work(inp, out, args, tail, categories: Categories, ids: np.ndarray, seed: int):
    """``train``'s work for examples with categorical values (a kernel of its own)."""
    from mlcycle.models.fasttext.categorical_kernels import train_shard_categorical

    # numba's stub gives a compiled function's __call__ a fixed number of arguments.
    kernel: Any = train_shard_categorical

    cats: tuple[Any, ...] = (
        categories.table,
        ids,
        categories.first,
        np.uint64(seed % 2**64),
        np.uint64(int(UNKNOWN_RATE * 2.0**64)),
    )

    def work(order: np.ndarray, epochs: int, done: np.ndarray, slot: int) -> None:
        kernel(inp, out, *cats, *args, order, epochs, *tail, done, slot)

    return work


def retrain(
    out: np.ndarray,
    hidden: np.ndarray,
    y: np.ndarray,
    params: FastTextParams,
    label_counts: np.ndarray,
    rng: np.random.Generator,
    progress: Progress,
) -> None:
    """``params.retrain`` epochs of SGD on ``out`` alone, for the features ``hidden``."""
    from mlcycle.models.fasttext.kernels import train_output

    paths = huffman_paths(label_counts)
    loss = _loss_code(params.loss)

    def work(order: np.ndarray, epochs: int, done: np.ndarray, slot: int) -> None:
        train_output(out, hidden, y, order, epochs, params.lr, loss, *paths, done, slot)

    _hogwild(work, len(y), params, rng, progress, epochs=params.retrain)


def _texts(
    encoded: EncodedTexts,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        encoded.type_ids,
        encoded.text_offsets,
        encoded.type_hashes,
        encoded.type_rows,
        encoded.type_row_offsets,
    )


def _loss_code(loss: str) -> int:
    from mlcycle.models.fasttext.kernels import LOSS_HS, LOSS_OVA, LOSS_SOFTMAX

    return {"ova": LOSS_OVA, "softmax": LOSS_SOFTMAX, "hs": LOSS_HS}[loss]


def _buffer_size(encoded: EncodedTexts, word_ngrams: int) -> int:
    """The most rows one text gathers: its tokens' rows plus its word n-grams."""
    type_rows = np.diff(encoded.type_row_offsets)[encoded.type_ids]
    lengths = np.diff(encoded.text_offsets)
    per_text = np.add.reduceat(type_rows, encoded.text_offsets[:-1])
    return int((per_text + lengths * (word_ngrams - 1)).max()) + 1


def _hogwild(
    work: Callable[[np.ndarray, int, np.ndarray, int], None],
    n_examples: int,
    params: FastTextParams,
    rng: np.random.Generator,
    progress: Progress,
    epochs: int | None = None,
) -> None:
    """Run ``work(order, epochs, done, slot)`` on one shuffled shard per thread."""
    epochs = params.epoch if epochs is None else epochs
    shards = np.array_split(rng.permutation(n_examples).astype(np.int64), params.threads())
    done = np.zeros(len(shards), dtype=np.int64)
    work(shards[0][:0], 1, done, 0)  # compile (or load from cache) before the threads start
    threads = [
        threading.Thread(target=work, args=(shard, epochs, done, slot), daemon=True)
        for slot, shard in enumerate(shards)
    ]
    for thread in threads:
        thread.start()
    total = max(1, epochs * n_examples)
    while any(t.is_alive() for t in threads):
        if progress is not None:
            progress(min(1.0, float(done.sum()) / total))
        time.sleep(0.1)
    if progress is not None:
        progress(1.0)
