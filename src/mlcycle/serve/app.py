"""The prediction API: ``create_app`` builds one FastAPI app around one model.

Routes: ``POST /predict`` (ranked codes), ``GET /health`` (the process is alive),
``GET /ready`` (the model is loaded), ``GET /`` (which model), ``/docs`` (OpenAPI).
Every error is JSON ``{"error": code, "detail": sentence}``; a client's mistake is a
4xx and a server fault a 500 without a traceback in the body.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from mlcycle import __version__
from mlcycle.core.errors import MlcycleError
from mlcycle.core.settings import Settings, get_settings
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.predict import INTERNAL_ERROR, PREDICT_PATH, PredictFastPath, PredictService
from mlcycle.serve.schemas import ErrorBody, ModelInfo, PredictRequest, PredictResponse, Status
from mlcycle.serve.validation import Limits

if TYPE_CHECKING:
    from mlcycle.registry.loading import ServedModel

log = logging.getLogger(__name__)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        413: "Too many texts, or a body over the byte limit.",
        415: "The body is not sent as application/json.",
        422: "The body is not a valid request; the detail names the fault.",
        503: "The model is not loaded yet.",
    }.items()
}


def create_app(
    model: ServedModel | None = None,
    settings: Settings | None = None,
    *,
    fast_path: bool = True,
) -> FastAPI:
    """Build the API.

    Args:
        model: The model to serve. When None, ``settings.serve.model`` is loaded from
            the registry at startup, in the background: ``/health`` answers at once,
            ``/ready`` and ``/predict`` answer 503 until the model is in.
        settings: Limits and the model reference; ``get_settings()`` when None.
        fast_path: Answer ``POST /predict`` ahead of FastAPI's routing (the same code
            either way, several times the throughput with it).
    """
    settings = settings or get_settings()
    holder = ModelHolder(settings.serve.model, model)
    service = PredictService(holder, Limits.from_settings(settings.serve))
    app = FastAPI(
        title="mlcycle prediction API",
        version=__version__,
        description="Ranked activity codes with probabilities for free-text descriptions.",
        lifespan=_lifespan(holder, settings),
    )
    app.state.holder = holder
    _add_error_handlers(app)
    _add_routes(app, holder, service)
    if fast_path:
        app.add_middleware(PredictFastPath, service=service)
    return app


def _lifespan(
    holder: ModelHolder, settings: Settings
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if holder.predictor is None:
            holder.load_in_background(lambda: _load_registered(holder.ref, settings))
        yield

    return lifespan


def _load_registered(ref: str, settings: Settings) -> ServedModel:
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.loading import load_served_model

    use_tracking(settings)
    return load_served_model(ref)


def _add_routes(app: FastAPI, holder: ModelHolder, service: PredictService) -> None:
    @app.post(
        PREDICT_PATH,
        summary="Ranked codes for a batch of texts",
        response_model=None,
        responses={200: {"model": PredictResponse}, **_ERRORS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
            }
        },
    )
    async def predict(request: Request) -> Response:
        status, body = await service.respond(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
        )
        return Response(body, status_code=status, media_type="application/json")

    @app.get("/health", summary="The process is alive", response_model=Status)
    async def health() -> dict[str, str]:
        return {"status": "alive"}

    @app.get(
        "/ready",
        summary="The model is loaded",
        response_model=Status,
        responses={503: _ERRORS[503]},
    )
    async def ready() -> dict[str, str]:
        holder.require()
        return {"status": "ready"}

    @app.get(
        "/", summary="The model served", response_model=ModelInfo, responses={503: _ERRORS[503]}
    )
    async def info() -> dict[str, Any]:
        return holder.require().info()


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MlcycleError)
    async def mlcycle_error(request: Request, exc: MlcycleError) -> Response:
        return _json(exc.http_status, exc.to_dict())

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _json(exc.status_code, _http_error_body(request, exc), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "request"
        return _json(422, {"error": "invalid_input", "detail": f"{where}: {first['msg']}."})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return Response(INTERNAL_ERROR, status_code=500, media_type="application/json")


def _http_error_body(request: Request, exc: HTTPException) -> dict[str, str]:
    method, path = request.method, request.url.path
    if exc.status_code == 404:
        return {"error": "not_found", "detail": f"There is no {path} here; see /docs for the API."}
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "another method")
        return {
            "error": "method_not_allowed",
            "detail": f"{method} is not allowed on {path}; use {allowed}.",
        }
    return {"error": "http_error", "detail": str(exc.detail)}


def _json(status: int, content: dict[str, str], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type="application/json")
