"""The data of the shipped tabular examples, made from data scikit-learn bundles.

Nothing is downloaded: scikit-learn installs these files with its wheel. The same call
gives the same rows on every machine.

- ``diabetes``: scikit-learn's diabetes data (442 patients, unscaled values): ten
  baseline measurements and ``progression``, a measure of disease progression one year
  later (the regression of the Azure MLOps material). ``sex`` is coded 1 or 2 in the
  source, which does not say which is which; it stays a category with those two values.
- ``quality``: scikit-learn's wine data (178 lots, 13 chemical measurements, 3
  cultivars). scikit-learn bundles no data with categorical columns or missing values,
  so two are derived, deterministically: ``colour`` bins the colour intensity (pale
  below 3.5, ruby below 7, deep above) and ``acidity`` the malic acid (low below 1.8,
  medium below 3, high above), both replacing their measurement; then a seeded 8% of
  the values of ``magnesium``, ``ash``, ``colour`` and ``proline`` is blanked. The
  target, ``cultivar``, is scikit-learn's class (``class_0``...) renamed
  ``cultivar_1``..``cultivar_3``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mlcycle.core.errors import InvalidInput

BLANK_SHARE = 0.08
BLANK_SEED = 8
BLANKED = ("magnesium", "ash", "colour", "proline")


def diabetes() -> pd.DataFrame:
    """The diabetes regression data: ten features and ``progression``."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].astype(int).astype(str)
    return frame


def quality() -> pd.DataFrame:
    """The wine classification data with two categorical columns and blanked values."""
    from sklearn.datasets import load_wine

    loaded = load_wine(as_frame=True)
    frame = loaded.frame.rename(columns={"od280/od315_of_diluted_wines": "od280_od315"})
    frame["colour"] = _bins(frame.pop("color_intensity"), (3.5, 7.0), ("pale", "ruby", "deep"))
    frame["acidity"] = _bins(frame.pop("malic_acid"), (1.8, 3.0), ("low", "medium", "high"))
    names = {i: f"cultivar_{i + 1}" for i in range(len(loaded.target_names))}
    frame["cultivar"] = frame.pop("target").map(names)
    rng = np.random.default_rng(BLANK_SEED)
    for column in BLANKED:
        blank = rng.random(len(frame)) < BLANK_SHARE
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        frame[column] = frame[column].mask(blank) if numeric else frame[column].where(~blank, None)
    return frame


def _bins(values: pd.Series, edges: tuple[float, ...], names: tuple[str, ...]) -> pd.Series:
    return pd.Series(np.asarray(names)[np.searchsorted(edges, values, side="right")], values.index)


EXAMPLES: dict[str, Callable[[], pd.DataFrame]] = {"diabetes": diabetes, "quality": quality}


def example_frame(name: str) -> pd.DataFrame:
    """The data of the tabular example ``name``."""
    if name not in EXAMPLES:
        raise InvalidInput(
            f"There is no example data {name!r}; the examples are {', '.join(EXAMPLES)}."
        )
    return EXAMPLES[name]()
