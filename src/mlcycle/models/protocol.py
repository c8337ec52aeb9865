"""The model protocol every model family implements.

Training, evaluation, the pyfunc wrapper and the server only speak this protocol, so an
engine can be swapped without touching them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, Self

import numpy as np


class Prediction(NamedTuple):
    """Top-k answers for n texts, best first."""

    codes: np.ndarray  # (n, k) of str
    probs: np.ndarray  # (n, k) float32
    # (n,) bool, when the model knows it: no word was left after cleaning (digits,
    # punctuation, stop words only), so the codes owe nothing to the text.
    empty: np.ndarray | None = None


class TextClassifier(Protocol):
    labels: list[str]

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self: ...

    def predict(self, texts: Sequence[str], k: int = 1) -> Prediction: ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path) -> Self: ...


class Ranked(NamedTuple):
    """Top-k classes for n rows, best first (what a classifier's ``predict`` returns)."""

    labels: np.ndarray  # (n, k) of str
    scores: np.ndarray  # (n, k) float, the class probabilities
    # (n,) bool, when the model knows it: nothing in the input informed the answer.
    empty: np.ndarray | None = None


class Values(NamedTuple):
    """One predicted number per row (what a regressor's ``predict`` returns)."""

    values: np.ndarray  # (n,) float64


class Estimator(Protocol):
    """What every model family builds and loads.

    ``X`` is the task's native batch: a list of texts for text classification, a pandas
    DataFrame of raw feature columns for tabular tasks (preprocessing is inside).
    """

    labels: list[str]  # the classes (classification); [] for regression

    def fit(self, X: Any, y: Any, progress: Any = None) -> Self: ...

    def predict(self, X: Any, k: int = 1) -> Ranked | Values: ...
