"""``POST /feedback``: the true code of texts answered before, checked against the log.

A body is one object ``{"request_id": ..., "index": 0, "true_code": "5610A"}`` or an
array of them (at most the batch limit); ``index`` is the text's position in the
request's ``texts`` and may be left out for a single-text request. Everything is checked
before anything is stored: an unknown request id is a 404, a malformed id, index or code
a 422, each naming the item. Ids are looked up in memory (not yet written), then in the
Parquet log, so feedback works after a restart. An id issued in the last few seconds
that another worker has not written yet is waited for, at most a few flush intervals.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from mlcycle.data.predlog import Root, find_predictions, request_id_ms
from mlcycle.serve.logrecords import FeedbackRecord
from mlcycle.serve.recorder import Recorder

_FIELDS = frozenset(["request_id", "index", "true_code"])
_EXAMPLE = '{"request_id": "<the answer\'s request_id>", "index": 0, "true_code": "5610A"}'
POLL_S = 0.25
# Ids from the future (beyond clock skew) were not issued here.
SKEW_MS = 60_000


@dataclass(frozen=True)
class LabelRule:
    """What a valid true label is: the task's canonical form, and how to say so."""

    normalise: Callable[[str], str | None] = lambda raw: raw.strip() or None
    described: str = "a non-empty label"


@dataclass(frozen=True)
class Item:
    request_id: str
    index: int | None
    true_code: str


@dataclass(frozen=True)
class Logged:
    """What the log says about one request."""

    batch_size: int
    model_name: str
    model_version: str
    top1: dict[int, str]  # index -> predicted code


class FeedbackService:
    """Validates feedback, finds the predictions it is about, queues it for writing."""

    def __init__(
        self,
        recorder: Recorder,
        max_items: int,
        labels: LabelRule | None = None,
    ) -> None:
        self.recorder = recorder
        self.max_items = max_items
        self.labels = labels or LabelRule()
        # An unwritten record reaches a file within one flush and one write.
        self.wait_s = 2 * recorder.flush_seconds + 5.0

    async def store(self, body: bytes, api_key: str | None) -> dict[str, Any]:
        """Check every item, then queue them all; returns ``{"stored": n}``."""
        if self.recorder.roots is None:
            raise Conflict(
                "The prediction log is off on this server, so feedback cannot be matched "
                "to predictions; set serve.prediction_log.enabled to true."
            )
        items = parse_feedback(body, self.max_items, self.labels)
        logged = await self._find({item.request_id for item in items})
        now = time.time_ns() // 1_000_000
        records = [_record(i, item, logged, now, api_key) for i, item in enumerate(items)]
        if len(self.recorder.feedback) + len(records) > self.recorder.max_queue:
            raise Unavailable("The feedback queue is full; retry in a few seconds.")
        self.recorder.feedback.extend(records)
        return {"stored": len(records)}

    async def _find(self, ids: set[str]) -> dict[str, Logged]:
        found: dict[str, Logged] = {}
        deadline = max(request_id_ms(rid) or 0 for rid in ids) / 1000 + self.wait_s
        while True:
            found.update(self._in_memory(ids - found.keys()))
            missing = ids - found.keys()
            if missing:
                root = self.recorder.roots[0]  # type: ignore[index]
                found.update(await run_in_threadpool(_on_disk, root, missing))
            missing = ids - found.keys()
            if not missing or time.time() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        if missing:
            rid = sorted(missing)[0]
            raise NotFound(
                f"No logged prediction has request id '{rid}'; send the request_id of an "
                "answer from this service (records dropped when the log queue was full "
                "cannot be found)."
            )
        return found

    def _in_memory(self, ids: set[str]) -> dict[str, Logged]:
        return _logged(self.recorder.pending(ids))


def _on_disk(root: Root, ids: set[str]) -> dict[str, Logged]:
    return _logged(find_predictions(root, ids))


def _logged(table: pa.Table) -> dict[str, Logged]:
    """What log rows (of the prediction schema) say about each request."""
    rows = table.select(
        ["request_id", "index", "batch_size", "model_name", "model_version", "codes"]
    )
    out: dict[str, Logged] = {}
    for row in rows.to_pylist():
        logged = out.get(row["request_id"])
        if logged is None:
            logged = Logged(row["batch_size"], row["model_name"], row["model_version"], {})
            out[row["request_id"]] = logged
        logged.top1[row["index"]] = row["codes"][0] if row["codes"] else None
    return out


def _record(
    position: int, item: Item, logged: dict[str, Logged], now: int, api_key: str | None
) -> FeedbackRecord:
    entry = logged[item.request_id]
    index = item.index
    if index is None:
        if entry.batch_size != 1:
            raise InvalidInput(
                f"feedback[{position}] has no 'index', but request '{item.request_id}' had "
                f"{entry.batch_size} texts; say which with an index from 0 to "
                f"{entry.batch_size - 1}."
            )
        index = 0
    if index >= entry.batch_size:
        raise InvalidInput(
            f"feedback[{position}].index is {index}, but request '{item.request_id}' had "
            f"{entry.batch_size} text(s); use an index from 0 to {entry.batch_size - 1}."
        )
    return FeedbackRecord(
        item.request_id, index, now, item.true_code, entry.top1.get(index),
        entry.model_name, entry.model_version, api_key,
    )  # fmt: skip


def parse_feedback(body: bytes, max_items: int, labels: LabelRule | None = None) -> list[Item]:
    """The items of a feedback body, or one clear InvalidInput."""
    try:
        payload = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"The request body is not valid JSON ({exc}).") from None
    if payload is None:
        raise InvalidInput(f"The request body is empty; send a JSON object like {_EXAMPLE}.")
    entries = payload if isinstance(payload, list) else [payload]
    if not entries:
        raise InvalidInput(f"The feedback array is empty; send 1 to {max_items} items.")
    if len(entries) > max_items:
        raise InvalidInput(
            f"The feedback array has {len(entries)} items, more than the limit of "
            f"{max_items}; split it."
        )
    rule = labels or LabelRule()
    return [_item(i, entry, rule) for i, entry in enumerate(entries)]


def _item(position: int, entry: Any, labels: LabelRule) -> Item:
    where = f"feedback[{position}]"
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where} must be a JSON object like {_EXAMPLE}.")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise InvalidInput(
            f"{where} has an unknown field '{unknown[0]}'; an item has only request_id, "
            "index and true_code."
        )
    rid, index, raw_code = entry.get("request_id"), entry.get("index"), entry.get("true_code")
    if not isinstance(rid, str) or request_id_ms(rid) is None:
        raise InvalidInput(
            f"{where}.request_id must be the request_id of an answer (a UUID such as "
            f"'01a201e4-8cdd-7b2a-86e3-7adad27870a6'), not {_show(rid)}."
        )
    if (request_id_ms(rid) or 0) > time.time_ns() // 1_000_000 + SKEW_MS:
        raise NotFound(f"No logged prediction has request id '{rid}'; it is from the future.")
    if index is not None and (type(index) is not int or index < 0):
        raise InvalidInput(f"{where}.index must be an integer from 0, not {_show(index)}.")
    code = labels.normalise(raw_code) if isinstance(raw_code, str) else None
    if code is None:
        raise InvalidInput(f"{where}.true_code must be {labels.described}, not {_show(raw_code)}.")
    return Item(rid, index, code)


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode() if value is not None else "missing"
    return text if len(text) <= 60 else text[:57] + "..."
