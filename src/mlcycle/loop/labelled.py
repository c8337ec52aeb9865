"""Production inputs labelled through feedback: what a retrain adds to its data.

Text tasks read them through monitoring (:func:`mlcycle.monitor.policy.labelled_texts`).
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
