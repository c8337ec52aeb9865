"""Check a table read from a file against the project's schema, row by row.

Required columns must exist; each row needs a non-empty text no longer than the limit
and a label matching the configured code pattern (NAF rev.2 subclass by default, with
``56.10A``-style codes normalised first). Under that default pattern a label must also
start with a NACE rev.2 division: ``0400Z`` has the shape of a code but is none.
Rows failing a check, and CSV records that could not be split, are *bad rows*:
``reject`` refuses the file and shows the first ones with their line numbers, ``drop``
leaves them out, ``quarantine`` leaves them out and keeps them for review. Everything
is vectorised in Arrow: a million rows take well under a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.core.settings import Settings
from mlcycle.data.readers import RawTable
from mlcycle.tasks.labels import Nomenclature, nomenclature

POLICIES = ("reject", "drop", "quarantine")
SHOWN_ROWS = 10
TEXT, LABEL = "text", "label"
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

    @classmethod
    def from_settings(
        cls, settings: Settings, text_col: str | None = None, label_col: str | None = None
    ) -> Schema:
        data = settings.data
        return cls(
            text_col or data.text_feature(),
            label_col or data.target,
            data.label_pattern,
            data.normalise_labels,
            data.max_text_chars,
            data.max_bad_share,
            nomenclature(data.nomenclature),
        )


class InvalidRows(DataError):
    """Bad rows refused: one sentence, and the first offending rows for a table."""

    def __init__(self, message: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.rows = rows

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rows": self.rows}


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


def validate(raw: RawTable, schema: Schema, policy: str, shown: str) -> Validated:
    """Apply ``schema`` to ``raw`` under a bad-row ``policy``.

    Raises:
        InvalidInput: Unknown policy, bad pattern, or the same column for text and label.
        DataError: A required column is missing, or no valid row is left.
        InvalidRows: Bad rows under ``reject``, or too many of them under any policy.
    """
    if policy not in POLICIES:
        raise InvalidInput(f"--on-bad-rows must be one of {', '.join(POLICIES)}, not {policy!r}.")
    _check_columns(raw.table, schema, shown)
    text, label = _normalised(raw.table, schema)
    reason = _reasons(text, label, schema)
    bad_mask = reason > 0
    n_bad = int(bad_mask.sum()) + len(raw.malformed)
    total = raw.table.num_rows + len(raw.malformed)
    bad = _bad_rows(raw, bad_mask, reason, text, label, schema)
    if n_bad and (policy == "reject" or n_bad > schema.max_bad_share * total):
        raise InvalidRows(_refusal(shown, n_bad, total, bad, policy, schema), _shown_rows(bad))
    table = _canonical(raw.table, text, label, schema)
    if bad_mask.any():
        table = table.filter(pa.array(~bad_mask))
    if table.num_rows == 0:
        raise DataError(f"{shown} has no valid row left; check the file and its columns.")
    reasons = _reason_counts(bad) if n_bad else {}
    return Validated(
        table,
        bad.drop_columns(["reason_code"]),
        total,
        reasons,
        *_duplicates(table),
        _null_rates(raw.table, {schema.text_col: text, schema.label_col: label}),
        {TEXT: schema.text_col, LABEL: schema.label_col},
    )


def _check_columns(table: pa.Table, schema: Schema, shown: str) -> None:
    if schema.text_col == schema.label_col:
        raise InvalidInput("--text-col and --label-col name the same column; give two columns.")
    names = table.column_names
    for flag, column in (("--text-col", schema.text_col), ("--label-col", schema.label_col)):
        if column in names:
            continue
        if len(names) == 1 and re.search(r"[^\w\s]", names[0]):
            raise DataError(
                f"{shown} reads as a single column {names[0]!r}: its delimiter is none of "
                "comma, semicolon, tab or pipe; pass --delimiter."
            )
        raise DataError(
            f"{shown} has no column {column!r} (columns: {', '.join(names)}); "
            f"pass {flag} with the right name."
        )


def _as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text columns as ``string`` whatever the file said, so content decides the digest."""
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _normalised(table: pa.Table, schema: Schema) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    text = pc.utf8_trim_whitespace(_as_string(table.column(schema.text_col)))
    label = pc.utf8_trim_whitespace(_as_string(table.column(schema.label_col)))
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
    """``text``, ``label``, then the extra columns (renamed if they clash)."""
    columns, names = [text, label], [TEXT, LABEL]
    for name in table.column_names:
        if name in (schema.text_col, schema.label_col):
            continue
        columns.append(table.column(name))
        names.append(f"{name}_extra" if name in (TEXT, LABEL) else name)
    return pa.table(columns, names=names)


def _bad_rows(
    raw: RawTable,
    mask: np.ndarray,
    reason: np.ndarray,
    text: pa.ChunkedArray,
    label: pa.ChunkedArray,
    schema: Schema,
) -> pa.Table:
    """Bad rows sorted by line: line, reason, the original columns as text, raw record."""
    selected = pa.array(mask)
    codes = reason[mask]
    labels = label.filter(selected).to_pylist()
    lengths = pc.utf8_length(text.filter(selected)).to_pylist()
    reasons = [
        _describe(int(c), lab, n, schema) for c, lab, n in zip(codes, labels, lengths, strict=True)
    ]
    parsed = {
        "line": pa.array(raw.lines[mask]),
        "reason": pa.array(reasons, pa.string()),
        "reason_code": pa.array(codes.astype(np.int32)),
    }
    for name in raw.table.column_names:
        parsed[name] = _as_string(raw.table.column(name)).filter(selected)
    tables = [pa.table(parsed)]
    if raw.malformed:
        tables.append(
            pa.table(
                {
                    "line": pa.array([m.line for m in raw.malformed], pa.int64()),
                    "reason": pa.array([m.reason for m in raw.malformed], pa.string()),
                    "reason_code": pa.array([0] * len(raw.malformed), pa.int32()),
                    "raw": pa.array([m.raw for m in raw.malformed], pa.string()),
                }
            )
        )
    return pa.concat_tables(tables, promote_options="default").sort_by("line")


def _describe(code: int, label: str | None, length: int | None, schema: Schema) -> str:
    if code == _BAD_LABEL:
        return f"label {label!r} does not match {schema.code_pattern}"
    if code == _UNKNOWN_LABEL:
        return f"label {label!r} is not a {schema.nomenclature.name} code"
    if code == _TOO_LONG:
        return f"text has {length:,} characters (at most {schema.max_text_chars:,})"
    return _REASON_NAMES[code]


def _code_name(code: int) -> str:
    return _REASON_NAMES.get(code, "malformed record")


def _reason_counts(bad: pa.Table) -> dict[str, int]:
    """Bad rows per reason name, most frequent first."""
    counts: dict[str, int] = {}
    for kind in pc.value_counts(bad.column("reason_code")).to_pylist():
        name = _code_name(kind["values"])
        counts[name] = counts.get(name, 0) + kind["counts"]
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _refusal(shown: str, n_bad: int, total: int, bad: pa.Table, policy: str, schema: Schema) -> str:
    summary = ", ".join(f"{n:,} {name}" for name, n in _reason_counts(bad).items())
    rows = "row" if n_bad == 1 else "rows"
    head = f"{shown} has {n_bad:,} invalid {rows} out of {total:,} ({summary})"
    if policy == "reject":
        return (
            f"{head}; fix them, or pass --on-bad-rows drop to leave them out "
            "or --on-bad-rows quarantine to keep them aside for review."
        )
    return (
        f"{head}, more than the {schema.max_bad_share:.0%} that data.max_bad_share allows; "
        "check the file and --text-col/--label-col, or raise data.max_bad_share."
    )


def _shown_rows(bad: pa.Table, width: int = 80) -> list[dict[str, Any]]:
    """The first bad rows for a report, long values cut to ``width`` characters."""
    rows = []
    for row in bad.slice(0, SHOWN_ROWS).to_pylist():
        row.pop("reason_code", None)
        rows.append(
            {
                key: value[: width - 1] + "…"
                if isinstance(value, str) and len(value) > width
                else value
                for key, value in row.items()
                if value is not None or key in ("line", "reason")
            }
        )
    return rows


def _duplicates(table: pa.Table) -> tuple[int, int]:
    """Rows repeating an earlier (text, label) pair; texts carrying several labels."""
    pairs = table.select([TEXT, LABEL]).group_by([TEXT, LABEL]).aggregate([])
    # A text in several distinct pairs carries several labels.
    per_text = pc.value_counts(pairs.column(TEXT)).field("counts")
    conflicting = pc.sum(pc.greater(per_text, 1)).as_py()
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
