"""The Spark peer of bench_batch_predict.py: ``mlflow.pyfunc.spark_udf`` (through
mlcycle.serve.spark) on ``local[2]``, a Parquet file of texts in, Parquet out.

Usage: ``.venv/bin/python benchmarks/spark_score.py TEXTS.parquet OUT.parquet`` with
``MLCYCLE_HOME`` naming the project home whose registry holds ``nace@production``.
"""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import struct

from mlcycle.serve.spark import scoring_udf


def main() -> None:
    source, output = sys.argv[1:3]
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]").appName("bench-batch")
        .config("spark.ui.enabled", "false").config("spark.driver.memory", "1g")
        .getOrCreate()
    )  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    score = scoring_udf(spark, "nace@production", k=1)  # as mlflow models predict
    frame = spark.read.parquet(source)
    frame.withColumn("prediction", score(struct("text"))).drop("text").write.mode(
        "overwrite"
    ).parquet(output)
    spark.stop()


if __name__ == "__main__":
    main()
