"""The classifier carries its calibration: applied to every answer, saved with it, the raw
score kept beside the calibrated one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlcycle.models.calibration_fit import fit_calibration
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.tasks.text.generator import generate

SMALL = {"dim": 24, "epoch": 10, "bucket": 20_000, "thread": 1, "lr": 0.5}


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[str]]:
    frame = generate(3000, seed=17)
    return frame["text"].tolist(), frame["nace"].tolist()


@pytest.fixture(scope="module")
def _trained(data: tuple[list[str], list[str]]) -> FastTextClassifier:
    texts, labels = data
    return FastTextClassifier(**SMALL).fit(texts[:2500], labels[:2500])


@pytest.fixture
def model(_trained: FastTextClassifier) -> FastTextClassifier:
    """The module's model, uncalibrated again."""
    _trained.calibration = None
    return _trained


def _calibrate(model: FastTextClassifier, data) -> None:
    texts, labels = data[0][2500:], np.asarray(data[1][2500:])
    held = model.predict(texts, k=1)
    right = held.codes[:, 0] == labels
    model.calibrate(fit_calibration(held.raw[:, 0], right, target_precision=0.9, min_rows=50))


def test_an_uncalibrated_model_answers_its_raw_scores(model: FastTextClassifier, data) -> None:
    pred = model.predict(data[0][:50], k=3)
    assert model.calibration is None and model.auto_coding_threshold is None
    np.testing.assert_array_equal(pred.raw, pred.probs)


def test_a_calibrated_model_answers_calibrated_probabilities(model, data) -> None:
    texts = data[0][:300]
    before = model.predict(texts, k=3)
    _calibrate(model, data)
    after = model.predict(texts, k=3)
    assert (after.codes == before.codes).all()  # the ranking is the model's own
    np.testing.assert_array_equal(after.raw, before.probs)
    assert after.probs.dtype == np.float32
    np.testing.assert_allclose(after.probs, model.calibration.apply_ranked(before.probs))
    assert not np.allclose(after.probs[:, 0], before.probs[:, 0])
    threshold = model.auto_coding_threshold
    assert threshold == model.calibration.threshold and 0.0 < threshold <= 1.0


def test_the_calibration_is_saved_with_the_model(model, data, tmp_path: Path) -> None:
    _calibrate(model, data)
    model.save(tmp_path / "m")
    loaded = FastTextClassifier.load(tmp_path / "m")
    assert loaded.calibration == model.calibration
    texts = data[0][:200]
    np.testing.assert_array_equal(loaded.predict(texts, k=3).probs, model.predict(texts, 3).probs)


def test_fitting_again_forgets_the_calibration(data) -> None:
    model = FastTextClassifier(**SMALL).fit(data[0][:500], data[1][:500])
    _calibrate(model, data)
    assert model.calibration is not None
    model.fit(data[0][:500], data[1][:500])
    assert model.calibration is None
