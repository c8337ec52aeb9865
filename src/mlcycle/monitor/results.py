"""What every drift statistic returns, and the one error for an empty window.

A drift check yields a :class:`DriftResult`: the method's name, its statistic, the
p-value where the method is a test, the threshold and the verdict. Statistics refuse an
empty side with :class:`NoData` (a :class:`~mlcycle.core.errors.DataError`), so a report
can catch that one class and show "no data" for the panel instead of a number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlcycle.core.errors import DataError


class NoData(DataError):
    """A statistic was asked of a window (or a reference) that holds no values."""


def require_data(size: float, side: str, what: str = "values") -> None:
    """Raise :class:`NoData` when one side of a comparison is empty.

    Args:
        size: Number of observations (or total weight) on that side.
        side: ``"reference"`` or ``"current"``, named in the message.
        what: What is missing, e.g. ``"predictions"``.
    """
    if not size > 0:
        raise NoData(
            f"The {side} window holds no {what}; widen the time window or wait for traffic."
        )


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift method on one distribution.

    Attributes:
        method: ``chisquare``, ``chi2_contingency``, ``z``, ``ks``, ``wasserstein``,
            ``wasserstein_norm``, ``jensenshannon`` or ``psi``.
        statistic: The drift score: a p-value for tests (Evidently's convention for the
            ``drift_score`` of a test), a distance otherwise.
        threshold: Drift when the statistic is below it (tests) or at or above it
            (distances).
        drifted: The verdict.
        reference_size: Observations on the reference side.
        current_size: Observations on the current side.
        test_statistic: The test's own statistic (chi-squared, D, z) when the method is a
            test, else None.
    """

    method: str
    statistic: float
    threshold: float
    drifted: bool
    reference_size: int
    current_size: int
    test_statistic: float | None = None

    @property
    def is_test(self) -> bool:
        """True when ``statistic`` is a p-value (low means drift)."""
        return self.test_statistic is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN and infinity become None)."""
        return {key: _finite(value) for key, value in asdict(self).items()}


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
