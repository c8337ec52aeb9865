"""Categorical columns beside the text: one learned embedding table per column.

As in Insee's later (torch) fastText models, each categorical column (the coding API's
``type_``, ``nature``, ``surface``, ``event``) has one embedding per value seen in
training plus an *unknown* row, for a missing value or one training never saw. The
hidden vector the classifier reads is the text's averaged embedding plus one row of
each column's table; the tables are trained with the rest.

The tables of all columns are stacked in one matrix: column ``c``'s unknown row is
``first[c]``, its values follow in sorted order. Values are compared as text: ``1``,
``1.0`` and ``"1"`` are the same value (a CSV column of numbers reads either way).

Training reads a column as *unknown* on a share of the examples (``UNKNOWN_RATE``),
and every column at once on as many: the unknown rows learn what a missing value
means, and a client sending the text alone gets answers about as good as a model of
texts alone would give (``benchmarks/bench_categories.py`` measures both).

Only numpy and the standard library: this module travels inside registered models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput

TEXT = "text"  # the text's column when a model's input is a table
# Share of training examples on which a column's value is read as unknown (and on which
# all are): enough for the unknown rows to learn, little enough to keep most of what the
# values tell.
UNKNOWN_RATE = 0.1
_TABLE = "categories.npy"


def split_inputs(inputs: Any) -> tuple[list[str], Any | None]:
    """The texts of a batch, and the table they came in (a DataFrame) or None.

    A batch is a list of texts, or a table with a ``text`` column and categorical
    columns beside it.
    """
    if not hasattr(inputs, "columns"):
        return list(inputs), None
    if TEXT not in inputs.columns:
        columns = ", ".join(map(str, inputs.columns))
        raise InvalidInput(
            f"The input table has no {TEXT!r} column (columns: {columns}); name the "
            f"texts' column {TEXT!r}."
        )
    return ["" if value_key(t) is None else str(t) for t in inputs[TEXT]], inputs


def value_key(value: Any) -> str | None:
    """A categorical value as the model compares it; None when it is missing."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class Categories:
    """The categorical columns of a model, their known values and embedding rows."""

    columns: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]  # per column, the values seen in training
    table: np.ndarray  # (rows, dim) float32: each column's unknown row, then its values

    @classmethod
    def learn(cls, frame: Any, dim: int) -> Categories | None:
        """The columns of ``frame`` beside its text, with the values they hold; None
        when it has no such column."""
        columns = tuple(str(c) for c in frame.columns if c != TEXT)
        if not columns:
            return None
        values = tuple(_distinct(frame[c]) for c in columns)
        rows = sum(len(v) + 1 for v in values)
        return cls(columns, values, np.zeros((rows, dim), dtype=np.float32))

    @property
    def first(self) -> np.ndarray:
        """Per column, its unknown row (its first row in the table)."""
        sizes = [len(v) + 1 for v in self.values]
        return np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)

    def ids(self, frame: Any | None, n: int) -> np.ndarray:
        """The table row of each of ``n`` examples' values, ``(n, columns)``; a column
        ``frame`` lacks (or no ``frame``) is unknown."""
        out = np.empty((n, len(self.columns)), dtype=np.int64)
        present = set(frame.columns) if frame is not None else set()
        for c, (name, first) in enumerate(zip(self.columns, self.first.tolist(), strict=True)):
            if name not in present:
                out[:, c] = first
                continue
            row_of: dict[str | None, int] = {
                value: first + 1 + i for i, value in enumerate(self.values[c])
            }
            assert frame is not None  # ``present`` is empty without one
            out[:, c] = np.array([row_of.get(value_key(v), first) for v in frame[name]])
        return out

    def embed(self, ids: np.ndarray) -> np.ndarray:
        """Per example, the sum of its columns' rows, ``(n, dim)``."""
        return self.table[ids].sum(axis=1, dtype=np.float32)

    def save(self, folder: Path, write: Any) -> dict[str, Any]:
        """Write the table with ``write(path, array)``; return what ``load`` needs."""
        write(folder / _TABLE, self.table)
        return {"columns": list(self.columns), "values": [list(v) for v in self.values]}

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any]) -> Categories:
        columns = tuple(str(c) for c in meta["columns"])
        values = tuple(tuple(str(v) for v in vs) for vs in meta["values"])
        table = np.load(folder / _TABLE)
        if len(columns) != len(values) or len(table) != sum(len(v) + 1 for v in values):
            raise ValueError("the categorical table does not match its columns and values")
        return cls(columns, values, table)


def _distinct(column: Iterable[Any]) -> tuple[str, ...]:
    return tuple(sorted({k for k in map(value_key, column) if k is not None}))


def names(categories: Categories | None) -> Sequence[str]:
    """The categorical columns of a model (none when it reads only texts)."""
    return () if categories is None else categories.columns
