"""The model card's auto-coding section: which answers can be coded without review.

Read from the training run of a calibrated classifier: the threshold its training chose
for the project's target precision, the share of evaluation texts that clear it and
their precision, the expected calibration error before and after calibration, and the
coverage-precision curve (a few of its points as a table; the plot in the HTML card).
"""

from __future__ import annotations

import base64
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlcycle.registry.details import VersionDetails

HEADING = "Auto-coding"
CURVE = "evaluation/coverage_precision"
# Thresholds shown from the curve, beside the chosen one.
SHOWN = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)

Section = tuple[str, list[str], list[list[str]]]


@dataclass(frozen=True)
class AutoCoding:
    metrics: dict[str, float]
    warning: str
    curve: pd.DataFrame | None  # threshold, coverage, precision on the evaluation split
    png: bytes | None


def auto_coding_of(details: VersionDetails) -> AutoCoding | None:
    """The version's auto-coding figures, or None for a version trained without them."""
    if "auto_coding_threshold" not in details.metrics:
        return None
    curve, png = _artifacts(details.run_id)
    warning = details.tags.get("mlcycle.calibration_warning", "")
    return AutoCoding(details.metrics, warning, curve, png)


def _artifacts(run_id: str | None) -> tuple[pd.DataFrame | None, bytes | None]:
    import mlflow

    if not run_id:
        return None, None
    curve, png = None, None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="evaluation", dst_path=tmp
            )
            curve = pd.read_csv(Path(folder) / "coverage_precision.csv")
            png = (Path(folder) / "coverage_precision.png").read_bytes()
        except Exception:  # a run whose curve was not kept: the card shows the figures
            pass
    return curve, png


def section(found: AutoCoding) -> Section:
    m = found.metrics
    threshold, target = m["auto_coding_threshold"], m.get("auto_coding_target_precision")
    rate = m.get("auto_coding_rate", math.nan)
    paragraphs = [
        f"An answer whose calibrated top-1 probability is at least {threshold:.2f} can be "
        "coded without review: the lowest threshold whose answers reached the target "
        f"precision of {_pct(target)} on the calibration rows (train.calibration); serving "
        "(auto_codable) and monitoring use it.",
        f"On the evaluation split {_pct(rate, 1)} of texts clear it, with precision "
        f"{_pct(m.get('auto_coding_precision'), 1)}; the other {_pct(1 - rate, 1)} go to "
        "a person.",
        "Expected calibration error of the top-1 probability (15 equal-width bins): "
        f"{m.get('ece', math.nan):.3f} calibrated, {m.get('ece_raw', math.nan):.3f} raw.",
    ]
    if found.warning:
        paragraphs.append(f"Warning: {found.warning}")
    return HEADING, paragraphs, _curve_table(found.curve, threshold)


def _curve_table(curve: pd.DataFrame | None, threshold: float) -> list[list[str]]:
    rows = [["threshold", "coverage", "precision"]]
    if curve is None:
        return rows
    wanted = {round(t, 2) for t in (*SHOWN, threshold)}
    for point in curve[curve["threshold"].round(2).isin(wanted)].itertuples():
        mark = " (chosen)" if round(point.threshold, 2) == round(threshold, 2) else ""
        rows.append([f"{point.threshold:.2f}{mark}", _pct(point.coverage, 1),
                     _pct(point.precision, 1)])  # fmt: skip
    return rows


def image_html(found: AutoCoding) -> str:
    """The curve as an inline image, or nothing."""
    if found.png is None:
        return ""
    data = base64.b64encode(found.png).decode("ascii")
    return (
        f'<img alt="Coverage against precision" style="max-width:100%" '
        f'src="data:image/png;base64,{data}">'
    )


def _pct(value: float | None, decimals: int = 0) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{100 * value:.{decimals}f}%"
