"""The prediction API: ``create_app`` builds one FastAPI app around one model holder.

Routes: ``POST /predict`` (ranked codes of texts; ranked classes or values of tabular
records), ``POST /feedback`` (true codes or values of past answers), ``POST
/admin/reload`` (check the alias now), ``GET /metrics`` (Prometheus), ``GET /health``
(alive), ``GET /ready`` (model loaded), ``GET /`` (which model), ``/docs`` (OpenAPI).
Every error is JSON ``{"error": code, "detail": sentence}``; a client's mistake is a 4xx
and a server fault a 500 without a traceback in the body.
Routes live in ``mlcycle.serve.routes``; the request path in ``mlcycle.serve.gateway``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from mlcycle import __version__
from mlcycle.core.errors import MlcycleError
from mlcycle.core.settings import Settings, get_settings
from mlcycle.serve.answers import AnyPredictor
from mlcycle.serve.auth import Authenticator
from mlcycle.serve.components import (
    alias_follower,
    challenger_ref,
    is_alias,
    load_registered,
    log_recorder,
    model_holder,
)
from mlcycle.serve.experiment import Experiment
from mlcycle.serve.feedback import FeedbackService
from mlcycle.serve.follow import AliasFollower, ReloadResult
from mlcycle.serve.gateway import Gateway
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.job_routes import JobsApi, add_job_routes
from mlcycle.serve.jobs import JobQueue
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.predict import PredictService
from mlcycle.serve.registry_events import HOOK_PATH, SECRET_ENV, RegistryEvents
from mlcycle.serve.routes import (
    Services,
    add_error_handlers,
    add_routes,
    document_model,
    document_security,
)
from mlcycle.serve.shadow_link import ShadowLink
from mlcycle.serve.truths import ClassRule, LabelRule, TruthRule, ValueRule
from mlcycle.serve.validation import Limits
from mlcycle.tasks import Task, task_of

if TYPE_CHECKING:
    from mlcycle.models.protocol import ServedModel

log = logging.getLogger(__name__)

_DESCRIPTIONS = {
    "text": "Ranked activity codes with probabilities, labels and parents for free-text "
    "descriptions; a text that cannot be read gets its own error, the others their codes.",
    "classification": "Ranked classes with probabilities for tabular records.",
    "regression": "Predicted values for tabular records.",
}

STARTUP_WAIT_S = 120.0
# FastAPI 0.13x+ asks OpenTelemetry for its providers on every request (~4 us, more than
# the log and the metrics together); the API has its own Prometheus metrics.
_NO_NATIVE_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


def create_app(
    model: ServedModel | None = None,
    settings: Settings | None = None,
    *,
    fast_path: bool = True,
) -> FastAPI:
    """Build the API.

    Args:
        model: The model to serve, fixed. When None, ``settings.served_ref()`` is loaded
            from the registry at startup; the app starts answering once it is in (or
            failed, or after ``STARTUP_WAIT_S``: then ``/health`` answers, ``/ready`` and
            ``/predict`` say 503 until the model is in). When it is an alias the server
            follows it (``serve.reload_seconds``).
        settings: Limits, keys, log and model reference; ``get_settings()`` when None.
        fast_path: Answer ``POST /predict`` ahead of FastAPI's routing (the same code
            either way, several times the throughput with it).
    """
    settings = settings or get_settings()
    serve = settings.serve
    metrics = Metrics() if serve.metrics else None
    recorder = log_recorder(settings, metrics)
    task = task_of(settings)
    swapped: list[Callable[[AnyPredictor, AnyPredictor | None], None]] = [_on_swap(metrics)]

    def on_swap(new: AnyPredictor, old: AnyPredictor | None) -> None:
        for listener in swapped:
            listener(new, old)

    holder = model_holder(settings, settings.served_ref(), on_swap, model)
    follower = None if model is not None else alias_follower(holder, settings, _reloaded(metrics))
    limits = Limits.from_settings(serve)
    experiment = None
    if serve.experiment.mode != "off":
        experiment = _experiment(settings, holder, metrics)
    events = _registry_events(holder.ref, follower)
    auth = Authenticator(serve.auth, signed_paths=(HOOK_PATH,) if events else ())
    services = Services(
        holder=holder,
        predict=PredictService(holder, limits, recorder, experiment),
        feedback=FeedbackService(
            recorder, serve.max_batch, auth.admin_names, _truth_rule(task, holder)
        ),
        recorder=recorder,
        metrics=metrics,
        follower=follower,
        limits=limits,
        kind="text" if task.text_column is not None else task.kind,
        events=events,
        experiment=experiment,
    )
    app = FastAPI(
        title="mlcycle prediction API",
        version=__version__,
        description=_DESCRIPTIONS[services.kind],
        lifespan=_lifespan(services, settings),
        **_NO_NATIVE_TELEMETRY,
    )
    app.state.holder = holder
    app.state.recorder = recorder
    app.state.follower = follower
    add_error_handlers(app)
    add_routes(app, services)
    if serve.jobs.redis_url:
        add_job_routes(app, _jobs_api(settings, holder.ref))
    swapped.append(lambda new, old: document_model(app, services))
    document_security(app, auth)
    app.add_middleware(
        Gateway, service=services.predict, auth=auth, recorder=recorder, fast_path=fast_path
    )
    return app


def _truth_rule(task: Task, holder: ModelHolder) -> TruthRule:
    """What /feedback takes as the truth: a label, a class of the model, or a value."""
    if task.text_column is not None:
        return LabelRule(task.normalise_label, task.label_description(), task.label_pattern())
    if task.kind == "regression":
        return ValueRule()

    def classes() -> list[str]:
        predictor = holder.predictor
        return list(predictor.served.model.labels) if predictor is not None else []

    return ClassRule(classes)


def _on_swap(metrics: Metrics | None) -> Callable[[AnyPredictor, AnyPredictor | None], None]:
    def changed(new: AnyPredictor, old: AnyPredictor | None) -> None:
        if metrics is not None:
            served = new.served
            metrics.model_changed(served.name, served.version, old.version if old else None)

    return changed


def _reloaded(metrics: Metrics | None) -> Callable[[ReloadResult], None]:
    def reloaded(result: ReloadResult) -> None:
        if metrics is not None:
            metrics.reloads.labels("swapped" if result.swapped else "failed").inc()

    return reloaded


def _experiment(settings: Settings, champion: ModelHolder, metrics: Metrics | None) -> Experiment:
    """The challenger beside ``champion``: in canary mode its holder and follower here,
    in shadow mode its own process."""
    serve = settings.serve
    config = serve.experiment
    ref = challenger_ref(champion.ref, config.challenger)
    holder = ModelHolder(ref, labels=champion.labels, make=champion.make)
    link = None
    if config.mode == "shadow":
        link = ShadowLink(settings, ref, metrics, serve.reload_seconds)
    experiment = Experiment(config, holder, link, metrics, serve.reload_seconds)
    if link is None:
        experiment.follower = alias_follower(
            holder, settings, experiment.reloaded, on_error=experiment.failed, always=True
        )
    return experiment


def _jobs_api(settings: Settings, ref: str) -> JobsApi:
    jobs = settings.serve.jobs
    assert jobs.redis_url is not None
    folder = jobs.folder or settings.home / "jobs"
    return JobsApi(JobQueue(jobs.redis_url, jobs.lease_seconds), folder.resolve(), ref)


def _registry_events(ref: str, follower: AliasFollower | None) -> RegistryEvents | None:
    """Alias events from a team server, when a secret is set and an alias is followed."""
    from mlcycle.registry.refs import ModelRef

    secret = os.environ.get(SECRET_ENV, "")
    if not secret or follower is None or not is_alias(ref):
        return None
    parsed = ModelRef.parse(ref)

    def check() -> None:
        follower.touch_trigger()  # the other workers check within a second
        try:
            follower.check(True)
        except MlcycleError as exc:  # the next poll tries again
            log.warning("Cannot check %s in the registry: %s", ref, exc.message)

    return RegistryEvents(secret, parsed.name, str(parsed.alias), check)


def _lifespan(
    services: Services, settings: Settings
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder, follower, experiment = services.holder, services.follower, services.experiment
        loads = []
        if holder.predictor is None:
            loads.append(holder.load_in_background(lambda: load_registered(holder.ref, settings)))
        if experiment is not None:
            ref = experiment.holder.ref
            loads.append(experiment.load_in_background(lambda: load_registered(ref, settings)))
        # Accept connections once the models are in: with several workers sharing one
        # socket, a worker still loading would otherwise take requests and answer 503
        # while its siblings are ready. A load slower than this starts serving anyway
        # (health answers, ready and predict say 503 until the model is in).
        await asyncio.to_thread(_join, loads, STARTUP_WAIT_S)
        if follower is not None:
            follower.start()
        services.recorder.start()
        if experiment is not None:
            experiment.start()
        try:
            yield
        finally:
            # uvicorn runs this once requests in flight have finished: nothing is lost.
            if follower is not None:
                follower.stop()
            if experiment is not None:
                experiment.stop()
            services.recorder.stop()
            if services.metrics is not None:
                services.metrics.close()

    return lifespan


def _join(threads: list[threading.Thread], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
