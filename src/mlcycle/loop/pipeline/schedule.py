"""Running the pipeline elsewhere: as an Argo WorkflowTemplate (one pod per step, on the
image of ``make image``), on a schedule (an Argo CronWorkflow, or a crontab line for a
plain machine), or when monitoring breaches a rule.

Each pod runs ``mlcycle pipeline run --from STEP --to STEP``: the step reads what its
upstream steps wrote from their records in the shared tracking store, and skips itself
when nothing it depends on changed, exactly as on a laptop. Relative ``file:`` paths
start at ``/data`` there (the data volume; ``MLCYCLE_PIPELINE_DIR``). Steps running a
user's function or command need an image holding that code (``--image``).
"""

from __future__ import annotations

import copy
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, duration_seconds
from mlcycle.loop.pipeline.graph import Pipeline
from mlcycle.loop.pipeline.runner import PIPELINE_DIR_ENV

_BASE = "argo/pipeline/training.yaml"  # its pod set-up (volumes, security, resources)


def template_name(settings: Settings) -> str:
    return f"{settings.model.name.lower().replace('_', '-')}-pipeline"[:52].strip("-")


def argo_documents(settings: Settings, pipeline: Pipeline, image: str | None) -> list[dict]:
    """The WorkflowTemplate, and a CronWorkflow when ``pipeline.schedule`` is set."""
    from mlcycle.deploy.render import rendered_template

    base = yaml.safe_load(rendered_template(settings, _BASE, image))
    name = template_name(settings)
    spec = {k: v for k, v in base["spec"].items() if k not in ("templates", "arguments")}
    spec["entrypoint"] = "pipeline"
    spec["arguments"] = {"parameters": [{"name": "trigger", "value": "argo"}]}
    spec["templates"] = [_dag(pipeline), _step_template(base)]
    labels = {"app.kubernetes.io/name": "mlcycle", "app.kubernetes.io/component": "pipeline"}
    documents = [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowTemplate",
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
        }
    ]
    if settings.pipeline.schedule:
        documents.append(_cron(name, settings.pipeline.schedule, labels))
    return documents


def _dag(pipeline: Pipeline) -> dict[str, Any]:
    tasks = []
    for step in pipeline.steps:
        task: dict[str, Any] = {
            "name": step,
            "template": "step",
            "arguments": {"parameters": [{"name": "step", "value": step}]},
        }
        if pipeline.upstream[step]:
            task["depends"] = " && ".join(pipeline.upstream[step])
        tasks.append(task)
    return {"name": "pipeline", "dag": {"tasks": tasks}}


def _step_template(base: dict[str, Any]) -> dict[str, Any]:
    """One pod running one step, set up as the packaged training pipeline's pods."""
    train = next(t for t in base["spec"]["templates"] if t["name"] == "train")
    container = copy.deepcopy(train["container"])
    one = "{{inputs.parameters.step}}"
    container["args"] = [
        "pipeline", "run", "--from", one, "--to", one,
        "--trigger", "{{workflow.parameters.trigger}} {{workflow.name}}", "--json",
    ]  # fmt: skip
    container["env"] = [e for e in container.get("env", []) if e["name"] != PIPELINE_DIR_ENV]
    container["env"].append({"name": PIPELINE_DIR_ENV, "value": "/data"})
    return {"name": "step", "inputs": {"parameters": [{"name": "step"}]}, "container": container}


def _cron(name: str, schedule: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": f"{name}-schedule"[:52], "labels": labels},
        "spec": {
            "schedules": [schedule],
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "workflowSpec": {
                "workflowTemplateRef": {"name": name},
                "arguments": {"parameters": [{"name": "trigger", "value": "schedule"}]},
            },
        },
    }


def crontab_line(settings: Settings, folder: Path) -> str:
    """The line to add with ``crontab -e`` on a machine without Argo.

    Raises:
        InvalidInput: the project sets no ``pipeline.schedule``.
    """
    if not settings.pipeline.schedule:
        raise InvalidInput("pipeline.schedule is not set in the project file; add a cron line.")
    log = settings.home.resolve() / "pipeline.log"
    command = [sys.executable, "-m", "mlcycle", "pipeline", "run", "--trigger", "schedule"]
    return (
        f"{settings.pipeline.schedule} cd {shlex.quote(str(folder))} && "
        f"{shlex.join(command)} >> {shlex.quote(str(log))} 2>&1"
    )


def breached_rules(settings: Settings, since: str | None = None) -> list[str]:
    """The monitoring rules breached over the last ``since`` (default: monitor.window)."""
    from mlcycle.monitor.rules import run_check

    end = datetime.now(UTC)
    start = end - timedelta(seconds=duration_seconds(since or settings.monitor.window))
    return [rule.rule for rule in run_check(settings, start, end, notify=False).breached]
