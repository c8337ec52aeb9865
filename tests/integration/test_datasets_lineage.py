"""A registry extract in, a served model out, and lineage readable both ways.

The extract looks like a Sirene export: columns ``text,nace``, upper-case accent-free
descriptions, dotted codes (``56.10A``). It must add, train and serve with no special
handling, and the model must say which dataset version made it (and back).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from mlcycle.core.errors import NotFound
from mlcycle.core.settings import get_settings
from mlcycle.data.store import read_table, resolve
from mlcycle.models.fasttext.cleaner import strip_accents
from mlcycle.registry.lineage import model_lineage, models_trained_on
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.ops import set_alias
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import load_training_data
from tests.integration.test_datasets import invoke, isolated_home, run_cli

SMALL = ["-P", "dim=32", "-P", "epoch=12", "-P", "bucket=20000", "-P", "minCount=1"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with isolated_home(tmp_path_factory.mktemp("lineage")) as folder:
        yield folder


def _sirene_extract(path: Path, rows: int = 4000) -> Path:
    frame = generate(rows, seed=21)
    frame["text"] = [strip_accents(text).upper() for text in frame["text"]]
    frame["nace"] = [f"{code[:2]}.{code[2:]}" for code in frame["nace"]]
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``nace@1`` added from the extract, then ``nace`` version 1 trained on it by the CLI."""
    extract = _sirene_extract(tmp_path_factory.mktemp("extract") / "sirene.csv")
    added = invoke("data", "add", str(extract), "--name", "nace", "--json")
    result = invoke("train", "--data", "nace@1", *SMALL, "--json")
    return {"added": json.loads(added.stdout), "trained": json.loads(result.stdout)}


def test_extract_is_added_without_special_handling(trained) -> None:
    version = trained["added"]["version"]
    assert version["ref"] == "nace@1" and version["rows"] == 4000
    table = read_table("nace@1")
    labels = set(table.column("label").to_pylist())
    assert all(len(code) == 5 and "." not in code for code in labels)  # 56.10A -> 5610A
    assert all(text == text.upper() for text in table.column("text").to_pylist()[:50])


def test_run_records_the_dataset_version_as_input_and_tags(trained) -> None:
    run = mlflow.get_run(trained["trained"]["run_id"])
    version = resolve("nace@1")
    tags = run.data.tags
    assert tags["mlcycle.dataset_ref"] == "nace@1" and tags["mlcycle.dataset_version"] == "1"
    assert tags["mlcycle.dataset_digest"] == version.digest
    assert tags["mlcycle.dataset_source"].endswith("sirene.csv")
    dataset = run.inputs.dataset_inputs[0].dataset
    assert (dataset.name, dataset.digest) == ("nace@1", version.digest)
    assert version.uri() in dataset.source
    removed = int(run.data.params["eval_duplicates_removed"])
    assert removed > 0  # registry text repeats itself; the leakage check moved those rows
    assert int(run.data.params["eval_rows"]) + int(run.data.params["train_rows"]) <= 4000


def test_model_serves_predictions_for_registry_text(trained) -> None:
    served = load_served_model("nace/1")
    labels = set(read_table("nace@1").column("label").to_pylist())
    prediction = served.model.predict(["COIFFURE", "BOULANGERIE PATISSERIE"], k=3)
    assert prediction.codes.shape == (2, 3)
    assert set(prediction.codes.ravel()) <= labels
    pyfunc = mlflow.pyfunc.load_model("models:/nace/1")
    assert pyfunc.predict(["COIFFURE"])[0][0]["code"] == prediction.codes[0, 0]


def test_lineage_both_ways(trained, home) -> None:
    set_alias("nace", "production", "1")
    lineage = model_lineage("nace@production")
    assert (lineage.model, lineage.version, lineage.dataset) == ("nace", "1", "nace@1")
    assert lineage.run_id == trained["trained"]["run_id"] and lineage.git_commit
    assert [(m.name, m.version, m.aliases) for m in models_trained_on("nace@1")] == [
        ("nace", "1", ("challenger", "production"))
    ]
    cli = invoke("models", "lineage", "nace@production", "--json")
    assert json.loads(cli.stdout)["dataset_digest"] == resolve("nace@1").digest
    shown = invoke("data", "show", "nace@1")
    assert "Models trained on it: nace/1 (challenger, production)" in shown.stdout


def test_train_defaults_to_the_latest_version_of_the_model_dataset(trained) -> None:
    settings = get_settings()
    data = load_training_data(None, settings)
    assert (data.ref, data.digest, data.uri) == (
        "nace@1",
        resolve("nace@1").digest,
        resolve("nace@1").uri(),
    )
    assert len(data.frame) == 4000 and list(data.frame.columns) == ["text", "label"]
    assert load_training_data("synthetic", settings).version is None
    with pytest.raises(NotFound, match="has no version 99"):
        load_training_data("nace@99", settings)


def test_training_on_a_missing_version_is_one_sentence(trained, home) -> None:
    result = run_cli(home, "train", "--data", "nace@99")
    assert result.returncode == 3 and "Dataset 'nace' has no version 99" in result.stderr
    assert "Traceback" not in result.stderr
