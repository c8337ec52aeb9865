"""Records straight to the estimator's input matrix, without pandas, for fast serving.

A fitted pipeline spends most of a one-record prediction building a DataFrame and
walking its transformers. :func:`compile_preprocessor` reads the fitted statistics of
the steps :mod:`mlcycle.models.sklearn.preprocess` builds (``SimpleImputer``,
``StandardScaler``, ``OneHotEncoder(handle_unknown="ignore")`` and the date parts) and
applies them to JSON-decoded records (numbers, strings, booleans, None) with the same
arithmetic in the same order, so the final estimator sees the very matrix the pipeline
would give it. For any step it does not know it returns None: the caller then uses
the pipeline. Values the pipeline would refuse are one sentence naming the record and
the column; a column missing from every record is too (missing from some: null).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from mlcycle.core.errors import InvalidInput
from mlcycle.models.sklearn.preprocess import NONE_AS_NAN, TO_DATETIME
from mlcycle.models.sklearn.values import (
    DATE_PARTS,
    Unreadable,
    date_reader,
    is_missing,
    one_number,
)

Record = Mapping[str, Any]
_ATTRGETTER = re.compile(r"operator\.attrgetter\('dt\.(\w+)'\)")


@dataclass(frozen=True)
class _Output:
    """One numeric output column: where it comes from and its fitted statistics."""

    column: str
    part: str | None  # a date part, or None for a number
    position: int
    fill: float  # the imputer's value (NaN: no imputer, the value stays missing)
    mean: float  # StandardScaler's (0 and 1 without one: exact no-ops)
    scale: float


class _Numbers:
    """Every numeric output at once: read, imputed, then standardised, in one pass."""

    def __init__(self, outputs: list[_Output]) -> None:
        self.columns = tuple(dict.fromkeys(o.column for o in outputs))
        # A date's parts are read together, one parse per value: group them by column.
        groups = {column: [o for o in outputs if o.column == column] for column in self.columns}
        self.sources: list[tuple[str, Callable[[Any], tuple[float, ...]]]] = []
        ordered: list[_Output] = []
        for column, group in groups.items():
            _expect(len({o.part is None for o in group}) == 1)  # a number or a date, not both
            if group[0].part is None:
                self.sources += [(column, one_number)] * len(group)
            else:
                self.sources.append((column, date_reader([o.part or "" for o in group])))
            ordered += group
        self.positions = np.array([o.position for o in ordered], dtype=np.intp)
        self.fill = np.array([o.fill for o in ordered], dtype=np.float64)
        self.mean = np.array([o.mean for o in ordered], dtype=np.float64)
        self.scale = np.array([o.scale for o in ordered], dtype=np.float64)

    def write(self, records: Sequence[Record], out: np.ndarray) -> None:
        rows = [
            [value for column, read in self.sources for value in _cell(read, record, column, i)]
            for i, record in enumerate(records)
        ]
        values = np.array(rows, dtype=np.float64).reshape(len(records), self.positions.size)
        missing = np.isnan(values)
        if missing.any():  # SimpleImputer.transform: its statistics where values are missing
            values = np.where(missing, self.fill, values)
        values -= self.mean  # StandardScaler.transform: subtract, then divide
        values /= self.scale
        out[:, self.positions] = values


@dataclass(frozen=True)
class _Categories:
    """Columns imputed with their most frequent value, then one-hot encoded."""

    columns: tuple[str, ...]
    start: int
    fills: tuple[Any, ...]
    positions: tuple[dict[Any, int], ...]  # category -> its output column

    @property
    def width(self) -> int:
        return sum(len(p) for p in self.positions)

    def write(self, records: Sequence[Record], out: np.ndarray) -> None:
        out[:, self.start : self.start + self.width] = 0.0
        encodings = list(zip(self.columns, self.fills, self.positions, strict=True))
        for i, record in enumerate(records):
            for column, fill, positions in encodings:
                value = record.get(column)
                if is_missing(value):
                    value = fill
                try:
                    position = positions.get(value)
                except TypeError:  # unhashable: a list or an object
                    raise InvalidInput(
                        _where(i, column, f"{value!r} is not a single value")
                    ) from None
                if position is not None:  # an unknown category is all zeros (ignored)
                    out[i, self.start + position] = 1.0


class CompiledPreprocessor:
    """The fitted preprocessing of a pipeline, applied to records without pandas."""

    def __init__(self, blocks: list[_Numbers | _Categories], width: int) -> None:
        self.blocks = blocks
        self.features = list(dict.fromkeys(c for block in blocks for c in block.columns))
        self.width = width

    def transform(self, records: Sequence[Record]) -> np.ndarray:
        """The matrix the final estimator expects, one row per record.

        Raises:
            InvalidInput: A record is no mapping, a feature is missing from every record,
                or a value cannot be read as its column's type.
        """
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise InvalidInput(f"Record {i} is not an object of column values.")
        for column in self.features:
            if not any(column in record for record in records):
                raise InvalidInput(
                    f"The records have no column {column!r}, which the model was trained "
                    "with; send it (null where unknown)."
                )
        out = np.empty((len(records), self.width), dtype=np.float64)
        for block in self.blocks:
            block.write(records, out)
        return out


def _cell(
    read: Callable[[Any], tuple[float, ...]], record: Record, column: str, index: int
) -> tuple[float, ...]:
    try:
        return read(record.get(column))
    except Unreadable as exc:
        raise InvalidInput(_where(index, column, str(exc))) from None


def _where(index: int, column: str, problem: str) -> str:
    return f"Record {index}, column {column!r}: {problem}; send a value of the column's type."


class _Unsupported(Exception):
    """A step the compiled path does not reproduce: use the pipeline."""


def compile_preprocessor(pipeline: Any) -> CompiledPreprocessor | None:
    """The compiled preprocessing of a fitted ``preprocess -> model`` pipeline, or None
    when a step is not one this module reproduces exactly."""
    try:
        return _compile(pipeline)
    except _Unsupported:
        return None


def _expect(condition: bool) -> None:
    if not condition:
        raise _Unsupported


def _compile(pipeline: Any) -> CompiledPreprocessor:
    _expect(type(pipeline) is Pipeline and len(pipeline.steps) == 2)
    (_, transformer), (_, final) = pipeline.steps
    _expect(type(transformer) is ColumnTransformer and hasattr(transformer, "transformers_"))
    _expect(not transformer.sparse_output_ and not hasattr(final, "feature_names_in_"))
    numbers: list[_Output] = []
    blocks: list[_Numbers | _Categories] = []
    for name, step, columns in transformer.transformers_:
        if _dropped(step, columns):
            continue
        where = transformer.output_indices_[name]
        found = _branch(step, columns, where.start)
        width = found.width if isinstance(found, _Categories) else len(found)
        _expect(where.stop - where.start == width)
        if isinstance(found, _Categories):
            blocks.append(found)
        else:
            numbers += found
    if numbers:
        blocks.insert(0, _Numbers(numbers))
    width = getattr(final, "n_features_in_", -1)
    _expect(sum(_width(block) for block in blocks) == width)
    return CompiledPreprocessor(blocks, width)


def _width(block: _Numbers | _Categories) -> int:
    return block.width if isinstance(block, _Categories) else block.positions.size


def _dropped(step: Any, columns: Any) -> bool:
    """A ``drop`` entry (the remainder) or a transformer given no column."""
    no_columns = not isinstance(columns, str) and len(columns) == 0
    return (isinstance(step, str) and step == "drop") or no_columns


def _branch(step: Any, columns: Any, start: int) -> list[_Output] | _Categories:
    """One transformer: one-hot categories, or numeric outputs (numbers, a date part)."""
    steps = [s for _, s in step.steps] if type(step) is Pipeline else [step]
    part = None
    if isinstance(columns, str):  # one named column: the date parts
        part, steps, columns = _date_part(steps), steps[3:], [columns]
    _expect(all(isinstance(c, str) for c in columns))
    if steps and type(steps[-1]) is OneHotEncoder and part is None:
        return _categories(tuple(columns), start, steps[:-1], steps[-1])
    imputer = steps.pop(0) if steps and type(steps[0]) is SimpleImputer else None
    scaler = steps.pop(0) if steps and type(steps[0]) is StandardScaler else None
    _expect(not steps)
    n = len(columns)
    fill = _numeric_fill(imputer) if imputer is not None else np.full(n, np.nan)
    mean = scaler.mean_ if scaler is not None and scaler.with_mean else np.zeros(n)
    scale = scaler.scale_ if scaler is not None and scaler.with_std else np.ones(n)
    _expect(len(fill) == len(mean) == len(scale) == n)
    return [
        _Output(column, part, start + j, float(fill[j]), float(mean[j]), float(scale[j]))
        for j, column in enumerate(columns)
    ]


def _date_part(steps: list[Any]) -> str:
    _expect(len(steps) >= 3 and all(type(s) is FunctionTransformer for s in steps[:3]))
    parse, part, frame = steps[:3]
    _expect(parse.func is pd.to_datetime and parse.kw_args == TO_DATETIME)
    found = _ATTRGETTER.fullmatch(repr(part.func))
    if found is None or found.group(1) not in DATE_PARTS or part.kw_args:
        raise _Unsupported
    _expect(repr(frame.func) == "operator.methodcaller('to_frame')")
    return found.group(1)


def _numeric_fill(imputer: SimpleImputer) -> np.ndarray:
    _expect(not imputer.add_indicator and _is_nan(imputer.missing_values))
    fill = np.asarray(imputer.statistics_, dtype=np.float64)
    _expect(not np.isnan(fill).any())  # an all-missing column would be dropped
    return fill


def _categories(
    columns: tuple[str, ...], start: int, steps: list[Any], encoder: OneHotEncoder
) -> _Categories:
    _expect(encoder.handle_unknown == "ignore" and encoder.drop is None)
    _expect(encoder.min_frequency is None and encoder.max_categories is None)
    _expect(np.dtype(encoder.dtype) == np.float64 and len(encoder.categories_) == len(columns))
    fills = _categorical_fill(steps)
    _expect(len(fills) == len(columns))
    offsets = np.concatenate(([0], np.cumsum([len(c) for c in encoder.categories_])))
    positions = tuple(
        {value: int(offset) + j for j, value in enumerate(categories.tolist())}
        for offset, categories in zip(offsets, encoder.categories_, strict=False)
    )
    return _Categories(columns, start, fills, positions)


def _categorical_fill(steps: list[Any]) -> tuple[Any, ...]:
    """The imputer's values, when it sees every null as missing whatever the batch: after
    the None-to-NaN step (see preprocess), or testing with pandas.isna (pd.NA)."""
    _expect(len(steps) in (1, 2) and type(steps[-1]) is SimpleImputer)
    imputer = steps[-1]
    missing = imputer.missing_values
    if len(steps) == 2:
        nulls = steps[0]
        _expect(type(nulls) is FunctionTransformer and not nulls.kw_args)
        _expect(repr(nulls.func) == repr(NONE_AS_NAN) and _is_nan(missing))
    else:
        _expect(missing is pd.NA)
    _expect(not imputer.add_indicator)
    fills = tuple(imputer.statistics_.tolist())
    _expect(not any(is_missing(f) for f in fills))
    return fills


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
