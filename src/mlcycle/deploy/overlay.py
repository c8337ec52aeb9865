"""What differs between environments, as Kubernetes objects: the kustomize overlay, the
ArgoCD Application and the alert rules scoped to the environment's namespace.

Everything here is built from settings as plain dicts; ``render`` writes them as YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from mlcycle.core.settings import DeployEnvironment, Settings

TRACKING_SERVICE_URI = "http://mlcycle-tracking:5000"
PROJECT_DIR = "/etc/mlcycle"  # where pods mount the mlcycle-project ConfigMap
_METRIC = re.compile(r"\b(mlcycle_[a-z0-9_]+)\b(\{)?")


@dataclass(frozen=True)
class Environment:
    """One environment with every default resolved."""

    name: str
    namespace: str
    host: str
    alias: str
    spec: DeployEnvironment


def environment(settings: Settings, name: str) -> Environment:
    """The environment ``name`` of ``settings.deploy`` with its defaults filled in."""
    spec = settings.deploy.environments[name]
    return Environment(
        name=name,
        namespace=spec.namespace or f"mlcycle-{name}",
        host=spec.host or f"mlcycle-{name}.example.com",
        alias=spec.alias or default_alias(settings, name),
        spec=spec,
    )


def default_alias(settings: Settings, name: str) -> str:
    """prod follows the registry's last environment, every other the first."""
    names = [env.name for env in settings.registry.environments]
    return names[-1] if name == "prod" else names[0]


def split_image(image: str) -> dict[str, str]:
    """kustomize's ``images`` entry for ``image`` (``name[:tag]`` or ``name@digest``)."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return {"name": "mlcycle", "newName": name, "digest": digest}
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag: the colon, if any, was a registry port
        return {"name": "mlcycle", "newName": image, "newTag": "latest"}
    return {"name": "mlcycle", "newName": name, "newTag": tag}


def tracking_uri(settings: Settings) -> str:
    """The team's tracking server, else the one the tracking-server component deploys."""
    return settings.deploy.tracking_uri or TRACKING_SERVICE_URI


def config_literals(settings: Settings, env: Environment) -> list[str]:
    """The environment's additions to the ``mlcycle`` ConfigMap."""
    literals = [
        f"MLCYCLE_SERVE__MODEL={settings.model.name}@{env.alias}",
        f"MLFLOW_TRACKING_URI={tracking_uri(settings)}",
        f"MLCYCLE_SERVE__WORKERS={env.spec.workers}",
    ]
    cases = settings.registry.gates.behaviour.cases_file
    if cases is not None and cases != PurePosixPath(cases).name:
        # The cases file sits beside the project file in the pods, whatever its path here.
        literals.append(
            "MLCYCLE_REGISTRY__GATES__BEHAVIOUR__CASES_FILE="
            f"{PROJECT_DIR}/{PurePosixPath(cases).name}"
        )
    return literals


def kustomization(
    settings: Settings, env: Environment, image: str, checksum: str, project_files: list[str]
) -> dict:
    """The overlay's kustomization.yaml; ``project_files`` join the project file in the
    ``mlcycle-project`` ConfigMap (the behaviour gate's cases file)."""
    components = []
    if settings.deploy.tracking_uri is None:
        components.append("../../components/tracking-server")
    resources = ["../../base"]
    if settings.deploy.prometheus_operator:
        components.append("../../components/prometheus")
        resources.append("prometheusrule.yaml")
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": env.namespace,
        "resources": resources,
        "components": components,
        "labels": [{"pairs": {"app.kubernetes.io/instance": f"mlcycle-{env.name}"}}],
        "images": [split_image(image)],
        "configMapGenerator": [
            {"name": "mlcycle", "behavior": "merge", "literals": config_literals(settings, env)},
            *(
                [{"name": "mlcycle-project", "behavior": "merge", "files": project_files}]
                if project_files
                else []
            ),
        ],
        "patches": [
            {"patch": _dump(_api_patch(settings, env, checksum))},
            {"patch": _dump(_hpa_patch(env))},
            {"target": {"kind": "Ingress", "name": "mlcycle-api"}, "patch": _dump(_host_ops(env))},
        ],
    }


def _api_patch(settings: Settings, env: Environment, checksum: str) -> dict:
    spec = env.spec
    container = {
        "name": "api",
        "envFrom": [
            {"configMapRef": {"name": "mlcycle"}},
            {"secretRef": {"name": settings.deploy.keys_secret}},
        ],
        "resources": {
            "requests": {"cpu": spec.cpu, "memory": spec.memory},
            "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mlcycle-api"},
        "spec": {
            "template": {
                # The ConfigMaps keep fixed names: a new checksum is what rolls the pods.
                "metadata": {"annotations": {"mlcycle.dev/config-checksum": checksum}},
                "spec": {"containers": [container]},
            }
        },
    }


def _hpa_patch(env: Environment) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "mlcycle-api"},
        "spec": {"minReplicas": env.spec.replicas, "maxReplicas": env.spec.max_replicas},
    }


def _host_ops(env: Environment) -> list[dict]:
    return [
        {"op": "replace", "path": "/spec/tls/0/hosts/0", "value": env.host},
        {"op": "replace", "path": "/spec/rules/0/host", "value": env.host},
    ]


def application(settings: Settings, env: Environment) -> dict:
    """The ArgoCD Application syncing the environment's overlay from git."""
    deploy = settings.deploy
    sync: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"]}
    if env.spec.sync == "automated":
        sync = {"automated": {"prune": True, "selfHeal": True}, **sync}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"mlcycle-{env.name}",
            "namespace": "argocd",
            "labels": {"app.kubernetes.io/part-of": "mlcycle"},
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": deploy.repo_url,
                "targetRevision": deploy.revision,
                "path": f"{deploy.path.strip('/')}/kubernetes/overlays/{env.name}",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": env.namespace},
            "syncPolicy": sync,
        },
    }


def prometheus_rule(alerts: str, env: Environment) -> dict:
    """The alert rules of ``alerts.yml`` as a PrometheusRule watching one namespace.

    Prometheus evaluates every rule over the whole cluster: without the namespace
    matcher, each environment's copy would add up the traffic of all of them.
    """
    groups = yaml.safe_load(alerts)["groups"]
    for group in groups:
        group["name"] = f"{group['name']}-{env.name}"
        for rule in group["rules"]:
            rule["expr"] = scoped(rule["expr"], env.namespace)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "mlcycle-alerts",
            "labels": {"app.kubernetes.io/name": "mlcycle", "release": "kube-prometheus-stack"},
        },
        "spec": {"groups": groups},
    }


def scoped(expr: str, namespace: str) -> str:
    """``expr`` with every mlcycle series selected in ``namespace`` only."""

    def add_matcher(match: re.Match[str]) -> str:
        selector = f'{match[1]}{{namespace="{namespace}"'
        return selector + (", " if match[2] else "}")

    return _METRIC.sub(add_matcher, expr)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
