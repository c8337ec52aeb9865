"""The Prometheus alert rules in deploy/prometheus/: valid, tested, and on real metric names."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlcycle.serve.metrics import LATENCY_BUCKETS, Metrics
from mlcycle.serve.predict import PREDICT_PATH

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian package 'prometheus'; .ci/run installs it)",
)


def _promtool(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


@needs_promtool
def test_promtool_unit_tests_pass() -> None:
    # Each alert fires on a series that breaks it and stays silent on healthy traffic.
    result = _promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: Broken\n"
        "        expr: sum(rate(mlcycle_http_requests_total[5m]) > \n",
        encoding="utf-8",
    )
    result = _promtool("check", "rules", str(broken), cwd=tmp_path)
    assert result.returncode != 0


def _served_series() -> set[str]:
    """Every series name the serving process exposes (histograms as _bucket/_sum/_count)."""
    exposition = Metrics().render()[0].decode()
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.MULTILINE):
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


def test_rules_use_only_metrics_the_server_exposes() -> None:
    used = set(re.findall(r"\bmlcycle_[a-z0-9_]+", RULES.read_text(encoding="utf-8")))
    assert used, "the rules name no mlcycle metric"
    assert used <= _served_series(), f"unknown metrics: {sorted(used - _served_series())}"


def test_rule_thresholds_sit_on_bucket_bounds() -> None:
    text = RULES.read_text(encoding="utf-8")
    assert f'route="{PREDICT_PATH}"' in text
    # The latency budget is a bucket bound, so histogram_quantile needs no interpolation
    # at the threshold. The auto-coding rule reads no bucket: the served model's own
    # threshold decides, counted by mlcycle_predictions_auto_codable_total.
    assert ") > 0.25" in text and 0.25 in LATENCY_BUCKETS
    assert "mlcycle_predictions_auto_codable_total" in text and 'le="0.8"' not in text
