"""An online experiment's traffic read back from the logs: shadow pairs and canary arms.

``mlcycle serve`` with ``serve.experiment`` logs the answers clients received in the
prediction log (``arm`` = ``champion`` or ``canary``) and a shadow challenger's answers
in the shadow log (``arm`` = ``shadow``, same ``request_id`` and ``index`` as the
champion's row of the request). Feedback names ``(request_id, index)``, so one label
serves both answers of a shadowed request. This module joins the three:

* **shadow pairs**: each shadow row beside the champion's row of the same prediction;
* **canary arms**: the rows the challenger answered (``canary``) and the champion's
  (``champion``) that were not shadowed.

Each row carries its top-1 label (classification) or value (regression) and its latest
feedback label. Monitoring (``monitor compare``) and the ``live`` promotion gate read
the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.data.predlog import FEEDBACK_SCHEMA, Skipped, log_roots, read_log, shadow_root

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings

CHAMPION, CANARY, SHADOW = "champion", "canary", "shadow"
KEY = ["request_id", "index"]
_COLUMNS = ["request_id", "index", "timestamp", "model_version", "codes", "value", "arm"]
_ROW = ["request_id", "index", "timestamp", "version", "top1", "value"]


@dataclass
class ExperimentRows:
    """One window's experiment traffic.

    Attributes:
        shadow: One row per shadowed prediction: ``request_id``, ``index``,
            ``champion_version``, ``challenger_version``, ``champion_top1``,
            ``challenger_top1``, ``champion_value``, ``challenger_value``,
            ``true_code``, ``true_value``.
        canary: One row per prediction of a canary arm: ``arm`` (``champion`` or
            ``canary``), ``version``, ``top1``, ``value``, ``true_code``,
            ``true_value``.
        skipped: Log files left out (cut short by a crash).
    """

    shadow: pd.DataFrame
    canary: pd.DataFrame
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No shadow pair and no canary answer in the window."""
        return self.shadow.empty and not (self.canary["arm"] == CANARY).any()


def read_experiment(settings: Settings, start: datetime, end: datetime) -> ExperimentRows:
    """The shadow pairs and canary arms of [start, end), each with its latest feedback."""
    skipped: list[Skipped] = []
    predictions, feedback_root = log_roots(settings)
    main = _rows(read_log(predictions, start=start, end=end, columns=_COLUMNS, skipped=skipped))
    shadowed = _rows(
        read_log(shadow_root(settings), start=start, end=end, columns=_COLUMNS, skipped=skipped)
    )
    labels = _labels(read_log(feedback_root, FEEDBACK_SCHEMA, start=start, skipped=skipped))
    pairs = _pairs(main[main["arm"] != CANARY], shadowed)
    arms = _arms(main, pairs)
    return ExperimentRows(_labelled(pairs, labels), _labelled(arms, labels), skipped)


def _rows(table: pa.Table) -> pd.DataFrame:
    """Key, time, version, top-1 label and value of each logged row (arm null: champion)."""
    codes = table.column("codes")
    first = pc.list_slice(pc.fill_null(codes, pa.scalar([], codes.type)), 0, 1)
    top1 = pc.list_flatten(first)
    present = pc.greater(pc.list_value_length(first), 0).to_numpy(zero_copy_only=False)
    column = np.full(table.num_rows, None, dtype=object)
    column[np.asarray(present, bool)] = top1.to_numpy(zero_copy_only=False)
    logged = table.column("arm")
    arm = pc.fill_null(logged, CHAMPION)
    return pd.DataFrame(
        {
            "request_id": table.column("request_id").to_numpy(zero_copy_only=False),
            "index": table.column("index").to_numpy(zero_copy_only=False),
            "timestamp": table.column("timestamp").cast(pa.int64()).to_numpy(),
            "version": table.column("model_version").to_numpy(zero_copy_only=False),
            "top1": column,
            "value": table.column("value").to_numpy(zero_copy_only=False),
            "arm": arm.to_numpy(zero_copy_only=False),
            "logged_arm": logged.to_numpy(zero_copy_only=False),
        }
    )


def _labels(table: pa.Table) -> pd.DataFrame:
    """The latest label of each labelled prediction."""
    frame = table.select([*KEY, "timestamp", "true_code", "true_value"]).to_pandas()
    frame = frame.sort_values("timestamp", kind="stable").drop_duplicates(KEY, keep="last")
    return frame.drop(columns="timestamp")


def _pairs(main: pd.DataFrame, shadowed: pd.DataFrame) -> pd.DataFrame:
    """Each shadow row beside the champion's row of the same prediction."""
    champion = main[_ROW].drop_duplicates(KEY, keep="last")
    challenger = shadowed[_ROW].drop_duplicates(KEY, keep="last")
    pairs = champion.merge(challenger, on=KEY, suffixes=("_a", "_b"))
    return pd.DataFrame(
        {
            "request_id": pairs["request_id"],
            "index": pairs["index"],
            "champion_version": pairs["version_a"],
            "challenger_version": pairs["version_b"],
            "champion_top1": pairs["top1_a"],
            "challenger_top1": pairs["top1_b"],
            "champion_value": pairs["value_a"],
            "challenger_value": pairs["value_b"],
        }
    )


def _arms(main: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Canary answers, and the champion's answers of the experiment that were not shadowed
    (rows outside experiments have a null ``arm``, read as champion, so they are left
    out by the explicit ``champion`` label)."""
    canary = main[main["arm"] == CANARY]
    if canary.empty:
        return main.iloc[:0][[*KEY, "arm", "version", "top1", "value"]]
    champion = main[main["logged_arm"] == CHAMPION]
    if not pairs.empty:
        shadowed = pd.MultiIndex.from_frame(pairs[KEY])
        champion = champion[~pd.MultiIndex.from_frame(champion[KEY]).isin(shadowed)]
    return pd.concat([champion, canary])[[*KEY, "arm", "version", "top1", "value"]]


def _labelled(rows: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the ``true_code`` and ``true_value`` of their feedback (null: none)."""
    return rows.merge(labels, on=KEY, how="left").reset_index(drop=True)
