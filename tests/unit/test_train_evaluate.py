"""Evaluation never fails on the labels a user's data can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcycle.core.errors import DataError, InvalidInput
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


def _class_level_settings():
    return load_settings(
        data={
            "target": "nace",
            "features": ["text"],
            "nomenclature": "naf-rev2",
            "normalise_labels": True,
            "label_level": "class",
        }
    )


def test_a_class_level_project_scores_the_levels_at_and_above_its_labels() -> None:
    task = task_of(_class_level_settings())
    levels = ["section", "division", "group", "class"]
    assert task.metric_names()[3:] == [f"accuracy_{level}" for level in levels]
    true = np.array(["5610", "5610", "0111", "0111"])
    top = np.array([["5610", "5630"], ["5630", "5610"], ["0112", "0111"], ["0111", "0112"]])
    metrics = evaluate_ranked(true, top, task.nomenclature).metrics
    assert "accuracy_subclass" not in metrics
    assert metrics["accuracy_class"] == metrics["accuracy_top1"] == 0.5
    # 5630 is in group 563, not 561; 0112 and 0111 share group 011.
    assert metrics["accuracy_group"] == 0.75 and metrics["accuracy_division"] == 1.0
    assert task.normalise_label("56.10") == "5610" and task.normalise_label("5610A") is None


def test_a_class_level_project_generates_class_codes() -> None:
    task = task_of(_class_level_settings())
    frame = task.synthetic(500, 3)
    assert frame is not None and frame["nace"].map(task.normalise_label).eq(frame["nace"]).all()


def test_answers_can_carry_each_labels_name_and_parents() -> None:
    task = task_of(load_settings())
    assert task.label_name("5610A") == "Restauration traditionnelle"
    parents = task.label_parents("5610A")
    assert list(parents) == ["section", "division", "group", "class"]
    assert parents["division"] == ("56", "Restauration")
    assert task.label_parents("0400Z") == {}


def test_a_label_level_needs_a_nomenclature_that_has_it() -> None:
    with pytest.raises(InvalidInput, match=r"label_level needs data\.nomenclature"):
        load_settings(data={"nomenclature": None, "label_level": "class"})
    task = task_of(load_settings(data={"label_level": "family"}))
    with pytest.raises(InvalidInput, match=r"data\.label_level 'family' is no level of naf-rev2"):
        task.normalise_label("5610A")
