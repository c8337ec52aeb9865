"""Deployment settings: what ``mlcycle deploy render`` writes into the manifests.

``Settings.deploy`` is a :class:`DeploySettings`. Every field has a default, so a project
file needs a ``deploy`` section only to change something; an environment given in the
file changes only the fields it names::

    deploy:
      image: ghcr.io/acme/mlcycle:0.1.0
      repo_url: https://github.com/acme/scoring.git   # what ArgoCD watches
      environments:
        prod: {host: scoring.acme.com, replicas: 3, max_replicas: 12, memory: 2Gi}

Which registry alias an environment's pods follow defaults to the registry's
environments: dev and staging follow the first (``staging``), prod the last
(``production``), so promoting a version moves the pods without touching a manifest.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

ENVIRONMENTS = ("dev", "staging", "prod")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_QUANTITY = re.compile(r"^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
_ALIAS = re.compile(r"^[A-Za-z][\w-]*$")


class DeployEnvironment(BaseModel):
    """One environment of the cluster: its namespace, the alias it serves, its size."""

    model_config = {"extra": "forbid"}

    # None: derived from the registry's environments (see the module docstring).
    alias: str | None = None
    namespace: str = ""  # "": mlcycle-<environment>
    host: str = ""  # "": mlcycle-<environment>.example.com
    # The autoscaler's bounds; ``replicas`` is also the Deployment's starting count.
    replicas: int = Field(2, ge=1, le=100)
    max_replicas: int = Field(4, ge=1, le=500)
    # uvicorn worker processes per pod.
    workers: int = Field(1, ge=1, le=64)
    cpu: str = "500m"
    memory: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"
    # ArgoCD: automated sync with self-heal, or a person presses "sync".
    sync: Literal["automated", "manual"] = "automated"

    @field_validator("cpu", "memory", "cpu_limit", "memory_limit")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity such as 500m, 2, 1Gi")
        return value

    @field_validator("namespace")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if value and not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a namespace name (lower case, digits, '-')")
        return value

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        if value is not None and not _ALIAS.match(value):
            raise ValueError(f"{value!r} is not a registry alias")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> DeployEnvironment:
        if self.max_replicas < self.replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below replicas ({self.replicas})"
            )
        return self


_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"replicas": 1, "max_replicas": 2, "cpu": "250m", "memory": "768Mi",
            "cpu_limit": "1", "memory_limit": "1536Mi"},
    "staging": {"replicas": 2, "max_replicas": 4},
    "prod": {"replicas": 3, "max_replicas": 10, "workers": 2, "cpu": "1", "memory": "2Gi",
             "cpu_limit": "2", "memory_limit": "3Gi", "sync": "manual"},
}  # fmt: skip


class DeploySettings(BaseModel):
    """Kubernetes, ArgoCD and Argo manifests for the project (``mlcycle deploy render``)."""

    model_config = {"extra": "forbid"}

    # The image every pod runs; None: mlcycle:<package version>, what `make image` tags.
    image: str | None = None
    # The git repository ArgoCD watches, its branch, and the folder holding the rendered
    # manifests (the -o of `mlcycle deploy render`).
    repo_url: str = "https://git.example.com/team/project.git"
    revision: str = "main"
    path: str = "deploy"
    # The Secret holding MLCYCLE_SERVE__AUTH__KEYS (made with `mlcycle serve hash-key`).
    keys_secret: str = "mlcycle-api-keys"
    # A tracking server the team already runs; None: deploy MLflow with PostgreSQL.
    tracking_uri: str | None = None
    # ServiceMonitor, PrometheusRule and the Grafana dashboard (Prometheus Operator CRDs).
    prometheus_operator: bool = True
    environments: dict[str, DeployEnvironment] = Field(default_factory=dict, validate_default=True)

    @field_validator("environments", mode="before")
    @classmethod
    def _over_defaults(cls, given: Any) -> Any:
        """An environment named in the file keeps the defaults of the fields it omits."""
        if given is None:
            given = {}
        if not isinstance(given, dict):
            return given
        merged = {name: dict(values) for name, values in _DEFAULTS.items()}
        for name, values in given.items():
            if isinstance(values, DeployEnvironment):
                values = values.model_dump(exclude_unset=True)
            if not isinstance(values, dict):
                return given  # let pydantic say what is wrong with it
            merged[name] = {**merged.get(name, {}), **values}
        return merged

    @field_validator("environments")
    @classmethod
    def _names(cls, value: dict[str, DeployEnvironment]) -> dict[str, DeployEnvironment]:
        for name in value:
            if not _DNS_LABEL.match(name):
                raise ValueError(f"environment {name!r} must be lower case letters, digits, '-'")
        return value

    @field_validator("keys_secret")
    @classmethod
    def _secret_name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a Secret name (lower case, digits, '-')")
        return value
