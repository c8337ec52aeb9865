"""Experiment rows (as :mod:`mlcycle.data.experiment` reads them) to :class:`Comparison` s.

One comparison per pair of versions found: shadow pairs grouped by (champion version,
challenger version), canary arms by the challenger's version against each champion
version of the same span (usually one of each). Classification compares top-1 labels
and accuracy; regression compares values, RMSE and MAE.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlcycle.models import live
from mlcycle.models.intervals import CONFIDENCE, RESAMPLES
from mlcycle.models.live import CANARY, SHADOW, Comparison


def comparisons(
    shadow: pd.DataFrame,
    canary: pd.DataFrame,
    regression: bool,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    tolerance: float | None = None,
) -> list[Comparison]:
    """Every version pair's comparison: shadow ones first, then canary ones."""
    out = []
    for (a, b), rows in shadow.groupby(["champion_version", "challenger_version"], sort=True):
        out.append(compare_shadow(rows, str(a), str(b), regression, confidence, seed, tolerance))
    challengers = canary[canary["arm"] == CANARY]
    champions = canary[canary["arm"] != CANARY]
    for b, theirs in challengers.groupby("version", sort=True):
        for a, ours in champions.groupby("version", sort=True):
            out.append(compare_canary(ours, theirs, str(a), str(b), regression, confidence, seed))
    return out


def compare_shadow(
    pairs: pd.DataFrame,
    champion: str,
    challenger: str,
    regression: bool,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    tolerance: float | None = None,
    resamples: int = RESAMPLES,
) -> Comparison:
    """Agreement on every pair, and live quality on the labelled ones (paired)."""
    n = len(pairs)
    keys = (pairs["request_id"].astype(str) + "#" + pairs["index"].astype(str)).tolist()
    if regression:
        a, b = _floats(pairs["champion_value"]), _floats(pairs["challenger_value"])
        agreement = live.value_agreement(a, b, tolerance, keys)
        truth = _floats(pairs["true_value"])
        labelled = np.isfinite(truth) & np.isfinite(a) & np.isfinite(b)
    else:
        a, b = _codes(pairs["champion_top1"]), _codes(pairs["challenger_top1"])
        agreement = live.code_agreement(a, b)
        truth = _codes(pairs["true_code"])
        labelled = pairs["true_code"].notna().to_numpy()
    result = Comparison(SHADOW, champion, challenger, {"champion": n, "challenger": n},
                        {"champion": int(labelled.sum()), "challenger": int(labelled.sum())},
                        agreement)  # fmt: skip
    if labelled.any():
        t, x, y = truth[labelled], a[labelled], b[labelled]
        if regression:
            result.metrics = live.paired_errors(x - t, y - t, confidence, resamples, seed)
        else:
            hits = live.paired_accuracy(x == t, y == t, confidence, resamples, seed)
            result.metrics = {"accuracy_top1": hits}
    return result


def compare_canary(
    ours: pd.DataFrame,
    theirs: pd.DataFrame,
    champion: str,
    challenger: str,
    regression: bool,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Comparison:
    """Live quality of two independent arms on their labelled rows (no agreement: the
    arms answered different requests)."""
    first, second = _arm(ours, regression), _arm(theirs, regression)
    result = Comparison(CANARY, champion, challenger,
                        {"champion": len(ours), "challenger": len(theirs)},
                        {"champion": int(first.size), "challenger": int(second.size)})  # fmt: skip
    if first.size and second.size:
        if regression:
            result.metrics = live.independent_errors(first, second, confidence, resamples, seed)
        else:
            hits = live.independent_accuracy(first, second, confidence, resamples, seed)
            result.metrics = {"accuracy_top1": hits}
    return result


def _arm(rows: pd.DataFrame, regression: bool) -> np.ndarray:
    """An arm's errors (regression) or hits (classification) on its labelled rows."""
    if regression:
        errors = _floats(rows["value"]) - _floats(rows["true_value"])
        return errors[np.isfinite(errors)]
    labelled = rows[rows["true_code"].notna()]
    return (_codes(labelled["top1"]) == _codes(labelled["true_code"])).astype(np.float64)


def _floats(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _codes(column: pd.Series) -> np.ndarray[Any, Any]:
    return column.astype(object).where(column.notna(), "").astype(str).to_numpy()
