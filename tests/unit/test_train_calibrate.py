"""The calibration slice: drawn from the training rows, never a text the model learns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlcycle.core.settings import CalibrationSettings, load_settings
from mlcycle.data.leakage import input_keys
from mlcycle.tasks import task_of
from mlcycle.tasks.text.generator import generate
from mlcycle.train.calibrate import set_aside
from mlcycle.train.pipeline import TrainingData, split_data


def _split(rows: int, settings: CalibrationSettings):
    frame = generate(rows, seed=3).rename(columns={"nace": "label"})
    # Every fifth text written again, as registers repeat common descriptions.
    frame = pd.concat([frame, frame.iloc[::5]], ignore_index=True)
    project = load_settings()
    task = task_of(project)
    split = split_data(TrainingData(frame, "generated", "generated"), project, task)
    return frame, task, split, set_aside(split, task, settings, seed=3)


def test_the_slice_comes_from_training_and_shares_no_text_with_it() -> None:
    frame, task, before, after = _split(3000, CalibrationSettings(share=0.1))
    assert len(after.calibration) >= 50
    assert sorted([*after.train, *after.calibration]) == sorted(before.train)
    np.testing.assert_array_equal(after.test, before.test)
    keys = input_keys(frame, task.text_column, task.target_column)
    assert not np.isin(keys[after.calibration], keys[after.train]).any()


def test_too_small_a_slice_leaves_the_rows_in_training_and_says_why() -> None:
    _, _, before, after = _split(600, CalibrationSettings(share=0.05, min_rows=50))
    np.testing.assert_array_equal(after.train, before.train)
    assert len(after.calibration) == 0
    assert "fewer than 50 (train.calibration.min_rows)" in after.calibration_note


def test_the_training_summary_says_what_would_be_auto_coded() -> None:
    from mlcycle.cli.views import auto_coding_line

    metrics = {"auto_coding_threshold": 0.87, "auto_coding_target_precision": 0.95,
               "auto_coding_rate": 0.241, "auto_coding_precision": 0.953}  # fmt: skip
    line = auto_coding_line(metrics)
    assert line is not None and "0.87" in line and "24.1%" in line and "95.3%" in line
    assert "train.calibration.auto_code_precision" in line
    assert auto_coding_line({"accuracy_top1": 0.8}) is None
