"""The rows a trial sees: validation and proxy fit rows drawn as the task splits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.tasks import task_of
from mlcycle.train.pipeline import TrainingData
from mlcycle.train.tune.objective import proxy_split, validation_split
from tests.conftest import _isolate, write_project

PROJECT = """\
model: {name: cases, task: classification, family: sklearn, params: {}}
data: {target: label}
"""


@pytest.fixture
def classification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrainingData:
    home = tmp_path / "home"
    write_project(home, PROJECT, on_default=False)
    _isolate(home, monkeypatch)
    # Unbalanced classes, one of them rare: a random draw easily loses it.
    labels = ["common"] * 300 + ["middle"] * 80 + ["rare"] * 20
    frame = pd.DataFrame({"x": np.arange(len(labels), dtype=float), "label": labels})
    return TrainingData(frame, "cases.csv", "cases", types={"x": "numeric"})


def _shares(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, int]:
    return dict(Counter(frame["label"].iloc[rows]))


def test_validation_and_proxy_rows_keep_every_class_in_its_share(
    classification: TrainingData,
) -> None:
    settings = get_settings()
    task = task_of(settings)
    split = validation_split(classification, settings, task)
    fit, held = _shares(split.frame, split.train), _shares(split.frame, split.test)
    for label in ("common", "middle", "rare"):
        total = fit[label] + held[label]
        assert abs(held[label] - total * settings.tune.validation_size) <= 1
    proxy = proxy_split(split, task, 0.25, seed=settings.tune.seed)
    assert set(proxy.train) <= set(split.train) and np.array_equal(proxy.test, split.test)
    kept = _shares(split.frame, proxy.train)
    for label, count in fit.items():
        assert abs(kept[label] - count * 0.25) <= 1, (label, kept, fit)


def test_the_proxy_keeps_at_least_two_rows(classification: TrainingData) -> None:
    settings = get_settings()
    task = task_of(settings)
    split = validation_split(classification, settings, task)
    proxy = proxy_split(split, task, 0.001, seed=1)
    assert len(proxy.train) >= 2
