"""``mlcycle deploy check``: a rendered folder validated offline, as CI does.

Every overlay is built with kustomize and each object it yields is checked against its
schema (``schemas``) and against the others (``wiring``: what a pod mounts exists);
the Argo and ArgoCD files are checked against theirs; promtool checks and tests the
alert rules, the per-environment PrometheusRules and the dashboard's queries; amtool
checks the Alertmanager example. promtool and amtool are optional (what they would
have checked is reported as skipped); kubectl and the Python validators are not.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlcycle.core.errors import InvalidInput, Unavailable
from mlcycle.deploy import dashboard, schemas, tools, wiring

DASHBOARD = Path("kubernetes/components/prometheus/grafana-dashboard.json")
_SUBSTITUTES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}


@dataclass
class CheckReport:
    """What was checked, what is wrong (one sentence each) and what could not be run."""

    folder: Path
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "folder": str(self.folder),
            "ok": self.ok,
            "checked": self.checked,
            "problems": self.problems,
            "skipped": self.skipped,
        }


def check(folder: Path, kubernetes_version: str = schemas.KUBERNETES_VERSION) -> CheckReport:
    """Validate the manifests under ``folder`` (the ``-o`` of ``deploy render``).

    Raises:
        InvalidInput: ``folder`` holds no manifests.
        Unavailable: kubectl or a Python validator is missing.
    """
    overlays = sorted(folder.glob("kubernetes/overlays/*/kustomization.yaml"))
    documents = sorted(folder.glob("argo/**/*.yaml")) + sorted(folder.glob("argocd/*.yaml"))
    if not folder.is_dir() or not (overlays or documents):
        raise InvalidInput(
            f"{folder} holds no manifests (kubernetes/overlays/*, argo/, argocd/); render "
            "them first with mlcycle deploy render --env dev -o FOLDER."
        )
    report = CheckReport(folder=folder)
    rules: list[tuple[str, dict]] = []
    for kustomization in overlays:
        _overlay(report, kustomization.parent, kubernetes_version, rules)
    for path in documents:
        _documents(report, path, kubernetes_version)
    _prometheus(report, folder, rules)
    _alertmanager(report, folder / "observability" / "alertmanager.yml")
    _dashboard(report, folder / DASHBOARD)
    return report


def _overlay(report: CheckReport, overlay: Path, version: str, rules: list) -> None:
    where = _relative(report, overlay)
    objects, error = tools.kustomize(overlay)
    if error:
        report.problems.append(f"{where}: {error}")
        return
    before = len(report.problems)
    for obj in objects:
        report.problems += [f"{where}: {p}" for p in schemas.validate(obj, version)]
        if obj.get("kind") == "PrometheusRule":
            rules.append((f"{where}: {schemas.object_name(obj)}", obj))
    report.problems += [f"{where}: {p}" for p in wiring.problems(objects)]
    if len(report.problems) == before:
        report.checked.append(f"{where}: {len(objects)} objects built and valid")


def _documents(report: CheckReport, path: Path, version: str) -> None:
    where = _relative(report, path)
    try:
        objects = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    except yaml.YAMLError as exc:
        report.problems.append(f"{where}: not valid YAML ({_first_line(exc)}).")
        return
    found = [f"{where}: {p}" for obj in objects for p in schemas.validate(obj, version)]
    report.problems += found
    if not found:
        report.checked.append(f"{where}: {len(objects)} objects valid")


def _prometheus(report: CheckReport, folder: Path, rules: list[tuple[str, dict]]) -> None:
    alerts = folder / "prometheus" / "alerts.yml"
    board, _ = dashboard.load(folder / DASHBOARD)
    if not tools.installed("promtool"):
        report.skipped.append(
            "promtool is not installed (Debian package 'prometheus'): the alert rules and "
            "the dashboard's PromQL were not checked."
        )
        return
    if alerts.is_file():
        _promtool(report, "prometheus/alerts.yml", "check", "rules", str(alerts))
        if (folder / "prometheus" / "alerts.test.yml").is_file():
            tests = ("test", "rules", "alerts.test.yml")
            _promtool(report, "prometheus/alerts.test.yml", *tests, cwd=alerts.parent)
    for where, rule in rules:
        _promtool_groups(report, where, rule["spec"]["groups"])
    if board:
        groups, titles = _recording(board)
        _promtool_groups(report, str(DASHBOARD), groups, titles)


def _recording(board: dict) -> tuple[list[dict], dict[str, str]]:
    """The dashboard's queries as recording rules, so promtool parses their PromQL, and
    the panel of each rule's name, so promtool's complaint names the panel."""
    rules, titles = [], {}
    for index, (title, expr) in enumerate(dashboard.queries(board)):
        titles[f'"dashboard:query_{index}"'] = f"panel '{title}'"
        for name, value in _SUBSTITUTES.items():
            expr = expr.replace(f"${name}", value)
        expr = dashboard.VARIABLE.sub(".*", expr)  # $namespace inside a regex matcher
        rules.append(
            {"record": f"dashboard:query_{index}", "expr": expr, "labels": {"panel": title}}
        )
    return [{"name": "dashboard", "rules": rules}], titles


def _promtool_groups(
    report: CheckReport, where: str, groups: list[dict], names: dict[str, str] | None = None
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "rules.yml"
        path.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
        renames = {f"{path}: ": "", **(names or {})}
        _promtool(report, where, "check", "rules", str(path), renames=renames)


def _promtool(
    report: CheckReport,
    where: str,
    *args: str,
    cwd: Path | None = None,
    renames: dict[str, str] | None = None,
) -> None:
    error = tools.promtool(*args, cwd=cwd)
    if error:
        for old, new in (renames or {}).items():  # temporary paths, generated rule names
            error = error.replace(old, new)
        report.problems.append(f"{where}: promtool {args[0]} {args[1]} failed: {error}.")
    else:
        report.checked.append(f"{where}: promtool {args[0]} {args[1]} passed")


def _alertmanager(report: CheckReport, path: Path) -> None:
    if not path.is_file():
        return
    try:
        error = tools.amtool("check-config", str(path))
    except Unavailable:
        report.skipped.append(
            "amtool is not installed (Debian package 'prometheus-alertmanager'): the "
            "Alertmanager example was not checked."
        )
        return
    where = _relative(report, path)
    if error:
        report.problems.append(f"{where}: amtool check-config failed: {error}.")
    else:
        report.checked.append(f"{where}: amtool check-config passed")


def _dashboard(report: CheckReport, path: Path) -> None:
    if not path.is_file():
        return
    where = _relative(report, path)
    board, error = dashboard.load(path)
    found = [error] if error else dashboard.problems(board or {})
    report.problems += [f"{where}: {problem}" for problem in found]
    if not found:
        report.checked.append(f"{where}: structure valid")


def _relative(report: CheckReport, path: Path) -> str:
    return str(path.relative_to(report.folder)) if path.is_relative_to(report.folder) else str(path)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
