"""Hand-written validation of ``/predict`` requests: fast, with one clear sentence each.

Parsing with orjson and checking a few types by hand costs a few microseconds, where a
pydantic body costs FastAPI a good share of its throughput; the messages also name the
exact item at fault. ``mlcycle.serve.schemas.predict_schema`` documents the same rules.
What is checked here refuses the whole request; a text that cannot be read is only that
text's fault (``mlcycle.serve.faults``).
Every route reads its body with ``read_body``: within a byte limit and a number of JSON
values, which both follow from the batch and text limits (for a tabular model, from its
columns too: :meth:`Limits.for_records`). Bodies in MLflow's forms and bodies of records
are read by ``mlcycle.serve.bodies``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import ErrorCode, InvalidInput, MlcycleError
from mlcycle.core.settings import ServeSettings

# JSON escapes take up to 6 bytes for one character (``\u00e9``); a body larger than
# every text at the limit written that way cannot be a valid request.
_BYTES_PER_CHAR = 6
_ENVELOPE_BYTES = 4096
# The largest number (in size) a request may hold where a number is a value (a record's,
# a true value). JSON Schema compares integers exactly and orjson keeps integers exact up
# to 2**64, so a bound below that is the same for the schema and the server; near the
# largest double, a large integer would be rounded to it and slip past.
LARGEST_NUMBER = 2**63
# Bodies up to this size are parsed as they come: whatever they hold, orjson is done in
# under half a millisecond. Larger ones have their JSON values counted first, off the
# event loop (a 12 MB body of ``[],`` is four million lists: 355 MB and a second of
# parsing); ``mlcycle.serve.predict`` parses them off the loop too.
LARGE_BODY_BYTES = 16 * 1024
# JSON values in one item of the largest kind, a feedback item (five strings, a brace,
# three commas), and in a request's envelope, with room to spare.
_VALUES_PER_ITEM = 10
_ENVELOPE_VALUES = 16
# A record of n columns holds at most 3n + 2 values: n names, n string values, the commas
# between them, its brace and the comma after it. An MLflow body names its columns once.
_VALUES_PER_COLUMN = 3
# Bytes a record's column may take besides its name and a string value: quotes, colon,
# comma and some white space (a number fits in it too).
_BYTES_PER_COLUMN = 16
_FIELDS = ("texts", "k")
TEXT_EXAMPLE = '{"texts": ["Restaurant traditionnel"], "k": 5}'


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may ask for."""

    max_batch: int
    max_text_chars: int
    max_k: int
    max_body_bytes: int
    # Seconds a body may take to arrive once its first bytes are in (then 408).
    body_timeout_s: float = 15.0
    # The longest text a value of a record may be (a category, a date).
    max_value_chars: int = 256
    # JSON values one item (a text, a record) and the rest of a body may hold.
    values_per_item: int = _VALUES_PER_ITEM
    envelope_values: int = _ENVELOPE_VALUES
    # What the items of a request are, for messages.
    unit: str = "texts"

    @classmethod
    def from_settings(cls, serve: ServeSettings) -> Limits:
        """Limits from the serve settings; the byte limit follows from the other two."""
        per_text = serve.max_text_chars * _BYTES_PER_CHAR + 8
        return cls(
            max_batch=serve.max_batch,
            max_text_chars=serve.max_text_chars,
            max_k=serve.max_k,
            max_body_bytes=serve.max_batch * per_text + _ENVELOPE_BYTES,
            body_timeout_s=serve.body_timeout_s,
            max_value_chars=serve.max_value_chars,
        )

    def for_records(self, columns: Sequence[str]) -> Limits:
        """The limits of requests of records with these columns (a tabular model's).

        A record may hold every column with a string value of ``max_value_chars``, each
        character escaped; the byte limit is the larger of that and the text one.
        """
        per_value = self.max_value_chars * _BYTES_PER_CHAR + _BYTES_PER_COLUMN
        per_record = sum(len(name) * _BYTES_PER_CHAR + per_value for name in columns) + 8
        values = _VALUES_PER_COLUMN * len(columns) + 2
        return replace(
            self,
            max_body_bytes=max(self.max_body_bytes, self.max_batch * per_record + _ENVELOPE_BYTES),
            values_per_item=max(_VALUES_PER_ITEM, values),
            envelope_values=_ENVELOPE_VALUES + 2 * len(columns),
            unit="records",
        )


def check_content_type(content_type: str | None) -> None:
    """Refuse anything but a JSON body (415)."""
    if content_type is None:
        raise _unsupported("The request has no Content-Type; send JSON with 'application/json'.")
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json":
        raise _unsupported(
            f"Content-Type '{media or content_type}' is not supported; send JSON with "
            "'application/json'."
        )


def check_declared_length(content_length: str | None, limits: Limits) -> None:
    """Refuse a body whose declared size is over the limit, before reading it (413)."""
    if content_length and content_length.isdigit() and int(content_length) > limits.max_body_bytes:
        raise _too_large(limits)


async def read_body(chunks: AsyncIterator[bytes], limits: Limits) -> bytes:
    """Read the body, stopping as soon as it goes over the limit (chunked uploads too).

    A large body is also refused (413) when it holds more JSON values than a request of
    ``max_batch`` items can, before anything parses it.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise _too_large(limits)
        parts.append(chunk)
    body = parts[0] if len(parts) == 1 else b"".join(parts)
    most = limits.values_per_item * limits.max_batch + limits.envelope_values
    # Raised here, not in the thread: an error from a worker thread is in a reference
    # cycle with anyio's frames, which would hold the body until a garbage collection.
    if size > LARGE_BODY_BYTES and await run_in_threadpool(_holds_more_values, body, most):
        raise _too_many_values(limits)
    return body


def parse_predict(body: bytes, limits: Limits) -> tuple[list[Any], int]:
    """Return the texts and k of a ``/predict`` body, or raise one clear error."""
    return parse_texts(load_object(body, TEXT_EXAMPLE), limits)


def parse_texts(payload: dict[str, Any], limits: Limits) -> tuple[list[Any], int]:
    """The texts and k of a decoded ``{"texts": [...], "k": 3}`` body."""
    for key in payload:
        if key not in _FIELDS:
            raise InvalidInput(f"Unknown field '{key}'; a request has only 'texts' and 'k'.")
    return check_texts(payload.get("texts"), limits), check_k(payload.get("k", 1), limits)


def load_object(body: bytes, example: str) -> dict[str, Any]:
    """The JSON object of a body, or one clear InvalidInput.

    JSON has no NaN, but Python's ``json.dumps`` writes one for a missing number, as
    clients of ``mlflow models serve`` send it: such a body is read by Python's parser.
    """
    if not body.strip():
        raise InvalidInput(f"The request body is empty; send a JSON object like {example}.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        payload = _with_constants(body, exc)
    if not isinstance(payload, dict):
        raise InvalidInput(
            f"The request body must be a JSON object like {example}, not {kind(payload)}."
        )
    return payload


def _with_constants(body: bytes, error: orjson.JSONDecodeError) -> Any:
    """A body with ``NaN`` or ``Infinity`` parsed by Python, else ``error`` as a sentence."""
    if b"NaN" in body or b"Infinity" in body:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            pass
    raise InvalidInput(f"The request body is not valid JSON ({error}).") from None


def _holds_more_values(body: bytes, most: int) -> bool:
    """Whether a JSON body holds more than ``most`` values, found without parsing it.

    Parsing builds a Python object for every value, so the values, not the bytes, are
    what a body costs. They are counted with byte searches that run at memory speed.
    Strings lie between the quotes that are not escaped: valid JSON has backslashes only
    inside strings, so dropping escaped backslashes, then escaped quotes, leaves just
    those. Outside strings, every value but a container's first follows a comma, and
    containers open with a bracket or a brace. In a body that is not valid JSON the
    counts are exact up to its first fault, which is where the parser stops as well.
    """
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in body else body
    values = plain.count(b'"') // 2
    if values > most:
        return True
    outside = plain.split(b'"')[::2]
    for mark in (b",", b"[", b"{"):  # commas first: they are what a long array has most
        values += sum(part.count(mark) for part in outside)
        if values > most:
            return True
    return False


def check_texts(texts: Any, limits: Limits, name: str = "texts") -> list[Any]:
    """The list of a request's texts (``name`` is their field), or one clear error.

    Only the list is checked here: a text that is not a string, blank or too long gets
    its own error in the answer (``mlcycle.serve.faults``), not a refused request.
    """
    if texts is None:
        raise InvalidInput(f"The request has no '{name}'; send a JSON object like {TEXT_EXAMPLE}.")
    if not isinstance(texts, list):
        raise InvalidInput(f"'{name}' must be a list of strings, not {kind(texts)}.")
    check_count(name, len(texts), limits)
    return texts


def check_count(name: str, count: int, limits: Limits) -> None:
    """Refuse an empty list of items (422) or one longer than the batch limit (413)."""
    if not count:
        raise InvalidInput(
            f"'{name}' is empty; send between 1 and {limits.max_batch} {limits.unit}."
        )
    if count > limits.max_batch:
        raise MlcycleError(
            f"'{name}' has {count} items, more than the limit of {limits.max_batch}; "
            "split the batch.",
            code=ErrorCode.TOO_LARGE,
        )


def check_k(k: Any, limits: Limits, name: str = "k") -> int:
    """How many ranked answers a request asks for, or one clear error."""
    whole = json_integer(k)
    if whole is None:
        raise InvalidInput(f"'{name}' must be an integer from 1 to {limits.max_k}, not {kind(k)}.")
    if not 1 <= whole <= limits.max_k:
        raise InvalidInput(f"'{name}' must be from 1 to {limits.max_k}, got {k}.")
    return whole


def json_integer(value: Any) -> int | None:
    """``value`` as an int when JSON Schema calls it an integer (5, and 5.0 too), else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def in_range(number: int | float) -> bool:
    """Whether a JSON number is at most ``LARGEST_NUMBER`` in size (NaN, a missing
    value from Python's ``json``, is)."""
    return not abs(number) > LARGEST_NUMBER


def number_schema() -> dict[str, Any]:
    """The JSON schema of a number that passes :func:`in_range`."""
    return {"type": "number", "minimum": -LARGEST_NUMBER, "maximum": LARGEST_NUMBER}


def kind(value: Any) -> str:
    """Name a decoded JSON value's type the way JSON does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _unsupported(message: str) -> MlcycleError:
    return MlcycleError(message, code=ErrorCode.UNSUPPORTED_MEDIA)


def _too_many_values(limits: Limits) -> MlcycleError:
    return MlcycleError(
        f"The request body holds more JSON values than {limits.max_batch} items need; "
        f"send at most {limits.max_batch} {limits.unit} (or feedback items) per request.",
        code=ErrorCode.TOO_LARGE,
    )


def _too_large(limits: Limits) -> MlcycleError:
    return MlcycleError(
        f"The request body is over the limit of {limits.max_body_bytes} bytes; "
        f"send fewer or shorter {limits.unit}.",
        code=ErrorCode.TOO_LARGE,
    )
