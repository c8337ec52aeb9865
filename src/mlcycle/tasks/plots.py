"""Evaluation plots of any task, saved as PNG artifacts (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend: no display, safe in servers and threads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_png(confusion: pd.DataFrame, path: Path, max_classes: int = 40) -> Path:
    """Row-normalised confusion heatmap of the most frequent classes."""
    plt = _pyplot()
    keep = confusion.sum(axis=1).sort_values(ascending=False).index[:max_classes]
    matrix = confusion.loc[keep, keep].to_numpy(dtype=float)
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
    size = max(6.0, len(keep) * 0.28)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(keep)), [str(k) for k in keep], rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)), [str(k) for k in keep], fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion (row-normalised, most frequent classes)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def residual_png(true: np.ndarray, predicted: np.ndarray, path: Path) -> Path:
    """Residuals (true - predicted) against predictions, and their distribution."""
    plt = _pyplot()
    predicted = np.asarray(predicted, dtype=float)
    residuals = np.asarray(true, dtype=float) - predicted
    fig, (scatter, histogram) = plt.subplots(1, 2, figsize=(10, 4))
    scatter.scatter(predicted, residuals, s=8, alpha=0.5)
    scatter.axhline(0.0, color="black", linewidth=0.8)
    scatter.set_xlabel("predicted")
    scatter.set_ylabel("residual (true - predicted)")
    scatter.set_title("Residuals against predictions")
    histogram.hist(residuals, bins=min(40, max(5, residuals.size // 10)))
    histogram.set_xlabel("residual")
    histogram.set_ylabel("rows")
    histogram.set_title("Distribution of residuals")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def coverage_png(curve: pd.DataFrame, metrics: dict[str, float], path: Path) -> Path:
    """Precision of the answers at or above each threshold against their share, with the
    target precision and the threshold chosen for it (``auto_coding_*`` metrics)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(curve["coverage"], curve["precision"], color="tab:blue", linewidth=1.5)
    target = metrics.get("auto_coding_target_precision")
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=0.8,
                   label=f"target precision {target:.0%}")  # fmt: skip
    chosen = curve[np.isclose(curve["threshold"], metrics.get("auto_coding_threshold", -1.0))]
    if len(chosen) and not np.isnan(chosen["precision"].iloc[0]):
        row = chosen.iloc[0]
        label = f"threshold {row['threshold']:.2f}: {row['coverage']:.0%} auto-coded"
        ax.plot(row["coverage"], row["precision"], "o", color="tab:red", label=label)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("coverage (share of texts at or above the threshold)")
    ax.set_ylabel("precision of those texts' top-1")
    ax.set_title("Auto-coding: coverage against precision (evaluation split)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
