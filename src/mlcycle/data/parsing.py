"""Read numbers, yes/no values and dates out of text columns, vectorised in Arrow.

CSV columns arrive as text. Each parser takes a *cleaned* column (trimmed, null tokens
turned into nulls: :func:`clean`) and returns the typed values with a mask of the
values it could not read, so the caller can report those rows with their line numbers.

Numbers: ``1.5``, ``-3``, ``1e3``, decimal commas (``1,5``), digit groups (``1 234,5``,
``1,234.5``, ``1.234.567``). A column reads one way: its decimal separator is the one
its unambiguous values prove. ``1,500`` alone could be 1.5 or 1500; with no proof either
way it is left unread (and counted as ambiguous) rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_TOKENS = ("", "na", "n/a", "null", "none", "nan", "-")
TRUE_TOKENS = ("true", "yes", "oui", "vrai", "1")
FALSE_TOKENS = ("false", "no", "non", "faux", "0")

_EXP = r"([eE][+-]?\d+)?"
_SPACES = "[ \u00a0\u202f'\u2019]"  # spaces, no-break spaces and apostrophes group digits
_PLAIN = rf"^[+-]?(\d+\.?\d*|\.\d+){_EXP}$"
_INTEGER = rf"^[+-]?\d+{_EXP}$"
_SPACED_DOT = rf"^[+-]?\d{{1,3}}({_SPACES}\d{{3}})+(\.\d+)?$"
_SPACED_COMMA = rf"^[+-]?\d{{1,3}}({_SPACES}\d{{3}})+,\d+$"
_COMMA_GROUPS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"  # 1,234 / 1,234.5
_DOT_GROUPS = r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"  # 1.234 / 1.234,5
_COMMA_DECIMAL = rf"^[+-]?(\d*),\d+{_EXP}$"  # 1,5 / ,5
_AMBIGUOUS = r"^[+-]?\d{1,3},\d{3}$"  # 1,500: a decimal comma or a thousands comma?
_SHORT_DOT_GROUP = r"^[+-]?\d{1,3}\.\d{3}$"  # 1.500: plain 1.5, or 1500 with dot groups
_CODE_LIKE = r"^[+-]?0\d+$|^\d{16,}$"  # 01, 0075, long identifiers: codes, not numbers
_DATE = (
    r"^\d{4}[-/]\d{2}[-/]\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class ParsedNumbers:
    """A column read as numbers: values (null where unread) and what reading took."""

    values: pa.ChunkedArray  # float64
    failed: np.ndarray  # bool: a value was there but is not a number
    decimal: str  # "." or ","
    reformatted: np.ndarray  # bool: read, but with a decimal comma or digit groups
    ambiguous: np.ndarray  # bool: like 1,500, left unread for want of proof


def clean(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """The column as trimmed text, with null tokens (``NA``, ``n/a``, ``-``...) as nulls."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(column)
    is_token = pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(NULL_TOKENS))
    return pc.if_else(is_token, pa.scalar(None, pa.string()), trimmed)


def _matches(values: pa.ChunkedArray, pattern: str) -> np.ndarray:
    found = pc.match_substring_regex(pc.fill_null(values, ""), pattern)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def looks_like_codes(values: pa.ChunkedArray) -> bool:
    """True when some value reads as a code, not a quantity (a leading zero, 16+ digits)."""
    return bool(_matches(values, _CODE_LIKE).any())


def share_matching(values: pa.ChunkedArray, pattern: str) -> float:
    """The share of present values matching ``pattern`` (a cheap first look at a column)."""
    present = len(values) - values.null_count
    return float(_matches(values, pattern).sum()) / present if present else 0.0


# Characters numbers are written with: a column mostly of other text is no number column.
NUMBER_LIKE = rf"^[+-]?[\d.,]([\d.,]|{_SPACES})*{_EXP}$"
DATE_LIKE = r"^\d{4}[-/]\d{2}[-/]\d{2}"


def parse_numbers(values: pa.ChunkedArray) -> ParsedNumbers:
    """Read a cleaned text column as float64 (see the module's rules)."""
    plain = _matches(values, _PLAIN)
    present = ~np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
    if plain.sum() == present.sum():  # the usual column: plain numbers, one cast
        nothing = np.zeros(len(values), dtype=bool)
        return ParsedNumbers(values.cast(pa.float64()), nothing, ".", nothing, nothing)
    ambiguous = _matches(values, _AMBIGUOUS)
    comma_groups, dot_groups = _matches(values, _COMMA_GROUPS), _matches(values, _DOT_GROUPS)
    spaced_dot, spaced_comma = _matches(values, _SPACED_DOT), _matches(values, _SPACED_COMMA)
    comma_decimal = _matches(values, _COMMA_DECIMAL)
    short_dot = _matches(values, _SHORT_DOT_GROUP)
    # Proof of a decimal comma: 1,5 / 1.234,5 / 1.234.567; of a decimal point: 1.5 /
    # 1,234.5 / 1,234,567. Values that read either way prove nothing.
    comma_proof = (comma_decimal & ~ambiguous) | (dot_groups & ~short_dot & ~plain) | spaced_comma
    dot_proof = (
        (comma_groups & ~ambiguous)
        | (plain & ~short_dot & _has(values, "."))
        | (spaced_dot & _has(values, "."))
    )
    if comma_proof.sum() > dot_proof.sum():
        accepted = _matches(values, _INTEGER) | comma_decimal | dot_groups | spaced_comma
        accepted |= spaced_dot & ~_has(values, ".")
        text = pc.replace_substring(_strip(values, f"[.{_SPACES[1:-1]}]"), ",", ".")
        decimal, unread = ",", np.zeros(len(values), dtype=bool)
    else:
        accepted = plain | spaced_dot | comma_groups
        unread = ambiguous & (dot_proof.sum() == 0)
        accepted &= ~unread
        text, decimal = _strip(values, f"[,{_SPACES[1:-1]}]"), "."
    parsed = pc.cast(_keep(accepted, text), pa.float64())
    reformatted = accepted & ~plain if decimal == "." else accepted & ~_matches(values, _INTEGER)
    return ParsedNumbers(parsed, present & ~accepted, decimal, reformatted, unread)


def _keep(mask: np.ndarray, text: pa.ChunkedArray) -> pa.ChunkedArray:
    """``text`` where ``mask`` holds, null elsewhere (so a cast never sees the rest)."""
    return pc.if_else(pa.array(mask), text, pa.scalar(None, pa.string()))


def _has(values: pa.ChunkedArray, character: str) -> np.ndarray:
    found = pc.match_substring(pc.fill_null(values, ""), character)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _strip(values: pa.ChunkedArray, characters: str) -> pa.ChunkedArray:
    return pc.replace_substring_regex(values, characters, "")


def parse_booleans(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Read a cleaned text column of yes/no tokens as booleans; the mask of the others."""
    lowered = pc.utf8_lower(values)
    true = pc.is_in(lowered, value_set=pa.array(TRUE_TOKENS))
    false = pc.is_in(lowered, value_set=pa.array(FALSE_TOKENS))
    known = pc.or_(true, false)
    result = pc.if_else(known, true, pa.scalar(None, pa.bool_()))
    present = pc.is_valid(values)
    failed = pc.and_(present, pc.invert(known))
    return result, np.asarray(failed.to_numpy(zero_copy_only=False), dtype=bool)


def is_boolean(values: pa.ChunkedArray) -> bool:
    """True when every non-null value is a yes/no token (and there is at least one)."""
    if values.null_count == len(values):
        return False
    _, failed = parse_booleans(values)
    return not failed.any()


def parse_datetimes(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Read a cleaned text column of ISO-style dates as UTC timestamps (microseconds).

    ``2024-03-01``, ``2024/03/01``, ``2024-03-01 10:30``, ``2024-03-01T10:30:00.5Z`` and
    ``...+02:00`` are read; times with a zone are converted to UTC, the others taken as
    UTC already.
    """
    text = pc.replace_substring(pc.fill_null(values, ""), "/", "-")
    matched = _matches(values, _DATE)
    zoned = matched & _matches(values, r"(Z|[+-]\d{2}:?\d{2})$")
    out = _timestamps(_keep(matched & ~zoned, text), pa.timestamp("us"))
    if zoned.any():
        aware = _timestamps(_keep(zoned, text), pa.timestamp("us", tz="UTC"))
        out = pc.if_else(pa.array(zoned), aware.cast(pa.timestamp("us")), out)
    present = ~np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
    return out, present & ~np.asarray(pc.is_valid(out).to_numpy(zero_copy_only=False))


def _timestamps(text: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    """Cast at once; when a date is impossible (2024-13-45), value by value."""
    try:
        return pc.cast(text, kind)
    except pa.ArrowInvalid:
        return pa.chunked_array([pa.array([_timestamp(v, kind) for v in text.to_pylist()], kind)])


def _timestamp(value: str | None, kind: pa.DataType) -> object:
    try:
        return None if value is None else pa.scalar(value).cast(kind).as_py()
    except pa.ArrowInvalid:
        return None
