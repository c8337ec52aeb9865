"""Hot swap in-process: the holder's atomic swap and the alias follower's decisions."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlcycle.core.errors import ModelError, NotFound, Unavailable
from mlcycle.core.predictions import Prediction
from mlcycle.core.settings import Settings
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.app import create_app
from mlcycle.serve.follow import AliasFollower, ReloadResult
from mlcycle.serve.holder import ModelHolder
from tests.unit.test_serve_app import _rows


@pytest.fixture(scope="module")
def classifier() -> FastTextClassifier:
    texts, labels = _rows(300, seed=2)
    model = FastTextClassifier(dim=8, epoch=10, minCount=1, bucket=2000, wordNgrams=1, thread=1)
    return model.fit(texts, labels)


class Broken:
    """A model that loads but answers nonsense, as a corrupt artifact might."""

    labels: ClassVar[list[str]] = ["5610A"]

    def predict(self, texts: list[str], k: int = 1) -> Prediction:
        return Prediction(np.array([["????"]]), np.array([[7.0]], dtype=np.float32))


class Registry:
    """A registry stand-in holding real models: alias -> version, version -> model."""

    def __init__(self, classifier: FastTextClassifier) -> None:
        self.alias = "1"
        self.models = {v: ServedModel("nace", v, classifier, f"models:/nace/{v}") for v in "123"}
        self.loads: list[str] = []

    def resolve(self) -> str:
        return self.alias

    def load(self, version: str) -> ServedModel:
        self.loads.append(version)
        if version == "9":
            raise ModelError("Model nace version 9 failed to load: no MLmodel file")
        if version == "8":
            return ServedModel("nace", "8", Broken(), "models:/nace/8")  # type: ignore[arg-type]
        return self.models[version]


def _follower(registry: Registry, **kwargs) -> tuple[ModelHolder, AliasFollower, list]:
    swaps: list[tuple[str, str | None]] = []
    holder = ModelHolder(
        "nace@production",
        registry.models["1"],
        on_swap=lambda new, old: swaps.append((new.version, old.version if old else None)),
    )
    follower = AliasFollower(holder, registry.resolve, registry.load, interval=0, **kwargs)
    return holder, follower, swaps


def test_the_follower_swaps_when_the_alias_moves(classifier: FastTextClassifier) -> None:
    registry = Registry(classifier)
    holder, follower, swaps = _follower(registry)
    assert follower.check() == ReloadResult("1", "1", swapped=False)
    assert registry.loads == []  # nothing loaded while the alias stays
    registry.alias = "2"
    assert follower.check() == ReloadResult("1", "2", swapped=True)
    assert holder.require().version == "2"
    assert swaps == [("1", None), ("2", "1")]


@pytest.mark.parametrize(("bad", "words"), [("9", "no MLmodel file"), ("8", "malformed answer")])
def test_a_failed_version_keeps_the_old_model_and_says_why(
    classifier: FastTextClassifier, bad: str, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(classifier)
    holder, follower, _ = _follower(registry)
    registry.alias = bad
    result = follower.check()
    assert not result.swapped and words in (result.error or "")
    assert holder.require().version == "1"
    assert words in caplog.text and "still answering with version 1" in caplog.text
    follower.check()
    assert registry.loads == [bad]  # not retried while the alias stays on it
    follower.check(force=True)
    assert registry.loads == [bad, bad]  # /admin/reload forces a retry
    registry.alias = "3"
    assert follower.check().swapped and holder.require().version == "3"


def test_a_registry_error_reaches_the_caller_and_keeps_the_model(
    classifier: FastTextClassifier,
) -> None:
    registry = Registry(classifier)
    holder, follower, _ = _follower(registry)

    def gone() -> str:
        raise NotFound("Model 'nace' has no alias 'production'.")

    follower.resolve = gone
    with pytest.raises(NotFound):
        follower.check()
    assert holder.require().version == "1"


def test_requests_during_swaps_always_get_a_whole_model(classifier: FastTextClassifier) -> None:
    registry = Registry(classifier)
    holder, follower, _ = _follower(registry)
    seen: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            predictor = holder.require()
            answer = predictor.answer(["salon de coiffure"], 1, "rid").body
            # The answer names the version that computed it, never a mix.
            whole = b'"version":"' + predictor.version.encode() + b'"' in answer
            seen.append(predictor.version if whole else "torn")

    reader = threading.Thread(target=ask)
    reader.start()
    for version in ("2", "3", "1", "2"):
        registry.alias = version
        assert follower.check().swapped
        time.sleep(0.05)
    stop.set()
    reader.join()
    assert {"1", "2", "3"} <= set(seen) and "torn" not in seen


def test_the_follower_thread_checks_when_the_trigger_file_changes(
    classifier: FastTextClassifier, tmp_path: Path
) -> None:
    registry = Registry(classifier)
    trigger = tmp_path / "reload"
    holder, follower, _ = _follower(registry, trigger=trigger)
    follower.start()
    try:
        registry.alias = "2"
        time.sleep(1.5)
        assert holder.require().version == "1"  # interval 0: no polling on its own
        follower.touch_trigger()
        deadline = time.monotonic() + 10
        while holder.require().version != "2" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert holder.require().version == "2"
    finally:
        follower.stop()


def test_reload_of_a_fixed_model_is_a_409(classifier: FastTextClassifier, tmp_path: Path) -> None:
    served = ServedModel("nace", "4", classifier, "models:/nace/4")
    with TestClient(create_app(served, Settings(home=tmp_path))) as client:
        response = client.post("/admin/reload")
    assert response.status_code == 409 and "fixed model" in response.json()["detail"]


def test_an_empty_holder_says_why(classifier: FastTextClassifier) -> None:
    holder = ModelHolder("nace@production")
    with pytest.raises(Unavailable, match="still loading"):
        holder.require()
    holder.swap(ServedModel("nace", "5", classifier, "models:/nace/5"))
    assert holder.version == "5"
