"""What every model family's models offer: fit, predict and what a prediction holds.

Training, evaluation, the promotion gates and the server only speak this protocol,
so an engine can be swapped without touching them. A model's input is its task's
batch: a list of texts for text classification, a DataFrame of raw feature columns
for tabular tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, Self

import numpy as np


class Prediction(NamedTuple):
    """Top-k labels of n rows with their probabilities, best first (classification)."""

    codes: np.ndarray  # (n, k) of str: the labels
    probs: np.ndarray  # (n, k) float32
    # (n,) bool, when the model knows it: no word was left after cleaning (digits,
    # punctuation, stop words only), so the labels owe nothing to the text.
    empty: np.ndarray | None = None


class Values(NamedTuple):
    """One predicted number per row (regression)."""

    values: np.ndarray  # (n,) float64


class Estimator(Protocol):
    """A model a family builds: classification models also list their ``labels``."""

    labels: list[str]

    def fit(
        self, inputs: Any, targets: Any, progress: Callable[[float], None] | None = None
    ) -> Self: ...

    def predict(self, inputs: Any, k: int = 1) -> Prediction | Values: ...


@dataclass(frozen=True)
class ServedModel:
    """A loaded model with its registry identity (``mlcycle.registry.loading`` makes them)."""

    name: str
    version: str
    model: Any  # follows Estimator
    model_uri: str
    task: str = "text-classification"  # versions logged before tasks were text classifiers
    family: str = "fasttext"
