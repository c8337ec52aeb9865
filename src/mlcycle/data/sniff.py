"""Tell what a data file is before parsing it: Parquet or CSV, encoding, delimiter, header.

Registry extracts arrive from spreadsheets and old exporters: UTF-8 with or without a
byte-order mark, Windows-1252 or Latin-1 with accents, comma, semicolon, tab or pipe
separated. A sample of the file's head decides; the full read falls back to the next
encoding if an invalid byte shows up later (see :mod:`mlcycle.data.readers`).
"""

from __future__ import annotations

import codecs
import csv
import io
import statistics
from dataclasses import dataclass
from pathlib import Path

from mlcycle.core.errors import DataError

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
# Tried in order when UTF-8 fails: cp1252 is Latin-1 plus the letters (œ, €, ’) Windows
# puts in 0x80-0x9F; Latin-1 decodes any byte, so it always ends the chain.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an Excel workbook?)",
    b"\x1f\x8b": "gzip-compressed",
    b"%PDF": "a PDF document",
}
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"


@dataclass(frozen=True)
class CsvDialect:
    """How to parse one CSV file."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]


def is_parquet(path: Path) -> bool:
    """Parquet by content (its ``PAR1`` magic) or, for an empty/short file, by suffix."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return head == b"PAR1" or (len(head) < 4 and path.suffix.lower() == ".parquet")


def sniff_csv(path: Path, delimiter: str | None = None, shown: str | None = None) -> CsvDialect:
    """Encoding, delimiter and header names of a CSV file.

    Args:
        path: The local file.
        delimiter: Force this delimiter instead of detecting it.
        shown: How to name the file in messages (defaults to the path).

    Raises:
        DataError: The file is empty, binary, or its header is unusable.
    """
    shown = shown or str(path)
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        complete = handle.read(1) == b""
    if not sample.strip():
        raise DataError(f"{shown} is empty; give a CSV file with a header and rows.")
    _refuse_binary(sample, shown)
    encoding = detect_encoding(sample)
    text = _decode_sample(sample, encoding)
    records = _records(text, complete)
    chosen = delimiter or _choose_delimiter(records)
    _refuse_comment_line(records, chosen, shown)
    header = _header(text, chosen, shown)
    return CsvDialect(encoding, chosen, header)


def _refuse_binary(sample: bytes, shown: str) -> None:
    for magic, what in _MAGIC.items():
        if sample.startswith(magic):
            raise DataError(f"{shown} is {what}, not CSV text; export it as CSV or Parquet.")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return  # UTF-16 text is full of NUL bytes but is text
    controls = sum(sample.count(bytes([b])) for b in _CONTROL)
    if b"\x00" in sample or controls > len(sample) // 100:
        raise DataError(
            f"{shown} is binary data, not CSV text; give a CSV or Parquet file "
            "(was another file renamed .csv?)."
        )


def detect_encoding(sample: bytes) -> str:
    """``utf-8`` (BOM or not), ``utf-16``, else the first fallback that decodes the sample."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # Not final: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in FALLBACK_ENCODINGS:
        try:
            sample.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return FALLBACK_ENCODINGS[-1]


def _decode_sample(sample: bytes, encoding: str) -> str:
    if encoding == "utf-8":
        return codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
    return sample.decode(encoding, errors="replace").lstrip("\ufeff")


def _records(text: str, complete: bool) -> list[str]:
    """Physical lines of the sample, without a last line the sample cut short."""
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    return [line for line in lines if line.strip()][:200]


def _choose_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the header in two or more and every line alike.

    Each candidate parses the sample with quotes honoured; the winner has the most
    lines with the header's field count, then the most fields. A file no candidate
    splits reads as one column, which the column check reports clearly.
    """
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=candidate))
        width = len(rows[0]) if rows else 0
        if width < 2:
            continue
        consistent = sum(len(row) == width for row in rows) / len(rows)
        score = (round(consistent, 2), width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _refuse_comment_line(lines: list[str], delimiter: str, shown: str) -> None:
    """A first line such as ``# Data source: ...`` is a comment, not the header.

    CSV has no comments; read as the header it would make one wrong column (or a few).
    A header that starts with ``#`` and splits as the rows do is a real one (``#id``).
    """
    first = lines[0].strip() if lines else ""
    if not first.startswith("#") or len(lines) < 2:
        return
    widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
    if widths[0] != statistics.mode(widths[1:]):
        raise DataError(
            f"{shown} starts with a comment line ({first[:60]!r}), not the column names; "
            "delete the lines above the header: mlcycle reads the first line as the header."
        )


def _header(text: str, delimiter: str, shown: str) -> tuple[str, ...]:
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    names = tuple(name.strip() for name in first)
    for index, name in enumerate(names, start=1):
        if not name:
            raise DataError(f"Column {index} of {shown}'s header has no name; name every column.")
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(
                f"{shown}'s header names column {name!r} twice (columns {seen[name]} and "
                f"{index}); rename one of them."
            )
        seen[name] = index
    return names
