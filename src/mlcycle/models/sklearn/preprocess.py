"""The preprocessing inside a logged tabular model, so clients send raw records.

One ``ColumnTransformer`` ahead of the estimator: numbers are imputed with their median
and standardised (trees do not need it, linear models and neighbours do, and it costs
nothing to predict with); categories and booleans are imputed with their most frequent
value and one-hot encoded, ignoring values unseen in training; a date becomes its
year, month, day, day of week and hour, each imputed and standardised like a number.

Only scikit-learn classes, pandas' ``to_datetime`` and the standard library's
``operator`` getters are in the pipeline, so the pickled model loads with plain MLflow
where mlcycle is not installed. :mod:`mlcycle.models.sklearn.fast` reproduces exactly
these steps for single records and refuses any other.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from mlcycle.core.errors import InvalidInput
from mlcycle.core.tabular import COLUMN_TYPES, ColumnType

PREPROCESS, MODEL = "preprocess", "model"  # the two steps of every tabular pipeline
DATETIME_PARTS = ("year", "month", "day", "day_of_week", "hour")
# How a date is read: ISO 8601 text or timestamps, zoned ones converted to UTC and naive
# ones taken as UTC, as data validation stores them. An unreadable date is an error.
TO_DATETIME: dict[str, Any] = {"utc": True, "format": "ISO8601"}
NONE_AS_NAN = operator.methodcaller("fillna", np.nan)


def build_pipeline(types: Mapping[str, ColumnType], estimator: BaseEstimator) -> Pipeline:
    """A pipeline ``preprocess`` (by column type) then ``model`` (``estimator``).

    Raises:
        InvalidInput: No feature column, or a type that is none of the four.
    """
    if not types:
        raise InvalidInput("There is no feature column to train on; check data.features.")
    unknown = sorted(set(types.values()) - set(COLUMN_TYPES))
    if unknown:
        raise InvalidInput(f"Column type {unknown[0]!r} is none of {', '.join(COLUMN_TYPES)}.")
    numbers = [name for name, kind in types.items() if kind == "numeric"]
    categories = [name for name, kind in types.items() if kind in ("categorical", "boolean")]
    dates = [name for name, kind in types.items() if kind == "datetime"]
    transformers: list[tuple[str, Any, Any]] = []
    transformers += [("numeric", numeric(), numbers)] if numbers else []
    transformers += [("categorical", categorical(), categories)] if categories else []
    for index, column in enumerate(dates):
        # Transformer names may not hold "__", which column names can: number them.
        transformers += [
            (f"date{index}_{part}", datetime_part(part), column) for part in DATETIME_PARTS
        ]
    # Dense output: HistGradientBoosting refuses sparse input, and one-hot columns of a
    # validated data set stay few (high-cardinality columns are flagged at data add).
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([(PREPROCESS, preprocess), (MODEL, estimator)])


def numeric() -> Pipeline:
    return Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])


def categorical() -> Pipeline:
    # The imputer sees NaN as missing, not None: a lone None (one JSON record) would pass
    # as a category. fillna(NaN) turns None into NaN first, whatever the batch.
    return Pipeline(
        [
            ("nulls", FunctionTransformer(NONE_AS_NAN)),
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )


def datetime_part(part: str) -> Pipeline:
    """One part of a date column (given as a single name: the steps see a Series)."""
    return Pipeline(
        [
            ("parse", FunctionTransformer(pd.to_datetime, kw_args=dict(TO_DATETIME))),
            ("part", FunctionTransformer(operator.attrgetter(f"dt.{part}"))),
            ("frame", FunctionTransformer(operator.methodcaller("to_frame"))),
            *numeric().steps,
        ]
    )
