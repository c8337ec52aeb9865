"""The Argo Workflows in deploy/argo validate against Argo's schema, offline.

Hera's models are generated from Argo's OpenAPI spec. They ignore unknown keys, so a
manifest must also survive a round trip unchanged (a misspelt key would be dropped).
Beyond the schema: referenced templates and parameters exist, and every option the
pods pass to mlcycle is one the command has.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
import typer
import yaml
from hera.workflows import models as hera_models

ARGO = Path(__file__).resolve().parents[2] / "deploy" / "argo"
MANIFESTS = sorted(ARGO.glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_two_workflows_ship() -> None:
    assert {p.name for p in MANIFESTS} == {"tune-workers.yaml", "fanout.yaml"}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_matches_argo_schema_exactly(path: Path) -> None:
    doc = _load(path)
    model = hera_models.Workflow.model_validate(doc)
    dumped = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert json.dumps(dumped, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert doc["apiVersion"] == "argoproj.io/v1alpha1" and doc["kind"] == "Workflow"


def test_a_misspelt_key_is_caught_by_the_round_trip() -> None:
    doc = _load(ARGO / "fanout.yaml")
    doc["spec"]["entrypont"] = doc["spec"].pop("entrypoint")
    model = hera_models.Workflow.model_validate(doc)
    assert model.model_dump(by_alias=True, exclude_unset=True, mode="json") != doc


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_templates_and_parameters_are_defined(path: Path) -> None:
    spec = _load(path)["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    assert spec["entrypoint"] in templates
    declared = {p["name"] for p in spec["arguments"]["parameters"]}
    text = path.read_text()
    assert set(re.findall(r"\{\{workflow\.parameters\.([\w-]+)\}\}", text)) <= declared
    for template in templates.values():
        inputs = {p["name"] for p in template.get("inputs", {}).get("parameters", [])}
        used = set(re.findall(r"\{\{inputs\.parameters\.([\w-]+)\}\}", json.dumps(template)))
        assert used <= inputs, template["name"]
        for group in template.get("steps", []):
            for step in group:
                assert step["template"] in templates


def test_tune_workflow_starts_n_workers_on_one_study() -> None:
    spec = _load(ARGO / "tune-workers.yaml")["spec"]
    first, second = spec["templates"][0]["steps"]
    assert first[0]["withSequence"]["count"] == "{{workflow.parameters.workers}}"
    worker = next(t for t in spec["templates"] if t["name"] == first[0]["template"])
    args = worker["container"]["args"]
    assert args[args.index("--storage") + 1] == "$(TUNE_STORAGE)"  # from the Secret
    assert args[args.index("--study") + 1] == "{{workflow.parameters.study}}"
    summary = next(t for t in spec["templates"] if t["name"] == second[0]["template"])
    assert "--register" in summary["container"]["args"]


def test_fanout_runs_one_training_per_listed_parameter_set() -> None:
    doc = _load(ARGO / "fanout.yaml")
    step = doc["spec"]["templates"][0]["steps"][0][0]
    assert step["withParam"] == "{{workflow.parameters.params}}"
    listed = json.loads(
        next(p for p in doc["spec"]["arguments"]["parameters"] if p["name"] == "params")["value"]
    )
    passed = {p["name"] for p in step["arguments"]["parameters"]}
    assert all(set(item) == passed for item in listed)


def _options(command: str) -> set[str]:
    from mlcycle.cli.main import app

    group = typer.main.get_command(app)
    cmd = group.get_command(click.Context(group), command)
    return {opt for param in cmd.params for opt in param.opts + param.secondary_opts}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_pods_pass_only_options_mlcycle_has(path: Path) -> None:
    for template in _load(path)["spec"]["templates"]:
        container = template.get("container")
        if not container:
            continue
        assert container["command"][0] == "mlcycle"
        known = _options(container["command"][1])
        flags = {a for a in container["args"] if a.startswith("-")}
        assert flags <= known, (template["name"], flags - known)
