"""The words every layer uses for tabular data: column types and task kinds.

They live in core because the project file names them (``data.types``, ``model.task``)
as much as data validation, the scikit-learn family and the tabular tasks do, and those
three must not import each other for a word.
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

ColumnType = Literal["numeric", "categorical", "boolean", "datetime"]
COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)

TaskKind = Literal["classification", "regression"]
TASK_KINDS: tuple[str, ...] = get_args(TaskKind)


def is_column_type(kind: str) -> TypeGuard[ColumnType]:
    """Whether ``kind`` is a tabular column type (not ``text``, say)."""
    return kind in COLUMN_TYPES
