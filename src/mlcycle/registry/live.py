"""The ``live`` gate's evidence: the candidate against the alias holder on live feedback.

A server in shadow or canary mode (``serve.experiment``) runs the candidate as its
challenger beside the holder; this reads the labelled requests of the gate's window
(:mod:`mlcycle.data.experiment`) and judges the difference of live quality
(:mod:`mlcycle.models.live`): top-1 accuracy for classification, RMSE for regression.

The test is one-sided: the candidate passes when, at ``confidence``, it is not worse by
more than the margin, i.e. the lower bound of the accuracy difference (or the upper
bound of the RMSE ratio) of a two-sided interval at ``2 * confidence - 1`` clears it.
Shadow pairs are preferred (paired, so tighter); canary arms are used when the shadow
pairs are too few.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlcycle.core.settings.monitor import duration_seconds
from mlcycle.data.experiment import CANARY, CHAMPION, read_experiment
from mlcycle.models.live import Comparison
from mlcycle.models.live_compare import compare_canary, compare_shadow

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.core.settings.registry import LiveGate


@dataclass
class LiveVerdict:
    """What the live gate found: the verdict, its figure, threshold and reason."""

    passed: bool
    figure: str
    threshold: str
    detail: str
    checks: list[dict[str, Any]] = field(default_factory=list)


def live_verdict(
    candidate: str, holder: str | None, settings: Settings, regression: bool
) -> LiveVerdict:
    """Judge version ``candidate`` against version ``holder`` on the window's feedback."""
    config = settings.registry.gates.live
    threshold = _threshold(config, regression)
    if holder is None or holder == candidate:
        return LiveVerdict(
            True, "no holder to compare with", threshold, "the alias has no other holder"
        )
    window = config.window or settings.monitor.window
    end = datetime.now(UTC)
    rows = read_experiment(settings, end - timedelta(seconds=duration_seconds(window)), end)
    confidence = 2.0 * config.confidence - 1.0  # two-sided interval, one-sided bound
    shadow = rows.shadow[
        (rows.shadow["champion_version"] == holder)
        & (rows.shadow["challenger_version"] == candidate)
    ]
    found = []
    if not shadow.empty:
        found.append(compare_shadow(shadow, holder, candidate, regression, confidence, config.seed))
    arms = _arms(rows.canary, holder, candidate)
    if arms is not None:
        ours, theirs = arms
        found.append(
            compare_canary(ours, theirs, holder, candidate, regression, confidence, config.seed)
        )
    enough = [c for c in found if min(c.labelled.values()) >= config.min_labelled]
    if not enough:
        return LiveVerdict(False, _counts(found), threshold, _too_few(found, config, window))
    return _judge(enough[0], config, regression, threshold, window)


def _arms(
    canary: pd.DataFrame, holder: str, candidate: str
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    theirs = canary[(canary["arm"] == CANARY) & (canary["version"] == candidate)]
    ours = canary[(canary["arm"] == CHAMPION) & (canary["version"] == holder)]
    return (ours, theirs) if len(theirs) and len(ours) else None


def _threshold(config: LiveGate, regression: bool) -> str:
    if regression:
        return f"RMSE ratio <= {1 + config.relative_margin:.4g} at {config.confidence:.0%}"
    return f"top-1 drop <= {config.margin} at {config.confidence:.0%}"


def _counts(found: list[Comparison]) -> str:
    if not found:
        return "0 labelled requests"
    return ", ".join(f"{c.mode} {min(c.labelled.values())} labelled" for c in found)


def _too_few(found: list[Comparison], config: LiveGate, window: str) -> str:
    needs = f"it needs {config.min_labelled} (registry.gates.live.min_labelled)"
    if not found:
        return (
            f"no shadow or canary traffic of the candidate against the holder in the last "
            f"{window}: serve with serve.experiment.mode shadow or canary and the candidate as "
            f"challenger, then send feedback; {needs}"
        )
    best = max(min(c.labelled.values()) for c in found)
    return (
        f"only {best} labelled request(s) answered by both versions in the last {window}; "
        f"{needs}: send more feedback or wait for traffic"
    )


def _judge(
    found: Comparison, config: LiveGate, regression: bool, threshold: str, window: str
) -> LiveVerdict:
    """Pass when the one-sided bound of the difference clears the margin."""
    labelled = min(found.labelled.values())
    where = f"{labelled} labelled {found.mode} requests in the last {window}"
    if regression:
        ratio = found.metrics["rmse"].ratio
        assert ratio is not None  # paired and independent errors both give it
        bound, limit = ratio.high, 1.0 + config.relative_margin
        passed = bound <= limit
        figure = f"RMSE ratio {ratio.value:.4f} (upper bound {bound:.4f})"
    else:
        difference = found.metrics["accuracy_top1"].difference
        bound, limit = difference.low, -config.margin
        passed = bound >= limit
        figure = f"top-1 {difference.value:+.4f} (lower bound {bound:+.4f})"
    check = {"mode": found.mode, "labelled": labelled, "bound": bound, "limit": limit,
             "passed": passed, "comparison": found.to_dict()}  # fmt: skip
    detail = f"{where}; " + ("not worse beyond the margin" if passed else "worse beyond the margin")
    return LiveVerdict(passed, figure, threshold, detail, [check])
