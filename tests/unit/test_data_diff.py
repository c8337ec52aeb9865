"""Comparing two versions' rows and labels, and the leakage guard of the split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlcycle.core.errors import DataError
from mlcycle.core.settings import load_settings
from mlcycle.data.diff import diff_tables
from mlcycle.data.leakage import input_keys, separate_duplicates
from mlcycle.data.textstats import normalise
from mlcycle.tasks import task_of
from mlcycle.train.pipeline import TrainingData, split_data


def _t(rows: list[tuple[str, str]]) -> pa.Table:
    return pa.table({"text": [t for t, _ in rows], "label": [c for _, c in rows]})


def test_diff_counts_rows_as_a_multiset_and_tracks_labels() -> None:
    a = _t([("a", "1"), ("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")])
    b = _t([("a", "1"), ("b", "2"), ("c", "9"), ("e", "5"), ("e", "5")])
    d = diff_tables(a, b, "x@1", "x@2")
    assert (d.rows_a, d.rows_b, d.added, d.removed, d.unchanged) == (5, 5, 3, 3, 2)
    assert d.relabelled_texts == 1  # "c" went from 3 to 9
    assert d.new_labels == ["5", "9"] and d.vanished_labels == ["3", "4"]
    assert d.label_distance == pytest.approx(0.6)
    assert d.labels[0].label == "5" and d.labels[0].delta == pytest.approx(0.4)
    assert d.added_examples == [{"text": "c", "label": "9"}, {"text": "e", "label": "5"}]
    assert {"text": "d", "label": "4"} in d.removed_examples
    payload = d.to_dict()
    assert payload["labels"][0]["delta"] == pytest.approx(0.4) and payload["a"] == "x@1"


def test_diff_of_identical_tables_is_empty() -> None:
    a = _t([("a", "1"), ("b", "2")])
    d = diff_tables(a, a)
    assert (d.added, d.removed, d.relabelled_texts, d.label_distance) == (0, 0, 0, 0.0)
    assert d.added_examples == [] and d.new_labels == []


def _text_keys(texts: list[str]) -> np.ndarray:
    return input_keys(pd.DataFrame({"text": texts}), "text", "label")


def test_leaked_evaluation_rows_move_to_training() -> None:
    keys = _text_keys(["COIFFURE", "coiffure.", "Boulangerie", "boulangérie 2", "bar"])
    train, test, moved = separate_duplicates(keys, np.array([0, 2]), np.array([1, 3, 4]))
    assert (train.tolist(), test.tolist(), moved) == ([0, 1, 2, 3], [4], 2)


def test_tabular_rows_are_the_same_input_when_every_feature_is_equal() -> None:
    frame = pd.DataFrame({"age": [50, 50, 50], "sex": ["F", "F", "M"], "label": [1.0, 2.0, 1.0]})
    keys = input_keys(frame, None, "label")
    assert keys[0] == keys[1] != keys[2]  # the target plays no part


def test_all_evaluation_rows_leaking_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="too few distinct inputs"):
        separate_duplicates(_text_keys(["bar", "BAR"]), np.array([0]), np.array([1]))


def test_split_shares_no_normalised_text_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    words = ["bar", "Bar!", "cafe", "CAFÉ", "pain", "vin"]
    codes = ["5630Z", "5630Z", "5630Z", "5630Z", "1071C", "4725Z"]
    picks = rng.integers(0, len(words), 2000)
    # A third of the rows repeat a bare word (in varied casing); the rest are distinct.
    suffix = [
        "" if j % 3 == 0 else " " + "".join(chr(97 + int(d)) for d in str(j)) for j in range(2000)
    ]
    texts = [words[i] + s for i, s in zip(picks, suffix, strict=True)]
    labels = [codes[i] for i in picks]
    data = TrainingData(pd.DataFrame({"text": texts, "label": labels}), "mem", "mem")
    settings = load_settings()
    split = split_data(data, settings, task_of(settings))
    keys = np.asarray(normalise(texts).to_pylist(), dtype=object)
    assert split.duplicates_removed > 0
    assert not set(keys[split.train]) & set(keys[split.test])
    assert len(split.train) + len(split.test) == 2000
    again = split_data(data, settings, task_of(settings))
    assert again.test.tolist() == split.test.tolist()
