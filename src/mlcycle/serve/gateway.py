"""The outermost ASGI layer: API keys, request ids, metric events, the ``/predict`` fast path.

FastAPI's routing, dependency solving and response classes cost more per request than
the model does for one text, so ``POST /predict`` is answered here, before FastAPI
sees it; every other request is passed on. Either way this layer checks the API key,
refuses a body declared over the byte limit (413) before anything reads it, adds an
``X-Request-ID`` header, and leaves one event for the metrics.
"""

from __future__ import annotations

import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlcycle.core.errors import MlcycleError
from mlcycle.data.predlog import new_request_id
from mlcycle.serve.auth import API_KEY_SCOPE, Authenticator
from mlcycle.serve.job_routes import JOBS_PATH
from mlcycle.serve.predict import PREDICT_PATH, PredictService, body_chunks
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.responses import HttpError, send_json
from mlcycle.serve.validation import check_declared_length

# Routes with their own metric label; any other path is counted as "other", so clients
# probing random paths cannot grow the metrics without bound.
ROUTES = frozenset(
    ["/predict", "/feedback", "/admin/reload", "/health", "/ready", "/metrics", "/",
     "/docs", "/openapi.json", "/hooks/registry", "/jobs"]
)  # fmt: skip
ANSWER_SCOPE = "mlcycle.answer"
_REQUEST_ID = b"x-request-id"


class Gateway:
    """ASGI middleware in front of the FastAPI app."""

    def __init__(
        self,
        app: ASGIApp,
        service: PredictService,
        auth: Authenticator,
        recorder: Recorder,
        fast_path: bool = True,
    ) -> None:
        self.app = app
        self.service = service
        self.auth = auth
        self.recorder = recorder
        self.fast_path = fast_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        content_type = content_length = authorization = api_key = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
        recorder = self.recorder
        recorder.in_flight += 1
        status, answer = 500, None
        try:
            key_name = None
            if self.auth.needs_key(path):
                key_name = self.auth.identify(authorization, api_key, path)
            if self.fast_path and path == PREDICT_PATH and scope["method"] == "POST":
                chunks = body_chunks(receive, self.service.limits.body_timeout_s)
                status, body, request_id, answer = await self.service.respond(
                    content_type, content_length, chunks, key_name
                )
                await send_json(send, status, body, request_id)
                return
            if scope["method"] in ("POST", "PUT", "PATCH") and path != JOBS_PATH:
                # A job's upload is a whole file, bounded by its own limit.
                check_declared_length(content_length, self.service.current_limits())
            scope[API_KEY_SCOPE] = key_name
            status = await self._forward(scope, receive, send)
            answer = scope.get(ANSWER_SCOPE)
        except HttpError as exc:
            status = exc.status
            await send_json(send, status, exc.body, new_request_id(_now_ms()), exc.headers)
        except MlcycleError as exc:  # a body declared over the limit
            status = exc.http_status
            body = orjson.dumps(exc.to_dict())
            await send_json(send, status, body, new_request_id(_now_ms()))
        finally:
            recorder.in_flight -= 1
            route = path if path in ROUTES else "other"
            recorder.request((route, status, time.perf_counter() - start, answer))

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> int:
        """Run the FastAPI app; return the status it answered with."""
        seen = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen[0] = message["status"]
                headers = list(message.get("headers", ()))
                if not any(name == _REQUEST_ID for name, _ in headers):
                    headers.append((_REQUEST_ID, new_request_id(_now_ms()).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
        return seen[0]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
