"""Which feedback rows a retrain adds: those the data does not already hold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlcycle.loop.training_set import new_rows


def test_feedback_rows_already_in_the_data_are_left_out() -> None:
    base = pd.DataFrame(
        {"age": [59.0, 48.0], "sex": ["2", "1"], "bmi": [32.1, np.nan], "y": [151.0, 75.0]}
    )
    # As records arrive from JSON: an integer where the data has a float, None for NaN.
    feedback = pd.DataFrame(
        {
            "age": [59, 48, 48, 70],
            "sex": ["2", "1", "1", "1"],
            "bmi": [32.1, None, None, 25.0],
            "y": [151, 75, 80, 200],
            "extra": ["x", "x", "x", "x"],
        }
    )
    added = new_rows(base, feedback)
    assert list(added.columns) == list(base.columns)  # the data's columns only
    assert added["y"].tolist() == [80, 200]  # a new truth for a known input is new


def test_repeats_among_the_feedback_stay() -> None:
    base = pd.DataFrame({"text": ["boulanger"], "label": ["1071C"]})
    feedback = pd.DataFrame({"text": ["plombier", "plombier"], "label": ["4322A", "4322A"]})
    assert len(new_rows(base, feedback)) == 2
