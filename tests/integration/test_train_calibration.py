"""Training calibrates the text classifier on rows it did not learn from, derives the
auto-coding threshold from the project's target precision, and records both in the run,
the stored model and the card."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.writers import write_dataset
from mlcycle.models.calibration_metrics import expected_calibration_error
from mlcycle.registry.card import build_card, render
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.promotion import promote
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import Reporter, train_model
from tests.conftest import _isolate, write_project

SMALL = {"dim": 32, "epoch": 12, "bucket": 20_000, "lr": 0.5, "thread": 1}
CALIBRATION_METRICS = (
    "ece", "ece_raw", "auto_coding_threshold", "auto_coding_target_precision",
    "auto_coding_rate", "auto_coding_precision",
)  # fmt: skip


@pytest.fixture(scope="module")
def _trained_once(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("calibration") / "home"
    write_project(home, "train: {calibration: {auto_code_precision: 0.9}}")
    with pytest.MonkeyPatch.context() as patch:
        _isolate(home, patch)
        data = home.parent / "train.csv"
        write_dataset(generate(4000, seed=23), data)
        messages: list[str] = []
        result = train_model(str(data), SMALL, reporter=Reporter(step=messages.append))
        yield home, result, messages
    get_settings.cache_clear()


@pytest.fixture
def trained(_trained_once, monkeypatch: pytest.MonkeyPatch):
    """A version trained on 4,000 generated rows for a 90% target precision; MLflow's
    tracking URI is process-wide, so each test points it back at that store."""
    home, result, messages = _trained_once
    _isolate(home, monkeypatch)
    use_tracking(get_settings())
    return result, messages


def test_the_run_records_calibration_and_the_auto_coding_threshold(trained) -> None:
    result, messages = trained
    run = mlflow.get_run(result.run_id)
    metrics, params = run.data.metrics, run.data.params
    assert set(CALIBRATION_METRICS) <= set(metrics)
    assert metrics["auto_coding_target_precision"] == pytest.approx(0.9)
    # Calibration pays on the evaluation rows, which it never saw.
    assert metrics["ece"] < metrics["ece_raw"]
    assert 0.0 < metrics["auto_coding_rate"] < 1.0
    assert metrics["auto_coding_precision"] > 0.8
    threshold = metrics["auto_coding_threshold"]
    assert threshold == round(threshold, 2)  # a bin edge of the monitor's histograms
    # The calibration rows are a slice of the training split, apart from the model's rows.
    cal = int(params["calibration_rows"])
    parts = ("train_rows", "eval_rows", "holdout_rows_excluded")
    assert cal >= 50 and cal + sum(int(params[name]) for name in parts) == 4000
    assert run.data.tags["mlcycle.calibration"] in ("logistic", "isotonic")
    assert "mlcycle.calibration_warning" not in run.data.tags
    assert any("Calibrating on" in m for m in messages)
    names = {f.path for f in mlflow.MlflowClient().list_artifacts(result.run_id, "evaluation")}
    assert {"evaluation/coverage_precision.png", "evaluation/coverage_precision.csv"} <= names


def test_the_stored_model_applies_the_calibration_and_its_threshold(trained) -> None:
    result, _ = trained
    served = load_served_model(f"nace/{result.version}")
    threshold = mlflow.get_run(result.run_id).data.metrics["auto_coding_threshold"]
    assert served.model.auto_coding_threshold == pytest.approx(threshold)
    texts = ["boulangerie patisserie", "coiffure", "vente de vêtements"]
    ours = served.model.predict(texts, k=3)
    assert not np.allclose(ours.probs, ours.raw)
    answered = mlflow.pyfunc.load_model(result.model_uri).predict(texts, params={"k": 3})
    probs = [[entry["probability"] for entry in row] for row in answered]
    np.testing.assert_allclose(probs, ours.probs, rtol=1e-5)


def test_the_calibrated_scores_are_closer_to_the_truth_on_fresh_rows(trained) -> None:
    result, _ = trained
    model = load_served_model(f"nace/{result.version}").model
    fresh = generate(3000, seed=99)
    pred = model.predict(fresh["text"].tolist(), k=1)
    right = pred.codes[:, 0] == fresh["nace"].to_numpy()
    calibrated = expected_calibration_error(pred.probs[:, 0], right)
    assert calibrated < expected_calibration_error(pred.raw[:, 0], right)


def test_the_card_shows_the_auto_coding_figures(trained) -> None:
    result, _ = trained
    card = build_card(f"nace/{result.version}", get_settings())
    page = render(card, "md")
    threshold = mlflow.get_run(result.run_id).data.metrics["auto_coding_threshold"]
    assert "## Auto-coding" in page and f"{threshold:.2f}" in page
    assert "15 equal-width bins" in page and "90%" in page
    assert "| threshold | coverage | precision |" in page
    assert "<img" in render(card, "html")
    params = mlflow.get_run(result.run_id).data.params
    parts = ("train_rows", "calibration_rows", "eval_rows")
    assert card.coverage["rows"] == sum(int(params[name]) for name in parts)


def test_the_gates_judge_auto_coding_at_the_models_threshold(trained) -> None:
    result, _ = trained
    home = get_settings().home
    bounds = "{auto_coding_precision: 0.5, auto_coding_rate: 0.01, ece: 0.5}"
    gates = f"{{quality: {{minimums: {bounds}}}}}"
    write_project(home, f"registry: {{environments: [{{name: staging, gates: [quality]}}], "
                  f"gates: {gates}}}")  # fmt: skip
    moved = promote("nace", result.version, "staging", "calibrated", settings=get_settings())
    quality = next(gate for gate in moved.gates if gate.name == "quality")
    checks = {check["metric"]: check for check in quality.checks}
    assert set(checks) == {"auto_coding_precision", "auto_coding_rate", "ece"}
    assert all(check["passed"] and check["value"] is not None for check in checks.values())
    assert "maximum" in checks["ece"]  # an error: a ceiling, not a floor


def test_a_tiny_dataset_falls_back_to_the_identity_and_says_so(project_home: Path) -> None:
    frame = generate(3000, seed=5)
    common = frame["nace"].value_counts().index[:10]
    tiny = pd.concat([frame[frame["nace"] == code].head(12) for code in common])
    data = project_home.parent / "tiny.csv"
    write_dataset(tiny, data)
    messages: list[str] = []
    result = train_model(str(data), SMALL, register=False, reporter=Reporter(messages.append))
    run = mlflow.get_run(result.run_id)
    assert run.data.tags["mlcycle.calibration"] == "identity"
    warning = run.data.tags["mlcycle.calibration_warning"]
    assert "fewer than 50" in warning and "train.calibration" in warning
    assert any(warning in m for m in messages)
    # No rows were set aside for a fit that would not be made.
    assert run.data.params["calibration_rows"] == "0"
    assert run.data.metrics["ece"] == pytest.approx(run.data.metrics["ece_raw"])
    assert run.data.metrics["auto_coding_threshold"] == pytest.approx(0.95)
