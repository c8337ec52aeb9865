"""What ``POST /feedback`` accepts as the truth of a prediction, by task.

* text classification: ``true_code``, a label in the task's canonical form (a code of
  its nomenclature where it has one: ``56.10A`` is read as ``5610A``);
* tabular classification: ``true_code``, one of the classes of the model answering;
* regression: ``true_value``, a finite number (not a text, not NaN or infinity).

Each rule reads a raw JSON value (None when it is not a valid truth), says what a valid
one is for messages, and gives the same rule as JSON Schema for the API's documentation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mlcycle.serve.validation import LARGEST_NUMBER, in_range, number_schema

TRUE_CODE, TRUE_VALUE = "true_code", "true_value"
_SHOWN_CLASSES = 8


class TruthRule(Protocol):
    """How the truth of one prediction is sent and checked."""

    @property
    def field(self) -> str: ...

    def read(self, raw: Any) -> str | float | None:
        """The truth in canonical form, or None when ``raw`` is not a valid one."""

    def described(self) -> str:
        """What a valid truth is, for messages: ``a finite number``."""

    def schema(self) -> dict[str, Any]:
        """The field's JSON Schema."""


@dataclass(frozen=True)
class LabelRule:
    """A label of a text classifier: the task's canonical form, and how to say so."""

    normalise: Callable[[str], str | None] = lambda raw: raw.strip() or None
    description: str = "a non-empty label"
    pattern: str = r"\S"  # the same rule as a regular expression, for the API schema
    field: str = TRUE_CODE

    def read(self, raw: Any) -> str | None:
        return self.normalise(raw) if isinstance(raw, str) else None

    def described(self) -> str:
        return self.description

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern}


@dataclass(frozen=True)
class ClassRule:
    """A class of the tabular classifier answering now (read when feedback arrives)."""

    classes: Callable[[], Sequence[str]]
    field: str = TRUE_CODE

    def read(self, raw: Any) -> str | None:
        return raw if isinstance(raw, str) and raw in self.classes() else None

    def described(self) -> str:
        classes = list(self.classes())
        shown = ", ".join(repr(c) for c in classes[:_SHOWN_CLASSES])
        more = f" and {len(classes) - _SHOWN_CLASSES} more" if len(classes) > _SHOWN_CLASSES else ""
        return f"one of the model's classes ({shown}{more})"

    def schema(self) -> dict[str, Any]:
        classes = list(self.classes())
        return {"type": "string", "enum": classes} if classes else {"type": "string"}


@dataclass(frozen=True)
class ValueRule:
    """The true value of a regression: a finite number."""

    field: str = TRUE_VALUE

    def read(self, raw: Any) -> float | None:
        if type(raw) not in (int, float) or not in_range(raw):  # not text, not true/false
            return None
        value = float(raw)
        return value if math.isfinite(value) else None

    def described(self) -> str:
        return f"a finite number, at most {LARGEST_NUMBER:.4g} in size"

    def schema(self) -> dict[str, Any]:
        described = {"description": "The true value of the prediction.", "examples": [151.0]}
        return {**number_schema(), **described}
