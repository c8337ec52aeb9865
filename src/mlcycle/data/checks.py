"""What is worth telling the user about a tabular data set before training on it.

:func:`column_checks` returns :class:`Issue` objects, each one sentence saying what is
wrong and what to do. ``error`` issues refuse the data (no target, a constant target,
classes too rare to split); ``warning`` issues are shown by ``data add``; features that
cannot inform a model (empty or constant columns) are marked ``leave_out``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.data import parsing
from mlcycle.data.columns import (
    HIGH_CARDINALITY_MIN,
    HIGH_CARDINALITY_SHARE,
    PARSED_SHARE,
    Coerced,
    ColumnReading,
    coerce,
)

# Rows a class needs: a stratified split puts one in five aside (at test_size 0.2 a
# class needs 3 rows to have one evaluation row), and what is left must still split
# again: 5-fold stratified cross-validation when tuning, HistGradientBoosting's own
# validation split (early stopping past 10,000 rows). 5 rows is the least that serves all.
MIN_CLASS_ROWS = 5
SHOWN_CLASSES = 5


@dataclass(frozen=True)
class Issue:
    """One finding about the data: ``error`` refuses it, ``warning`` is shown."""

    column: str | None
    problem: str  # short name: "missing target", "constant", "high cardinality"...
    message: str  # one sentence saying what is wrong and what to do
    severity: Literal["error", "warning"] = "warning"
    leave_out: bool = False  # the column cannot inform a model: leave it out of features

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def target_type(kind: TaskKind) -> ColumnType:
    """The target's column type: classes are categories, regression targets numbers."""
    return "categorical" if kind == "classification" else "numeric"


def column_checks(
    table: pa.Table,
    types: Mapping[str, ColumnType],
    target: str,
    task_kind: TaskKind,
    min_class_rows: int = MIN_CLASS_ROWS,
    coerced: Coerced | None = None,
) -> list[Issue]:
    """Every issue of ``table`` (raw or typed) for predicting ``target``.

    Args:
        table: The data, as read or as coerced.
        types: The feature columns' types (the target, if named, is typed by the task).
        target: The column to predict.
        task_kind: ``classification`` or ``regression``.
        min_class_rows: Fewer rows than this make a class an error (classification).
        coerced: ``table`` already coerced to ``types`` (and the target), to save doing
            it again.
    """
    if target not in table.column_names:
        columns = ", ".join(name for name in table.column_names)
        return [
            Issue(
                target,
                "missing target",
                f"The data has no target column {target!r} (columns: {columns}); "
                "set data.target to the column to predict.",
                "error",
            )
        ]
    features = {name: kind for name, kind in types.items() if name != target}
    if coerced is None:
        coerced = coerce(table, {**features, target: target_type(task_kind)})
    issues = target_issues(coerced.table.column(target), coerced.readings[target], target)
    if task_kind == "classification" and not issues:
        issues += _class_issues(coerced.table.column(target), target, min_class_rows)
    typed_source = any(not pa.types.is_string(column.type) for column in table.columns)
    for name, kind in features.items():
        raw_is_text = pa.types.is_string(table.column(name).type)
        reading = coerced.readings[name]
        issues += _feature_issues(name, kind, coerced.table.column(name), reading)
        if kind == "numeric" and raw_is_text:
            issues += _number_issues(name, reading, typed_source)
        elif kind == "categorical" and raw_is_text:
            issues += _ambiguity(name, table.column(name))
    return issues


def target_issues(column: pa.ChunkedArray, reading: ColumnReading, target: str) -> list[Issue]:
    """An empty, unreadable or constant (typed) target: the data cannot be learnt from."""
    if column.null_count == len(column):
        unread = f" (values such as {', '.join(map(repr, reading.examples))})"
        found = "holds no number" + unread if reading.failed else "is empty in every row"
        hint = "set model.task: classification" if reading.failed else "fill it"
        return [
            Issue(
                target,
                "empty target",
                f"The target column {target!r} {found}; {hint} or set data.target.",
                "error",
            )
        ]
    values = pc.unique(column.drop_null())
    if len(values) == 1:
        message = (
            f"The target column {target!r} has the single value {values[0].as_py()!r} in "
            "every row; a model needs at least two: check the file or set data.target."
        )
        return [Issue(target, "constant target", message, "error")]
    return []


def rare_classes(target: pa.ChunkedArray, min_rows: int) -> dict[str, int]:
    """Classes with fewer than ``min_rows`` rows, rarest first."""
    counts = pc.value_counts(target.drop_null()).to_pylist()
    rare = [(c["values"], c["counts"]) for c in counts if c["counts"] < min_rows]
    return dict(sorted(rare, key=lambda pair: (pair[1], str(pair[0]))))


def _class_issues(column: pa.ChunkedArray, target: str, min_rows: int) -> list[Issue]:
    issues = []
    rare = rare_classes(column, min_rows)
    if rare:
        shown = ", ".join(f"{k!r}: {v}" for k, v in list(rare.items())[:SHOWN_CLASSES])
        more = ", ..." if len(rare) > SHOWN_CLASSES else ""
        issues.append(
            Issue(
                target,
                "rare classes",
                f"{len(rare)} class{'es' * (len(rare) > 1)} of {target!r} "
                f"{'have' if len(rare) > 1 else 'has'} fewer than {min_rows} rows "
                f"({shown}{more}); add rows, merge them into other classes or leave them "
                "out with --on-bad-rows drop.",
                "error",
            )
        )
    distinct, present = len(pc.unique(column.drop_null())), len(column) - column.null_count
    if _high_cardinality(distinct, present):
        issues.append(
            Issue(
                target,
                "many classes",
                f"The target {target!r} has {distinct:,} classes in {present:,} rows; "
                "if it is a quantity, set model.task: regression.",
            )
        )
    return issues


def _feature_issues(
    name: str, kind: ColumnType, column: pa.ChunkedArray, reading: ColumnReading
) -> list[Issue]:
    present = len(column) - column.null_count
    if present == 0 and not reading.failed:
        message = f"Column {name!r} is empty in every row; it is left out of the features."
        return [Issue(name, "empty", message, leave_out=True)]
    distinct = len(pc.unique(column.drop_null())) if present else 0
    if distinct == 1 and not reading.failed:
        value = column.drop_null()[0].as_py()
        message = (
            f"Column {name!r} has the single value {str(value)!r} wherever it has one; "
            "it is left out of the features (it cannot tell rows apart)."
        )
        return [Issue(name, "constant", message, leave_out=True)]
    if kind == "categorical" and _high_cardinality(distinct, present):
        message = (
            f"Column {name!r} has {distinct:,} distinct values in {present:,} rows "
            "(free text or an identifier?); leave it out with data.features unless it "
            "describes the rows."
        )
        return [Issue(name, "high cardinality", message)]
    return []


def _high_cardinality(distinct: int, present: int) -> bool:
    return distinct >= HIGH_CARDINALITY_MIN and distinct > HIGH_CARDINALITY_SHARE * present


def _number_issues(name: str, reading: ColumnReading, typed_source: bool) -> list[Issue]:
    issues = []
    declare = f"declare data.types.{name}: categorical if they are codes"
    if reading.failed:
        examples = ", ".join(map(repr, reading.examples))
        issues.append(
            Issue(
                name,
                "not numbers",
                f"Column {name!r} is numeric but {reading.failed:,} of its values are not "
                f"numbers ({examples}); their rows are bad rows: fix them, or "
                f"declare data.types.{name}: categorical.",
            )
        )
    if reading.ambiguous:
        issues.append(_ambiguous(name, reading.ambiguous, "their rows are bad rows"))
    if reading.reformatted or typed_source:
        example = f" (e.g. {reading.reformatted!r})" if reading.reformatted else ""
        issues.append(
            Issue(
                name,
                "numbers as text",
                f"Column {name!r} holds numbers written as text{example}; they are read "
                f"as numbers: {declare}.",
            )
        )
    return issues


def _ambiguity(name: str, raw: pa.ChunkedArray) -> list[Issue]:
    """A column read as categories only because numbers like 1,500 could not be read."""
    values = parsing.clean(raw)
    if parsing.share_matching(values, parsing.NUMBER_LIKE) < PARSED_SHARE:
        return []  # plainly words: no number went unread
    parsed = parsing.parse_numbers(values)
    present = len(values) - values.null_count
    read = present - int(parsed.failed.sum()) + int(parsed.ambiguous.sum())
    if not parsed.ambiguous.any() or read < PARSED_SHARE * present:
        return []
    example = values.filter(pa.array(parsed.ambiguous))[0].as_py()
    return [_ambiguous(name, example, "the column is read as categories")]


def _ambiguous(name: str, example: str, consequence: str) -> Issue:
    return Issue(
        name,
        "ambiguous numbers",
        f"Column {name!r} has numbers like {example!r} whose comma may be a decimal or a "
        f"thousands separator, so {consequence}; write them as 1500 or 1.5.",
    )
