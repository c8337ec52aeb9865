"""The objects of one built overlay, checked against each other.

A schema accepts a Deployment mounting a ConfigMap that does not exist, a Service
selecting no pod, an autoscaler aiming at a misnamed Deployment: Kubernetes accepts
them too and the failure shows only at run time. Secrets are made out of band (never in
git), so references to them are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlcycle.deploy.schemas import object_name

_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
_MISSING = ", which is not in the overlay."


def problems(objects: list[dict]) -> list[str]:
    """One sentence per broken reference."""
    names = _names(objects)
    found: list[str] = []
    for obj in objects:
        for pod in _pods(obj):
            found += _pod(obj, pod, names)
    templates = [labels for obj in objects for labels in _template_labels(obj)]
    for obj in objects:
        found += _selects(obj, templates, objects)
        target = (obj.get("spec") or {}).get("scaleTargetRef")
        if target and target.get("name") not in names.get(target.get("kind"), set()):
            scaled = f"{target.get('kind')}/{target.get('name')}"
            found.append(f"{object_name(obj)}: scales {scaled}{_MISSING}")
        found += _ingress(obj, names)
    return found


def _names(objects: list[dict]) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name")
        if name:  # a nameless object is reported by the schema check; nothing can name it
            names.setdefault(obj.get("kind", ""), set()).add(name)
    return names


def _pods(obj: dict) -> Iterator[dict]:
    spec = obj.get("spec") or {}
    if obj.get("kind") in _WORKLOADS:
        yield spec.get("template", {}).get("spec", {})
    elif obj.get("kind") == "CronJob":
        yield spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})


def _pod(obj: dict, pod: dict, names: dict[str, set[str]]) -> list[str]:
    who = object_name(obj)
    templates = obj["spec"].get("volumeClaimTemplates", [])
    claims = names.get("PersistentVolumeClaim", set()) | {t["metadata"]["name"] for t in templates}
    found = _volumes(who, pod, names.get("ConfigMap", set()), claims)
    mountable = {volume["name"] for volume in pod.get("volumes", [])} | claims
    for container in pod.get("containers", []):
        found += _container(who, container, mountable, names.get("ConfigMap", set()))
    account = pod.get("serviceAccountName")
    if account and account != "default" and account not in names.get("ServiceAccount", set()):
        found.append(f"{who}: runs as ServiceAccount '{account}'{_MISSING}")
    return found


def _volumes(who: str, pod: dict, config_maps: set[str], claims: set[str]) -> list[str]:
    found = []
    for volume in pod.get("volumes", []):
        config_map = volume.get("configMap", {}).get("name")
        if config_map and config_map not in config_maps:
            found.append(
                f"{who}: volume '{volume['name']}' mounts ConfigMap '{config_map}'{_MISSING}"
            )
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if claim and claim not in claims:
            found.append(f"{who}: volume '{volume['name']}' claims PVC '{claim}'{_MISSING}")
    return found


def _container(who: str, container: dict, mountable: set[str], config_maps: set[str]) -> list:
    found = []
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in mountable:
            found.append(
                f"{who}: '{container['name']}' mounts volume '{mount['name']}', "
                "which the pod does not define."
            )
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        if name and name not in config_maps:
            found.append(f"{who}: '{container['name']}' reads ConfigMap '{name}'{_MISSING}")
    return found


def _template_labels(obj: dict) -> Iterator[dict]:
    for _ in _pods(obj):
        spec = obj["spec"]
        template = spec.get("template") or spec["jobTemplate"]["spec"]["template"]
        yield (template.get("metadata") or {}).get("labels") or {}


def _selects(obj: dict, templates: list[dict], objects: list[dict]) -> list[str]:
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Service" and spec.get("selector"):
        wanted, pool, what = spec["selector"], templates, "pod"
    elif kind == "PodDisruptionBudget":
        wanted, pool, what = spec.get("selector", {}).get("matchLabels", {}), templates, "pod"
    elif kind == "ServiceMonitor":
        services = [
            (o.get("metadata") or {}).get("labels") or {}
            for o in objects
            if o.get("kind") == "Service"
        ]
        wanted, pool, what = spec.get("selector", {}).get("matchLabels", {}), services, "Service"
    else:
        return []
    if any(wanted.items() <= labels.items() for labels in pool):
        return []
    return [f"{object_name(obj)}: its selector {wanted} matches no {what} in the overlay."]


def _ingress(obj: dict, names: dict[str, set[str]]) -> list[str]:
    if obj.get("kind") != "Ingress":
        return []
    found = []
    for rule in obj["spec"].get("rules", []):
        for path in rule.get("http", {}).get("paths", []):
            service = path["backend"].get("service", {}).get("name")
            if service and service not in names.get("Service", set()):
                routed = f"routes {rule.get('host')} to Service '{service}'"
                found.append(f"{object_name(obj)}: {routed}{_MISSING}")
    return found
