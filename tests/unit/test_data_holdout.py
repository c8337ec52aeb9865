"""The frozen holdout: how it is drawn, and that training never sees its inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlcycle.core.settings import load_settings
from mlcycle.core.settings.registry import HoldoutSettings
from mlcycle.data.holdout import Holdout, draw, is_held_out
from mlcycle.data.leakage import input_keys
from mlcycle.tasks import task_of
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import TrainingData, split_data


def _frame(rows: int = 3000) -> pd.DataFrame:
    return generate(rows, seed=4).rename(columns={"nace": "label"})


def _keys(frame: pd.DataFrame) -> np.ndarray:
    return input_keys(frame, "text", "label")


NONE = np.array([], dtype=np.uint64)


def test_draw_is_seeded_capped_and_takes_only_inputs_seen_once() -> None:
    frame = _frame()
    settings = HoldoutSettings(fraction=0.1, max_rows=200)
    first, again = (
        draw(frame, _keys(frame), NONE, settings),
        draw(frame, _keys(frame), NONE, settings),
    )
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 200 and list(first.columns) == ["text", "label"]
    counts = pd.Series(_keys(frame)).value_counts()
    assert all(counts[key] == 1 for key in _keys(first))
    other = draw(frame, _keys(frame), NONE, HoldoutSettings(seed=7))
    assert set(other["text"]) != set(draw(frame, _keys(frame), NONE, HoldoutSettings())["text"])


def test_curated_inputs_and_blank_texts_never_enter_the_holdout() -> None:
    extra = pd.DataFrame({"text": ["Coiffeur", "PIZZERIA", "123 !!!"], "label": ["9602A"] * 3})
    frame = pd.concat([_frame(500), extra], ignore_index=True)
    curated = _keys(pd.DataFrame({"text": ["coiffeur", "pizzeria"]}))
    held = draw(frame, _keys(frame), curated, HoldoutSettings(fraction=0.4, max_rows=10_000))
    assert not set(_keys(held)) & set(curated)
    assert "123 !!!" not in set(held["text"])


def test_split_never_trains_on_an_input_that_normalises_to_the_holdout() -> None:
    variants = pd.DataFrame({"text": ["Coiffeur", "COIFFEUR !", "coiffeur"] * 5, "label": "9602A"})
    frame = pd.concat([_frame(1000), variants], ignore_index=True)
    data = TrainingData(frame, "mem", "mem")
    rows = pd.concat([pd.DataFrame({"text": ["coiffeur"], "label": ["9602A"]}), frame[:50]])
    holdout = Holdout("nace", 1, "d", "r", rows.reset_index(drop=True))
    settings = load_settings()
    task = task_of(settings)
    split = split_data(data, settings, task, holdout)
    trained = frame.iloc[split.train]
    assert len(trained) and not is_held_out(_keys(trained), holdout.keys("text")).any()
    assert not {"Coiffeur", "COIFFEUR !", "coiffeur"} & set(trained["text"])
    assert split.held_out >= 15
    plain = split_data(data, settings, task)
    assert is_held_out(_keys(frame.iloc[plain.train]), holdout.keys("text")).sum() > 15
