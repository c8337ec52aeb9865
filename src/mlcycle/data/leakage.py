"""Keep evaluation honest: no evaluation text may also be a training text.

Registry data repeats itself ("COIFFURE" thousands of times, in every casing). A
random split puts copies on both sides, and the model is then scored on texts it was
trained on. Texts are compared after normalisation (case, accents, punctuation and
digits ignored); evaluation rows whose normalised text occurs in training move to
training, and how many moved is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from mlcycle.core.errors import DataError
from mlcycle.data.textstats import normalise


def separate_duplicates(
    texts: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Move evaluation rows whose normalised text is also in training to training.

    Args:
        texts: Every row's text.
        train: Row indices of the training part.
        test: Row indices of the evaluation part.

    Returns:
        The new training and evaluation indices (sorted) and how many rows moved.

    Raises:
        DataError: Every evaluation row duplicated a training text.
    """
    if len(test) == 0:
        return train, test, 0
    normalised = normalise(pa.array(texts, type=pa.string()))
    keys = pd.util.hash_array(normalised.to_numpy(zero_copy_only=False))
    leaked = np.isin(keys[test], keys[train])
    moved = int(leaked.sum())
    if moved == len(test):
        raise DataError(
            "Every evaluation text also appears in training (after normalisation); the data "
            "set has too few distinct texts to evaluate a model on."
        )
    if moved == 0:
        return train, test, 0
    return np.sort(np.concatenate([train, test[leaked]])), test[~leaked], moved
