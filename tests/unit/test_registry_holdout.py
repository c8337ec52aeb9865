"""The frozen holdout: how it is drawn, and that training never sees its texts."""

from __future__ import annotations

import pandas as pd

from mlcycle.core.registry_settings import RegistrySettings
from mlcycle.core.settings import Settings
from mlcycle.data.generator import generate
from mlcycle.registry.holdout import draw, is_held_out, normalise
from mlcycle.train.pipeline import TrainingData, split_data


def _frame(rows: int = 3000) -> pd.DataFrame:
    return generate(rows, seed=4).rename(columns={"nace": "label"})


def test_draw_is_seeded_capped_and_takes_only_texts_seen_once() -> None:
    frame = _frame()
    settings = RegistrySettings.model_validate({"holdout": {"fraction": 0.1, "max_rows": 200}})
    first, again = draw(frame, settings), draw(frame, settings)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 200 and list(first.columns) == ["text", "label"]
    counts = pd.Series(normalise(frame["text"])).value_counts()
    assert all(counts[t] == 1 for t in normalise(first["text"]))
    other = draw(frame, RegistrySettings.model_validate({"holdout": {"seed": 7}}))
    assert set(other["text"]) != set(draw(frame, RegistrySettings())["text"])


def test_curated_behaviour_cases_never_enter_the_holdout() -> None:
    frame = pd.concat(
        [_frame(500), pd.DataFrame({"text": ["Coiffeur", "PIZZERIA"], "label": ["9602A", "5610A"]})]
    )
    settings = RegistrySettings.model_validate({"holdout": {"fraction": 0.4, "max_rows": 10_000}})
    held = set(normalise(draw(frame, settings)["text"]))
    assert not held & set(normalise(["coiffeur", "pizzeria"]))


def test_split_never_trains_on_a_text_that_normalises_to_the_holdout() -> None:
    variants = pd.DataFrame({"text": ["Coiffeur", "COIFFEUR !", "coiffeur"] * 5, "label": "9602A"})
    frame = pd.concat([_frame(1000), variants], ignore_index=True)
    data = TrainingData(frame, "mem", "mem")
    holdout = frozenset(normalise(["coiffeur", *frame["text"][:50]]))
    split = split_data(data, Settings(), holdout)
    trained = split.texts[split.train]
    assert len(trained) and not is_held_out(trained, holdout).any()
    assert not {"Coiffeur", "COIFFEUR !", "coiffeur"} & set(trained)
    plain = split_data(data, Settings())
    assert is_held_out(plain.texts[plain.train], holdout).sum() > 15
