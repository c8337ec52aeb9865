"""Raw ASGI JSON responses and the HTTP-only errors (401, 403, 408) of the API.

Every error body is ``{"error": code, "detail": sentence}``. mlcycle's own errors carry
their status (``MlcycleError.http_status``); the few statuses that exist only on the
wire are :class:`HttpError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Send

INTERNAL_ERROR = orjson.dumps(
    {
        "error": "internal_error",
        "detail": "The server failed to answer this request; the error is in its log.",
    }
)
_JSON = (b"content-type", b"application/json")


class HttpError(Exception):
    """An error answered with its own status and body, before any route runs."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.body = orjson.dumps({"error": code, "detail": detail})
        self.headers = headers or {}


def json_response(
    status: int, content: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    """A route's JSON answer (orjson: the shape every route answers in)."""
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def request_timeout(part: str, seconds: float) -> HttpError:
    """The 408 of a request whose ``part`` (headers or body) did not arrive in time."""
    return HttpError(
        408,
        "request_timeout",
        f"The request {part} did not arrive within {seconds:g} seconds; send the whole "
        "request at once.",
    )


async def send_json(
    send: Send,
    status: int,
    body: bytes,
    request_id: str | None = None,
    extra: dict[str, str] | None = None,
) -> None:
    """Send a complete JSON response in two ASGI messages."""
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    if extra:
        headers += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
