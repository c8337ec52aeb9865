"""The demo's client: production traffic, feedback and the wait for a swap, over HTTP.

A text project sends ``{"texts": [...]}``; a tabular project sends its records,
``{"records": [{column: value}, ...]}``, with nulls for gaps. Feedback names each input
by ``request_id`` and ``index`` with its truth: ``true_code`` for a class,
``true_value`` for a regression's number.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlcycle.core.settings import Settings
from mlcycle.tasks import Task

BATCH = 50


@dataclass
class Traffic:
    """What one burst of traffic sent, and which versions answered it."""

    sent: int = 0
    labelled: int = 0
    versions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    """A frame of the project's data split into what the API takes and the truth."""

    task: Task
    settings: Settings
    frame: pd.DataFrame  # the user's layout: feature columns and the target

    def body(self, start: int, stop: int, k: int) -> dict[str, Any]:
        """The ``/predict`` body of rows [start, stop)."""
        rows = self.frame.iloc[start:stop]
        if self.task.text_column is not None:
            texts = rows[self.settings.data.text_feature()].astype(str).tolist()
            return {"texts": texts, "k": k}
        features = rows.drop(columns=[self.settings.data.target])
        return {"records": [_plain(record) for record in features.to_dict("records")]}

    def truths(self, start: int, stop: int) -> list[dict[str, Any]]:
        """The feedback truth of rows [start, stop), as ``/feedback`` names it."""
        values = self.frame[self.settings.data.target].iloc[start:stop].tolist()
        if self.task.kind == "regression":
            return [{"true_value": float(value)} for value in values]
        return [{"true_code": str(value)} for value in values]


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values: gaps as null (JSON has no NaN), numpy scalars as Python ones."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            out[key] = None
        else:
            out[key] = value.item() if hasattr(value, "item") else value
    return out


def send_traffic(url: str, inputs: Inputs, feedback_share: float = 0.0, k: int = 5) -> Traffic:
    """POST the rows in batches; send the truth of the first ``feedback_share`` of them."""
    import httpx

    done = Traffic()
    rows = len(inputs.frame)
    with httpx.Client(base_url=url, timeout=60) as client:
        for start in range(0, rows, BATCH):
            stop = min(start + BATCH, rows)
            reply = client.post("/predict", json=inputs.body(start, stop, k))
            reply.raise_for_status()
            answer = reply.json()
            version = str(answer["model"]["version"])
            done.versions[version] = done.versions.get(version, 0) + stop - start
            done.sent += stop - start
            if start < feedback_share * rows:
                unread = {error["index"] for error in answer.get("errors", ())}
                items = [
                    {"request_id": answer["request_id"], "index": i, **truth}
                    for i, truth in enumerate(inputs.truths(start, stop))
                    if i not in unread  # a text answered with an error has nothing to correct
                ]
                if items:
                    client.post("/feedback", json=items).raise_for_status()
                done.labelled += len(items)
    return done


def wait_for_version(url: str, version: str, probe: dict[str, Any], timeout: float = 90.0) -> bool:
    """Ask the server to check its alias now, then wait until it answers with ``version``."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{url}/admin/reload", timeout=60)
            reply = httpx.post(f"{url}/predict", json=probe, timeout=30)
            if str(reply.json()["model"]["version"]) == version:
                return True
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(1.0)
    return False
