"""The Grafana dashboard: a structure Grafana loads, and queries on metrics the server
really exports (read from a real ``Metrics`` exposition, as the alert rules' test does)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from mlcycle.deploy import dashboard
from mlcycle.serve.metrics import Metrics

BOARD = (
    Path(__file__).resolve().parents[2]
    / "src/mlcycle/deploy/templates/kubernetes/components/prometheus/grafana-dashboard.json"
)


@pytest.fixture(scope="module")
def board() -> dict:
    loaded, error = dashboard.load(BOARD)
    assert error is None, error
    return loaded


def _served_series() -> set[str]:
    exposition = Metrics().render()[0].decode()
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.MULTILINE):
        suffixes = ("_bucket", "_sum", "_count") if kind == "histogram" else ("",)
        names |= {name + suffix for suffix in suffixes}
    return names


def test_the_dashboard_structure_is_sound(board: dict) -> None:
    assert dashboard.problems(board) == []


def test_every_query_names_a_metric_the_server_exports(board: dict) -> None:
    served = _served_series()
    for title, expr in dashboard.queries(board):
        used = set(re.findall(r"\bmlcycle_[a-z0-9_]+", expr))
        assert used, f"panel '{title}' queries no mlcycle metric"
        assert used <= served, f"panel '{title}' names unknown metrics {sorted(used - served)}"


def test_the_dashboard_covers_serving_and_monitoring(board: dict) -> None:
    text = "\n".join(expr for _, expr in dashboard.queries(board))
    for metric in (
        "mlcycle_http_requests_total",  # traffic and errors
        "mlcycle_http_request_duration_seconds_bucket",  # latency
        "mlcycle_model_info",  # model version
        "mlcycle_prediction_top1_probability_sum",  # confidence
        "mlcycle_prediction_log_records_total",  # log drops
    ):
        assert metric in text
    # The auto-coding rate reads the counters the alert rule reads, not a fixed bound.
    assert 'mlcycle_predictions_auto_codable_total{namespace=~"$namespace"}' in text
    assert "mlcycle_predictions_total{" in text


def _first_panel(board: dict) -> dict:
    return next(p for p in dashboard.panels(board) if p.get("type") != "row")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda b, p: p["gridPos"].update(y=0, x=0), "overlaps panel"),
        (lambda b, p: p["gridPos"].update(w=30), "goes past the 24-column grid"),
        (lambda b, p: p.update(id=b["panels"][0]["id"]), "has a missing or repeated id"),
        (lambda b, p: p["targets"][0].update(expr="rate(x[$window])"), "uses $window, which"),
        (lambda b, p: p["targets"].clear(), "has no query"),
        (lambda b, p: b.pop("uid"), "the dashboard has no uid"),
    ],
)
def test_each_structural_mistake_is_one_sentence(board: dict, breakage, expected: str) -> None:
    broken = copy.deepcopy(board)
    breakage(broken, _first_panel(broken))
    problems = dashboard.problems(broken)
    assert problems and all(p.endswith(".") for p in problems)
    assert any(expected in p for p in problems), problems
