"""Microseconds per single-record prediction of a tabular model: the fitted pipeline on a
one-row DataFrame against mlcycle's compiled record path (``SklearnModel.predict_records``).

Run with the project's environment (a quiet machine gives steadier figures):

    .venv/bin/python benchmarks/bench_tabular_records.py --reps 2000

Each estimator is fitted on the same mixed data (numbers with nulls, a category, a
yes/no column, a date); one worker thread (``threadpool_limits(1)``, as a serving
worker runs). Every record is checked first: both paths give the same answer to 1e-9.
Reported: the median over ``--reps`` calls, each on one record of a pool of 200
(nulls, unknown categories, numbers as text, dates in several forms).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.tabular: the data

from tests.tabular import MIXED_TYPES, mixed_frame, random_records

from mlcycle.models.sklearn import SklearnModel

ESTIMATORS = [
    ("HistGradientBoostingClassifier", {"max_iter": 100}, "classification"),
    ("RandomForestClassifier", {"n_estimators": 100, "random_state": 0}, "classification"),
    ("LogisticRegression", {"max_iter": 1000}, "classification"),
    ("Ridge", {}, "regression"),
]


def median_us(call: Callable[[int], object], reps: int) -> float:
    """Median wall time of ``call(i)`` in microseconds, after a warm-up."""
    for i in range(50):
        call(i)
    timings = []
    for i in range(reps):
        start = time.perf_counter()
        call(i)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1e6


def measure(name: str, params: dict, kind: str, reps: int) -> dict[str, float]:
    frame, classes, values = mixed_frame(5000)
    target = classes if kind == "classification" else values
    model = SklearnModel.build(name, params, kind, MIXED_TYPES).fit(frame, target)
    pool = random_records(200, seed=5)
    one_row = [pd.DataFrame([record]) for record in pool]
    pipeline = model.pipeline
    slow = pipeline.predict_proba if kind == "classification" else pipeline.predict
    compiled = model.compiled()
    assert compiled is not None, f"{name}: the compiled path refused the pipeline"
    final = pipeline.named_steps["model"]
    fast = final.predict_proba if kind == "classification" else final.predict
    for record, row in zip(pool, one_row, strict=True):
        got = fast(compiled.transform([record]))
        assert np.allclose(got, slow(row), rtol=0, atol=1e-9), record
    n = len(pool)
    return {
        "pipeline": median_us(lambda i: slow(one_row[i % n]), reps),
        "compiled": median_us(lambda i: model.predict_records([pool[i % n]], k=3), reps),
        "transform": median_us(lambda i: compiled.transform([pool[i % n]]), reps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, reps {args.reps}")
    print(f"{'estimator':34} {'pipeline µs':>12} {'compiled µs':>12} {'speed-up':>9}"
          f" {'transform µs':>13}")  # fmt: skip
    with threadpool_limits(1):
        for name, params, kind in ESTIMATORS:
            found = measure(name, params, kind, args.reps)
            ratio = found["pipeline"] / found["compiled"]
            print(f"{name:34} {found['pipeline']:12.0f} {found['compiled']:12.0f} {ratio:8.1f}x"
                  f" {found['transform']:13.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
