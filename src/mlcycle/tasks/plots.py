"""Training plots saved as PNG artifacts (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def confusion_png(confusion: pd.DataFrame, path: Path, max_classes: int = 40) -> Path:
    """Row-normalised confusion heatmap of the most frequent classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = confusion.sum(axis=1).sort_values(ascending=False).index[:max_classes]
    matrix = confusion.loc[keep, keep].to_numpy(dtype=float)
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
    size = max(6.0, len(keep) * 0.28)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(keep)), keep, rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)), keep, fontsize=7)
    ax.set_xlabel("predicted code")
    ax.set_ylabel("true code")
    ax.set_title("Confusion (row-normalised, most frequent classes)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def residuals_png(residuals: pd.DataFrame, path: Path) -> Path:
    """Residuals (truth minus prediction) against the prediction, and their histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predicted = residuals["prediction"].to_numpy(dtype=float)
    errors = residuals["truth"].to_numpy(dtype=float) - predicted
    fig, (scatter, histogram) = plt.subplots(1, 2, figsize=(11, 4.5))
    scatter.scatter(predicted, errors, s=8, alpha=0.5)
    scatter.axhline(0.0, color="black", linewidth=0.8)
    scatter.set_xlabel("prediction")
    scatter.set_ylabel("truth - prediction")
    scatter.set_title("Residuals against the prediction")
    histogram.hist(errors, bins=40)
    histogram.set_xlabel("truth - prediction")
    histogram.set_title("Distribution of the residuals")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
