"""Keep evaluation honest: no evaluation input may also be a training input.

Registry data repeats itself ("COIFFURE" thousands of times, in every casing). A
random split puts copies on both sides, and the model is then scored on texts it was
trained on. Inputs are compared by key: a text after normalisation (case, accents,
punctuation and digits ignored, :func:`mlcycle.data.textstats.normalise`, the one
definition of "the same text" for the split and the frozen holdout), a tabular record
by all its feature values. Evaluation rows whose key occurs in training move to
training, and how many moved is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from mlcycle.core.errors import DataError
from mlcycle.data.textstats import normalise


def input_keys(frame: pd.DataFrame, text_column: str | None, target: str) -> np.ndarray:
    """One 64-bit key per row: equal keys mean the same input.

    Args:
        frame: Rows in the canonical layout.
        text_column: The text of a text task (compared normalised); None for tabular
            rows, compared on every column but ``target``.
        target: The target column, left out of the comparison.
    """
    if text_column is not None:
        normalised = normalise(pa.array(frame[text_column].astype(str), type=pa.string()))
        return pd.util.hash_array(normalised.to_numpy(zero_copy_only=False))
    features = frame.drop(columns=[target], errors="ignore")
    return pd.util.hash_pandas_object(features, index=False).to_numpy()


def separate_duplicates(
    keys: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Move evaluation rows whose input is also in training to training.

    Args:
        keys: Every row's input key (:func:`input_keys`).
        train: Row indices of the training part.
        test: Row indices of the evaluation part.

    Returns:
        The new training and evaluation indices (sorted) and how many rows moved.

    Raises:
        DataError: Every evaluation row duplicated a training text.
    """
    if len(test) == 0:
        return train, test, 0
    leaked = np.isin(keys[test], keys[train])
    moved = int(leaked.sum())
    if moved == len(test):
        raise DataError(
            "Every evaluation input also appears in training (texts compared after "
            "normalisation); the data set has too few distinct inputs to evaluate a model on."
        )
    if moved == 0:
        return train, test, 0
    return np.sort(np.concatenate([train, test[leaked]])), test[~leaked], moved
