"""Evaluation never fails on the labels a user's data can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcycle.core.errors import DataError
from mlcycle.core.settings import load_settings
from mlcycle.tasks import task_of
from mlcycle.tasks.ranked import evaluate_ranked
from mlcycle.tasks.text.nace import NAF_REV2
from mlcycle.train.pipeline import TrainingData, split_data


def test_codes_outside_the_nace_divisions_are_scored_but_skipped_at_the_levels() -> None:
    true = np.array(["0400Z", "5610A", "5610C", "chat"])
    top = np.array([["0400Z", "5610A"], ["5610A", "0400Z"], ["5610A", "5610C"], ["chat", "x"]])
    metrics = evaluate_ranked(true, top, NAF_REV2).metrics
    assert metrics["accuracy_top1"] == 0.75 and metrics["accuracy_top5"] == 1.0
    # Level accuracy counts the two NAF rows only: both in section I, one subclass right.
    assert metrics["accuracy_section"] == 1.0 and metrics["accuracy_subclass"] == 0.5


def test_a_file_of_codes_seen_once_leaves_nothing_to_evaluate_and_says_so() -> None:
    frame = pd.DataFrame({"text": ["boulangerie", "coiffure"], "label": ["1071C", "9602A"]})
    data = TrainingData(frame, "tiny.csv", "tiny")
    settings = load_settings()
    with pytest.raises(DataError, match="No 'nace' value has enough rows") as caught:
        split_data(data, settings, task_of(settings))
    assert "2 rows" in caught.value.message and "train.test_size" in caught.value.message
