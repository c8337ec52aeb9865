"""``mlcycle demo`` end to end in a fresh folder: ranked codes, then the monitoring loop.

The four queries get ranked NAF codes; drifted traffic makes the check fire; the
retrain is promoted; the running server swaps to it; the report is written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlcycle.tasks.text.task import SHOWCASE as QUERIES
from tests.conftest import cli_env

pytestmark = pytest.mark.slow


def test_demo_serves_then_detects_drift_retrains_and_swaps(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = subprocess.run(
        # The default size: smaller models fail the production behaviour gate, and the
        # demo would (rightly) stop at staging.
        [sys.executable, "-m", "mlcycle", "demo"],
        capture_output=True, text=True, env={**cli_env(home), "COLUMNS": "200"},
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    # The first model reaches production through the gates, so the audit trail has it.
    assert "Gates for nace version 1 -> production" in out
    assert "nace@production -> version 1" in out
    for query in QUERIES:
        assert query in out
    ranked = re.findall(r"│ ([123])\s+│ (\d{4}[A-Z]) │ (0\.\d{3}|1\.000)", out)
    assert len(ranked) == 3 * len(QUERIES)
    # The loop: the drift check fires, the retrain is promoted and served.
    assert "BREACHED  prediction_drift" in out
    assert "The check fires (exit code 1)" in out
    # Which gate refused, when one did (a flake seen once in 3 suite runs, 2026-12-03).
    assert "Retrain outcome: promoted" in out, out[out.find("7. Retrain") :][:4000]
    assert "Server answers with version 2." in out
    report = home / "monitoring-report.html"
    page = report.read_text()
    figures = json.loads(re.search(r"id='figures'>(.*?)</script>", page, re.S)[1])
    versions = {row["version"] for row in figures["volume"]["by_version"]}
    assert versions == {"1", "2"}
    assert "mlflow ui --backend-store-uri sqlite:///" in out
    assert (home / "mlflow.db").exists()
