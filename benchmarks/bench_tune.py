"""Parallel tuning benchmark: ``mlcycle tune --workers 2`` against ``--workers 1``.

Both run the SAME grid (equal-cost points: only ``lr`` varies) with single-threaded
trials (``thread=1``, the tuning default) on the same generated data, each into a
fresh study of one project home whose MLflow store and numba cache were warmed first.
Each round measures both, the order alternating; the tables give the median of the
rounds. Two figures per run:

* end to end: grid points / wall time of the whole command (process start-up, worker
  spawning, data loading, every trial, the summary and plots on the parent run);
* steady state: grid points / (last trial end - first trial start), from the study.

The bar (issue 7): 2 workers on 2 cores complete at least 1.7x the trials per minute
of 1 worker, end to end (the median of the same-round ratios). The machine's load
average is recorded next to the figures: another process competing for a core lowers
the 2-worker figure.

Usage::

    .venv/bin/python benchmarks/bench_tune.py [--points 32] [--rows 20000] [--epoch 20]
        [--rounds 3] [--markdown benchmarks/TUNE_RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BAR = 1.7


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID")}
    # The NACE flagship, the packaged default project (a missing project file is an error).
    from mlcycle.core.settings import default_project

    env.update(MLCYCLE_HOME=str(home), MLCYCLE_PROJECT=str(default_project()))
    env["MLCYCLE_TUNE__THREAD"] = "1"
    return env


def _tune(home: Path, *args: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "mlcycle", "tune", "--json", *args]
    done = subprocess.run(argv, env=_env(home), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"mlcycle tune failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def _steady_seconds(home: Path, study: str) -> float:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(home / "tune" / "optuna.journal")))
    trials = optuna.load_study(study_name=study, storage=storage).get_trials()
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return (end - start).total_seconds()


def measure(home: Path, common: list[str], workers: int, study: str, points: int) -> dict:
    started = time.perf_counter()
    result = _tune(home, *common, "--workers", str(workers), "--study", study)
    wall = time.perf_counter() - started
    if result["ran"] != points or result["counts"] != {"complete": points}:
        raise SystemExit(f"expected {points} complete trials, got {result['counts']}")
    steady = _steady_seconds(home, study)
    return {
        "wall_s": wall,
        "steady_s": steady,
        "per_min": points / wall * 60,
        "steady_per_min": points / steady * 60,
        "load": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=32)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epoch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", type=Path, default=HERE / "TUNE_RESULTS.md")
    args = parser.parse_args()

    from mlcycle.data.writers import write_dataset
    from mlcycle.tasks.text.generator import generate

    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        home, data, grid = Path(tmp) / "home", Path(tmp) / "data.csv", Path(tmp) / "grid.yaml"
        write_dataset(generate(args.rows, seed=21), data)
        lrs = [round(0.05 + 0.95 * i / max(1, args.points - 1), 4) for i in range(args.points)]
        grid.write_text(
            f"lr: {lrs}\ndim: 100\nepoch: {args.epoch}\nwordNgrams: 2\nbucket: 100000\n"
        )
        common = ["--grid", str(grid), "--data", str(data)]
        load_before = os.getloadavg()
        _tune(home, "--grid", str(grid), "--data", str(data), "--trials", "1", "--study", "warm")
        runs: dict[int, list[dict]] = {1: [], 2: []}
        for round_ in range(args.rounds):
            order = (1, 2) if round_ % 2 == 0 else (2, 1)
            for workers in order:
                figures = measure(home, common, workers, f"w{workers}-r{round_}", args.points)
                runs[workers].append(figures)
                print(f"round {round_} workers {workers}: {json.dumps(figures)}", flush=True)
        load_after = os.getloadavg()
    summary = _summary(runs)
    print(json.dumps(summary, indent=2))
    _write_markdown(args, runs, summary, load_before, load_after)


def _summary(runs: dict[int, list[dict]]) -> dict[str, float]:
    med = {
        w: {k: statistics.median(r[k] for r in rs) for k in ("per_min", "steady_per_min")}
        for w, rs in runs.items()
    }
    paired = [w2["per_min"] / w1["per_min"] for w1, w2 in zip(runs[1], runs[2], strict=True)]
    return {
        "paired_ratios": paired,
        "paired_median": statistics.median(paired),
        "w1_per_min": med[1]["per_min"],
        "w2_per_min": med[2]["per_min"],
        "ratio": med[2]["per_min"] / med[1]["per_min"],
        "w1_steady_per_min": med[1]["steady_per_min"],
        "w2_steady_per_min": med[2]["steady_per_min"],
        "steady_ratio": med[2]["steady_per_min"] / med[1]["steady_per_min"],
    }


def _write_markdown(args, runs, summary, load_before, load_after) -> None:
    verdict = "holds" if summary["paired_median"] >= BAR else "does NOT hold"
    rows = []
    for workers, measured in runs.items():
        for i, r in enumerate(measured):
            load = ", ".join(f"{x:.2f}" for x in r["load"])
            rows.append(
                f"| {workers} | {i} | {r['wall_s']:.1f} | {r['per_min']:.1f} | "
                f"{r['steady_s']:.1f} | {r['steady_per_min']:.1f} | {load} |"
            )
    text = f"""# Tuning benchmark: 2 workers against 1

Command: `.venv/bin/python benchmarks/bench_tune.py --points {args.points} --rows {args.rows} \
--epoch {args.epoch} --rounds {args.rounds}`

Grid: {args.points} points of equal cost (lr varies; dim 100, epoch {args.epoch}, wordNgrams 2,
bucket 100000, thread 1), {args.rows:,} generated rows (trials fit on 64% of them and score
on 16%), local journal storage, embedded MLflow store; median of {args.rounds} rounds, order
alternating. Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()},
Python {platform.python_version()}, optuna {version("optuna")}, mlflow {version("mlflow")}.

Load average (1, 5, 15 min) before: {", ".join(f"{x:.2f}" for x in load_before)}; after:
{", ".join(f"{x:.2f}" for x in load_after)} (the machine is shared; anything above the
benchmark's own 1-2 means other processes competed for the 2 cores).

| | 1 worker | 2 workers | ratio |
| --- | ---: | ---: | ---: |
| trials/min, end to end | {summary["w1_per_min"]:.1f} | {summary["w2_per_min"]:.1f} | \
{summary["ratio"]:.2f} |
| trials/min, steady state | {summary["w1_steady_per_min"]:.1f} | \
{summary["w2_steady_per_min"]:.1f} | {summary["steady_ratio"]:.2f} |

Each command also spends a fixed 6-7 s outside trials (interpreter and imports, data,
the summary with importance and plots), the same for both; the shorter the search, the
more that lowers the end-to-end ratio, which is why the grid is {args.points} points of a few
seconds each. The steady-state row shows the throughput of the workers themselves.

Same-round ratios (2 workers / 1 worker, measured back to back, end to end):
{", ".join(f"{r:.2f}" for r in summary["paired_ratios"])}; median {summary["paired_median"]:.2f}.

Bar: 2 workers at least {BAR}x the trials per minute of 1 worker, end to end (median of the
same-round ratios): **{verdict}**.

Every run:

| workers | round | wall s | trials/min | steady s | steady trials/min | load after run |
| ---: | ---: | ---: | ---: | ---: | ---: | --- |
{chr(10).join(rows)}
"""
    tmp = args.markdown.with_name(f".{args.markdown.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, args.markdown)
    print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
