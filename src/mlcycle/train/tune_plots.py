"""Tuning plots as PNG (matplotlib, headless): history and metric against a parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
