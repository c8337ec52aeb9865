"""Calibration in a training run: the rows it is fitted on, the fit, and its figures.

The calibration rows are a seeded slice of the training split, drawn as the task splits
(by class for classification), without the texts the model learns from (as the
evaluation rows): the model never sees them and they never touch the evaluation split,
so the expected calibration error (ECE) and the auto-coding figures measured there are
honest. Too small a slice would fit noise: its rows then stay in
training and the model keeps its raw scores, and the run says so.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcycle.data.leakage import input_keys
from mlcycle.models.calibration import Calibration
from mlcycle.models.calibration_fit import fit_calibration, identity_calibration
from mlcycle.models.calibration_metrics import auto_coding_figures, coverage_precision
from mlcycle.tasks import Evaluation, Task

if TYPE_CHECKING:
    from mlcycle.core.settings import CalibrationSettings
    from mlcycle.train.pipeline import Split


def set_aside(split: Split, task: Task, settings: CalibrationSettings, seed: int) -> Split:
    """The split with its calibration rows taken from the training rows, or with none
    (and the reason) when the slice would be smaller than ``settings.min_rows``."""
    rows = split.frame.iloc[split.train]
    keep, held = task.split(rows, settings.share, seed)
    fit, calibration = split.train[keep], split.train[held]
    # As for the evaluation rows: a text also learnt from would calibrate on a memory.
    keys = input_keys(split.frame, task.text_column, task.target_column)
    learnt = np.isin(keys[calibration], keys[fit])
    fit, calibration = np.sort(np.concatenate([fit, calibration[learnt]])), calibration[~learnt]
    if len(calibration) < settings.min_rows:
        why = (
            f"{len(calibration)} calibration rows ({settings.share:g} of the "
            f"{len(split.train):,} training rows, texts also in training left out), fewer "
            f"than {settings.min_rows} (train.calibration.min_rows)"
        )
        return dataclasses.replace(split, calibration=split.train[:0], calibration_note=why)
    return dataclasses.replace(split, train=fit, calibration=calibration)


def calibrate(model: Any, task: Task, split: Split, settings: CalibrationSettings) -> Calibration:
    """Fit the model's calibration on the split's calibration rows and give it to it."""
    target = settings.auto_code_precision
    if split.calibration is None or len(split.calibration) == 0:
        why = split.calibration_note or "no calibration rows"
        calibration = identity_calibration(target, 0, why)
    else:
        rows = split.frame.iloc[split.calibration]
        prediction = model.predict(task.inputs(rows), k=1)
        scores = prediction.probs if prediction.raw is None else prediction.raw
        right = prediction.codes[:, 0].astype(str) == task.truth(rows).astype(str)
        calibration = fit_calibration(scores[:, 0], right, target, settings.min_rows)
    model.calibrate(calibration)
    return calibration


def with_calibration(
    evaluation: Evaluation, prediction: Any, truth: np.ndarray, calibration: Calibration
) -> Evaluation:
    """The evaluation with the calibration's figures on the evaluation rows: ECE (15
    equal-width bins) of the calibrated and raw top-1, the threshold and target, the
    share of texts at or above it and their precision, and the coverage-precision curve."""
    figures = auto_coding_figures(prediction, truth, calibration.threshold)
    figures["auto_coding_target_precision"] = calibration.target_precision
    absent = dict(evaluation.absent)
    if "auto_coding_precision" not in figures:
        absent["auto_coding_precision"] = "no evaluation text clears the auto-coding threshold"
    right = prediction.codes[:, 0].astype(str) == np.asarray(truth).astype(str)
    return dataclasses.replace(
        evaluation,
        metrics={**evaluation.metrics, **figures},
        absent=absent,
        coverage=coverage_precision(prediction.probs[:, 0], right),
    )


def calibration_tags(calibration: Calibration) -> dict[str, str]:
    """What the run says of its calibration: its kind, and a warning when it is not
    what the project asked for."""
    tags = {"mlcycle.calibration": calibration.method}
    if calibration.note:
        tags["mlcycle.calibration_warning"] = calibration.note
    return tags
