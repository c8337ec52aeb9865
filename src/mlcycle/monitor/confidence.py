"""Confidence drift: the model's top-1 probability, and the auto-coding rate.

Insee's production dashboard for this model follows the share of predictions whose
top-1 probability clears a threshold: those are coded automatically, the rest go to a
person. A falling rate means more manual work, and often a shift in the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor import numeric
from mlcycle.monitor.numeric import Sample
from mlcycle.monitor.results import DriftResult, require_data

AUTO_CODING_THRESHOLD = 0.8

Probabilities = Sample | Sequence[float] | np.ndarray


def confidence_drift(
    reference: Probabilities,
    current: Probabilities,
    small_sample: int = numeric.SMALL_SAMPLE,
) -> DriftResult:
    """Drift of the top-1 probability distribution.

    Two-sample Kolmogorov-Smirnov test when either side has at most ``small_sample``
    values, else the Wasserstein distance in units of the reference's standard
    deviation (threshold 0.1), as for any numeric column. A histogram of probabilities
    (``numeric.histogram_sample``) works as well as raw values.
    """
    return numeric.numeric_drift(reference, current, small_sample)


@dataclass(frozen=True)
class AutoCoding:
    """The share of predictions at or above the confidence threshold."""

    rate: float
    coded: float
    total: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def auto_coding_rate(
    probabilities: Probabilities, threshold: float = AUTO_CODING_THRESHOLD
) -> AutoCoding:
    """Share of top-1 probabilities ``>= threshold``.

    Args:
        probabilities: Top-1 probabilities, or a weighted sample of them. From a
            histogram, put a bin edge at the threshold: a bin counts as coded when its
            centre clears it.
        threshold: The confidence above which a code is accepted without review.

    Raises:
        InvalidInput: The threshold is not in [0, 1].
        NoData: No probabilities.
    """
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput(f"The auto-coding threshold must lie in [0, 1], not {threshold}.")
    data = probabilities if isinstance(probabilities, Sample) else numeric.sample(probabilities)
    require_data(data.size, "current", "predictions")
    above = data.values >= threshold
    coded = float(above.sum() if data.weights is None else data.weights[above].sum())
    return AutoCoding(coded / data.size, coded, data.size, threshold)


def auto_coding_change(
    reference: Probabilities, current: Probabilities, threshold: float = AUTO_CODING_THRESHOLD
) -> dict[str, Any]:
    """Both sides' auto-coding rates and the change in percentage points (current - reference)."""
    before = auto_coding_rate(reference, threshold)
    after = auto_coding_rate(current, threshold)
    return {
        "reference": before.to_dict(),
        "current": after.to_dict(),
        "change_points": 100.0 * (after.rate - before.rate),
    }
