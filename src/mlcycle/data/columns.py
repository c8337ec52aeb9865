"""Tabular column types: inference, and coercion to typed Arrow columns.

A column is ``numeric``, ``categorical``, ``boolean`` or ``datetime``. Types are inferred
at ``data add`` from the values (CSV columns all arrive as text, see
:mod:`mlcycle.data.parsing` for what reads as a number, a yes/no value or a date) and
frozen with the dataset version; explicit ``data.types`` win. Coercion keeps, for every
row, the first value it could not read, so validation can report bad rows by line.
What is worth telling the user about the columns is in :mod:`mlcycle.data.checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pyarrow as pa

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.core.tabular import COLUMN_TYPES, ColumnType
from mlcycle.data import parsing

__all__ = ["Coerced", "ColumnReading", "ColumnType", "coerce", "infer_type", "infer_types"]

# A text column is numeric (or dates) when at least this share of its values read so;
# the rest are bad rows. Below it, the column is categories.
PARSED_SHARE = 0.9
# A categorical column with more distinct values than this share of its rows (and at
# least HIGH_CARDINALITY_MIN of them) is probably free text or an identifier.
HIGH_CARDINALITY_SHARE, HIGH_CARDINALITY_MIN = 0.5, 50
INFER_ROWS = 100_000  # rows read to infer types (coercion then reads every row)
_WHAT = {"numeric": "a number", "boolean": "a yes/no value", "datetime": "a date (YYYY-MM-DD)"}


@dataclass(frozen=True)
class ColumnReading:
    """How one column read: values it could not read, separators it had to read."""

    failed: int = 0
    examples: tuple[str, ...] = ()
    reformatted: str | None = None  # an example like "1,5" read as 1.5
    ambiguous: str | None = None  # an example like "1,500" left unread


@dataclass(frozen=True)
class Coerced:
    """Typed columns, and per row the first value that could not be read (or None)."""

    table: pa.Table
    problems: np.ndarray  # object: the row's first problem as a sentence, or None
    kinds: np.ndarray  # object: its short name ("not a number in 'bmi'"), or None
    readings: dict[str, ColumnReading] = field(default_factory=dict)

    @property
    def bad(self) -> np.ndarray:
        return np.asarray([p is not None for p in self.problems], dtype=bool)

    def rows(self, keep: np.ndarray) -> Coerced:
        """Only the ``keep`` rows; their unread values are gone, so are their counts."""
        readings = {
            name: ColumnReading(reformatted=r.reformatted, ambiguous=r.ambiguous)
            for name, r in self.readings.items()
        }
        table = self.table.filter(pa.array(keep))
        return Coerced(table, self.problems[keep], self.kinds[keep], readings)


def infer_types(
    table: pa.Table, explicit: Mapping[str, str] | None = None
) -> dict[str, ColumnType]:
    """The type of every column of ``table``; ``explicit`` types win.

    Raises:
        InvalidInput: An explicit type is unknown or names a column the data lacks.
    """
    explicit = dict(explicit or {})
    for name, kind in explicit.items():
        if kind not in COLUMN_TYPES:
            raise InvalidInput(
                f"data.types.{name} is {kind!r}; use one of {', '.join(COLUMN_TYPES)}."
            )
        if name not in table.column_names:
            raise InvalidInput(
                f"data.types names column {name!r}, which the data does not have "
                f"(columns: {', '.join(table.column_names)}); fix the name or remove it."
            )
    if table.num_rows > INFER_ROWS:  # evenly spread rows tell the type as well as all
        table = table.take(np.linspace(0, table.num_rows - 1, INFER_ROWS).astype(np.int64))
    return {
        name: cast(ColumnType, explicit.get(name) or infer_type(table.column(name), name))
        for name in table.column_names
    }


def infer_type(column: pa.ChunkedArray, name: str = "?") -> ColumnType:
    """One column's type from its Arrow type, or from its values when it is text."""
    kind = column.type
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numeric"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "datetime"
    values = _text(column, name)
    present = len(values) - values.null_count
    if present == 0:
        return "categorical"
    if parsing.is_boolean(values):
        return "boolean"
    # A cheap look first: most text columns are plainly no numbers and no dates.
    numbers = _could_be(values, parsing.NUMBER_LIKE) and not parsing.looks_like_codes(values)
    if numbers and _mostly(parsing.parse_numbers(values).failed, present):
        return "numeric"
    if _could_be(values, parsing.DATE_LIKE) and _mostly(
        parsing.parse_datetimes(values)[1], present
    ):
        return "datetime"
    return "categorical"


def _could_be(values: pa.ChunkedArray, pattern: str) -> bool:
    return parsing.share_matching(values, pattern) >= PARSED_SHARE


def _mostly(failed: np.ndarray, present: int) -> bool:
    """At least :data:`PARSED_SHARE` of the present values (and one) were read."""
    return present - int(failed.sum()) >= max(PARSED_SHARE * present, 1)


def _text(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """The column as cleaned text; a column of lists or structures is one sentence."""
    try:
        return parsing.clean(column)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise DataError(
            f"Column {name!r} holds {column.type} values, which cannot be a feature; "
            "leave it out with data.features."
        ) from None


def coerce(table: pa.Table, types: Mapping[str, ColumnType]) -> Coerced:
    """The columns named in ``types``, typed, and each row's first unreadable value."""
    n = table.num_rows
    problems = np.full(n, None, dtype=object)
    kinds = np.full(n, None, dtype=object)
    columns, readings = {}, {}
    for name, kind in types.items():
        raw = table.column(name)
        typed, failed, reading = _coerce_column(raw, kind, name)
        columns[name] = typed
        readings[name] = reading
        first = failed & (problems == None)  # noqa: E711 (elementwise on an object array)
        if first.any():
            shown = _text(raw, name).filter(pa.array(first)).to_pylist()
            problems[first] = [f"{v!r} in column {name!r} is not {_WHAT[kind]}" for v in shown]
            kinds[first] = f"not {_WHAT[kind].split(' (')[0]} in {name!r}"
    return Coerced(pa.table(columns), problems, kinds, readings)


def _coerce_column(
    raw: pa.ChunkedArray, kind: ColumnType, name: str
) -> tuple[pa.ChunkedArray, np.ndarray, ColumnReading]:
    """Typed values, the mask of present values that could not be read, and a note."""
    none = np.zeros(len(raw), dtype=bool)
    if kind == "numeric" and (_is_number_type(raw.type) or pa.types.is_boolean(raw.type)):
        return raw.cast(pa.float64()), none, ColumnReading()
    if kind == "boolean" and pa.types.is_boolean(raw.type):
        return raw, none, ColumnReading()
    if kind == "datetime" and (pa.types.is_timestamp(raw.type) or pa.types.is_date(raw.type)):
        return _utc(raw), none, ColumnReading()
    values = _text(raw, name)
    if kind == "categorical":
        return values, none, ColumnReading()
    reformatted = ambiguous = None
    if kind == "numeric":
        parsed = parsing.parse_numbers(values)
        typed, failed = parsed.values, parsed.failed
        reformatted = _first(values, parsed.reformatted)
        ambiguous = _first(values, parsed.ambiguous)
    elif kind == "boolean":
        typed, failed = parsing.parse_booleans(values)
    else:
        typed, failed = parsing.parse_datetimes(values)
    examples = tuple(dict.fromkeys(values.filter(pa.array(failed)).to_pylist()))[:3]
    return typed, failed, ColumnReading(int(failed.sum()), examples, reformatted, ambiguous)


def _first(values: pa.ChunkedArray, mask: np.ndarray) -> str | None:
    if not mask.any():
        return None
    return values.filter(pa.array(mask))[0].as_py()


def _is_number_type(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _utc(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps in microseconds without a zone (zoned ones converted to UTC first)."""
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = column.cast(pa.timestamp("us", tz="UTC"))
    return column.cast(pa.timestamp("us"))
