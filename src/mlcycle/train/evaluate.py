"""Evaluation: top-k accuracy, macro F1, accuracy at every NACE level, per-class report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlcycle.text.nace import LEVELS, codes_at_level, normalise_code


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    report: pd.DataFrame  # one row per class: precision, recall, f1, support
    confusion: pd.DataFrame  # true x predicted counts over the classes seen


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
    report.index.name = "code"
    return report, pd.DataFrame(confusion, index=classes, columns=classes)


def level_accuracy(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Top-1 accuracy at each NACE level, for codes that are NAF subclasses (others skipped)."""
    valid = np.array([normalise_code(t) is not None for t in true], dtype=bool) & np.array(
        [normalise_code(p) is not None for p in pred], dtype=bool
    )
    if not valid.any():
        return {}
    t, p = true[valid].tolist(), pred[valid].tolist()
    return {
        f"accuracy_{level}": float(
            np.mean(np.asarray(codes_at_level(t, level)) == np.asarray(codes_at_level(p, level)))
        )
        for level in LEVELS
    }


def evaluate(true: np.ndarray, top_codes: np.ndarray) -> Evaluation:
    """Score ranked predictions ``top_codes`` (n x k, best first) against ``true``."""
    true = np.asarray(true).astype(str)
    top1 = top_codes[:, 0].astype(str)
    report, confusion = per_class_report(true, top1)
    in_top5 = (top_codes[:, :5].astype(str) == true[:, None]).any(axis=1)
    metrics = {
        "accuracy_top1": float(np.mean(top1 == true)),
        "accuracy_top5": float(np.mean(in_top5)),
        "f1_macro": float(report.loc[np.unique(true), "f1"].mean()),
        **level_accuracy(true, top1),
    }
    return Evaluation(metrics, report, confusion)
