"""Score a Spark DataFrame with a registered model: MLflow's ``spark_udf`` with the result
type of the model's task.

On a cluster (or ``local[N]``), with mlcycle installed on the executors::

    from pyspark.sql.functions import struct
    from mlcycle.serve.spark import scoring_udf

    score = scoring_udf(spark, "coder@production", k=3)
    coded = frame.withColumn("prediction", score(struct("text")))

A text model answers ``array<struct<code:string,probability:double>>`` (the top-k codes,
best first), a tabular classifier the class as a string, a regression a double. The
alias is resolved once, here: every executor scores with the same pinned version,
whatever happens to the alias meanwhile. Pass the model's input columns as a struct
(their names are how the model finds them: ``text``, or the tabular features).
"""

from __future__ import annotations

from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import Settings, get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.registry.loading import task_of
from mlcycle.registry.ops import resolve
from mlcycle.registry.refs import ModelRef

RESULT_TYPES = {
    "text-classification": "array<struct<code:string,probability:double>>",
    "classification": "string",
    "regression": "double",
}


def scoring_udf(spark: Any, model: str, k: int = 1, settings: Settings | None = None) -> Any:
    """A pandas UDF scoring with ``model`` (``NAME@ALIAS`` or ``NAME/VERSION``).

    Raises:
        NotFound: The model or alias does not exist.
        InvalidInput: The model's task has no Spark result type here.
    """
    import mlflow.pyfunc

    use_tracking(settings or get_settings())
    version = resolve(ModelRef.parse(model))
    task = task_of(version)
    if task not in RESULT_TYPES:
        raise InvalidInput(
            f"{version.name} version {version.version} solves {task!r}; Spark scoring knows "
            f"{', '.join(RESULT_TYPES)}: call mlflow.pyfunc.spark_udf with its result type."
        )
    params = {"k": k} if task == "text-classification" else None
    return mlflow.pyfunc.spark_udf(
        spark, f"models:/{version.name}/{version.version}", result_type=RESULT_TYPES[task],
        env_manager="local", params=params,
    )  # fmt: skip
