"""The engine benchmark's own logic: it imports, takes the project's parameters and judges
the compact-model bars right (the benchmark itself is run by hand, never in tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from mlcycle.core.settings import default_project

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_engine.py"
MB = 1_000_000


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engine"] = module
    try:
        spec.loader.exec_module(module)  # it failed here once, on a setting that was gone
        yield module
    finally:
        sys.modules.pop("bench_engine", None)


def test_seed_parameters_are_the_flagship_projects_fasttext_ones(bench) -> None:
    project = yaml.safe_load(default_project().read_text())["model"]["params"]
    expected = {k: v for k, v in project.items() if k in bench.FASTTEXT_PARAMS}
    assert bench.seed_params() == {k: v for k, v in expected.items() if k != "thread"}
    assert bench.seed_params()["dim"] == project["dim"]


def test_fasttext_quantizes_with_our_settings(bench) -> None:
    ours = bench.quantize_params()
    theirs = bench.fasttext_quantize_args(ours, threads=2)
    assert theirs["dsub"] == ours["dsub"] and theirs["cutoff"] == ours["cutoff"]
    assert theirs["retrain"] is (ours["retrain"] > 0) and theirs["thread"] == 2


def _measured(top1: float, mb: float) -> dict:
    return {"top1": top1, "model_bytes": int(mb * MB), "compress_seconds": 1.0}


@pytest.mark.parametrize(
    ("compact", "quantized", "verdicts"),
    [
        (_measured(0.40, 30), _measured(0.396, 4.9), [True, True]),
        (_measured(0.401, 30), _measured(0.394, 4.9), [False, False]),  # changed; -0.6 pt
        (_measured(0.40, 30), _measured(0.42, 5.1), [True, False]),  # over 5 MB
    ],
)
def test_compact_bars(bench, compact, quantized, verdicts) -> None:
    ours = {**_measured(0.40, 61), "variants": {"compact": compact, "quantized": quantized}}
    rows = bench.compact_rows(None, ours)
    assert [r["pass"] for r in rows] == [None, *verdicts]
    assert "| PASS |" in bench.compact_table(rows) or not any(verdicts)
