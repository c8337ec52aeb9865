"""The retraining policy: is a retrain needed, and on which data?

A retrain is needed when a monitoring rule is breached over the window, or when the
served model's dataset has a newer version than the one it was trained on (or it was
trained on no stored dataset while the project now has one). The orchestration lives
in ``mlcycle.loop.retrain``; this module only decides, so monitoring stays free of
training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mlcycle.core.errors import NotFound
from mlcycle.monitor.logstore import LogStore
from mlcycle.monitor.reference import served_reference

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.monitor.rules import CheckResult


@dataclass
class RetrainDecision:
    """Whether to retrain, why, and the dataset version to start from."""

    needed: bool
    reasons: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    trained_on: str | None = None
    latest_dataset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def latest_dataset(settings: Settings, trained_on: str | None) -> str | None:
    """The newest version (``NAME@V``) of the served model's dataset, or of the default one."""
    from mlcycle.data.store import DatasetRef, find_training_dataset, resolve

    try:
        if trained_on:
            return resolve(DatasetRef.parse(trained_on.rsplit("@", 1)[0]), settings).ref
        found = find_training_dataset(None, settings)
    except NotFound:
        return None
    return found.ref if found is not None else None


def retrain_decision(
    settings: Settings, start: datetime, end: datetime, check: CheckResult | None = None
) -> RetrainDecision:
    """Decide on the rules over [start, end) and the dataset versions (no alert is sent)."""
    from mlcycle.monitor.rules import run_check

    check = check or run_check(settings, start, end, notify=False)
    reference = served_reference(settings.served_ref(), settings)
    decision = RetrainDecision(False, breached=[r.rule for r in check.breached])
    decision.trained_on = reference.dataset
    decision.latest_dataset = latest_dataset(settings, reference.dataset)
    for rule in check.breached:
        decision.reasons.append(f"rule {rule.rule} breached: {rule.message}")
    if decision.latest_dataset and decision.latest_dataset != reference.dataset:
        trained = reference.dataset or "no stored dataset"
        decision.reasons.append(
            f"dataset {decision.latest_dataset} is newer than what the served model was "
            f"trained on ({trained})"
        )
    decision.needed = bool(decision.reasons)
    return decision


def labelled_texts(store: LogStore, start: datetime, end: datetime) -> pa.Table:
    """Production texts with a true code from feedback, latest label.

    Columns: ``text``, ``label`` and ``record``: the categorical columns logged beside
    the text (a JSON object), null for a model that reads none or a row logged before
    they were. Hashed texts (``log_text`` false) cannot be trained on and are left out.
    """
    with store.open_window(start, end) as window:
        rows = window.rows(
            """SELECT p.text, f.true_code, p.record FROM f JOIN p USING (request_id, "index")
               WHERE p.text IS NOT NULL AND length(trim(p.text)) > 0
                     AND f.true_code IS NOT NULL"""
        )
    return pa.table(
        {
            "text": pa.array([r[0] for r in rows], pa.string()),
            "label": pa.array([r[1] for r in rows], pa.string()),
            "record": pa.array([r[2] for r in rows], pa.string()),
        }
    )


LABELLED_RECORDS = pa.schema(
    [("record", pa.string()), ("label", pa.string()), ("true_value", pa.float64())]
)


def labelled_records(store: LogStore, start: datetime, end: datetime) -> pa.Table:
    """Production input records of [start, end) with their truth from feedback.

    Columns: ``record`` (the logged input, a JSON object of the user's columns),
    ``label`` (the true class of a classification, else null) and ``true_value`` (the
    true value of a regression, else null); the latest feedback per prediction, oldest
    prediction first. Predictions logged without a record (text models, files written
    before records were logged) are left out. The retraining loop parses the records
    (``json.loads``) into rows of the training set.
    """
    with store.open_window(start, end) as window:
        rows = window.rows(
            """
            SELECT p.record, f.true_code, f.true_value FROM f JOIN p USING (request_id, "index")
            WHERE p.record IS NOT NULL AND (f.true_code IS NOT NULL OR f.true_value IS NOT NULL)
            ORDER BY p.ms, p.request_id, p."index"
            """
        )
    columns = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    arrays = [pa.array(values, f.type) for values, f in zip(columns, LABELLED_RECORDS, strict=True)]
    return pa.Table.from_arrays(arrays, schema=LABELLED_RECORDS)
