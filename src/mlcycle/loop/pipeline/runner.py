"""``mlcycle pipeline run``: the steps in dependency order, each skipped when its key
(definition, code, input fingerprints) matches a successful run whose outputs are
still there. A failed step blocks what depends on it; the other branches go on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcycle.core.errors import InvalidInput, MlcycleError
from mlcycle.core.settings import PipelineStep, Settings, project_file
from mlcycle.loop.pipeline.fingerprint import code_digest, current, step_key
from mlcycle.loop.pipeline.graph import Pipeline, pipeline_of, sources
from mlcycle.loop.pipeline.record import (
    BLOCKED,
    FAILED,
    SKIPPED,
    SUCCEEDED,
    Recorder,
    StepRecord,
)
from mlcycle.loop.pipeline.steps import function_of, run_step

PIPELINE_DIR_ENV = "MLCYCLE_PIPELINE_DIR"


@dataclass
class PipelineResult:
    """What a pipeline run did, step by step."""

    run_id: str
    trigger: str
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [s.step for s in self.steps if s.status in (FAILED, BLOCKED)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "trigger": self.trigger, "ok": not self.failed,
            "steps": [s.to_dict() for s in self.steps],
        }  # fmt: skip


def project_dir() -> Path:
    """Where relative paths of the pipeline start: ``MLCYCLE_PIPELINE_DIR`` (the data
    volume of a pod), else the project file's folder."""
    given = os.environ.get(PIPELINE_DIR_ENV)
    return Path(given).resolve() if given else project_file().resolve().parent


def run_pipeline(
    settings: Settings,
    start: str | None = None,
    stop: str | None = None,
    force: bool = False,
    trigger: str = "manual",
    say: Callable[[StepRecord], None] = lambda record: None,
) -> PipelineResult:
    """Run the selected steps; each one's record is passed to ``say`` as it ends.

    Raises:
        InvalidInput: the pipeline is invalid (checked before any step runs).
    """
    pipeline = pipeline_of(settings)
    selected = pipeline.select(start, stop)
    folder = project_dir()
    with _importable(folder):
        check_runnable(pipeline, selected, folder, settings)
        run = _Run(pipeline, folder, settings, Recorder(settings), force)
        result = PipelineResult(run.recorder.start(trigger, selected), trigger)
        run.known = _upstream_outputs(pipeline, selected, run.recorder)
        for name in selected:
            record = run.step(name, blocked_by=[u for u in pipeline.upstream[name]
                                                if u in result.failed])  # fmt: skip
            run.recorder.write(record)
            result.steps.append(record)
            run.known.update(record.outputs)
            say(record)
        run.recorder.finish(bool(result.failed))
    return result


def check_runnable(
    pipeline: Pipeline, selected: list[str], folder: Path, settings: Settings
) -> None:
    """Every source input exists and every function imports, before anything runs."""
    for name, refs in sources(pipeline, selected).items():
        for ref in refs:
            if current(ref, folder, settings) is None:
                raise InvalidInput(
                    f"Step {name!r} reads {ref}, which no step writes and which does not "
                    "exist; add a step that writes it, or create it first."
                )
    for name in selected:
        step = pipeline.steps[name]
        if step.function is not None:
            function_of(step.function)
        code_digest(step, folder, settings)  # a missing script is said now


def _upstream_outputs(
    pipeline: Pipeline, selected: list[str], recorder: Recorder
) -> dict[str, str | None]:
    """Outputs of steps left out of this run (``--from``), as their last success left them."""
    known: dict[str, str | None] = {}
    for name in {u for s in selected for u in pipeline.upstream[s]} - set(selected):
        last = recorder.succeeded(name)
        if last is None:
            raise InvalidInput(
                f"Step {name!r} has never succeeded, and the selected steps read what it "
                "writes; run it first (widen --from)."
            )
        known.update(last.outputs)
    return known


@dataclass
class _Run:
    """One run's state: where it works, what the steps so far wrote (``known``)."""

    pipeline: Pipeline
    folder: Path
    settings: Settings
    recorder: Recorder
    force: bool
    known: dict[str, str | None] = field(default_factory=dict)

    def step(self, name: str, blocked_by: list[str]) -> StepRecord:
        """Run, skip or block step ``name``; what happened to it."""
        if blocked_by:
            return StepRecord(name, BLOCKED, message=f"not run: {', '.join(blocked_by)} failed")
        step = self.pipeline.steps[name]
        inputs = {ref: self._fingerprint(ref) for ref in step.inputs}
        implicit = _implicit_inputs(step, self.settings)
        code = code_digest(step, self.folder, self.settings)
        key = step_key(step, code, {**inputs, **implicit})
        cached = None if self.force else self.recorder.succeeded(name, key)
        if cached is not None and _still_there(cached.outputs, self.folder, self.settings):
            return StepRecord(name, SKIPPED, key, cached.outputs, reused=cached.reused)
        return self._execute(name, step, inputs, key)

    def _fingerprint(self, ref: str) -> str | None:
        """As an earlier step of this run left it, else as it is now (a source)."""
        if ref in self.known:
            return self.known[ref]
        return current(ref, self.folder, self.settings)

    def _execute(
        self, name: str, step: PipelineStep, inputs: dict[str, str | None], key: str
    ) -> StepRecord:
        began = time.monotonic()
        try:
            figures = run_step(step, inputs, self.folder, self.settings)
        except MlcycleError as exc:
            return StepRecord(name, FAILED, key, seconds=time.monotonic() - began,
                              message=exc.message)  # fmt: skip
        except Exception as exc:  # a user's function: its failure is said, the others go on
            return StepRecord(name, FAILED, key, seconds=time.monotonic() - began,
                              message=f"{type(exc).__name__}: {exc}")  # fmt: skip
        seconds = time.monotonic() - began
        written = {ref: current(ref, self.folder, self.settings) for ref in step.outputs}
        missing = [ref for ref, value in written.items() if value is None]
        if missing:
            return StepRecord(name, FAILED, key, seconds=seconds,
                              message=f"it did not write {', '.join(missing)}")  # fmt: skip
        outputs = {ref: value for ref, value in written.items() if value is not None}
        said = ", ".join(f"{k} {v:.4g}" for k, v in sorted(figures.items())[:6])
        return StepRecord(name, SUCCEEDED, key, outputs, seconds, said)


def _implicit_inputs(step: PipelineStep, settings: Settings) -> dict[str, str | None]:
    """A ``train`` step reading no dataset trains on the default data: that data counts."""
    if step.uses != "train" or any(r.startswith("dataset:") for r in step.inputs):
        return {}
    from mlcycle.data.store import find_training_dataset

    try:
        found = find_training_dataset(None, settings)
    except MlcycleError:  # data.dataset names nothing: the step itself says so
        return {"default data": "unavailable"}
    return {"default data": f"{found.ref}#{found.digest}" if found else "synthetic"}


def _still_there(outputs: dict[str, str], folder: Path, settings: Settings) -> bool:
    """A cached step counts only if what it wrote is as it left it (a file not deleted or
    edited since; a dataset or model version not deleted)."""
    for ref, fingerprint in outputs.items():
        now = current(ref, folder, settings)
        if ref.startswith("file:") and now != fingerprint:
            return False
        if now is None:
            return False
    return True


class _importable:
    """The project's folder first on ``sys.path`` while the pipeline runs (users'
    functions live beside the project file), removed afterwards."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)

    def __enter__(self) -> None:
        sys.path.insert(0, self.folder)

    def __exit__(self, *exc: object) -> None:
        if self.folder in sys.path:
            sys.path.remove(self.folder)
