"""Bad rows, whatever made them bad: one table, one refusal, one policy for every schema.

A validator marks rows and gives each a *kind* (counted in summaries, e.g. ``invalid
label``) and a *reason* (shown beside its line number). ``reject`` refuses the file and
shows the first bad rows; ``drop`` leaves them out; ``quarantine`` leaves them out and
keeps them for review. Past ``max_bad_share`` of the rows, every policy refuses: the
file or the column names are more likely wrong than the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.data.readers import RawTable

POLICIES = ("reject", "drop", "quarantine")
SHOWN_ROWS = 10
MALFORMED = "malformed record"
_KIND = "kind"  # the internal column counting reasons; dropped before anyone sees it


class InvalidRows(DataError):
    """Bad rows refused: one sentence, and the first offending rows for a table."""

    def __init__(self, message: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.rows = rows

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rows": self.rows}


def check_policy(policy: str) -> None:
    """Raises InvalidInput for a policy that is none of :data:`POLICIES`."""
    if policy not in POLICIES:
        raise InvalidInput(f"--on-bad-rows must be one of {', '.join(POLICIES)}, not {policy!r}.")


def as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as ``string`` whatever the file said (bad rows are shown as read)."""
    if pa.types.is_string(column.type):
        return column
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # lists, structures: as Python
        shown = [None if v is None else str(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(shown, pa.string())])


def bad_rows(
    raw: RawTable, mask: np.ndarray, kinds: Sequence[str], reasons: Sequence[str]
) -> pa.Table:
    """Bad rows sorted by line: line, reason, the original columns as text, raw record.

    Args:
        raw: The file as read.
        mask: The rows of ``raw.table`` that are bad.
        kinds: One short kind per bad row, in row order (what summaries count).
        reasons: One sentence per bad row, in row order (what is shown beside it).
    """
    selected = pa.array(mask)
    parsed = {
        "line": pa.array(raw.lines[mask]),
        "reason": pa.array(list(reasons), pa.string()),
        _KIND: pa.array(list(kinds), pa.string()),
    }
    for name in raw.table.column_names:
        parsed[name] = as_string(raw.table.column(name)).filter(selected)
    tables = [pa.table(parsed)]
    if raw.malformed:
        tables.append(
            pa.table(
                {
                    "line": pa.array([m.line for m in raw.malformed], pa.int64()),
                    "reason": pa.array([m.reason for m in raw.malformed], pa.string()),
                    _KIND: pa.array([MALFORMED] * len(raw.malformed), pa.string()),
                    "raw": pa.array([m.raw for m in raw.malformed], pa.string()),
                }
            )
        )
    return pa.concat_tables(tables, promote_options="default").sort_by("line")


def reason_counts(bad: pa.Table) -> dict[str, int]:
    """How many bad rows of each kind, most frequent first."""
    counts = pc.value_counts(bad.column(_KIND)).to_pylist() if bad.num_rows else []
    ordered = sorted(counts, key=lambda c: (-c["counts"], c["values"]))
    return {c["values"]: c["counts"] for c in ordered}


def without_kind(bad: pa.Table) -> pa.Table:
    """The bad rows as kept in quarantine: line, reason and the columns as read."""
    return bad.drop_columns([_KIND])


def settle(
    bad: pa.Table, total: int, policy: str, shown: str, max_bad_share: float, columns: str
) -> None:
    """Refuse the file when the policy says so.

    Args:
        bad: The table of :func:`bad_rows`.
        total: Rows read, malformed records included.
        policy: One of :data:`POLICIES`.
        shown: The file as the user named it.
        max_bad_share: Past this share of bad rows every policy refuses.
        columns: The options naming the columns, for the hint (``--text-col/--label-col``).

    Raises:
        InvalidRows: Bad rows under ``reject``, or too many of them under any policy.
    """
    n_bad = bad.num_rows
    if not n_bad or (policy != "reject" and n_bad <= max_bad_share * total):
        return
    summary = ", ".join(f"{count:,} {kind}" for kind, count in reason_counts(bad).items())
    rows = "row" if n_bad == 1 else "rows"
    head = f"{shown} has {n_bad:,} invalid {rows} out of {total:,} ({summary})"
    if policy == "reject":
        message = (
            f"{head}; fix them, or pass --on-bad-rows drop to leave them out "
            "or --on-bad-rows quarantine to keep them aside for review."
        )
    else:
        message = (
            f"{head}, more than the {max_bad_share:.0%} that data.max_bad_share allows; "
            f"check the file and {columns}, or raise data.max_bad_share."
        )
    raise InvalidRows(message, shown_rows(bad))


def shown_rows(bad: pa.Table, width: int = 80) -> list[dict[str, Any]]:
    """The first bad rows for a report, long values cut to ``width`` characters."""
    rows = []
    for row in bad.slice(0, SHOWN_ROWS).to_pylist():
        row.pop(_KIND, None)
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
