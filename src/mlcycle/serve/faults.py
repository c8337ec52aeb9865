"""Per-text errors: a text a model cannot read gets its own error, the others their answer.

A batch is one client's many texts, often taken from a file as they are; one blank line
among a thousand descriptions is the text's fault, not the request's. A text that is not
a string, is blank, or is longer than ``serve.max_text_chars`` is left out of what the
model predicts: its position in the answer's ``predictions`` is null, and ``errors``
holds ``{"index", "error", "message"}`` for it, in the order of the texts. Only a
request that is itself malformed (not JSON, no list of texts, too many of them, a bad
``k``) is refused whole (``mlcycle.serve.validation``).

A text answered with an error is not a prediction, so the prediction log has no row for
it (the rows of the others keep their index in the request, so feedback lines up) and
feedback on it is refused; ``mlcycle_prediction_input_errors_total`` counts them by error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlcycle.serve.validation import kind

# The errors a text may have: stable words for clients and the metrics' label.
NOT_A_STRING = "not_a_string"
BLANK = "blank"
TOO_LONG = "too_long"
ERRORS = (BLANK, NOT_A_STRING, TOO_LONG)


@dataclass(frozen=True)
class Fault:
    """Why the text at ``index`` in the request was not answered."""

    index: int
    error: str  # one of ERRORS
    message: str  # one sentence: what is wrong and what to do


def split_texts(texts: list[Any], max_chars: int, name: str) -> tuple[list[str], tuple[Fault, ...]]:
    """The texts a model can answer, in order, and a fault for each other item.

    ``name`` is the request's field (``texts``, or an MLflow body's), for messages. When
    every text is good the list is returned as it is: the usual request pays one pass.
    """
    faults = [
        _fault(index, text, max_chars, name)
        for index, text in enumerate(texts)
        if type(text) is not str or len(text) > max_chars or not text or text.isspace()
    ]
    if not faults:
        return texts, ()
    bad = {fault.index for fault in faults}
    return [text for i, text in enumerate(texts) if i not in bad], tuple(faults)


def _fault(index: int, text: Any, max_chars: int, name: str) -> Fault:
    """The fault of an item that is not a text the model can read."""
    where = f"{name}[{index}]"
    if type(text) is not str:
        return Fault(index, NOT_A_STRING, f"{where} must be a string, not {kind(text)}.")
    if len(text) > max_chars:
        return Fault(index, TOO_LONG, f"{where} has {len(text)} characters, more than the "
                     f"limit of {max_chars}; shorten it.")  # fmt: skip
    return Fault(index, BLANK, f"{where} is empty or blank; send a description.")


def answered(faults: Sequence[Fault], size: int) -> list[int]:
    """The positions in a request of ``size`` items of those answered (not at fault)."""
    bad = {fault.index for fault in faults}
    return [i for i in range(size) if i not in bad]


def with_gaps(answers: list[Any], faults: Sequence[Fault]) -> list[Any]:
    """The answers of the good items, with None at each fault's position."""
    out = list(answers)
    for fault in faults:  # in index order, so each position is right once the earlier are in
        out.insert(fault.index, None)
    return out


def error_list(faults: Sequence[Fault]) -> list[dict[str, Any]]:
    """The answer's ``errors``: one object per fault, in index order."""
    return [{"index": f.index, "error": f.error, "message": f.message} for f in faults]
