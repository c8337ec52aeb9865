"""Read a data file (CSV or Parquet) into an Arrow table, with each row's line number.

Every way a file can be wrong ends in one ``DataError`` sentence naming the file and
what to do; nothing here lets a parser traceback reach the user. CSV columns are read
as text (codes like ``0111Z`` keep their zeros); rows with the wrong number of fields
are set aside as malformed rather than failing the whole file, so validation can
report, drop or quarantine them like any other bad row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from mlcycle.core.errors import DataError, NotFound
from mlcycle.data.sniff import FALLBACK_ENCODINGS, CsvDialect, is_parquet, sniff_csv

_WRONG_WIDTH = re.compile(r"Expected \d+ columns, got \d+")
_BLOCK = 16 << 20  # big enough that one very long text never straddles two blocks


@dataclass(frozen=True)
class Malformed:
    """A CSV record that could not be split into the header's columns."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class RawTable:
    """A file as read: every column, each row's line (CSV) or row number (Parquet)."""

    table: pa.Table
    lines: np.ndarray
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    malformed: list[Malformed] = field(default_factory=list)


def read_raw(path: Path, delimiter: str | None = None, shown: str | None = None) -> RawTable:
    """Read ``path`` (Parquet by content, else CSV with detected encoding and delimiter).

    Raises:
        NotFound: The file does not exist.
        DataError: The file is empty, binary, truncated or has no data rows.
    """
    path = Path(path)
    shown = shown or str(path)
    if not path.is_file():
        raise NotFound(f"Data file {shown} does not exist; check the path.")
    if is_parquet(path):
        raw = _read_parquet(path, shown)
    else:
        raw = _read_csv(path, sniff_csv(path, delimiter, shown), shown)
    if raw.table.num_rows == 0 and not raw.malformed:
        raise DataError(f"{shown} has a header but no data rows; give a file with rows.")
    return raw


def _read_parquet(path: Path, shown: str) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{shown} is not a readable Parquet file ({exc}); it may be truncated: copy it again."
        ) from None
    names = table.column_names
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise DataError(f"{shown} has column {duplicated[0]!r} twice; rename one of them.")
    return RawTable(table, np.arange(1, table.num_rows + 1, dtype=np.int64), "parquet")


def _read_csv(path: Path, dialect: CsvDialect, shown: str) -> RawTable:
    encodings = [dialect.encoding]
    if dialect.encoding == "utf-8":
        encodings += FALLBACK_ENCODINGS  # an invalid byte may sit past the sample
    for encoding in encodings:
        try:
            return _parse_csv(path, dialect, encoding)
        except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
            if isinstance(exc, pa.ArrowInvalid) and "UTF8" not in str(exc):
                raise DataError(f"{shown} could not be parsed as CSV ({exc}).") from None
    raise DataError(f"{shown} is in no encoding mlcycle knows; save it as UTF-8.")


def _parse_csv(path: Path, dialect: CsvDialect, encoding: str, tolerant: bool = False) -> RawTable:
    """Parse in parallel; a file with malformed records is parsed again, serially, with
    those records set aside and numbered (Arrow numbers them only when serial, and a
    Python row handler on its parallel reader can abort the process at exit)."""
    import pyarrow.csv as pcsv

    bad: list = []

    def keep_aside(row) -> str:
        bad.append(row)
        return "skip"

    names = list(dialect.header)
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(
                encoding="utf8" if encoding == "utf-8" else encoding,
                column_names=names,
                skip_rows=1,
                block_size=_BLOCK,
                use_threads=not tolerant,
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=dialect.delimiter,
                newlines_in_values=True,
                invalid_row_handler=keep_aside if tolerant else None,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as exc:
        if tolerant or not _WRONG_WIDTH.search(str(exc)):
            raise
        return _parse_csv(path, dialect, encoding, tolerant=True)
    malformed, lines = _number_lines(table, bad)
    return RawTable(table, lines, "csv", encoding, dialect.delimiter, malformed)


def _number_lines(table: pa.Table, bad: list) -> tuple[list[Malformed], np.ndarray]:
    """Physical line of every row: record number plus the newlines quoted before it."""
    import pyarrow.compute as pc

    n_total = table.num_rows + len(bad)
    # Record numbers count the header as 1 (but not rows skipped before it).
    bad_records = np.array([row.number for row in bad], dtype=np.int64)
    is_bad = np.zeros(n_total, dtype=bool)
    is_bad[bad_records - 2] = True
    newlines = np.zeros(n_total, dtype=np.int64)
    for column in table.columns:
        counts = pc.fill_null(pc.count_substring(column, "\n"), 0)
        newlines[~is_bad] += counts.to_numpy()
    newlines[is_bad] = [row.text.count("\n") for row in bad]
    # A record starts after every record before it and all their quoted newlines.
    lines = 2 + np.arange(n_total) + np.concatenate(([0], np.cumsum(newlines)[:-1]))
    malformed = [
        Malformed(
            int(lines[row.number - 2]),
            f"has {row.actual_columns} field{'s' * (row.actual_columns != 1)}, "
            f"expected {row.expected_columns}",
            row.text,
        )
        for row in bad
    ]
    return malformed, lines[~is_bad]
