"""What a record sent to a tabular model may hold, checked before the model sees it.

Every record is an object with exactly the model's feature columns (null where a value
is unknown: the model imputes it); a column it does not know is refused rather than
silently dropped, and so is one it lacks. Values by column type:

* numeric: a number, true/false, null, or a number written as text (``"12.5"``);
* categorical: one text, number, true/false or null (a value unseen in training is
  ignored by the model's encoding);
* boolean: true, false, null, or a yes/no word as ``data add`` reads one (``"oui"``,
  ``"No"``, ``"1"``...), given to the model as true or false, as it was trained;
* datetime: an ISO 8601 text (``"2024-03-01"``, ``"2024-03-01T10:30:00+02:00"``) or null;
  the model reads the date itself and names the record and the column when it cannot.

Texts are at most ``serve.max_value_chars`` characters. :meth:`RecordRules.schema` is the
same contract as JSON Schema, published in OpenAPI; the checks and the schema are made
from one table so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from mlcycle.core.errors import InvalidInput
from mlcycle.data.parsing import FALSE_TOKENS, TRUE_TOKENS
from mlcycle.serve.validation import LARGEST_NUMBER, in_range, kind, number_schema

# A number as text: digits with an optional fraction and exponent, spaces around. The
# bounds keep every match a finite double, as the model reads it.
NUMBER_TEXT = r"^ *[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,2})? *$"
_NUMBER_TEXT = re.compile(NUMBER_TEXT)
# The yes/no words data validation reads as booleans, in any case, spaces around. Cases
# are spelled out letter by letter: an IGNORECASE match takes "ſ" for "s".
_FLAGS = {word: True for word in TRUE_TOKENS} | {word: False for word in FALSE_TOKENS}
_ANY_CASE = "|".join(
    "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in word) for word in _FLAGS
)
BOOLEAN_TEXT = rf"^\s*({_ANY_CASE})\s*$"
_BOOLEAN_TEXT = re.compile(BOOLEAN_TEXT)
_FLAGS_OR_NULL = frozenset([bool, type(None)])
_NUMBERS = frozenset([int, float])
_SHOWN_CHARS = 40

# Whether a value (given the text limit) is accepted.
Check = Callable[[Any, int], bool]


def _numeric(value: Any, max_chars: int) -> bool:
    if type(value) in _NUMBERS:
        return in_range(value)
    if type(value) in _FLAGS_OR_NULL:
        return True
    return type(value) is str and len(value) <= max_chars and bool(_NUMBER_TEXT.search(value))


def _categorical(value: Any, max_chars: int) -> bool:
    if type(value) in _NUMBERS:
        return in_range(value)
    return type(value) in _FLAGS_OR_NULL or (type(value) is str and len(value) <= max_chars)


def _boolean(value: Any, max_chars: int) -> bool:
    if value is None or type(value) is bool:
        return True
    return type(value) is str and len(value) <= max_chars and bool(_BOOLEAN_TEXT.search(value))


def _datetime(value: Any, max_chars: int) -> bool:
    return value is None or (type(value) is str and len(value) <= max_chars)


_NUMBER_SCHEMA = number_schema()
_FLAG_SCHEMA = {"type": ["boolean", "null"]}


def _numeric_schema(max_chars: int) -> dict[str, Any]:
    text = {"type": "string", "pattern": NUMBER_TEXT, "maxLength": max_chars}
    return {"anyOf": [_NUMBER_SCHEMA, _FLAG_SCHEMA, text]}


def _categorical_schema(max_chars: int) -> dict[str, Any]:
    return {"anyOf": [_NUMBER_SCHEMA, _FLAG_SCHEMA, {"type": "string", "maxLength": max_chars}]}


def _boolean_schema(max_chars: int) -> dict[str, Any]:
    return {"anyOf": [_FLAG_SCHEMA, {"type": "string", "pattern": BOOLEAN_TEXT,
                                     "maxLength": max_chars}]}  # fmt: skip


def _datetime_schema(max_chars: int) -> dict[str, Any]:
    example = "ISO 8601, e.g. 2024-03-01 or 2024-03-01T10:30:00Z"
    return {"type": ["string", "null"], "maxLength": max_chars, "description": example}


# column type -> (check, what a value must be, its JSON schema given the text limit)
RULES: dict[str, tuple[Check, str, Callable[[int], dict[str, Any]]]] = {
    "numeric": (_numeric, "a number (or a number as text) or null", _numeric_schema),
    "categorical": (_categorical, "one text, number, true/false or null", _categorical_schema),
    "boolean": (_boolean, "true, false, null or a yes/no word", _boolean_schema),
    "datetime": (_datetime, 'a date as ISO 8601 text ("2024-03-01") or null', _datetime_schema),
}


class RecordRules:
    """The columns of a model's records and what each may hold."""

    def __init__(self, types: Mapping[str, str] | None, max_chars: int) -> None:
        """
        Args:
            types: Feature column -> type (numeric, categorical, boolean, datetime); None
                when the model does not say (then only the records' shape is checked).
            max_chars: The longest text a value may be.
        """
        self.types = dict(types) if types is not None else None
        self.max_chars = max_chars
        self._checks = [(column, RULES[kind_][0]) for column, kind_ in (self.types or {}).items()]
        self._flags = [column for column, kind_ in (self.types or {}).items() if kind_ == "boolean"]

    @property
    def columns(self) -> list[str]:
        return list(self.types or ())

    def check(self, records: list[Any]) -> list[dict[str, Any]]:
        """The records, or InvalidInput naming the first record and column at fault."""
        width = len(self._checks)
        max_chars = self.max_chars
        for i, record in enumerate(records):
            if type(record) is not dict:
                raise InvalidInput(
                    f"Record {i} must be an object of column values, not {kind(record)}."
                )
            if self.types is None:
                continue
            for column, accepts in self._checks:
                if column not in record:
                    raise InvalidInput(
                        f"Record {i} has no column {column!r}, which the model was trained "
                        "with; send it, null where the value is unknown."
                    )
                value = record[column]
                if not accepts(value, max_chars):
                    raise InvalidInput(self._refusal(i, column, value))
            if len(record) != width:
                extra = next(name for name in record if name not in self.types)
                raise InvalidInput(
                    f"Record {i} has a column {extra!r} the model does not use; send only "
                    f"its features ({_listed(self.columns)})."
                )
            for column in self._flags:  # a yes/no word becomes what the model learnt
                if type(record[column]) is str:
                    word = _BOOLEAN_TEXT.search(record[column])
                    record[column] = _FLAGS[word[1].lower()] if word else None
        return records

    def _refusal(self, index: int, column: str, value: Any) -> str:
        assert self.types is not None
        wanted = RULES[self.types[column]][1]
        if type(value) in _NUMBERS and not in_range(value):
            return (
                f"Record {index}, column {column!r}: {_show(value)} is out of range; a number "
                f"is at most {LARGEST_NUMBER:.4g} in size."
            )
        if type(value) is str and len(value) > self.max_chars:
            return (
                f"Record {index}, column {column!r}: the text has {len(value)} characters, "
                f"more than the limit of {self.max_chars}."
            )
        return f"Record {index}, column {column!r}: {_show(value)} is not {wanted}."

    def schema(self) -> dict[str, Any]:
        """One record as JSON Schema (any object when the columns are not known)."""
        if self.types is None:
            return {"type": "object"}
        return {
            "type": "object",
            "properties": {
                column: RULES[kind_][2](self.max_chars) for column, kind_ in self.types.items()
            },
            "required": self.columns,
            "additionalProperties": False,
        }


def _show(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _listed(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"
