"""FastTextClassifier: fastText's supervised model on numpy, trained with numba.

Word embeddings plus hashed word n-grams and character n-grams, averaged, then a
linear classifier with one-vs-all, softmax or hierarchical-softmax loss. The text
cleaner is part of the model, so clients send raw text. Categorical columns beside the
text, when the training input is a table, are learnt as embeddings added to the text's
(``categories.py``). After training the model keeps only the input rows training
touched (``prune``) and may quantize them (``quantize``).

Training may calibrate it (``calibrate``): its answers then carry calibrated
probabilities, with the raw scores beside them (``Prediction.raw``).

Saved format 2 (format 1, every row float32 with a padding row, still loads): the
JSON metadata (with the calibration, when there is one), ``output.npy`` (or its codes
when ``qout``) and the input rows as ``rows.py`` writes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

import numpy as np

from mlcycle.core.errors import InvalidInput, ModelError
from mlcycle.core.predictions import Prediction
from mlcycle.models.calibration import Calibration
from mlcycle.models.fasttext import training
from mlcycle.models.fasttext.categories import Categories, split_inputs
from mlcycle.models.fasttext.cleaner import TextCleaner, default_cleaner
from mlcycle.models.fasttext.forward import Encoder, flat
from mlcycle.models.fasttext.params import FastTextParams
from mlcycle.models.fasttext.ranking import top_k
from mlcycle.models.fasttext.rows import InputRows
from mlcycle.models.fasttext.tree import huffman_paths, path_matrices
from mlcycle.models.fasttext.vocab import EOS, Vocabulary, encode

FORMAT_VERSION = 2
_READABLE = (1, 2)
_META, _INPUT, _OUTPUT = "fasttext.json", "input.npy", "output.npy"
_OUT_CODES, _OUT_CENTROIDS = "output_codes.npy", "output_centroids.npy"


class FastTextClassifier:
    """A fastText-style text classifier; see ``FastTextParams`` for the knobs."""

    def __init__(self, cleaner: TextCleaner | None = None, **params: Any) -> None:
        self.params = FastTextParams.from_mapping(params)
        self.cleaner = cleaner or default_cleaner()
        self.labels: list[str] = []
        self.label_counts: np.ndarray = np.zeros(0, dtype=np.int64)
        self.vocab: Vocabulary | None = None
        self._rows: InputRows | None = None
        self._out: np.ndarray | None = None
        self._out_codes: tuple[np.ndarray, np.ndarray] | None = None  # qout: what is saved
        self._encoder: Encoder | None = None
        self.categories: Categories | None = None  # the columns beside the text, if any
        self.calibration: Calibration | None = None

    # -- training -------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str] | Any,
        labels: Sequence[str],
        progress: Callable[[float], None] | None = None,
    ) -> Self:
        """Learn from raw texts and their labels; ``progress`` gets fractions 0..1.

        ``texts`` may be a table (DataFrame) with a ``text`` column: its other columns
        are categorical features."""
        texts, frame = split_inputs(texts)
        if len(texts) != len(labels):
            raise InvalidInput("texts and labels must have the same length.")
        names, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        if len(names) < 2:
            raise InvalidInput("Training needs at least two distinct labels.")
        tokens = self.cleaner.token_lists(texts)
        self._out_codes = None  # a model fitted again forgets its previous quantization
        self.calibration = None  # and its calibration: the scores it mapped are gone
        self.labels = [str(n) for n in names]
        self.label_counts = np.bincount(y, minlength=len(names))
        p = self.params
        self.vocab = Vocabulary.build(tokens, p.minCount, p.minn, p.maxn, p.bucket)
        self.categories = Categories.learn(frame, p.dim) if frame is not None else None
        ids = self._category_ids(frame, len(texts))
        share = 0.8 if p.quantize and p.retrain else 1.0  # of the progress bar
        rows, out = self._train(tokens, y.astype(np.int32), _scaled(progress, 0.0, share), ids)
        self._set_weights(rows.pruned() if p.prune else rows, out)
        if p.quantize:
            self._quantize(tokens, y.astype(np.int32), _scaled(progress, share, 1.0), ids)
        return self

    def _category_ids(self, frame: Any | None, n: int) -> np.ndarray | None:
        """The categorical rows of ``n`` examples (None for a model of texts alone)."""
        return None if self.categories is None else self.categories.ids(frame, n)

    def _train(
        self, tokens, y: np.ndarray, progress, ids: np.ndarray | None = None
    ) -> tuple[InputRows, np.ndarray]:
        """Both matrices, every row, as fastText learns them."""
        assert self.vocab is not None
        p, nwords = self.params, self.vocab.size
        encoded = encode(tokens, self.vocab)
        inp = training.initial_matrix(p, nwords)
        out = np.zeros((len(self.labels) - (p.loss == "hs"), p.dim), dtype=np.float32)
        rng = np.random.default_rng(p.seed)
        training.train(
            inp, out, encoded, y, p, nwords, self.label_counts, rng, progress, self.categories, ids
        )
        return InputRows.dense(inp, p.seed), out

    def prune(self) -> Self:
        """Keep only the input rows training changed: every prediction stays the same."""
        rows, out = self._weights()
        self._set_weights(rows.pruned(), out)
        self.params = replace(self.params, prune=True)
        return self

    def quantize(
        self,
        texts: Sequence[str] | Any,
        labels: Sequence[str],
        progress: Callable[[float], None] | None = None,
    ) -> Self:
        """Quantize a trained model with its parameters ``dsub``, ``cutoff``, ``retrain``
        and ``qout``, retraining the classifier on ``texts`` (as fastText's ``quantize``)."""
        rows, _ = self._weights()
        if rows.kind == "quantized":
            raise InvalidInput("This model is quantized already; quantize the full model.")
        texts, frame = split_inputs(texts)
        if len(texts) != len(labels):
            raise InvalidInput("texts and labels must have the same length.")
        index = {label: i for i, label in enumerate(self.labels)}
        unknown = next((str(x) for x in labels if str(x) not in index), None)
        if unknown is not None:
            raise InvalidInput(
                f"Label {unknown!r} is not one this model learnt; quantize it with its "
                "training texts and labels."
            )
        self.prune()
        y = np.asarray([index[str(x)] for x in labels], dtype=np.int32)
        tokens = self.cleaner.token_lists(texts)
        self._quantize(tokens, y, progress, self._category_ids(frame, len(texts)))
        self.params = replace(self.params, quantize=True)
        return self

    def _quantize(self, tokens, y: np.ndarray, progress, ids: np.ndarray | None = None) -> None:
        """Quantize the input rows, retrain the classifier on them, maybe quantize it."""
        from mlcycle.models.fasttext.quantize import decode, product_quantize, quantize_rows

        rows, out = self._weights()
        assert self.vocab is not None and self._encoder is not None
        p, eos = self.params, [self.vocab.index()[EOS]]
        rows = quantize_rows(rows, p.dsub, p.cutoff, eos, p.seed, p.threads())
        self._set_weights(rows, out)
        if p.retrain:
            hidden, _ = self._hidden(flat(tokens), ids)
            rng = np.random.default_rng(p.seed)
            training.retrain(out, hidden, y, p, self.label_counts, rng, progress)
        if p.qout:
            self._out_codes = product_quantize(out, 2, p.seed, p.threads())
            out = decode(*self._out_codes, p.dim)
        self._set_weights(rows, out)

    def _weights(self) -> tuple[InputRows, np.ndarray]:
        if self._rows is None or self._out is None:
            raise ModelError("The model is not trained; call fit() or load() first.")
        return self._rows, self._out

    def _set_weights(self, rows: InputRows, out: np.ndarray) -> None:
        assert self.vocab is not None
        self._rows, self._out = rows, out
        self._encoder = Encoder(self.vocab, rows, self.params.wordNgrams)
        self._label_array = np.asarray(self.labels)
        if self.params.loss == "hs":
            paths, codes, offsets = huffman_paths(self.label_counts)
            self._right, self._left = path_matrices(paths, codes, offsets, len(out))

    def calibrate(self, calibration: Calibration) -> Self:
        """Answer probabilities through ``calibration`` from now on (fitted on this
        model's top-1 scores of held-out rows: ``mlcycle.models.calibration``)."""
        self.calibration = calibration
        return self

    @property
    def auto_coding_threshold(self) -> float | None:
        """The calibrated top-1 probability from which an answer is coded without
        review; None for a model never calibrated."""
        return None if self.calibration is None else self.calibration.threshold

    # -- prediction -----------------------------------------------------------------

    def predict(self, texts: Sequence[str] | Any, k: int = 1) -> Prediction:
        """Top-``k`` labels and probabilities per raw text, best first.

        ``texts`` may be a table with a ``text`` column and the model's categorical
        columns; a column it lacks, or a missing value, is unknown."""
        texts, frame = split_inputs(texts)
        if self._encoder is None or self._out is None:
            raise ModelError("The model is not trained; call fit() or load() first.")
        n_labels = len(self.labels)
        k = max(1, min(int(k), n_labels))
        if not texts:
            nothing = np.empty((0, k), dtype=np.float32)
            return Prediction(np.empty((0, k), dtype=str), nothing, None, nothing)
        ids = self._category_ids(frame, len(texts))
        hidden, empty = self._hidden(self.cleaner.flat_tokens(texts), ids)
        scores = self._scores(hidden)
        top = top_k(scores, k) if k < n_labels else np.argsort(-scores, axis=1, kind="stable")
        raw = self._probabilities(scores, top).astype(np.float32, copy=False)
        probs = raw if self.calibration is None else self.calibration.apply_ranked(raw)
        return Prediction(self._label_array[top], probs, empty, raw, top)

    def _hidden(self, tokens: list[str], ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The texts' hidden vectors (their averages plus their categorical rows) and
        which texts had no token; ``tokens`` flat, as ``Encoder.unit_ids`` reads them."""
        assert self._encoder is not None
        hidden, empty = self._encoder.hidden(tokens)
        if self.categories is not None:
            if ids is None:
                ids = self.categories.ids(None, len(hidden))
            hidden += self.categories.embed(ids)
        return hidden, empty

    def _scores(self, hidden: np.ndarray) -> np.ndarray:
        """Ranking scores: logits for ova and softmax, log-probabilities for hs."""
        logits = hidden.astype(np.float32) @ self._weights()[1].T
        if self.params.loss != "hs":
            return logits
        return (
            -np.logaddexp(0.0, -logits) @ self._right.T - np.logaddexp(0.0, logits) @ self._left.T
        )

    def _probabilities(self, scores: np.ndarray, top: np.ndarray) -> np.ndarray:
        picked = np.take_along_axis(scores, top, axis=1)
        if self.params.loss == "ova":  # sigmoid, without exp(-x) overflowing below -88
            return np.exp(-np.logaddexp(np.float32(0.0), -picked))
        if self.params.loss == "hs":
            return np.exp(picked)
        peak = scores.max(axis=1, keepdims=True)
        log_norm = peak + np.log(np.exp(scores - peak).sum(axis=1, keepdims=True))
        return np.exp(picked - log_norm)

    # -- persistence ----------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the model into folder ``path`` (created; files written then renamed)."""
        if self.vocab is None or self._rows is None or self._out is None:
            raise ModelError("Only a trained model can be saved.")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)

        def write(target: Path, array: np.ndarray) -> None:
            _atomic_write(target, lambda f: np.save(f, array))

        if self._out_codes is None:
            write(path / _OUTPUT, self._out)
        else:
            write(path / _OUT_CODES, self._out_codes[0])
            write(path / _OUT_CENTROIDS, self._out_codes[1])
        meta = {
            "format": FORMAT_VERSION,
            "params": self.params.as_dict(),
            "labels": self.labels,
            "label_counts": self.label_counts.tolist(),
            "words": self.vocab.words,
            "cleaner": self.cleaner.to_config(),
            "input": self._rows.save(path, write),
            "output": "dense" if self._out_codes is None else "quantized",
        }
        if self.categories is not None:
            meta["categories"] = self.categories.save(path, write)
        if self.calibration is not None:
            meta["calibration"] = self.calibration.to_dict()
        # Written last: a folder without it, or with the previous one, is never half new.
        _atomic_write(path / _META, lambda f: f.write(json.dumps(meta).encode()))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a folder written by ``save`` (this format or the previous one)."""
        path = Path(path)
        try:
            meta = json.loads((path / _META).read_text())
            if meta.get("format") not in _READABLE:
                raise ModelError(f"Model format {meta.get('format')} in {path} is not supported.")
            model = cls(TextCleaner.from_config(meta["cleaner"]), **meta["params"])
            rows, out = model._read_weights(path, meta)
            if "categories" in meta:
                model.categories = Categories.load(path, meta["categories"])
            stored = meta.get("calibration")
            model.calibration = Calibration.from_dict(stored) if stored else None
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"Cannot read a fastText model from {path}: {exc}.") from None
        model.labels = list(meta["labels"])
        model.label_counts = np.asarray(meta["label_counts"], dtype=np.int64)
        p = model.params
        model.vocab = Vocabulary(list(meta["words"]), p.minn, p.maxn, p.bucket)
        model._set_weights(rows, out)
        return model

    def _read_weights(self, path: Path, meta: dict[str, Any]) -> tuple[InputRows, np.ndarray]:
        seed = self.params.seed
        if meta["format"] == 1:  # every row, then the padding row format 1 kept
            return InputRows.dense(np.load(path / _INPUT)[:-1], seed), np.load(path / _OUTPUT)
        rows = InputRows.load(path, meta["input"], seed)
        if meta["output"] == "dense":
            return rows, np.load(path / _OUTPUT)
        from mlcycle.models.fasttext.quantize import decode

        self._out_codes = (np.load(path / _OUT_CODES), np.load(path / _OUT_CENTROIDS))
        return rows, decode(*self._out_codes, rows.dim)


def _atomic_write(target: Path, write: Callable[[Any], Any]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        write(handle)
    os.replace(tmp, target)


def _scaled(progress: Callable[[float], None] | None, start: float, end: float):
    """``progress`` for one stage of fitting: its 0..1 mapped onto ``start..end``."""
    if progress is None:
        return None
    return lambda fraction: progress(start + (end - start) * fraction)
