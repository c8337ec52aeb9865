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
