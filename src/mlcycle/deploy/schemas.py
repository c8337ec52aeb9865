"""Schema validation of one manifest object, offline, each kind against its own schema.

Kubernetes kinds: the OpenAPI schemas ``kubernetes-validate`` ships, strict (unknown
fields refused). Argo Workflows kinds: Hera's models, generated from Argo's OpenAPI
spec. Prometheus Operator kinds: cloudcoil's models, generated from its CRDs. The
generated models ignore unknown keys, so an object must also survive a round trip
through them unchanged: a misspelt key is dropped and shows as a difference. ArgoCD's
Application: ``schemas/argocd-application.json``, written from ArgoCD's documented
Application spec for the fields these manifests use, unknown keys refused.

Each problem is one sentence naming the object and the field.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from mlcycle.core.errors import Unavailable

KUBERNETES_VERSION = "1.32"
_INSTALL = "install the validators with pip install 'mlcycle[deploy]'"


def object_name(obj: dict) -> str:
    """``Kind/name`` of a manifest object."""
    metadata = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{metadata.get('name') or metadata.get('generateName') or '?'}"


def validate(obj: dict, kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    """The problems of ``obj`` (empty when it is valid)."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if group == "argoproj.io" and obj.get("kind") == "Application":
        return _argocd(obj)
    if group == "argoproj.io":
        return _round_trip(obj, _argo_models())
    if group == "monitoring.coreos.com":
        return _round_trip(obj, _prometheus_models())
    return _kubernetes(obj, kubernetes_version)


def _kubernetes(obj: dict, version: str) -> list[str]:
    kubernetes_validate = _need("kubernetes_validate")
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"{object_name(obj)}: Kubernetes {version} has no kind {obj.get('kind')} in "
            f"{obj.get('apiVersion')}; check apiVersion and kind."
        ]
    except kubernetes_validate.ValidationError as exc:
        return [f"{object_name(obj)}: {_path(exc.absolute_path)}: {exc.message}."]
    return []


def _round_trip(obj: dict, models: dict[str, Any]) -> list[str]:
    import pydantic

    model = models.get(str(obj.get("kind")))
    if model is None:
        known = ", ".join(sorted(models))
        return [f"{object_name(obj)}: unknown kind in {obj.get('apiVersion')}; known: {known}."]
    try:
        parsed = model.model_validate(obj)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        return [f"{object_name(obj)}: {_path(first['loc'])}: {first['msg']}."]
    dumped = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    where = _first_difference(obj, dumped)
    if where is None:
        return []
    return [f"{object_name(obj)}: {where} is not a field of {obj.get('kind')} (misspelt?)."]


def _first_difference(given: Any, kept: Any, path: str = "") -> str | None:
    """The first path whose value the model did not keep as given."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in kept:
                return where
            found = _first_difference(value, kept[key], where)
            if found:
                return found
        return None
    if isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        for index, (value, other) in enumerate(zip(given, kept, strict=True)):
            found = _first_difference(value, other, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if json.dumps(given) == json.dumps(kept) else path or "the object"


def _argocd(obj: dict) -> list[str]:
    jsonschema = _need("jsonschema")
    validator = jsonschema.Draft202012Validator(_argocd_schema())
    errors = sorted(validator.iter_errors(obj), key=lambda error: list(error.absolute_path))
    return [f"{object_name(obj)}: {_path(e.absolute_path)}: {e.message}." for e in errors[:1]]


@cache
def _argocd_schema() -> dict:
    text = resources.files("mlcycle.deploy").joinpath("schemas/argocd-application.json")
    return json.loads(text.read_text(encoding="utf-8"))


@cache
def _argo_models() -> dict[str, Any]:
    models = _need("hera.workflows.models")
    return {
        kind: getattr(models, kind) for kind in ("Workflow", "WorkflowTemplate", "CronWorkflow")
    }


@cache
def _prometheus_models() -> dict[str, Any]:
    models = _need("cloudcoil.models.prometheus_operator.v1")
    return {
        kind: getattr(models, kind) for kind in ("ServiceMonitor", "PrometheusRule", "PodMonitor")
    }


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Unavailable(f"{module.split('.')[0]} is not installed; {_INSTALL}.") from None


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the object"
