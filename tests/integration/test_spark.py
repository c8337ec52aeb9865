"""Registered models scoring a Spark DataFrame through MLflow's spark_udf, on local[2]: a
text model (top-k codes) and a tabular classifier, each compared with the model itself."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlcycle.core.errors import NotFound
from mlcycle.core.settings import get_settings
from mlcycle.registry.loading import load_served_model
from tests.conftest import isolated
from tests.integration.test_batch_predict import MESSY, _texts
from tests.integration.test_batch_predict import home as home
from tests.integration.test_tabular_loop import _cases

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (mlcycle[spark])")
pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java 17 or newer (Debian: openjdk-17-jre-headless).")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # executors import mlcycle from this venv
    session = (
        SparkSession.builder.master("local[2]").appName("mlcycle-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_a_text_model_gives_each_row_its_top_k_codes(spark, home: Path) -> None:
    from pyspark.sql.functions import struct

    from mlcycle.serve.spark import scoring_udf

    frame = _texts(400)
    with isolated(home):
        score = scoring_udf(spark, "nace@production", k=3, settings=get_settings())
        expected = load_served_model("nace@production").model.predict(
            frame["text"].fillna("").tolist(), 3
        )
    scored = spark.createDataFrame(frame).withColumn("prediction", score(struct("text")))
    rows = scored.orderBy("siren").collect()
    assert [row["siren"] for row in rows] == frame["siren"].tolist()
    codes = [[answer["code"] for answer in row["prediction"]] for row in rows]
    assert codes == expected.codes.tolist()
    assert rows[0]["prediction"][0]["probability"] == pytest.approx(expected.probs[0, 0], 1e-6)
    assert rows[0]["text"] == MESSY[0]


def test_a_tabular_classifier_gives_each_row_its_class(spark, home: Path, tmp_path: Path) -> None:
    from pyspark.sql.functions import struct

    from mlcycle.serve.spark import scoring_udf

    cases = pd.read_csv(_cases(tmp_path / "c.csv", rows=120, seed=4)).drop(columns="quality")
    cases["delay_days"] = cases["delay_days"].astype(float)
    cases["urgent"] = cases["urgent"] == "oui"  # Spark goes by the signature: a boolean
    with isolated(home):
        score = scoring_udf(spark, "quality@production", settings=get_settings())
        expected = load_served_model("quality@production").model.predict(cases, 1).codes[:, 0]
    frame = spark.createDataFrame(cases.astype(object).where(cases.notna(), None))
    got = frame.withColumn("quality", score(struct(*cases.columns))).select("quality").collect()
    assert [row["quality"] for row in got] == expected.tolist()


def test_an_alias_that_does_not_exist_is_one_sentence(spark, home: Path) -> None:
    from mlcycle.serve.spark import scoring_udf

    with isolated(home), pytest.raises(NotFound, match="nowhere"):
        scoring_udf(spark, "nace@nowhere", settings=get_settings())
