"""The latency gate times a tabular model the way the API asks it: one record at a time.

Single rows as one-row tables went through pandas, some 30 times slower than the
records path serving uses, so tabular candidates failed the latency gate on a busy
machine though the API answered well within it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.models.sklearn.model import SklearnModel
from mlcycle.registry.gates import p99_latency_ms
from mlcycle.tasks import task_of
from tests.conftest import _isolate, write_project
from tests.tabular import MIXED_TYPES, mixed_frame


def test_single_inputs_are_records_predicted_like_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write_project(home, "model: {name: m, task: regression}\ndata: {target: y}", on_default=False)
    _isolate(home, monkeypatch)
    task = task_of(get_settings())
    features, _, value = mixed_frame(120)
    frame = features.assign(y=value)
    model = SklearnModel.build("Ridge", {}, "regression", MIXED_TYPES)  # type: ignore[arg-type]
    model.fit(features, value)
    singles = task.single_inputs(frame, 5)
    assert [type(s) for s in singles] == [list] * 5
    first = frame.drop(columns=["y"]).iloc[0].astype(object)
    assert singles[0] == [first.where(first.notna(), None).to_dict()]  # JSON values
    answers = np.concatenate([model.predict(s, 5).values for s in singles])
    assert answers == pytest.approx(model.predict(features.iloc[:5]).values, abs=1e-9)
    assert p99_latency_ms(model, singles, 30) > 0.0
