"""Tabular feature drift, column by column, with Evidently's default method choice.

For tabular projects, and to be checked against Evidently: the same columns give the
same statistic and the same verdict as Evidently 0.7.23's ``DataDriftPreset`` with its
defaults. The choice (source: docs-old.evidentlyai.com/reference/data-drift-algorithm,
"How it works", and evidently 0.7.23 legacy/calculations/stattests/registry.py
``_get_default_stattest``), where ``n_unique`` counts the distinct values of both
sides together and "small" means at most 1,000 reference rows:

============================  ==========================  ===========================
column                        small reference             larger reference
============================  ==========================  ===========================
numeric, n_unique > 5         Kolmogorov-Smirnov p-value  Wasserstein distance (normed)
numeric, n_unique <= 5        chi-squared (z if <= 2)     Jensen-Shannon distance
categorical                   chi-squared (z if <= 2)     Jensen-Shannon distance
============================  ==========================  ===========================

Tests drift below a p-value of 0.05, distances at or above 0.1; the dataset drifts
when the share of drifted columns is at least 0.5 (``drift_share``, presets/drift.py).
Nulls, NaN and infinities are dropped first, as Evidently's data_drift.py does.

Evidently's small-sample chi-squared is a goodness-of-fit test that takes the reference
shares as exact: with samples of similar size it flags unchanged columns far more often
than 5% of the time. It is kept here for agreement with Evidently; prediction drift
(:func:`mlcycle.monitor.categorical.categorical_drift`) uses the test of homogeneity,
which counts the reference's own sampling noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor import categorical, numeric
from mlcycle.monitor.counts import Counts, as_counts
from mlcycle.monitor.results import DriftResult, NoData

SMALL_REFERENCE = 1000  # registry.py: reference_data.shape[0] <= 1000
FEW_VALUES = 5  # registry.py: n_values <= 5 makes a numeric column categorical
BINARY = 2  # registry.py: chi_stat_test if n_values > 2 else z_stat_test
DRIFT_SHARE = 0.5  # presets/drift.py: DataDriftPreset(drift_share=0.5)

Table = Any  # a pyarrow Table, a pandas DataFrame or a mapping of column name -> values


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: its kind (``numeric`` or ``categorical``) and the result."""

    column: str
    kind: str
    result: DriftResult

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, **self.result.to_dict()}


@dataclass(frozen=True)
class TabularDrift:
    """Per-column drift and the dataset-level rule on the share of drifted columns."""

    columns: list[ColumnDrift]
    drift_share: float

    @property
    def drifted_count(self) -> int:
        return sum(column.result.drifted for column in self.columns)

    @property
    def drifted_share(self) -> float:
        return self.drifted_count / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        """Evidently's ``share_drifted_columns >= drift_share`` (data_drift.py)."""
        return bool(self.columns) and self.drifted_share >= self.drift_share

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "drifted_count": self.drifted_count,
            "drifted_share": self.drifted_share,
            "drift_share": self.drift_share,
            "columns": [column.to_dict() for column in self.columns],
        }


def tabular_drift(
    reference: Table,
    current: Table,
    numeric_columns: Sequence[str] = (),
    categorical_columns: Sequence[str] = (),
    drift_share: float = DRIFT_SHARE,
) -> TabularDrift:
    """Drift of every named column between two tables, with Evidently's defaults.

    Args:
        reference: The reference rows (pyarrow Table, pandas DataFrame or a mapping of
            column name to values).
        current: The current rows, same form.
        numeric_columns: Columns compared as numbers.
        categorical_columns: Columns compared as categories.
        drift_share: The dataset drifts when at least this share of columns drifts.

    Raises:
        InvalidInput: A named column is missing, or a numeric column holds non-numbers.
        NoData: A column has no value on one side.
    """
    found = [
        ColumnDrift(name, "numeric", numeric_column_drift(_get(reference, name, "reference"),
                                                          _get(current, name, "current")))
        for name in numeric_columns
    ] + [
        ColumnDrift(name, "categorical",
                    categorical_column_drift(_get(reference, name, "reference"),
                                             _get(current, name, "current")))
        for name in categorical_columns
    ]  # fmt: skip
    return TabularDrift(found, drift_share)


def numeric_column_drift(reference: Any, current: Any) -> DriftResult:
    """One numeric column's drift (the rows "numeric" of the module's table).

    Either side may be raw values or a :class:`~mlcycle.monitor.numeric.Sample`
    (distinct values with their counts, as a ``GROUP BY`` gives them).
    """
    ref, cur = _sample(reference), _sample(current)
    _require(ref.size, cur.size)
    few = _few_distinct(ref.values, cur.values)
    if few is not None:
        # A numeric column with few values is compared as categories.
        ref_counts, cur_counts = _value_counts(ref), _value_counts(cur)
        if ref.size <= SMALL_REFERENCE:
            return _small_categorical(ref_counts, cur_counts, few)
        return categorical.jensen_shannon_test(ref_counts, cur_counts)
    if ref.size <= SMALL_REFERENCE:
        return numeric.ks_test(ref, cur)
    return numeric.wasserstein_norm_test(ref, cur)


def categorical_column_drift(reference: Any, current: Any) -> DriftResult:
    """One categorical column's drift (the row "categorical" of the module's table).

    Either side may be raw values or :class:`~mlcycle.monitor.counts.Counts`.
    """
    ref, cur = as_counts(_categories(reference)), as_counts(_categories(current))
    _require(ref.total, cur.total)
    if ref.total <= SMALL_REFERENCE:
        distinct = len(set(ref.keys.tolist()) | set(cur.keys.tolist()))
        return _small_categorical(ref, cur, distinct)
    return categorical.jensen_shannon_test(ref, cur)


def _sample(values: Any) -> numeric.Sample:
    return values if isinstance(values, numeric.Sample) else numeric.sample(_floats(values))


def _value_counts(data: numeric.Sample) -> Counts:
    """A sample's distinct values with their counts (weights add up)."""
    if data.weights is None:
        return as_counts(data.values)
    keys, inverse = np.unique(data.values, return_inverse=True)
    return Counts(keys.astype(object), np.bincount(inverse, weights=data.weights))


def _small_categorical(ref: Any, cur: Any, distinct: int) -> DriftResult:
    if distinct > BINARY:
        return categorical.chi2_goodness_of_fit(ref, cur)
    return categorical.z_test(ref, cur)


def _few_distinct(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> int | None:
    """The number of distinct values of both sorted samples if at most 5, else None."""
    ref_unique = _unique_sorted(ref_sorted)
    cur_unique = _unique_sorted(cur_sorted)
    if ref_unique is None or cur_unique is None:
        return None
    together = np.union1d(ref_unique, cur_unique).size
    return together if together <= FEW_VALUES else None


def _unique_sorted(values: np.ndarray) -> np.ndarray | None:
    changes = np.flatnonzero(values[1:] != values[:-1])
    if changes.size >= FEW_VALUES:
        return None
    return values[np.concatenate(([0], changes + 1))] if values.size else values


def _require(ref_size: float, cur_size: float) -> None:
    if not ref_size > 0:
        raise NoData("The reference has no value in this column; check the column's data.")
    if not cur_size > 0:
        raise NoData("The current window has no value in this column; widen the window.")


def _get(table: Table, name: str, side: str) -> Any:
    try:
        if isinstance(table, pa.Table):
            return table.column(name)
        return table[name]
    except (KeyError, IndexError) as exc:
        raise InvalidInput(
            f"Column {name!r} is not in the {side} data; name an existing column."
        ) from exc


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray) and values.num_chunks == 1:
        values = values.chunk(0)  # one chunk without nulls converts without a copy
    if isinstance(values, pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    elif isinstance(values, pa.ChunkedArray):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                "A numeric column holds values that are not numbers; declare it categorical."
            ) from exc
    return array.astype(np.float64, copy=False)


def _categories(values: Any) -> Any:
    if isinstance(values, Mapping):
        raise InvalidInput("Give a categorical column as values, not as a mapping.")
    return values
