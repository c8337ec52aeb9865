"""The categorical-columns benchmark's own logic: it imports, takes the project's
parameters and reports the gain (the benchmark itself is run by hand, never in tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from mlcycle.core.settings import default_project
from mlcycle.tasks.text.activity_columns import NAMES

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_categories.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_categories", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_categories"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench_categories", None)


def test_it_measures_the_generators_columns_with_the_projects_parameters(bench) -> None:
    assert bench.COLUMNS == NAMES
    project = yaml.safe_load(default_project().read_text())["model"]["params"]
    params = bench.seed_params()
    assert {k: v for k, v in params.items() if k != "thread"} == {
        k: v for k, v in project.items() if k != "thread"
    }
    assert params["thread"] >= 1


def test_the_report_gives_each_figure_and_the_gain(bench) -> None:
    def figures(top1: float, train: float | None = 12.0) -> dict[str, float]:
        out = {"top1": top1, "top5": 0.9, "predict_us_per_row": 5.0}
        return out if train is None else {**out, "train_s": train}

    report = bench.markdown(
        {
            "text_only": figures(0.70),
            "with_columns": figures(0.74),
            "columns_model_texts_alone": figures(0.69, None),
        }
    )
    assert "| texts and the four columns | 74.00% | 90.00% | 12 | 5.0 |" in report
    assert report.endswith("Top-1 gain from the columns: +4.00 points.")
