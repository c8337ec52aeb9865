"""``mlcycle demo`` end to end in a fresh folder: ranked NAF codes for the four queries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlcycle.cli.demo import QUERIES
from tests.conftest import cli_env

pytestmark = pytest.mark.slow


def test_demo_prints_ranked_codes_for_the_four_queries(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "mlcycle", "demo", "--rows", "5000"],
        capture_output=True, text=True, env={**cli_env(home), "COLUMNS": "200"},
        cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for query in QUERIES:
        assert query in out
    ranked = re.findall(r"│ ([123])\s+│ (\d{4}[A-Z]) │ (0\.\d{3}|1\.000)", out)
    assert len(ranked) == 3 * len(QUERIES)
    assert "mlflow ui --backend-store-uri sqlite:///" in out
    assert (home / "mlflow.db").exists()
