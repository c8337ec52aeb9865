"""Training into a real MLflow store: what lands in the run and the registry."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from mlcycle.registry.loading import load_served_model
from mlcycle.train.pipeline import TrainResult
from tests.conftest import cli_env
from tests.forked_cli import run_mlcycle

LEVEL_METRICS = [f"accuracy_{x}" for x in ("section", "division", "group", "class", "subclass")]


def test_run_records_params_metrics_tags_and_dataset(registered: TrainResult) -> None:
    run = mlflow.get_run(registered.run_id)
    assert run.data.params["dim"] == "48" and run.data.params["loss"] == "ova"
    for name in ("accuracy_top1", "accuracy_top5", "f1_macro", *LEVEL_METRICS):
        assert 0.0 < run.data.metrics[name] <= 1.0
    m = run.data.metrics
    assert m["accuracy_top5"] >= m["accuracy_top1"]
    assert m["accuracy_section"] >= m["accuracy_division"] >= m["accuracy_subclass"]
    assert m["accuracy_subclass"] == pytest.approx(m["accuracy_top1"])
    tags = run.data.tags
    assert len(tags["mlcycle.git_commit"]) in (40, 7) or tags["mlcycle.git_commit"] == "unknown"
    assert tags["mlcycle.dataset_digest"] and tags["mlcycle.version"]
    inputs = run.inputs.dataset_inputs
    assert inputs and inputs[0].dataset.digest == tags["mlcycle.dataset_digest"]


def test_run_has_evaluation_artifacts(registered: TrainResult) -> None:
    client = mlflow.MlflowClient()
    names = {f.path for f in client.list_artifacts(registered.run_id, "evaluation")}
    assert names == {
        "evaluation/classification_report.csv",
        "evaluation/confusion.png",
        "evaluation/coverage_precision.csv",
        "evaluation/coverage_precision.png",
        "evaluation/metrics.json",
    }
    local = client.download_artifacts(registered.run_id, "evaluation/confusion.png")
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_version_is_registered_with_aliases_and_lineage(registered: TrainResult) -> None:
    client = mlflow.MlflowClient()
    mv = client.get_model_version_by_alias("nace", "production")
    assert str(mv.version) == registered.version
    assert client.get_model_version_by_alias("nace", "challenger").version == mv.version  # newest
    assert mv.tags["mlcycle.dataset_digest"]


def test_pyfunc_contract_list_and_dataframe(registered: TrainResult) -> None:
    model = mlflow.pyfunc.load_model("models:/nace@production")
    out = model.predict(["COIFFEUR", "vendeur d'huitres"], params={"k": 5})
    assert len(out) == 2 and all(len(row) == 5 for row in out)
    for row in out:
        probs = [entry["probability"] for entry in row]
        assert probs == sorted(probs, reverse=True)
        assert all(len(entry["code"]) == 5 for entry in row)
    framed = model.predict(pd.DataFrame({"text": ["COIFFEUR"]}), params={"k": 5})
    assert [e["code"] for e in framed[0]] == [e["code"] for e in out[0]]
    assert framed[0][0]["probability"] == pytest.approx(out[0][0]["probability"], rel=1e-5)
    assert len(model.predict(["COIFFEUR"])[0]) == 1  # k defaults to 1
    sig = model.metadata.signature
    assert [p.name for p in sig.params.params] == ["k"]


def test_served_model_matches_pyfunc(registered: TrainResult) -> None:
    served = load_served_model("nace@production")
    assert (served.name, served.version) == ("nace", registered.version)
    pyfunc_top = mlflow.pyfunc.load_model("models:/nace@production").predict(["boulanger"])
    assert served.model.predict(["boulanger"]).codes[0, 0] == pyfunc_top[0][0]["code"]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return run_mlcycle(list(args), env=cli_env(home), timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "promote", "nace", "--version", "99"], "has no version 99"),
        (["models", "promote", "nope", "--version", "1"], "No registered model named 'nope'"),
        (["models", "promote", "nace", "--version", "1", "--to", "bad alias!"], "not a usable"),
        (["models", "list", "nope"], "No registered model"),
        (["train", "--data", "missing.csv"], "does not exist"),
        (["train", "-P", "dim"], "NAME=VALUE"),
        (["train", "-P", "colour=red"], "Unknown fastText parameter"),
    ],
)
def test_cli_mistakes_are_one_sentence(registered, session_home, args, message) -> None:
    result = _cli(session_home, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_promote_and_list_json(registered, session_home) -> None:
    result = _cli(session_home, "models", "promote", "nace", "--version", "1", "--to", "staging")
    assert result.returncode == 0, result.stderr
    listed = _cli(session_home, "models", "list", "--json")
    assert '"staging"' in listed.stdout and '"production"' in listed.stdout
