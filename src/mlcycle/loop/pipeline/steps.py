"""Running one step: the built-ins, a user's Python function, a user's command.

A step gets its inputs as values (a file's path, a dataset's ``NAME@V``, a model's
``NAME/V``) and returns nothing: what it wrote is read back from the store afterwards
(:func:`mlcycle.loop.pipeline.fingerprint.current`). A user's function is called as
``function(inputs=..., outputs=..., params=...)`` with dicts keyed by reference; a
command gets the same three as JSON in ``MLCYCLE_PIPELINE_INPUTS``, ``_OUTPUTS`` and
``_PARAMS`` and runs in the project's folder.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlcycle.core.errors import Conflict, InvalidInput, MlcycleError
from mlcycle.core.settings import PipelineStep, Settings, parse_reference
from mlcycle.loop.pipeline.fingerprint import dataset_ref, model_version, module_file


def values(refs: dict[str, str | None], project_dir: Path) -> dict[str, Any]:
    """What a step is handed for each reference's fingerprint."""
    out: dict[str, Any] = {}
    for ref, fingerprint in refs.items():
        kind, value = parse_reference(ref)
        if kind == "file":
            out[ref] = project_dir / value
        elif fingerprint is None:
            out[ref] = value  # an output not written yet: its name
        else:
            out[ref] = dataset_ref(fingerprint) if kind == "dataset" else fingerprint
    return out


def run_step(
    step: PipelineStep, inputs: dict[str, str | None], project_dir: Path, settings: Settings
) -> dict[str, float]:
    """Run ``step``; its figures (metrics) when it has some.

    Raises:
        MlcycleError: the step failed, said in one sentence.
    """
    given = values(inputs, project_dir)
    written = values(dict.fromkeys(step.outputs), project_dir)
    for value in written.values():
        if isinstance(value, Path):  # a file output's folder is there for the step
            value.parent.mkdir(parents=True, exist_ok=True)
    if step.uses is not None:
        return BUILT_IN[step.uses](step, given, written, settings)
    if step.function is not None:
        result = function_of(step.function)(inputs=given, outputs=written, params=step.params)
        return {k: float(v) for k, v in (result or {}).items() if isinstance(v, int | float)}
    _run_command(step, given, written, project_dir)
    return {}


def function_of(function: str) -> Callable[..., Any]:
    """The callable ``module:name`` names.

    Raises:
        InvalidInput: the module or the name does not exist.
    """
    module_name, _, attribute = function.partition(":")
    module_file(function)  # no such module: said as such
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(
            f"Function {function}: module {module_name} does not import ({exc})."
        ) from None
    found: Any = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
    if not callable(found):
        raise InvalidInput(f"Function {function}: {module_name} has no function {attribute}.")
    return found


def _run_command(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], project_dir: Path
) -> None:
    assert step.command is not None
    env = {
        **os.environ,
        "MLCYCLE_PIPELINE_INPUTS": json.dumps(given, default=str),
        "MLCYCLE_PIPELINE_OUTPUTS": json.dumps(written, default=str),
        "MLCYCLE_PIPELINE_PARAMS": json.dumps(step.params, default=str),
    }
    try:
        done = subprocess.run(
            shlex.split(step.command), cwd=project_dir, env=env, capture_output=True, text=True
        )
    except OSError as exc:
        raise InvalidInput(f"Command {step.command!r} did not start: {exc.strerror}.") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise MlcycleError(f"Command {step.command!r} exited with {done.returncode}: {said[0]}")


def _one(given: dict[str, Any], kind: str, step: str) -> Any:
    found = [v for ref, v in given.items() if parse_reference(ref)[0] == kind]
    if len(found) != 1:
        raise InvalidInput(f"The {step} step reads one {kind}: input; it has {len(found)}.")
    return found[0]


def _data_add(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], settings: Settings
) -> dict[str, float]:
    from mlcycle.data.ingest import add_dataset

    names = [parse_reference(r)[1] for r in step.outputs if r.startswith("dataset:")]
    if len(names) != 1:
        raise InvalidInput("The data-add step writes one dataset: output (dataset:NAME).")
    added = add_dataset(str(_one(given, "file", "data-add")), names[0], settings=settings)
    return {"rows": float(added.version.rows), "dropped": float(added.dropped)}


def _validate(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], settings: Settings
) -> dict[str, float]:
    from mlcycle.data.readers import read_raw
    from mlcycle.data.shape import check_file

    path = _one(given, "file", "validate")
    if not path.exists():
        raise InvalidInput(f"The validate step's file {path} does not exist.")
    checked = check_file(read_raw(path, None, str(path)), settings, "reject", str(path))
    return {"rows": float(checked.validated.rows_read)}


def _train(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], settings: Settings
) -> dict[str, float]:
    from mlcycle.train.pipeline import train_model

    datasets = [v for ref, v in given.items() if ref.startswith("dataset:")]
    data = datasets[0] if datasets else None  # none: the default data, as `mlcycle train`
    return dict(train_model(data, step.params, settings=settings).metrics)


def _model(given: dict[str, Any], step: str) -> tuple[str, str]:
    return model_version(_one(given, "model", step))


def _alias(step: PipelineStep, settings: Settings) -> str:
    return str(step.params.get("to") or settings.registry.environments[0].name)


def _evaluate(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], settings: Settings
) -> dict[str, float]:
    from mlcycle.core.files import atomic_write_text
    from mlcycle.registry.gates import holdout_metrics
    from mlcycle.registry.promotion import judge

    name, version = _model(given, "evaluate")
    ctx, _ = judge(name, version, _alias(step, settings), settings, gates=[])
    metrics = holdout_metrics(ctx.candidate, ctx)
    for ref, path in written.items():
        if ref.startswith("file:"):
            atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


def _gates(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], settings: Settings
) -> dict[str, float]:
    from mlcycle.registry.promotion import judge

    name, version = _model(given, "gates")
    alias = _alias(step, settings)
    _, results = judge(name, version, alias, settings)
    failed = [g.name for g in results if not g.passed]
    if failed:
        raise Conflict(f"{name} version {version} fails the {alias} gate(s) {', '.join(failed)}.")
    return {"gates_passed": float(len(results))}


def _promote(
    step: PipelineStep, given: dict[str, Any], written: dict[str, Any], settings: Settings
) -> dict[str, float]:
    from mlcycle.registry.promotion import promote

    name, version = _model(given, "promote")
    alias = _alias(step, settings)
    moved = promote(name, version, alias, reason="pipeline", settings=settings)
    if moved.action == "refused":
        failed = ", ".join(moved.failed_gates)
        raise Conflict(f"Promotion of {name} version {version} to {alias} refused: {failed}.")
    return {}


_BuiltIn = Callable[[PipelineStep, dict[str, Any], dict[str, Any], Settings], dict[str, float]]
BUILT_IN: dict[str, _BuiltIn] = {
    "data-add": _data_add,
    "validate": _validate,
    "train": _train,
    "evaluate": _evaluate,
    "gates": _gates,
    "promote": _promote,
}
