"""The reference profile of one tabular column: what monitoring compares traffic against.

Numeric (and datetime, as seconds since 1970) columns keep quantiles, a histogram on
edges fixed here (production values are counted on the same edges) and a seeded sample
of up to :data:`SAMPLE_SIZE` values: :mod:`mlcycle.monitor.tabular` follows Evidently,
whose Kolmogorov-Smirnov and Wasserstein tests need values, not bins. Categorical and
boolean columns keep the counts of their most frequent values and of the rest. Every
column keeps its share of nulls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.tabular import ColumnType

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
BINS = 20
# Enough for Evidently's tests to decide as they would on the whole column (its own
# reference switch is at 1,000 rows); JSON stays near 100 kB per numeric column.
SAMPLE_SIZE = 5_000
TOP_VALUES = 100
SEED = 0


@dataclass(frozen=True)
class FeatureProfile:
    """One column's reference distribution (fields of the other kind are None).

    Attributes:
        type: The column type.
        rows: Rows profiled, nulls included.
        null_share: Share of null values.
        quantiles: Numeric: value at each of :data:`QUANTILES` (keyed ``"0.5"``...).
        edges: Numeric: ``BINS + 1`` increasing histogram edges, from min to max.
        histogram: Numeric: values per bin (the last bin includes the max).
        sample: Numeric: up to :data:`SAMPLE_SIZE` values drawn with a fixed seed, sorted.
        counts: Categorical and boolean: the most frequent values' counts, most first
            (boolean values are written ``"true"``/``"false"``).
        other: Categorical: rows holding a value beyond the kept ones.
    """

    type: ColumnType
    rows: int
    null_share: float
    quantiles: dict[str, float] | None = None
    edges: list[float] | None = None
    histogram: list[int] | None = None
    sample: list[float] | None = None
    counts: dict[str, int] | None = None
    other: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> FeatureProfile:
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in payload.items() if key in known})


def profile_column(
    column: pa.ChunkedArray, kind: ColumnType, top: int | None = TOP_VALUES
) -> FeatureProfile:
    """The profile of a typed column (as :func:`mlcycle.data.columns.coerce` makes them).

    Args:
        column: The typed values.
        kind: Their column type.
        top: Categorical values kept by count (None: all, as for a classification target).
    """
    rows = len(column)
    null_share = round(column.null_count / rows, 6) if rows else 0.0
    if kind in ("numeric", "datetime"):
        return _numeric(_floats(column, kind), kind, rows, null_share)
    counts = pc.value_counts(column.drop_null()).to_pylist()
    ordered = sorted(((_key(c["values"]), c["counts"]) for c in counts), key=_most_first)
    kept = ordered if top is None else ordered[:top]
    other = sum(count for _, count in ordered[len(kept) :])
    return FeatureProfile(kind, rows, null_share, counts=dict(kept), other=other)


def _floats(column: pa.ChunkedArray, kind: ColumnType) -> np.ndarray:
    values = column.drop_null()
    if kind == "datetime":
        values = values.cast(pa.timestamp("us")).cast(pa.int64())
        return values.to_numpy().astype(np.float64) / 1e6
    numbers = values.cast(pa.float64()).to_numpy()
    return numbers[np.isfinite(numbers)]


def _numeric(values: np.ndarray, kind: ColumnType, rows: int, null_share: float) -> FeatureProfile:
    if values.size == 0:
        return FeatureProfile(kind, rows, null_share)
    low, high = float(values.min()), float(values.max())
    if low == high:  # one value: a bin around it, so the edges still increase
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, BINS + 1)
    histogram, _ = np.histogram(values, bins=edges)
    found = np.quantile(values, QUANTILES).tolist()
    return FeatureProfile(
        kind,
        rows,
        null_share,
        quantiles=dict(zip(map(str, QUANTILES), found, strict=True)),
        edges=edges.tolist(),
        histogram=histogram.tolist(),
        sample=_sample(values).tolist(),
    )


def _sample(values: np.ndarray) -> np.ndarray:
    """Every value when they are few, else a seeded draw without replacement; sorted."""
    if values.size > SAMPLE_SIZE:
        chosen = np.random.default_rng(SEED).choice(values.size, SAMPLE_SIZE, replace=False)
        values = values[chosen]
    return np.sort(values)


def _key(value: Any) -> str:
    """JSON keys are text: booleans as ``true``/``false``, like the project file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _most_first(pair: tuple[str, int]) -> tuple[int, str]:
    return -pair[1], pair[0]
