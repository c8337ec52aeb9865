"""Calibrated confidence: how often a classifier's top-1 answer is right, given its score.

fastText's one-vs-all scores are no probabilities (the same texts can score 0.03 or
0.97), so a fixed threshold on them says little about how many auto-coded answers are
wrong. Training fits a monotone map from the raw top-1 score to the share of right
answers on rows the model never learnt from (``calibration_fit``), and from the
calibrated scores the lowest threshold whose answers reach the project's target
precision. Both are stored in the model as a :class:`Calibration`, so every copy of it
(pyfunc, server) answers calibrated probabilities and says which answers can be coded
without review.

numpy only: a registered model applies its map where mlcycle is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw top-1 score to the probability that the top-1 is right,
    and the auto-coding threshold on the calibrated probability.

    The map is piecewise linear through its knots (constant past both ends), whichever
    way it was fitted (``method``); without knots it is the identity, used when too few
    rows were held out to fit one.
    """

    scores: tuple[float, ...]  # the knots' raw scores, increasing
    probabilities: tuple[float, ...]  # the calibrated probability at each knot
    threshold: float  # calibrated top-1 from which an answer is coded without review
    target_precision: float  # what the threshold was chosen to reach
    rows: int  # held-out rows the map was fitted on
    note: str = field(default="")  # why the map is not what was asked for, when it is not
    method: str = field(default="identity")  # how the knots were fitted

    @property
    def identity(self) -> bool:
        return not self.scores

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of raw top-1 scores (float32, as models answer)."""
        raw = np.asarray(raw, dtype=np.float32)
        if self.identity:
            return raw.copy()
        mapped = np.interp(raw, self.scores, self.probabilities)
        return mapped.astype(np.float32)

    def apply_ranked(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ranked answers (n x k, best first).

        The map is fitted on top-1 scores; lower ranks go through it too, capped by what
        the top-1 leaves (codes exclude each other), so they stay in order below it.
        """
        out = self.apply(raw)
        if not self.identity and out.ndim == 2 and out.shape[1] > 1:
            out[:, 1:] = np.minimum(out[:, 1:], 1.0 - out[:, :1])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": list(self.scores),
            "probabilities": list(self.probabilities),
            "threshold": self.threshold,
            "target_precision": self.target_precision,
            "rows": self.rows,
            "note": self.note,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            tuple(float(x) for x in data["scores"]),
            tuple(float(y) for y in data["probabilities"]),
            float(data["threshold"]),
            float(data["target_precision"]),
            int(data["rows"]),
            str(data.get("note", "")),
            str(data.get("method", "identity")),
        )


@runtime_checkable
class Calibratable(Protocol):
    """A model that carries a calibration and applies it to its answers."""

    calibration: Calibration | None

    def calibrate(self, calibration: Calibration) -> Any: ...


def auto_coding_threshold(model: Any) -> float | None:
    """The threshold a model stores, or None when it carries no calibration."""
    calibration = getattr(model, "calibration", None)
    return calibration.threshold if isinstance(calibration, Calibration) else None
