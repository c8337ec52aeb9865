"""Check a table read from a file against the project's schema, row by row.

Text rows (:func:`validate`): required columns must exist; each row needs a non-empty
text no longer than the limit and a label matching the configured label pattern, if
any; with a nomenclature a label must be one of its codes at the project's label level
(after normalisation: ``56.10a`` is read as ``5610A``). Categorical columns beside the
text are kept as text, a blank value as missing (the model reads it as unknown).

Tabular rows (:func:`validate_tabular`): the target must exist and be present in each
row; each feature is typed (:mod:`mlcycle.data.columns`) and a value that cannot be read
as its column's type makes the row bad; so does a class too rare to split. The kept
table holds the features under the user's column names, typed, then the target under
its own name (text for classes, float64 for regression); ``Validated.columns`` names it
(``{"target": name}``) and ``Validated.types`` lists the features a model should use.

Rows failing a check, and CSV records that could not be split, are *bad rows*, handled
by one policy (:mod:`mlcycle.data.badrows`). Everything is vectorised in Arrow: a
million text rows take well under a second; tabular data about half a second per
million rows and column (text columns are read as numbers and dates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.core.settings import Settings
from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.data import badrows
from mlcycle.data.badrows import POLICIES, SHOWN_ROWS, InvalidRows, as_string
from mlcycle.data.checks import (
    MIN_CLASS_ROWS,
    Issue,
    column_checks,
    rare_classes,
    target_issues,
    target_type,
)
from mlcycle.data.columns import Coerced, coerce, infer_types
from mlcycle.data.readers import RawTable
from mlcycle.tasks.labels import Nomenclature, nomenclature

__all__ = [
    "POLICIES",
    "SHOWN_ROWS",
    "InvalidRows",
    "Schema",
    "TabularSchema",
    "Validated",
    "validate",
    "validate_tabular",
]

TEXT, LABEL, TARGET = "text", "label", "target"
# Reason codes, in the order they are checked: a row gets the first that applies.
_EMPTY_TEXT, _NO_LABEL, _TOO_LONG, _BAD_LABEL, _UNKNOWN_LABEL = 1, 2, 3, 4, 5
_REASON_NAMES = {
    _EMPTY_TEXT: "empty text",
    _NO_LABEL: "missing label",
    _TOO_LONG: "text too long",
    _BAD_LABEL: "invalid label",
    _UNKNOWN_LABEL: "invalid label",  # outside the nomenclature; the row says so
}


@dataclass(frozen=True)
class Schema:
    """What a valid data set looks like."""

    text_col: str = "text"
    label_col: str = "label"
    code_pattern: str | None = None
    normalise_codes: bool = False
    max_text_chars: int = 10_000
    max_bad_share: float = 0.25
    # The labels' nomenclature: a label it does not know is a bad row.
    nomenclature: Nomenclature | None = None
    # Categorical columns the model reads beside the text (``data.features``).
    categorical: tuple[str, ...] = ()

    @classmethod
    def from_settings(
        cls, settings: Settings, text_col: str | None = None, label_col: str | None = None
    ) -> Schema:
        data = settings.data
        text_col, label_col = text_col or data.text_feature(), label_col or data.target
        return cls(
            text_col,
            label_col,
            data.label_pattern,
            data.normalise_labels,
            data.max_text_chars,
            data.max_bad_share,
            nomenclature(data.nomenclature, data.label_level),
            tuple(c for c in data.categorical_features() if c not in (text_col, label_col)),
        )


@dataclass(frozen=True)
class Validated:
    """The rows kept (``text``, ``label``, extra columns) and those set aside."""

    table: pa.Table
    bad: pa.Table
    rows_read: int
    reasons: dict[str, int]
    duplicates: int
    conflicting_texts: int
    null_rates: dict[str, float]
    columns: dict[str, str] = field(default_factory=dict)
    # Tabular data only: the features a model should use, and what the checks found.
    types: dict[str, ColumnType] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def validate(raw: RawTable, schema: Schema, policy: str, shown: str) -> Validated:
    """Apply ``schema`` to ``raw`` under a bad-row ``policy``.

    Raises:
        InvalidInput: Unknown policy, bad pattern, or the same column for text and label.
        DataError: A required column is missing, or no valid row is left.
        InvalidRows: Bad rows under ``reject``, or too many of them under any policy.
    """
    badrows.check_policy(policy)
    _check_columns(raw.table, schema, shown)
    text, label = _normalised(raw.table, schema)
    reason = _reasons(text, label, schema)
    bad_mask = reason > 0
    total = raw.table.num_rows + len(raw.malformed)
    bad = _bad_rows(raw, bad_mask, reason, text, label, schema)
    badrows.settle(bad, total, policy, shown, schema.max_bad_share, "--text-col/--label-col")
    table = _kept(_canonical(raw.table, text, label, schema), bad_mask, shown)
    return Validated(
        table,
        badrows.without_kind(bad),
        total,
        badrows.reason_counts(bad),
        *_duplicates(table, [TEXT], [LABEL]),
        _null_rates(raw.table, {schema.text_col: text, schema.label_col: label}),
        {TEXT: schema.text_col, LABEL: schema.label_col},
    )


def _kept(table: pa.Table, bad_mask: np.ndarray, shown: str) -> pa.Table:
    if bad_mask.any():
        table = table.filter(pa.array(~bad_mask))
    if table.num_rows == 0:
        raise DataError(f"{shown} has no valid row left; check the file and its columns.")
    return table


def _check_columns(table: pa.Table, schema: Schema, shown: str) -> None:
    if schema.text_col == schema.label_col:
        raise InvalidInput("--text-col and --label-col name the same column; give two columns.")
    for flag, column in (("--text-col", schema.text_col), ("--label-col", schema.label_col)):
        _require_column(table, column, shown, f"pass {flag} with the right name")
    for column in schema.categorical:
        _require_column(table, column, shown, "fix data.features in the project file")


def _require_column(table: pa.Table, column: str, shown: str, fix: str) -> None:
    """A missing column is one sentence: the columns there are, or a wrong delimiter."""
    names = table.column_names
    if column in names:
        return
    if len(names) == 1 and re.search(r"[^\w\s]", names[0]):
        raise DataError(
            f"{shown} reads as a single column {names[0]!r}: its delimiter is none of "
            "comma, semicolon, tab or pipe; pass --delimiter."
        )
    raise DataError(f"{shown} has no column {column!r} (columns: {', '.join(names)}); {fix}.")


def _normalised(table: pa.Table, schema: Schema) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    text = pc.utf8_trim_whitespace(as_string(table.column(schema.text_col)))
    label = pc.utf8_trim_whitespace(as_string(table.column(schema.label_col)))
    if schema.normalise_codes:
        label = pc.replace_substring_regex(pc.utf8_upper(label), r"[.\s]+", "")
    return text, label


def _reasons(text: pa.ChunkedArray, label: pa.ChunkedArray, schema: Schema) -> np.ndarray:
    """The first failed check of each row (0 when the row is valid)."""
    empty_text = _is_empty(text)
    no_label = _is_empty(label)
    too_long = pc.fill_null(pc.greater(pc.utf8_length(text), schema.max_text_chars), False)
    reason = np.zeros(len(text), dtype=np.int8)
    if schema.nomenclature is not None:
        reason[~_known(label, schema.nomenclature)] = _UNKNOWN_LABEL
    if schema.code_pattern:
        matches = _matches(label, schema.code_pattern)
        reason[~matches] = _BAD_LABEL
    for code, mask in ((_TOO_LONG, too_long), (_NO_LABEL, no_label), (_EMPTY_TEXT, empty_text)):
        reason[_numpy(mask)] = code
    return reason


def _is_empty(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.or_kleene(pc.is_null(column), pc.equal(pc.fill_null(column, ""), ""))


def _numpy(mask: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _matches(label: pa.ChunkedArray, pattern: str) -> np.ndarray:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(
            f"data.code_pattern {pattern!r} is not a valid regular expression ({exc})."
        ) from None
    filled = pc.fill_null(label, "")
    try:  # Arrow's RE2 engine is fast; Python's takes the patterns RE2 lacks.
        return _numpy(pc.match_substring_regex(filled, pattern))
    except pa.ArrowInvalid:
        return np.array([compiled.search(v) is not None for v in filled.to_pylist()], dtype=bool)


def _known(label: pa.ChunkedArray, nomenclature: Nomenclature) -> np.ndarray:
    """Which labels the nomenclature knows (each distinct label checked once)."""
    filled = pc.fill_null(label, "")
    distinct = pc.unique(filled).to_pylist()
    known = [value for value in distinct if nomenclature.normalise(value) is not None]
    return _numpy(pc.is_in(filled, value_set=pa.array(known, pa.string())))


def _canonical(
    table: pa.Table, text: pa.ChunkedArray, label: pa.ChunkedArray, schema: Schema
) -> pa.Table:
    """``text``, ``label``, then the extra columns (renamed if they clash); categorical
    ones as trimmed text, blank as missing."""
    columns, names = [text, label], [TEXT, LABEL]
    for name in table.column_names:
        if name in (schema.text_col, schema.label_col):
            continue
        column = table.column(name)
        columns.append(_category(column) if name in schema.categorical else column)
        names.append(f"{name}_extra" if name in (TEXT, LABEL) else name)
    return pa.table(columns, names=names)


def _category(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A categorical column as trimmed text; blank values are missing."""
    trimmed = pc.utf8_trim_whitespace(as_string(column))
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _bad_rows(
    raw: RawTable,
    mask: np.ndarray,
    reason: np.ndarray,
    text: pa.ChunkedArray,
    label: pa.ChunkedArray,
    schema: Schema,
) -> pa.Table:
    """The text rows failing a check, each with its kind and reason."""
    selected = pa.array(mask)
    codes = reason[mask]
    labels = label.filter(selected).to_pylist()
    lengths = pc.utf8_length(text.filter(selected)).to_pylist()
    reasons = [
        _describe(int(c), lab, n, schema) for c, lab, n in zip(codes, labels, lengths, strict=True)
    ]
    return badrows.bad_rows(raw, mask, [_REASON_NAMES[int(c)] for c in codes], reasons)


def _describe(code: int, label: str | None, length: int | None, schema: Schema) -> str:
    if code == _BAD_LABEL:
        return f"label {label!r} does not match {schema.code_pattern}"
    if code == _UNKNOWN_LABEL and (known := schema.nomenclature) is not None:
        return f"label {label!r} is not a {known.name} {known.levels[-1]} code"
    if code == _TOO_LONG:
        return f"text has {length:,} characters (at most {schema.max_text_chars:,})"
    return _REASON_NAMES[code]


def _duplicates(table: pa.Table, inputs: list[str], outputs: list[str]) -> tuple[int, int]:
    """Rows repeating an earlier row; inputs that appear with several outputs."""
    pairs = table.select(inputs + outputs).group_by(inputs + outputs).aggregate([])
    # An input in several distinct (input, output) pairs carries several outputs.
    per_input = pairs.group_by(inputs).aggregate([([], "count_all")]).column("count_all")
    conflicting = pc.sum(pc.greater(per_input, 1)).as_py()
    return table.num_rows - pairs.num_rows, int(conflicting or 0)


def _null_rates(table: pa.Table, trimmed: dict[str, pa.ChunkedArray]) -> dict[str, float]:
    """Share of null (or blank, for text columns) values in each column of the file."""
    rates = {}
    for name in table.column_names:
        column = table.column(name)
        if name in trimmed:
            empty = pc.sum(_is_empty(trimmed[name])).as_py() or 0
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            empty = pc.sum(_is_empty(pc.utf8_trim_whitespace(column))).as_py() or 0
        else:
            empty = column.null_count
        rates[name] = round(empty / max(table.num_rows, 1), 6)
    return rates


@dataclass(frozen=True)
class TabularSchema:
    """What a valid tabular data set looks like.

    Attributes:
        target: The column to predict.
        task: ``classification`` or ``regression``.
        features: The feature columns; None: every column but the target.
        types: Explicit column types (the others are inferred).
        min_class_rows: A class with fewer rows makes its rows bad (classification).
        max_bad_share: Past this share of bad rows every policy refuses.
    """

    target: str
    task: TaskKind = "classification"
    features: tuple[str, ...] | None = None
    types: Mapping[str, str] = field(default_factory=dict)
    min_class_rows: int = MIN_CLASS_ROWS
    max_bad_share: float = 0.25


METADATA_KEY = b"mlcycle"  # the Arrow schema metadata naming target, task and types


def validate_tabular(raw: RawTable, schema: TabularSchema, policy: str, shown: str) -> Validated:
    """Type, check and filter a tabular ``raw`` under a bad-row ``policy``.

    Raises:
        InvalidInput: Unknown policy or explicit type.
        DataError: A named column is missing, the target is empty or constant, a check
            fails, or no valid row is left.
        InvalidRows: Bad rows under ``reject``, or too many of them under any policy.
    """
    badrows.check_policy(policy)
    features = _features(raw.table, schema, shown)
    explicit = {k: v for k, v in schema.types.items() if k in features}
    types = infer_types(raw.table.select(features), explicit)
    coerced = coerce(raw.table, {**types, schema.target: target_type(schema.task)})
    target = coerced.table.column(schema.target)
    _raise_first(target_issues(target, coerced.readings[schema.target], schema.target))
    kinds, reasons = _tabular_reasons(coerced, schema)
    bad_mask = np.asarray([k is not None for k in kinds], dtype=bool)
    total = raw.table.num_rows + len(raw.malformed)
    bad = badrows.bad_rows(raw, bad_mask, kinds[bad_mask], reasons[bad_mask])
    badrows.settle(bad, total, policy, shown, schema.max_bad_share, "data.target/data.types")
    good = raw.table.filter(pa.array(~bad_mask))  # bad rows are said already: check the rest
    issues = column_checks(
        good, types, schema.target, schema.task, schema.min_class_rows, coerced.rows(~bad_mask)
    )
    _raise_first(issues)
    left_out = {issue.column for issue in issues if issue.leave_out}
    types = {name: kind for name, kind in types.items() if name not in left_out}
    table = _kept(_tabular_canonical(raw.table, coerced.table, schema, types), bad_mask, shown)
    return Validated(
        table,
        badrows.without_kind(bad),
        total,
        badrows.reason_counts(bad),
        *_duplicates(table, features, [schema.target]),
        {name: round(c.null_count / max(len(c), 1), 6) for name, c in _named(coerced.table)},
        {TARGET: schema.target},
        types,
        issues,
    )


def _features(table: pa.Table, schema: TabularSchema, shown: str) -> list[str]:
    """The feature columns, in file order; a missing target or feature is one sentence."""
    names = table.column_names
    _require_column(table, schema.target, shown, "set data.target to the column to predict")
    for column in [*(schema.features or ()), *schema.types]:
        _require_column(table, column, shown, "fix data.features or data.types")
    chosen = set(schema.features or names) - {schema.target}
    features = [name for name in names if name in chosen]
    if not features:
        raise DataError(f"{shown} has no feature column besides the target {schema.target!r}.")
    return features


def _raise_first(issues: list[Issue]) -> None:
    for issue in issues:
        if issue.severity == "error":
            raise DataError(issue.message)


def _tabular_reasons(coerced: Coerced, schema: TabularSchema) -> tuple[np.ndarray, np.ndarray]:
    """Each row's kind and reason: an unreadable value, no target, or a too-rare class."""
    kinds, reasons = coerced.kinds.copy(), coerced.problems.copy()
    target = coerced.table.column(schema.target)
    no_target = np.asarray(pc.is_null(target).to_numpy(zero_copy_only=False), dtype=bool)
    fresh = no_target & (kinds == None)  # noqa: E711 (elementwise on an object array)
    kinds[fresh] = "missing target"
    reasons[fresh] = f"no value in the target column {schema.target!r}"
    if schema.task == "classification":
        ok = kinds == None  # noqa: E711
        rare = rare_classes(target.filter(pa.array(ok)), schema.min_class_rows)
        values = np.asarray(target.to_pylist(), dtype=object)
        for value, count in rare.items():
            rows = ok & (values == value)
            kinds[rows] = "class too rare"
            reasons[rows] = (
                f"class {value!r} has {count} row{'s' * (count > 1)} "
                f"(at least {schema.min_class_rows} needed)"
            )
    return kinds, reasons


def _named(table: pa.Table) -> list[tuple[str, pa.ChunkedArray]]:
    return list(zip(table.column_names, table.columns, strict=True))


def _tabular_canonical(
    raw: pa.Table, typed: pa.Table, schema: TabularSchema, types: Mapping[str, str]
) -> pa.Table:
    """Columns in file order (typed where checked, as read otherwise), the target last,
    with metadata naming the target, the task and the features' types."""
    names = [name for name in raw.column_names if name != schema.target] + [schema.target]
    columns = [typed.column(n) if n in typed.column_names else raw.column(n) for n in names]
    described = {"target": schema.target, "task": schema.task, "types": dict(types)}
    metadata = {METADATA_KEY: json.dumps(described).encode()}
    return pa.table(columns, names=names).replace_schema_metadata(metadata)
