"""``POST /predict``: one lean code path, reached straight from ASGI.

FastAPI's routing, dependency solving and response classes cost more per request than
the model does for one text, so ``PredictFastPath`` answers ``POST /predict`` before
FastAPI sees it. The FastAPI route of the same path (documented in OpenAPI) calls the
same ``PredictService``, so both ways give byte-identical answers and errors.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from mlcycle.core.errors import MlcycleError
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.validation import (
    Limits,
    check_content_type,
    check_declared_length,
    parse_predict,
    read_body,
)

log = logging.getLogger(__name__)

PREDICT_PATH = "/predict"
# Batches above this run in a worker thread, so one big batch does not stall the loop.
INLINE_TEXTS = 64
INTERNAL_ERROR = orjson.dumps(
    {
        "error": "internal_error",
        "detail": "The server failed to answer this request; the error is in its log.",
    }
)


class PredictService:
    """Turns a raw ``/predict`` request into a status and JSON bytes, never raising."""

    def __init__(self, holder: ModelHolder, limits: Limits) -> None:
        self.holder = holder
        self.limits = limits

    async def respond(
        self, content_type: str | None, content_length: str | None, body: AsyncIterator[bytes]
    ) -> tuple[int, bytes]:
        """Answer one request: 200 with predictions, else a 4xx/5xx error body."""
        try:
            predictor = self.holder.require()
            check_content_type(content_type)
            check_declared_length(content_length, self.limits)
            texts, k = parse_predict(await read_body(body, self.limits), self.limits)
            if len(texts) <= INLINE_TEXTS:
                return 200, predictor.answer(texts, k)
            return 200, await run_in_threadpool(predictor.answer, texts, k)
        except MlcycleError as exc:
            return exc.http_status, orjson.dumps(exc.to_dict())
        except Exception:
            log.exception("POST %s failed", PREDICT_PATH)
            return 500, INTERNAL_ERROR


class PredictFastPath:
    """ASGI middleware answering ``POST /predict`` itself and passing on everything else."""

    def __init__(self, app: ASGIApp, service: PredictService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PREDICT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        content_type = content_length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
        status, body = await self.service.respond(content_type, content_length, _chunks(receive))
        await send_json(send, status, body)


async def send_json(send: Send, status: int, body: bytes) -> None:
    """Send a complete JSON response in two ASGI messages."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
