"""Category counts: the one input of every categorical statistic.

A distribution over categories arrives either as raw values (a column of predicted
codes) or already counted (``GROUP BY code`` in DuckDB, a reference profile's label
counts). :class:`Counts` holds both the same way, so statistics never see rows: raw
values are tallied once by Arrow's hash-based ``value_counts`` and the rest of the work
is on one number per category.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.errors import InvalidInput
from mlcycle.tasks.labels import Nomenclature

UNKNOWN_SECTION = "?"


@dataclass(frozen=True)
class Counts:
    """How many observations fell in each category.

    Attributes:
        keys: The categories (an object array, each present once).
        counts: Observations per category, aligned with ``keys`` (non-negative).
    """

    keys: np.ndarray
    counts: np.ndarray

    @property
    def total(self) -> float:
        """All observations (nulls were never counted)."""
        return float(self.counts.sum())

    def as_dict(self) -> dict[Hashable, float]:
        """``{category: count}``, most frequent first."""
        order = np.argsort(-self.counts, kind="stable")
        return dict(zip(self.keys[order].tolist(), self.counts[order].tolist(), strict=True))

    def regroup(self, mapping: Callable[[Any], Hashable]) -> Counts:
        """Merge categories through ``mapping`` (called once per category, not per row)."""
        mapped = np.array([mapping(key) for key in self.keys.tolist()], dtype=object)
        if mapped.size == 0:
            return self
        groups, inverse = np.unique(mapped.astype(str), return_inverse=True)
        summed = np.bincount(inverse, weights=self.counts, minlength=len(groups))
        return Counts(groups.astype(object), summed)


CountsLike: TypeAlias = (
    Counts | Mapping[Any, float] | pa.Array | pa.ChunkedArray | np.ndarray | Sequence[Any]
)


def as_counts(data: CountsLike) -> Counts:
    """Counts from counts, a ``{category: count}`` mapping or raw values.

    Raw values may be an Arrow array, a numpy array, a pandas Series or a list; nulls,
    None and float NaN are not categories and are dropped, as Evidently drops them.

    Raises:
        InvalidInput: A mapping holds a negative or non-numeric count.
    """
    if isinstance(data, Counts):
        return data
    if isinstance(data, Mapping):
        return _from_mapping(data)
    array = _as_arrow(data)
    if pa.types.is_dictionary(array.type):
        return _dictionary_counts(array)
    tally = pc.value_counts(pc.drop_null(array))
    keys = np.asarray(tally.field("values").to_pylist(), dtype=object)
    counts = np.asarray(tally.field("counts"), dtype=np.float64)
    return Counts(keys, counts)


def _dictionary_counts(array: pa.DictionaryArray) -> Counts:
    """A dictionary-encoded column (Parquet, DuckDB, pandas ``category``): count its codes."""
    indices = pc.drop_null(array.indices).to_numpy(zero_copy_only=False)
    per_code = np.bincount(indices.astype(np.int64), minlength=len(array.dictionary))
    seen = np.flatnonzero(per_code)
    keys = np.asarray(array.dictionary.take(pa.array(seen)).to_pylist(), dtype=object)
    return Counts(keys, per_code[seen].astype(np.float64))


def _from_mapping(data: Mapping[Any, float]) -> Counts:
    keys = np.empty(len(data), dtype=object)
    keys[:] = list(data.keys())
    try:
        counts = np.asarray(list(data.values()), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("Category counts must be numbers, e.g. {'5610A': 120}.") from exc
    if counts.size and (not np.all(np.isfinite(counts)) or counts.min() < 0):
        raise InvalidInput("Category counts must be finite and not negative.")
    return Counts(keys, counts)


def _as_arrow(data: Any) -> pa.Array:
    if isinstance(data, pa.ChunkedArray):
        return data.combine_chunks() if data.num_chunks else pa.array([], pa.null())
    if isinstance(data, pa.Array):
        return data
    if isinstance(data, np.ndarray) and data.dtype.kind == "f":
        # NaN is "no value" for a float category column, as in pandas.
        return pa.array(data, from_pandas=True)
    if hasattr(data, "to_numpy") and hasattr(data, "dtype"):  # a pandas Series
        return pa.array(data, from_pandas=True)
    return pa.array(list(data) if not isinstance(data, np.ndarray) else data, from_pandas=True)


def align(reference: CountsLike, current: CountsLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both distributions over the union of their categories.

    Returns:
        ``(keys, reference_counts, current_counts)``: a category present on one side
        only gets a zero on the other.
    """
    ref, cur = as_counts(reference), as_counts(current)
    index: dict[Any, int] = {key: i for i, key in enumerate(ref.keys.tolist())}
    for key in cur.keys.tolist():
        index.setdefault(key, len(index))
    keys = np.empty(len(index), dtype=object)
    keys[:] = list(index)
    ref_vec = np.zeros(len(index))
    cur_vec = np.zeros(len(index))
    ref_vec[: len(ref.keys)] = ref.counts
    cur_vec[[index[key] for key in cur.keys.tolist()]] = cur.counts
    return keys, ref_vec, cur_vec


def section_counts(codes: CountsLike, nomenclature: Nomenclature) -> Counts:
    """Counts of labels merged by the coarsest level of their nomenclature (each code
    counted under its section).

    A label outside the nomenclature is counted under ``"?"`` rather than failing the
    report.
    """
    return as_counts(codes).regroup(lambda code: section_of(code, nomenclature))


def section_of(code: Any, nomenclature: Nomenclature) -> str:
    """The coarsest-level ancestor of a label, or ``"?"`` outside the nomenclature."""
    canonical = nomenclature.normalise(str(code))
    if canonical is None:
        return UNKNOWN_SECTION
    return nomenclature.at_level([canonical], nomenclature.levels[0])[0]
