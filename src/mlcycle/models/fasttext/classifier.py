"""FastTextClassifier: fastText's supervised model on numpy, trained with numba.

Word embeddings plus hashed word n-grams and character n-grams, averaged, then a
linear classifier with one-vs-all, softmax or hierarchical-softmax loss. The text
cleaner is part of the model, so clients send raw text.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from mlcycle.core.errors import InvalidInput, ModelError
from mlcycle.core.predictions import Prediction
from mlcycle.models.fasttext.cleaner import TextCleaner, default_cleaner
from mlcycle.models.fasttext.forward import Encoder
from mlcycle.models.fasttext.params import FastTextParams
from mlcycle.models.fasttext.tree import huffman_paths, path_matrices
from mlcycle.models.fasttext.vocab import Vocabulary, encode

FORMAT_VERSION = 1
_META, _INPUT, _OUTPUT = "fasttext.json", "input.npy", "output.npy"


class FastTextClassifier:
    """A fastText-style text classifier; see ``FastTextParams`` for the knobs."""

    def __init__(self, cleaner: TextCleaner | None = None, **params: Any) -> None:
        self.params = FastTextParams.from_mapping(params)
        self.cleaner = cleaner or default_cleaner()
        self.labels: list[str] = []
        self.label_counts: np.ndarray = np.zeros(0, dtype=np.int64)
        self.vocab: Vocabulary | None = None
        self._inp: np.ndarray | None = None
        self._out: np.ndarray | None = None
        self._encoder: Encoder | None = None

    # -- training -------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        progress: Callable[[float], None] | None = None,
    ) -> Self:
        """Learn from raw texts and their labels; ``progress`` gets fractions 0..1."""
        if len(texts) != len(labels):
            raise InvalidInput("texts and labels must have the same length.")
        names, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        if len(names) < 2:
            raise InvalidInput("Training needs at least two distinct labels.")
        p = self.params
        tokens = [self.cleaner.tokens(t) for t in texts]
        self.labels = [str(n) for n in names]
        self.label_counts = np.bincount(y, minlength=len(names))
        self.vocab = Vocabulary.build(tokens, p.minCount, p.minn, p.maxn, p.bucket)
        encoded = encode(tokens, self.vocab)
        rng = np.random.default_rng(p.seed)
        rows = self.vocab.size + p.bucket + 1  # + one zero row that pads gathers
        inp = rng.random((rows, p.dim), dtype=np.float32)
        inp -= np.float32(0.5)
        inp *= np.float32(2.0 / p.dim)  # uniform in (-1/dim, 1/dim), as fastText
        inp[-1] = 0.0
        n_out = len(names) - 1 if p.loss == "hs" else len(names)
        out = np.zeros((n_out, p.dim), dtype=np.float32)
        _run_training(inp, out, encoded, y.astype(np.int32), p, self.label_counts, rng, progress)
        self._set_weights(inp, out)
        return self

    def _set_weights(self, inp: np.ndarray, out: np.ndarray) -> None:
        assert self.vocab is not None
        self._inp, self._out = inp, out
        self._encoder = Encoder(self.vocab, inp, self.params.wordNgrams)
        self._label_array = np.asarray(self.labels)
        if self.params.loss == "hs":
            paths, codes, offsets = huffman_paths(self.label_counts)
            self._right, self._left = path_matrices(paths, codes, offsets, len(out))

    # -- prediction -----------------------------------------------------------------

    def predict(self, texts: Sequence[str], k: int = 1) -> Prediction:
        """Top-``k`` labels and probabilities per raw text, best first."""
        return self.predict_tokens([self.cleaner.tokens(t) for t in texts], k)

    def predict_tokens(self, token_lists: Sequence[Sequence[str]], k: int = 1) -> Prediction:
        """Like ``predict`` for texts already cleaned into tokens."""
        if self._encoder is None or self._out is None:
            raise ModelError("The model is not trained; call fit() or load() first.")
        n_labels = len(self.labels)
        k = max(1, min(int(k), n_labels))
        if not token_lists:
            return Prediction(np.empty((0, k), dtype=str), np.empty((0, k), dtype=np.float32))
        scores = self._scores(self._encoder.hidden(token_lists))
        if k < n_labels:
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
        else:
            top = np.argsort(-scores, axis=1, kind="stable")
        probs = self._probabilities(scores, top)
        empty = np.fromiter((not tokens for tokens in token_lists), bool, len(token_lists))
        return Prediction(self._label_array[top], probs.astype(np.float32, copy=False), empty)

    def _scores(self, hidden: np.ndarray) -> np.ndarray:
        """Ranking scores: logits for ova and softmax, log-probabilities for hs."""
        logits = hidden.astype(np.float32) @ self._out.T
        if self.params.loss != "hs":
            return logits
        return (
            -np.logaddexp(0.0, -logits) @ self._right.T - np.logaddexp(0.0, logits) @ self._left.T
        )

    def _probabilities(self, scores: np.ndarray, top: np.ndarray) -> np.ndarray:
        picked = np.take_along_axis(scores, top, axis=1)
        if self.params.loss == "ova":
            return np.float32(1.0) / (np.float32(1.0) + np.exp(-picked))
        if self.params.loss == "hs":
            return np.exp(picked)
        peak = scores.max(axis=1, keepdims=True)
        log_norm = peak + np.log(np.exp(scores - peak).sum(axis=1, keepdims=True))
        return np.exp(picked - log_norm)

    # -- persistence ----------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the model into folder ``path`` (created; files written then renamed)."""
        if self.vocab is None or self._inp is None or self._out is None:
            raise ModelError("Only a trained model can be saved.")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "params": self.params.as_dict(),
            "labels": self.labels,
            "label_counts": self.label_counts.tolist(),
            "words": self.vocab.words,
            "cleaner": self.cleaner.to_config(),
        }
        _atomic_write(path / _INPUT, lambda f: np.save(f, self._inp))
        _atomic_write(path / _OUTPUT, lambda f: np.save(f, self._out))
        _atomic_write(path / _META, lambda f: f.write(json.dumps(meta).encode()))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a folder written by ``save``."""
        path = Path(path)
        try:
            meta = json.loads((path / _META).read_text())
            inp = np.load(path / _INPUT)
            out = np.load(path / _OUTPUT)
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot read a fastText model from {path}: {exc}.") from None
        if meta.get("format") != FORMAT_VERSION:
            raise ModelError(f"Model format {meta.get('format')} in {path} is not supported.")
        model = cls(TextCleaner.from_config(meta["cleaner"]), **meta["params"])
        model.labels = list(meta["labels"])
        model.label_counts = np.asarray(meta["label_counts"], dtype=np.int64)
        p = model.params
        model.vocab = Vocabulary(list(meta["words"]), p.minn, p.maxn, p.bucket)
        model._set_weights(inp, out)
        return model


def _atomic_write(target: Path, write: Callable[[Any], Any]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        write(handle)
    os.replace(tmp, target)


def _run_training(inp, out, encoded, y, params, label_counts, rng, progress) -> None:
    """Run the numba kernel on ``params.threads()`` Hogwild threads."""
    from mlcycle.models.fasttext.kernels import LOSS_HS, LOSS_OVA, LOSS_SOFTMAX, train_shard

    loss = {"ova": LOSS_OVA, "softmax": LOSS_SOFTMAX, "hs": LOSS_HS}[params.loss]
    paths, codes, offsets = huffman_paths(label_counts)
    type_rows = np.diff(encoded.type_row_offsets)[encoded.type_ids]
    lengths = np.diff(encoded.text_offsets)
    per_text = np.add.reduceat(type_rows, encoded.text_offsets[:-1])
    buf_size = int((per_text + lengths * (params.wordNgrams - 1)).max()) + 1
    shards = np.array_split(rng.permutation(len(y)).astype(np.int64), params.threads())
    done = np.zeros(len(shards), dtype=np.int64)
    args = (
        encoded.type_ids,
        encoded.text_offsets,
        encoded.type_hashes,
        encoded.type_rows,
        encoded.type_row_offsets,
        y,
    )
    tail = (
        params.lr,
        loss,
        params.wordNgrams,
        np.int64(len(inp) - params.bucket - 1),
        np.uint64(params.bucket),
        paths,
        codes,
        offsets,
        buf_size,
        done,
    )

    def work(slot: int, order: np.ndarray, epochs: int) -> None:
        train_shard(inp, out, *args, order, epochs, *tail, slot)

    work(0, shards[0][:0], 1)  # compile (or load from cache) before the threads start
    threads = [
        threading.Thread(target=work, args=(i, s, params.epoch), daemon=True)
        for i, s in enumerate(shards)
    ]
    for thread in threads:
        thread.start()
    total = params.epoch * len(y)
    while any(t.is_alive() for t in threads):
        if progress is not None:
            progress(min(1.0, float(done.sum()) / total))
        time.sleep(0.1)
    if progress is not None:
        progress(1.0)
