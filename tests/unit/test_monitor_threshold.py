"""Monitoring reads the auto-coding rate at the served model's own threshold (the one its
training derived from the target precision); the project's setting only stands in for
models that carry none."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from mlcycle.core.settings import Settings
from mlcycle.data.predlog import write_partitioned
from mlcycle.monitor.logstore import LogStore
from mlcycle.monitor.reference import ServedReference
from mlcycle.monitor.summary import Summary, build_summary
from tests.unit.test_monitor_logstore import T0, ms_of, prediction_table

# Three confident answers, seven at 0.85: all clear the project's 0.8, three a model's 0.9.
PROBABILITIES = [0.95, 0.93, 0.91] + [0.85] * 7


def _summary(tmp_path: Path, metrics: dict[str, float]) -> Summary:
    n = len(PROBABILITIES)
    table = prediction_table(
        ["un texte"] * n, [["5610A"]] * n, [[p] for p in PROBABILITIES],
        ms_of(T0) + 1000 * np.arange(n),
    )  # fmt: skip
    write_partitioned(tmp_path / "p", table)
    model = {"name": "nace", "task": "text-classification"}
    settings = Settings(home=tmp_path / "home", model=model)
    reference = ServedReference("nace@production", "nace", "1", None, None, None, None, metrics)
    store = LogStore(tmp_path / "p", tmp_path / "f")
    return build_summary(settings, T0, T0 + timedelta(hours=1), store=store, reference=reference)


def test_the_auto_coding_rate_uses_the_models_threshold(tmp_path: Path) -> None:
    summary = _summary(tmp_path, {"auto_coding_threshold": 0.9})
    assert summary.confidence is not None
    assert summary.confidence.threshold == 0.9
    assert summary.confidence.auto_coding_rate == pytest.approx(0.3)
    assert summary.volume.series.values["auto_coding_rate"] == [pytest.approx(0.3)]
    assert summary.volume.by_version[0].auto_coding_rate == pytest.approx(0.3)


def test_a_model_without_a_threshold_is_read_at_the_projects(tmp_path: Path) -> None:
    summary = _summary(tmp_path, {})
    assert summary.confidence is not None and summary.confidence.threshold == 0.8
    assert summary.confidence.auto_coding_rate == pytest.approx(1.0)
