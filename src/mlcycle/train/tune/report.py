"""Results of a study: best trial, parameter importance, trial table and plots.

The plots (matplotlib PNG, headless) are the seed's "accuracy against dim" exercise
for every searched parameter, plus the optimisation history; they and the tables go
to the parent run as artifacts.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcycle.train.tune.objective import SKIPPED_ATTR, trial_summary


@dataclass(frozen=True)
class StudyReport:
    """What a study found, over all its trials (every session, every worker)."""

    counts: dict[str, int]
    best: dict[str, Any] | None
    importance: dict[str, float] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)


def study_report(study: Any, names: list[str], seed: int) -> StudyReport:
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get(SKIPPED_ATTR)]
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    best = trial_summary(study.best_trial) if complete else None
    summaries = [trial_summary(t) for t in trials if t.state.is_finished()]
    return StudyReport(counts, best, importance(study, names, seed), summaries)


def importance(study: Any, names: list[str], seed: int) -> dict[str, float]:
    """fANOVA importance of each parameter that varied, highest first; {} if too few trials."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    varied = [n for n in names if len({json.dumps(t.params.get(n)) for t in complete}) > 1]
    if len(complete) < 2 or not varied:
        return {}
    # Shallow trees: the default depth makes fANOVA run for minutes on a grid parameter
    # with dozens of values (a categorical), for the same ranking.
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=32, max_depth=8, seed=seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = optuna.importance.get_param_importances(
                study, evaluator=evaluator, params=varied
            )
    except (ValueError, RuntimeError):
        return {}  # e.g. parameters that never co-occur in complete trials
    return {name: float(score) for name, score in scores.items()}


def log_report(report: StudyReport, metric: str, names: list[str], direction: str) -> None:
    """Log the report on the active (parent) run: metrics, best params, artifacts."""
    import mlflow

    counts = {f"trials_{state}": float(n) for state, n in report.counts.items()}
    mlflow.log_metrics(counts)
    if report.best is not None:
        mlflow.log_metric(f"best_{metric}", report.best["value"])
        mlflow.log_metrics({f"best_{k}": v for k, v in report.best["metrics"].items()})
        mlflow.log_params({f"best.{k}": v for k, v in report.best["params"].items()})
        mlflow.set_tag("mlcycle.best_trial", str(report.best["number"]))
    if report.importance:
        mlflow.log_metrics({f"importance.{k}": v for k, v in report.importance.items()})
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_artifacts(report, metric, names, direction, Path(tmp)):
            where = "tune/plots" if path.suffix == ".png" else "tune"
            mlflow.log_artifact(str(path), artifact_path=where)


def write_artifacts(
    report: StudyReport, metric: str, names: list[str], direction: str, folder: Path
) -> list[Path]:
    """best.json, importance.csv, trials.csv and the PNG plots, written into ``folder``."""
    import pandas as pd

    paths = [folder / "best.json", folder / "importance.csv", folder / "trials.csv"]
    paths[0].write_text(json.dumps(report.best, indent=2, default=str))
    rows = sorted(report.importance.items(), key=lambda kv: -kv[1])
    pd.DataFrame(rows, columns=["parameter", "importance"]).to_csv(paths[1], index=False)
    trials_frame(report.trials).to_csv(paths[2], index=False)
    done = [t for t in report.trials if t["state"] == "COMPLETE"]
    if done:
        paths.append(history_png(done, metric, direction, folder / "history.png"))
        for name in names:
            target = folder / f"{metric}_vs_{name}.png"
            paths.append(metric_vs_param_png(done, metric, name, target))
    return paths


def trials_frame(trials: list[dict[str, Any]]) -> Any:
    import pandas as pd

    rows = [
        {
            "number": t["number"],
            "state": t["state"],
            "value": t["value"],
            "duration_s": t["duration_s"],
            **{f"param.{k}": v for k, v in (t["params"] or {}).items()},
            "run_id": t["run_id"],
        }
        for t in trials
    ]
    return pd.DataFrame(rows)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def history_png(trials: list[dict[str, Any]], metric: str, direction: str, path: Path) -> Path:
    """Each complete trial's score by trial number, and the best score so far."""
    plt = _pyplot()
    ordered = sorted(trials, key=lambda t: t["number"])
    numbers = [t["number"] for t in ordered]
    values = [t["value"] for t in ordered]
    pick = max if direction == "maximize" else min
    best = [pick(values[: i + 1]) for i in range(len(values))]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(numbers, values, s=18, color="tab:blue", label="trial")
    ax.step(numbers, best, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"Optimisation history ({len(values)} complete trials)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if direction == "maximize" else "upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def metric_vs_param_png(trials: list[dict[str, Any]], metric: str, name: str, path: Path) -> Path:
    """The score of each complete trial against one parameter (the seed's metric vs dim)."""
    plt = _pyplot()
    xs = [t["params"].get(name) for t in trials]
    ys = [t["value"] for t in trials]
    fig, ax = plt.subplots(figsize=(6, 4))
    if all(isinstance(x, (int, float)) for x in xs):
        ax.scatter(xs, ys, s=22, alpha=0.8)
        if name == "lr" and min(xs) > 0 and max(xs) / min(xs) > 10:
            ax.set_xscale("log")
    else:
        labels = sorted({str(x) for x in xs})
        ax.scatter([labels.index(str(x)) for x in xs], ys, s=22, alpha=0.8)
        ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(name)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {name}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
