"""The FastAPI routes and error handlers of the prediction API, documented in OpenAPI."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from mlcycle.core.errors import Conflict, MlcycleError
from mlcycle.serve.auth import API_KEY_SCOPE, Authenticator
from mlcycle.serve.experiment import Experiment
from mlcycle.serve.feedback import FeedbackService
from mlcycle.serve.follow import AliasFollower
from mlcycle.serve.gateway import ANSWER_SCOPE
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.predict import PREDICT_PATH, PredictService, body_chunks
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.registry_events import HOOK_PATH, RegistryEvents
from mlcycle.serve.responses import INTERNAL_ERROR, HttpError, json_response
from mlcycle.serve.schemas import (
    ErrorBody,
    FeedbackAnswer,
    MlflowResponse,
    ModelInfo,
    PredictResponse,
    RecordsClassesResponse,
    RecordsValuesResponse,
    ReloadAnswer,
    Status,
    feedback_schema,
    predict_schema,
    records_schema,
)
from mlcycle.serve.validation import Limits, check_content_type, read_body

log = logging.getLogger(__name__)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "No API key was sent (when keys are on).",
        403: "The API key is not valid, or its role may not use this endpoint.",
        404: "A request id in the feedback was never logged (for this key).",
        408: "The body did not arrive in time.",
        409: "The server cannot do this in its configuration, or a new version failed.",
        413: "Too many texts (records), or a body over the byte limit.",
        415: "The body is not sent as application/json.",
        422: "The body is not a valid request; the detail names the fault (a bad text in "
        "a valid request is not refused: it gets its own error in the answer).",
        503: "The model is not loaded yet.",
    }.items()
}
_PREDICT_ERRORS = (401, 403, 408, 413, 415, 422, 503)
_FEEDBACK_ERRORS = (401, 403, 404, 408, 409, 413, 415, 422, 503)


@dataclass(frozen=True)
class Services:
    """What the routes work with."""

    holder: ModelHolder
    predict: PredictService
    feedback: FeedbackService
    recorder: Recorder
    metrics: Metrics | None
    follower: AliasFollower | None
    limits: Limits
    kind: str = "text"  # the task's answers: text, classification or regression
    events: RegistryEvents | None = None  # alias events from a team server's webhook
    experiment: Experiment | None = None  # serve.experiment: a challenger beside the model


_SUMMARIES = {
    "text": "Ranked codes for a batch of texts",
    "classification": "Ranked classes for a batch of records",
    "regression": "Predicted values for a batch of records",
}
# The 200 answer of /predict, by the task's kind.
_ANSWERS: dict[str, Any] = {
    "text": PredictResponse,
    "classification": RecordsClassesResponse | MlflowResponse,
    "regression": RecordsValuesResponse | MlflowResponse,
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: _ERRORS[status] for status in statuses}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_routes(app: FastAPI, services: Services) -> None:
    """The API's routes."""
    _add_data_routes(app, services)
    _add_admin_routes(app, services)
    _add_probe_routes(app, services)
    if services.events is not None:
        _add_event_route(app, services.events, services.limits)
    document_model(app, services)


def document_model(app: FastAPI, services: Services) -> None:
    """Put the bodies ``/predict`` and ``/feedback`` take for the model answering now in
    the OpenAPI document (a tabular model's columns and classes are known once loaded)."""
    predictor, limits = services.holder.predictor, services.limits
    if predictor is not None:
        predict = predictor.request_schema(limits)
    elif services.kind == "text":
        predict = predict_schema(limits)
    else:  # still loading: records of any columns
        predict = records_schema(limits, {"type": "object"})
    truth = services.feedback.truth
    bodies = {
        PREDICT_PATH: predict,
        "/feedback": feedback_schema(limits, truth.field, truth.schema()),
    }
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path in bodies:
            route.openapi_extra = _json_body(bodies[route.path])
    app.openapi_schema = None  # built again at the next request for it


def _add_data_routes(app: FastAPI, services: Services) -> None:
    """/predict (documented here, answered by the gateway's fast path) and /feedback."""

    @app.post(
        PREDICT_PATH, summary=_SUMMARIES[services.kind], response_model=None,
        responses={200: {"model": _ANSWERS[services.kind]}, **_errors(*_PREDICT_ERRORS)},
    )  # fmt: skip
    async def predict(request: Request) -> Response:
        chunks = body_chunks(request.receive, services.limits.body_timeout_s)
        status, body, request_id, answer = await services.predict.respond(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            chunks,
            request.scope.get(API_KEY_SCOPE),
        )
        request.scope[ANSWER_SCOPE] = answer
        headers = {"X-Request-ID": request_id}
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    @app.post(
        "/feedback", summary="The truth of predictions answered before", response_model=None,
        responses={200: {"model": FeedbackAnswer}, **_errors(*_FEEDBACK_ERRORS)},
    )  # fmt: skip
    async def feedback(request: Request) -> Response:
        check_content_type(request.headers.get("content-type"))
        chunks = body_chunks(request.receive, services.limits.body_timeout_s)
        body = await read_body(chunks, services.limits)
        stored = await services.feedback.store(body, request.scope.get(API_KEY_SCOPE))
        return json_response(200, stored)


def _add_admin_routes(app: FastAPI, services: Services) -> None:
    """/admin/reload and /metrics."""

    @app.post(
        "/admin/reload", summary="Check the served alias now and swap if it moved",
        response_model=ReloadAnswer, responses=_errors(401, 403, 409, 503),
    )  # fmt: skip
    async def reload() -> dict[str, Any]:
        follower = services.follower
        if follower is None:
            raise Conflict("This server answers with a fixed model; there is nothing to reload.")
        result = await run_in_threadpool(follower.check, True)
        follower.touch_trigger()
        if result.error is not None:  # the reason is in the server log, not for clients
            raise Conflict(
                f"Version {result.previous} keeps answering: the new version failed to load "
                "or to answer its check; the server log says why."
            )
        return {"previous": result.previous, "current": result.current, "swapped": result.swapped}

    if services.metrics is not None:
        metrics, recorder = services.metrics, services.recorder

        @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
        async def scrape() -> Response:
            recorder.update_metrics()
            text, content_type = metrics.render()
            return Response(text, media_type=content_type)


def _add_event_route(app: FastAPI, events: RegistryEvents, limits: Limits) -> None:
    """/hooks/registry: a team server's signed alias events (mlcycle.serve.registry_events)."""

    @app.post(
        HOOK_PATH, summary="A registry event from the tracking server (signed)",
        response_model=None, responses=_errors(401, 408, 413, 422),
    )  # fmt: skip
    async def registry_event(request: Request) -> Response:
        body = await read_body(body_chunks(request.receive, limits.body_timeout_s), limits)
        headers = {name.lower(): value for name, value in request.headers.items()}
        done = events.receive(headers, body)
        # Answered before the check runs: MLflow's delivery does not wait on a model load.
        task = BackgroundTask(run_in_threadpool, events.check) if done["accepted"] else None
        response = json_response(202 if done["accepted"] else 200, done)
        response.background = task
        return response


def _add_probe_routes(app: FastAPI, services: Services) -> None:
    """/health, /ready and / (which model)."""
    holder = services.holder

    @app.get(
        "/health", summary="The process is alive", response_model=Status,
        response_model_exclude_none=True,
    )  # fmt: skip
    async def health() -> dict[str, str]:
        return {"status": "alive"}

    experiment = services.experiment

    @app.get(
        "/ready", summary="The model is loaded", response_model=Status,
        response_model_exclude_none=True, responses=_errors(503),
    )  # fmt: skip
    async def ready() -> dict[str, Any]:
        holder.require()
        if experiment is None:
            return {"status": "ready"}
        # Ready with the champion alone when the challenger is missing: it says why.
        return {"status": "ready", "experiment": experiment.status()}

    @app.get(
        "/", summary="The model served", response_model=ModelInfo,
        response_model_exclude_none=True, responses=_errors(401, 403, 503),
    )  # fmt: skip
    async def info() -> dict[str, Any]:
        return holder.require().info()


def document_security(app: FastAPI, auth: Authenticator) -> None:
    """Declare the API-key schemes in OpenAPI on every path that needs a key."""
    if not auth.enabled:
        return

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            spec.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
            for path, operations in spec["paths"].items():
                if auth.needs_key(path):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}, {"apiKey": []}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_error_handlers(app: FastAPI) -> None:
    """JSON ``{error, detail}`` bodies for every error, never a traceback."""

    @app.exception_handler(MlcycleError)
    async def mlcycle_error(request: Request, exc: MlcycleError) -> Response:
        return json_response(exc.http_status, exc.to_dict())

    @app.exception_handler(HttpError)
    async def wire_error(request: Request, exc: HttpError) -> Response:
        return Response(exc.body, exc.status, exc.headers, media_type="application/json")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return json_response(exc.status_code, _http_error_body(request, exc), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "request"
        return json_response(422, {"error": "invalid_input", "detail": f"{where}: {first['msg']}."})

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
