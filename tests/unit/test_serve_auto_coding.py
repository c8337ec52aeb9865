"""Each answer says which texts can be coded without review, at the model's own threshold
(the project's ``monitor.auto_coding_threshold`` for a model that carries none)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlcycle.core.settings import ServeSettings, Settings
from mlcycle.models.calibration import Calibration
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from tests.unit.test_serve_app import LIMITS, _rows

TEXTS = ["Restaurant, cuisine traditionnelle", "salon de coiffure", "123 !!!", "code menu salon"]
# Raw scores 0..1 pulled towards the middle: 0.9 becomes 0.74.
SQUEEZE = Calibration(
    scores=(0.0, 1.0), probabilities=(0.1, 0.8), threshold=0.6, target_precision=0.95, rows=500
)


def _classifier() -> FastTextClassifier:
    texts, labels = _rows(400, seed=1)
    return FastTextClassifier(
        dim=16, epoch=20, minCount=1, bucket=5000, wordNgrams=1, thread=1, lr=0.5, seed=3
    ).fit(texts, labels)


@pytest.fixture(scope="module")
def classifier() -> FastTextClassifier:
    return _classifier()


def _answer(model: FastTextClassifier, home: Path) -> tuple[dict, dict]:
    served = ServedModel(name="nace", version="7", model=model, model_uri="models:/nace/7")
    settings = Settings(home=home, serve=ServeSettings(**LIMITS))
    with TestClient(create_app(served, settings)) as client:
        response = client.post("/predict", json={"texts": TEXTS, "k": 2})
        assert response.status_code == 200, response.text
        return response.json(), client.get("/").json()


def test_answers_say_which_texts_clear_the_models_threshold(classifier, tmp_path) -> None:
    classifier.calibrate(SQUEEZE)
    body, info = _answer(classifier, tmp_path / "home")
    raw = classifier.predict(TEXTS, k=1).raw[:, 0]
    tops = [ranked[0]["probability"] for ranked in body["predictions"]]
    assert tops == pytest.approx([0.1 + 0.7 * r for r in raw], abs=1e-6)
    expected = [top >= 0.6 for top in tops]
    expected[2] = False  # nothing of "123 !!!" is left to code it by
    assert body["auto_codable"] == expected
    assert True in expected and expected.count(False) >= 2
    assert info["auto_coding_threshold"] == 0.6


def test_a_model_without_a_threshold_is_coded_at_the_projects(tmp_path: Path) -> None:
    body, info = _answer(_classifier(), tmp_path / "home")
    tops = [ranked[0]["probability"] for ranked in body["predictions"]]
    assert body["auto_codable"] == [top >= 0.8 and i != 2 for i, top in enumerate(tops)]
    assert info["auto_coding_threshold"] == 0.8
