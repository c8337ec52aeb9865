"""``mlcycle predict`` for real: registered models in a real MLflow store, files scored by
the CLI in its own process (forked workers included), outputs read back and compared
with the model's own answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.ingest import add_dataset
from mlcycle.registry.loading import load_served_model
from mlcycle.registry.ops import set_alias
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import train_model
from tests.conftest import cli_env, isolated, one_sentence, run_cli, write_project
from tests.integration.test_tabular_loop import CLASSIFICATION, _cases

pytestmark = pytest.mark.slow

SMALL = "model: {params: {dim: 16, epoch: 5, bucket: 5000}}\n"
MESSY = ["vendeur d'huîtres", "", None, "123 !!!", "BOULANGERIE pâtisserie", "  ", "coiffure"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``nace@production`` (a small text model) and ``quality@production`` (tabular)."""
    root = tmp_path_factory.mktemp("batch")
    home = root / "home"
    generate(1500, seed=1).to_csv(root / "train.csv", index=False)
    quality = write_project(root / "quality", CLASSIFICATION, on_default=False)
    with isolated(home):
        write_project(home, SMALL)
        get_settings.cache_clear()
        settings = get_settings()
        set_alias("nace", "production", train_model(str(root / "train.csv")).version)
        os.environ["MLCYCLE_PROJECT"] = str(quality)
        get_settings.cache_clear()
        add_dataset(str(_cases(root / "cases.csv")), "quality")
        set_alias("quality", "production", train_model().version)
        use_tracking(settings)
    get_settings.cache_clear()
    yield home


def _texts(rows: int, seed: int = 5) -> pd.DataFrame:
    texts = generate(rows, seed=seed)["text"].tolist()
    texts[: len(MESSY)] = MESSY
    return pd.DataFrame({"siren": [f"{i:09d}" for i in range(rows)], "text": texts})


def _model(home: Path, ref: str):
    with isolated(home):
        use_tracking(get_settings())
        return load_served_model(ref).model


def test_a_csv_is_scored_in_order_by_two_workers_as_the_model_answers(
    home: Path, tmp_path: Path
) -> None:
    frame = _texts(5000)
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out" / "scored.parquet"
    options = ("--id-col", "siren", "--k", "3", "--workers", "2", "--chunk-rows", "700")
    done = run_cli(home, "predict", str(tmp_path / "in.csv"), "-o", str(out), *options, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["rows"] == 5000
    table = pq.read_table(out)
    assert table.schema.metadata[b"mlcycle.model"] == b"nace/1"
    got = table.to_pandas()
    assert got["siren"].tolist() == frame["siren"].tolist()  # leading zeros and order kept
    expected = _model(home, "nace@production").predict(frame["text"].fillna("").tolist(), 3)
    assert (got[["code_1", "code_2", "code_3"]].to_numpy() == expected.codes).all()
    assert np.allclose(got["probability_1"], expected.probs[:, 0], atol=1e-6)
    assert got["empty_text"].tolist()[: len(MESSY)] == [False, True, True, True, False, True, False]


def test_parquet_in_csv_out_keeps_row_numbers_and_refuses_to_overwrite(
    home: Path, tmp_path: Path
) -> None:
    _texts(300).to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "scored.csv"
    args = ("predict", str(tmp_path / "in.parquet"), "-o", str(out), "--workers", "1")
    assert run_cli(home, *args).returncode == 0
    got = pd.read_csv(out)
    assert got["row"].tolist() == list(range(300)) and len(got.columns) == 12  # row + 5x2 + 1
    said = one_sentence(run_cli(home, *args))
    assert "exists; pass --overwrite" in said, said
    out.write_text("keep me")
    assert run_cli(home, *args, "--overwrite").returncode == 0
    assert len(pd.read_csv(out)) == 300


def test_a_tabular_model_scores_raw_records_and_names_a_bad_row(home: Path, tmp_path: Path) -> None:
    cases = pd.read_csv(_cases(tmp_path / "cases.csv", rows=200, seed=9)).drop(columns="quality")
    cases.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "q.parquet"
    done = run_cli(home, "predict", str(tmp_path / "in.csv"), "-o", str(out), "--model",
                   "quality@production", "--k", "2")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    got = pq.read_table(out).to_pandas()
    assert set(got.columns) == {"row", "code_1", "probability_1", "code_2", "probability_2"}
    assert set(got["code_1"]) <= {"good", "poor"}
    assert np.allclose(got["probability_1"] + got["probability_2"], 1.0)
    cases["delay_days"] = cases["delay_days"].astype(object)
    cases.loc[150, "delay_days"] = "soon"
    cases.to_csv(tmp_path / "bad.csv", index=False)
    bad = run_cli(home, "predict", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "b.parquet"),
                  "--model", "quality@production", "--chunk-rows", "64")  # fmt: skip
    said = one_sentence(bad)
    assert "data row 151, column 'delay_days'" in said and "not a number" in said, said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "cases.csv", "in.csv",
                                                           "q.parquet"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--text-col", "libelle"), "has no column 'libelle' (it has: siren, text); name the"),
        (("--id-col", "id"), "has no column 'id'"),
        (("--model", "nace@nowhere"), "nowhere"),
        (("--format", "xlsx"), "--format must be parquet or csv"),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(
    home: Path, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    _texts(50).to_csv(tmp_path / "in.csv", index=False)
    done = run_cli(home, "predict", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.parquet"),
                   *args)  # fmt: skip
    said = one_sentence(done)
    assert done.returncode != 0 and words in said, said
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_a_missing_input_and_an_unnamed_format_are_one_sentence(home: Path, tmp_path: Path) -> None:
    missing = one_sentence(run_cli(home, "predict", str(tmp_path / "no.csv"), "-o",
                                   str(tmp_path / "o.parquet")))  # fmt: skip
    assert "does not exist" in missing, missing
    unnamed = one_sentence(run_cli(home, "predict", str(tmp_path / "no.csv"), "-o",
                                   str(tmp_path / "out")))  # fmt: skip
    assert "Name the output .parquet or .csv" in unnamed, unnamed


def test_a_killed_run_leaves_no_output(home: Path, tmp_path: Path) -> None:
    _texts(200_000).to_parquet(tmp_path / "big.parquet")
    out = tmp_path / "scored.parquet"
    argv = [sys.executable, "-m", "mlcycle", "predict", str(tmp_path / "big.parquet"), "-o",
            str(out), "--workers", "1", "--chunk-rows", "2000"]  # fmt: skip
    process = subprocess.Popen(argv, env=cli_env(home), cwd=home.parent, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300  # a guard against hanging, not a speed requirement
    while not list(tmp_path.glob(".scored.parquet.partial-*")):
        assert process.poll() is None and time.monotonic() < deadline, "no partial file seen"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not out.exists()
