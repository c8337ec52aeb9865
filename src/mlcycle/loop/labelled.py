"""Production inputs labelled through feedback: what a retrain adds to its data.

Text tasks read them through monitoring (:func:`mlcycle.monitor.policy.labelled_texts`),
with the categorical columns logged beside each text (``text_columns``).
Tabular tasks join the prediction log's ``record`` (the input as a JSON object) with
the latest feedback of each prediction (``true_code``, or ``true_value`` for a
regression), read here with :func:`mlcycle.data.predlog.read_log`: the one function to
swap for monitoring's query once it offers labelled records.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

from mlcycle.core.settings import Settings
from mlcycle.data.predlog import FEEDBACK_SCHEMA, PREDICTION_SCHEMA, log_roots, read_log
from mlcycle.models.fasttext.categories import value_key

_KEY = ["request_id", "index"]


def labelled_records(
    settings: Settings, start: datetime, end: datetime, target: str, regression: bool
) -> pd.DataFrame:
    """Records predicted in [start, end) with their true target (latest feedback wins).

    Columns: the records' fields, and ``target``. Predictions logged without a record
    (text tasks) or feedback without a true value of the task's kind are left out.
    """
    predictions, feedback = log_roots(settings)
    logged = read_log(
        predictions, PREDICTION_SCHEMA, start=start, end=end, columns=[*_KEY, "record"]
    ).to_pandas()
    truth = "true_value" if regression else "true_code"
    answers = read_log(
        feedback, FEEDBACK_SCHEMA, start=start, columns=[*_KEY, "timestamp", truth]
    ).to_pandas()
    answers = answers.sort_values("timestamp").drop_duplicates(_KEY, keep="last")
    joined = logged.merge(answers, on=_KEY)
    joined = joined[joined["record"].notna() & joined[truth].notna()]
    frame = pd.DataFrame.from_records([json.loads(text) for text in joined["record"]])
    frame[target] = joined[truth].to_numpy()
    return frame


def text_columns(labelled: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Labelled texts (``text``, ``label``, ``record``) with each of ``columns`` read
    from the record logged beside the text.

    A column the record lacks (a row logged before columns were, or a client that did
    not send it) is missing, which the model reads as unknown. Values become the text
    the model compares them as (``2`` and ``2.0`` alike), as ``data add`` stores them.
    """
    frame = labelled.drop(columns="record")
    logged = [json.loads(text) if isinstance(text, str) else {} for text in labelled["record"]]
    for name in columns:
        frame[name] = [value_key(values.get(name)) for values in logged]
    return frame
