"""Categorical columns beside the text: learnt, optional at prediction, saved and loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.fasttext.categories import value_key

FAST = {"dim": 16, "epoch": 15, "bucket": 2_000, "thread": 1, "lr": 0.5, "minCount": 1}


def _ambiguous(rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """Texts that say nothing of the label; the ``canal`` column says it all."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["A", "B", "C"], size=rows)
    canal = np.array([{"A": "magasin", "B": "marche", "C": "internet"}[x] for x in labels])
    texts = rng.choice(["vente de fruits", "commerce de fruits et legumes"], size=rows)
    frame = pd.DataFrame({"text": texts, "canal": canal, "surface": rng.integers(1, 4, rows)})
    return frame, labels.tolist()


@pytest.fixture(scope="module")
def trained() -> tuple[FastTextClassifier, pd.DataFrame, list[str]]:
    frame, labels = _ambiguous()
    return FastTextClassifier(**FAST).fit(frame, labels), frame, labels


def test_a_column_that_decides_the_label_is_learnt(trained) -> None:
    model, frame, labels = trained
    alone = FastTextClassifier(**FAST).fit(frame["text"].tolist(), labels)
    truth = np.asarray(labels)
    with_columns = np.mean(model.predict(frame, k=1).codes[:, 0] == truth)
    text_only = np.mean(alone.predict(frame["text"].tolist(), k=1).codes[:, 0] == truth)
    assert model.categories is not None and model.categories.columns == ("canal", "surface")
    assert with_columns > 0.95 and text_only < 0.5


def test_missing_columns_and_values_are_unknown(trained) -> None:
    model, _, _ = trained
    texts = ["vente de fruits", "vente de fruits"]
    absent = model.predict(texts, k=3)
    as_table = model.predict(pd.DataFrame({"text": texts}), k=3)
    unseen = model.predict(
        pd.DataFrame({"text": texts, "canal": ["drive", None], "surface": [np.nan, " "]}), k=3
    )
    for other in (as_table, unseen):
        assert other.codes.tolist() == absent.codes.tolist()
        np.testing.assert_allclose(other.probs, absent.probs, rtol=1e-6)


def test_values_compare_as_text(trained) -> None:
    model, _, _ = trained
    base = pd.DataFrame({"text": ["vente de fruits"] * 4, "canal": ["marche"] * 4})
    variants = base.assign(surface=[2, 2.0, "2", " 2 "])
    pred = model.predict(variants, k=3)
    assert len({tuple(row) for row in pred.codes.tolist()}) == 1
    assert [value_key(v) for v in (None, float("nan"), "", " x ", 3.5)] == [
        None, None, None, "x", "3.5"
    ]  # fmt: skip


def test_a_table_of_texts_alone_trains_the_same_model_as_a_list() -> None:
    frame, labels = _ambiguous(200, seed=1)
    texts = frame["text"].tolist()
    from_list = FastTextClassifier(**FAST).fit(texts, labels)
    from_table = FastTextClassifier(**FAST).fit(frame[["text"]], labels)
    assert from_table.categories is None
    expected = from_list.predict(texts, 3).probs
    np.testing.assert_array_equal(from_table.predict(texts, 3).probs, expected)


def test_a_table_without_text_is_refused(trained) -> None:
    model, _, _ = trained
    with pytest.raises(InvalidInput, match="no 'text' column"):
        model.predict(pd.DataFrame({"libelle": ["x"]}))


def test_save_and_load_keep_the_columns(trained, tmp_path: Path) -> None:
    model, frame, _ = trained
    model.save(tmp_path / "m")
    loaded = FastTextClassifier.load(tmp_path / "m")
    assert loaded.categories is not None
    assert loaded.categories.columns == model.categories.columns
    assert loaded.categories.values == model.categories.values
    np.testing.assert_array_equal(loaded.predict(frame, 3).probs, model.predict(frame, 3).probs)


def test_a_model_of_texts_alone_saves_as_before(tmp_path: Path) -> None:
    frame, labels = _ambiguous(100)
    FastTextClassifier(**FAST).fit(frame["text"].tolist(), labels).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "fasttext.json").read_text())
    assert "categories" not in meta and not (tmp_path / "m" / "categories.npy").exists()


def test_quantized_model_keeps_using_the_columns(trained) -> None:
    _, frame, labels = trained
    model = FastTextClassifier(**FAST, quantize=True, dsub=2).fit(frame, labels)
    assert np.mean(model.predict(frame, k=1).codes[:, 0] == np.asarray(labels)) > 0.95
