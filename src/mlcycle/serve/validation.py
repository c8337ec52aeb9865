"""Hand-written validation of ``/predict`` requests: fast, with one clear sentence each.

Parsing with orjson and checking a few types by hand costs a few microseconds, where a
pydantic body costs FastAPI a good share of its throughput; the messages also name the
exact item at fault. ``mlcycle.serve.schemas.PredictRequest`` documents the same rules.
Every route reads its body with ``read_body``: within a byte limit and a number of JSON
values, which both follow from the batch and text limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import ErrorCode, InvalidInput, MlcycleError
from mlcycle.core.settings import ServeSettings

# JSON escapes take up to 6 bytes for one character (``\u00e9``); a body larger than
# every text at the limit written that way cannot be a valid request.
_BYTES_PER_CHAR = 6
_ENVELOPE_BYTES = 4096
# Bodies up to this size are parsed as they come: whatever they hold, orjson is done in
# under half a millisecond. Larger ones have their JSON values counted first, off the
# event loop (a 12 MB body of ``[],`` is four million lists: 355 MB and a second of
# parsing); ``mlcycle.serve.predict`` parses them off the loop too.
LARGE_BODY_BYTES = 16 * 1024
# JSON values in one item of the largest kind, a feedback item (five strings, a brace,
# three commas), and in a request's envelope, with room to spare.
_VALUES_PER_ITEM = 10
_ENVELOPE_VALUES = 16
_FIELDS = ("texts", "k")
_EXAMPLE = '{"texts": ["Restaurant traditionnel"], "k": 5}'


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may ask for."""

    max_batch: int
    max_text_chars: int
    max_k: int
    max_body_bytes: int
    # Seconds a body may take to arrive once its first bytes are in (then 408).
    body_timeout_s: float = 15.0

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
    most = _VALUES_PER_ITEM * limits.max_batch + _ENVELOPE_VALUES
    # Raised here, not in the thread: an error from a worker thread is in a reference
    # cycle with anyio's frames, which would hold the body until a garbage collection.
    if size > LARGE_BODY_BYTES and await run_in_threadpool(_holds_more_values, body, most):
        raise _too_many_values(limits)
    return body


def parse_predict(body: bytes, limits: Limits) -> tuple[list[str], int]:
    """Return the texts and k of a ``/predict`` body, or raise one clear error."""
    if not body.strip():
        raise InvalidInput(f"The request body is empty; send a JSON object like {_EXAMPLE}.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(payload, dict):
        raise InvalidInput(
            f"The request body must be a JSON object like {_EXAMPLE}, not {_kind(payload)}."
        )
    for key in payload:
        if key not in _FIELDS:
            raise InvalidInput(f"Unknown field '{key}'; a request has only 'texts' and 'k'.")
    return _texts(payload.get("texts"), limits), _k(payload.get("k", 1), limits)


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


def _texts(texts: Any, limits: Limits) -> list[str]:
    if texts is None:
        raise InvalidInput(f"The request has no 'texts'; send a JSON object like {_EXAMPLE}.")
    if not isinstance(texts, list):
        raise InvalidInput(f"'texts' must be a list of strings, not {_kind(texts)}.")
    if not texts:
        raise InvalidInput(f"'texts' is empty; send between 1 and {limits.max_batch} texts.")
    if len(texts) > limits.max_batch:
        raise MlcycleError(
            f"'texts' has {len(texts)} items, more than the limit of {limits.max_batch}; "
            "split the batch.",
            code=ErrorCode.TOO_LARGE,
        )
    max_chars = limits.max_text_chars
    for index, text in enumerate(texts):
        if type(text) is not str:
            raise InvalidInput(f"texts[{index}] must be a string, not {_kind(text)}.")
        if len(text) > max_chars:
            raise InvalidInput(
                f"texts[{index}] has {len(text)} characters, more than the limit of {max_chars}."
            )
        if not text or text.isspace():
            raise InvalidInput(f"texts[{index}] is empty or blank; send a description.")
    return texts


def _k(k: Any, limits: Limits) -> int:
    whole = json_integer(k)
    if whole is None:
        raise InvalidInput(f"'k' must be an integer from 1 to {limits.max_k}, not {_kind(k)}.")
    if not 1 <= whole <= limits.max_k:
        raise InvalidInput(f"'k' must be from 1 to {limits.max_k}, got {k}.")
    return whole


def json_integer(value: Any) -> int | None:
    """``value`` as an int when JSON Schema calls it an integer (5, and 5.0 too), else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def _kind(value: Any) -> str:
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
        f"send at most {limits.max_batch} texts (or feedback items) per request.",
        code=ErrorCode.TOO_LARGE,
    )


def _too_large(limits: Limits) -> MlcycleError:
    return MlcycleError(
        f"The request body is over the limit of {limits.max_body_bytes} bytes; "
        "send fewer or shorter texts.",
        code=ErrorCode.TOO_LARGE,
    )
