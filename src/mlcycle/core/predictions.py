"""What a prediction is, for every task and family: the words models and tasks share.

Classifiers answer :class:`Prediction` (the top-k labels of each row with their
probabilities, best first), regressors :class:`Values`. Models built by every family
follow :class:`Estimator`. They live in core because model families (which make
predictions) and tasks (which score them) must not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, Self

import numpy as np


class Prediction(NamedTuple):
    """Top-k labels of n rows with their probabilities, best first (classification)."""

    codes: np.ndarray  # (n, k) of str: the labels
    probs: np.ndarray  # (n, k) float: their probabilities
    # (n,) bool, when the model knows it: nothing in the input informed the answer (a
    # text with no word left after cleaning), so the labels owe nothing to it.
    empty: np.ndarray | None = None
    # (n, k) float, when the model calibrates its probabilities: its scores before that
    # (``probs`` are then the calibrated ones).
    raw: np.ndarray | None = None
    # (n, k) int, when the model gives it: where each label is in the model's labels
    # (what answers are written from without looking the codes up again).
    rows: np.ndarray | None = None


class Values(NamedTuple):
    """One predicted number per row (regression)."""

    values: np.ndarray  # (n,) float64


class Estimator(Protocol):
    """What every model family builds and loads.

    ``inputs`` is the task's batch: a list of texts for text classification (a pandas
    DataFrame of ``text`` and categorical columns when the project reads some beside the
    text), a DataFrame of raw feature columns for tabular tasks (preprocessing is inside).
    """

    labels: list[str]  # the classes (classification); [] for regression

    def fit(
        self, inputs: Any, targets: Any, progress: Callable[[float], None] | None = None
    ) -> Self: ...

    def predict(self, inputs: Any, k: int = 1) -> Prediction | Values: ...
