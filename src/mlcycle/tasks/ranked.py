"""Evaluation of ranked classifications: top-k accuracy, macro F1, per-class report,
confusion, and accuracy at every level of the labels' nomenclature when there is one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlcycle.tasks.base import Evaluation
from mlcycle.tasks.labels import Nomenclature


def per_class_report(true: np.ndarray, pred: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Precision, recall, F1 and support per class, and the confusion matrix."""
    classes = np.unique(np.concatenate([true, pred]))
    t = np.searchsorted(classes, true)
    p = np.searchsorted(classes, pred)
    n = len(classes)
    confusion = np.bincount(t * n + p, minlength=n * n).reshape(n, n)
    hits = np.diag(confusion).astype(float)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros(n), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n), where=denom > 0)
    report = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support}, index=classes
    )
    report.index.name = "class"
    return report, pd.DataFrame(confusion, index=classes, columns=classes)


def level_accuracy(
    true: np.ndarray, pred: np.ndarray, nomenclature: Nomenclature
) -> dict[str, float]:
    """Top-1 accuracy at each level of the nomenclature, over rows whose true and
    predicted labels both belong to it."""
    canonical_true = [nomenclature.normalise(c) for c in true.tolist()]
    canonical_pred = [nomenclature.normalise(c) for c in pred.tolist()]
    pairs = [
        (t, p)
        for t, p in zip(canonical_true, canonical_pred, strict=True)
        if t is not None and p is not None
    ]
    if not pairs:
        return {}
    t, p = (list(side) for side in zip(*pairs, strict=True))
    return {
        f"accuracy_{level}": float(
            np.mean(np.asarray(nomenclature.at_level(t, level)) == nomenclature.at_level(p, level))
        )
        for level in nomenclature.levels
    }


def evaluate_ranked(
    true: np.ndarray, top: np.ndarray, nomenclature: Nomenclature | None = None
) -> Evaluation:
    """Score ranked labels ``top`` (n x k, best first) against ``true``."""
    true = np.asarray(true).astype(str)
    top = np.asarray(top).astype(str)
    top1 = top[:, 0]
    report, confusion = per_class_report(true, top1)
    in_top5 = (top[:, :5] == true[:, None]).any(axis=1)
    metrics = {
        "accuracy_top1": float(np.mean(top1 == true)),
        "accuracy_top5": float(np.mean(in_top5)),
        "f1_macro": float(report.loc[np.unique(true), "f1"].mean()),
    }
    if nomenclature is not None:
        metrics.update(level_accuracy(true, top1, nomenclature))
    return Evaluation(metrics, report, confusion)
