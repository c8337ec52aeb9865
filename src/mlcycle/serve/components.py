"""What every serving process builds from the settings: a model's holder and the
follower keeping it on its alias, the log's recorder, a registered model loaded.

A worker builds these for its champion (and a canary challenger); the shadow
challenger's own process (:mod:`mlcycle.serve.shadow_process`) builds the same for the
challenger, so both follow their aliases and write their logs alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlcycle.core.errors import MlcycleError
from mlcycle.core.settings import Settings
from mlcycle.data.predlog import Root, log_roots
from mlcycle.serve.follow import AliasFollower, ReloadResult
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.journal import Journal, journal_folder
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.predictors import predictor_factory
from mlcycle.serve.recorder import Recorder
from mlcycle.tasks import task_of

if TYPE_CHECKING:
    from mlcycle.models.protocol import ServedModel
    from mlcycle.serve.answers import AnyPredictor

RUN_DIR_ENV = "MLCYCLE_SERVE_RUN_DIR"


def model_holder(
    settings: Settings,
    ref: str,
    on_swap: Callable[[AnyPredictor, AnyPredictor | None], None] | None = None,
    served: ServedModel | None = None,
) -> ModelHolder:
    """An empty holder (or one answering with ``served``) for ``ref``, whose predictors
    answer as the project's task says."""
    task = task_of(settings)
    return ModelHolder(
        ref, served, on_swap=on_swap, labels=task,
        make=predictor_factory(task, settings.serve.max_value_chars),
    )  # fmt: skip


def log_recorder(
    settings: Settings, metrics: Metrics | None, predictions: Root | None = None
) -> Recorder:
    """The log's recorder; ``predictions``: another root for the answers (the shadow's)."""
    config = settings.serve.prediction_log
    roots = log_roots(settings) if config.enabled else None
    if roots is not None and predictions is not None:
        roots = (predictions, roots[1])
    return Recorder(
        metrics,
        roots,
        salt=None if config.log_text else config.salt.encode(),
        flush_seconds=config.flush_seconds,
        max_queue=config.max_queue,
        journal=Journal(journal_folder(settings.home, roots[0])) if roots else None,
    )


def alias_follower(
    holder: ModelHolder,
    settings: Settings,
    on_reload: Callable[[ReloadResult], None],
    on_error: Callable[[MlcycleError], None] | None = None,
    always: bool = False,
) -> AliasFollower:
    """Keeps ``holder`` on its reference (an alias: every ``serve.reload_seconds``, or
    ``always``; else only when triggered by ``POST /admin/reload``)."""

    def resolve() -> str:
        from mlcycle.core.tracking import use_tracking
        from mlcycle.registry.ops import resolve

        use_tracking(settings)
        return resolve(holder.ref).version

    def load(version: str) -> ServedModel:
        from mlcycle.registry.loading import load_served_model
        from mlcycle.registry.refs import ModelRef

        return load_served_model(f"{ModelRef.parse(holder.ref).name}/{version}")

    run_dir = os.environ.get(RUN_DIR_ENV)
    follows = always or is_alias(holder.ref)
    return AliasFollower(
        holder, resolve, load,
        interval=settings.serve.reload_seconds if follows else 0.0,
        trigger=Path(run_dir) / "reload" if run_dir else None,
        on_reload=on_reload, on_error=on_error,
    )  # fmt: skip


def load_registered(ref: str, settings: Settings) -> ServedModel:
    """The registered model ``ref`` names, loaded for serving."""
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.loading import load_served_model

    use_tracking(settings)
    return load_served_model(ref)


def challenger_ref(served: str, challenger: str) -> str:
    """The challenger's reference: an alias of the served model, or a reference itself."""
    from mlcycle.registry.refs import ModelRef

    if "@" in challenger or "/" in challenger:
        return str(ModelRef.parse(challenger))
    return f"{ModelRef.parse(served).name}@{challenger}"


def is_alias(ref: str) -> bool:
    """Whether ``ref`` names an alias (which a server follows) rather than a version."""
    from mlcycle.registry.refs import ModelRef

    try:
        return ModelRef.parse(ref).alias is not None
    except Exception:  # a bad reference fails at load, with its own message
        return False
