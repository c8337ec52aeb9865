"""``POST /feedback``: the true code of texts answered before, checked against the log.

A body is one object ``{"request_id": ..., "index": 0, "true_code": "5610A"}`` or an
array of them (at most the batch limit); ``index`` is the text's (or record's) position
in the request and may be left out for a single-item request. A regression's truth is
``true_value``, a number (``mlcycle.serve.truths`` says what each task accepts).
Everything is checked before anything is stored: an unknown request id is a 404, a
malformed id, index or truth a 422, each naming the item, and so is an item named twice
in one body or a text that was answered with an error (``mlcycle.serve.faults``). Ids
are looked up in memory (not yet written), then in the Parquet log, so feedback works
after a restart; a log file that is not whole Parquet is skipped and named in the server
log. Only an id issued in the last few seconds, which another worker may not have
written yet, is waited for (at most a few flush intervals); an id dated in the future
was never issued and is a 404 at once.

With API keys on, a key labels only the requests it made (a key with the ``admin`` role
labels any). Another key's request is answered exactly like an unknown id, 404 after
the same wait: a 403 would tell the client that someone else's request exists. A text
labelled again in a later request keeps both rows; monitoring and retraining read the
latest (``mlcycle.monitor.logstore``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
from starlette.concurrency import run_in_threadpool

from mlcycle.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from mlcycle.data.predlog import Skipped, find_predictions, request_id_ms
from mlcycle.serve.logrecords import FeedbackRecord
from mlcycle.serve.recorder import Recorder
from mlcycle.serve.truths import LabelRule, TruthRule
from mlcycle.serve.validation import json_integer

log = logging.getLogger(__name__)

_EXAMPLE = '{{"request_id": "<the answer\'s request_id>", "index": 0, "{field}": {truth}}}'
_EXAMPLE_TRUTHS = {"true_code": '"5610A"', "true_value": "151.0"}
POLL_S = 0.25
# An id dated later than now by more than two servers' clocks can differ was not
# issued by this service.
SKEW_MS = 2_000


@dataclass(frozen=True)
class Item:
    request_id: str
    index: int | None
    truth: str | float  # a label (true_code) or a value (true_value)


@dataclass(frozen=True)
class Logged:
    """What the log says about one request."""

    batch_size: int
    model_name: str
    model_version: str
    api_key: str | None  # the name of the key that made the request
    top1: dict[int, str | None]  # index -> predicted code (None: the answer had none)


class FeedbackService:
    """Validates feedback, finds the predictions it is about, queues it for writing."""

    def __init__(
        self,
        recorder: Recorder,
        max_items: int,
        admin_keys: frozenset[str] = frozenset(),
        truth: TruthRule | None = None,
    ) -> None:
        self.recorder = recorder
        self.max_items = max_items
        self.admin_keys = admin_keys  # names of the keys that may label any request
        self.truth: TruthRule = truth or LabelRule()
        # An unwritten record reaches a file within one flush and one write.
        self.wait_s = 2 * recorder.flush_seconds + 5.0
        self._reported: set[str] = set()  # unreadable files already in the server log

    async def store(self, body: bytes, api_key: str | None) -> dict[str, Any]:
        """Check every item, then queue them all; returns ``{"stored": n}``.

        ``api_key`` is the name of the key that sent the feedback (None without keys).
        """
        if self.recorder.roots is None:
            raise Conflict(
                "The prediction log is off on this server, so feedback cannot be matched "
                "to predictions; set serve.prediction_log.enabled to true."
            )
        items = parse_feedback(body, self.max_items, self.truth)
        owner = None if api_key is None or api_key in self.admin_keys else api_key
        logged = await self._find({item.request_id for item in items}, owner)
        records = _records(items, logged, time.time_ns() // 1_000_000, api_key)
        if len(self.recorder.feedback) + len(records) > self.recorder.max_queue:
            raise Unavailable("The feedback queue is full; retry in a few seconds.")
        self.recorder.feedback.extend(records)
        return {"stored": len(records)}

    async def _find(self, ids: set[str], owner: str | None) -> dict[str, Logged]:
        """What the log says about each id made by ``owner`` (by any key when None)."""
        found: dict[str, Logged] = {}
        # Only ids issued in the last few seconds can still be on their way to a file.
        deadline = max(request_id_ms(rid) or 0 for rid in ids) / 1000 + self.wait_s
        while True:
            found.update(_owned(_logged(self.recorder.pending(ids - found.keys())), owner))
            missing = ids - found.keys()
            if missing:
                found.update(_owned(await self._on_disk(missing), owner))
            missing = ids - found.keys()
            if not missing or time.time() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        if missing:
            raise NotFound(_unknown(sorted(missing)[0], owner))
        return found

    async def _on_disk(self, ids: set[str]) -> dict[str, Logged]:
        root = self.recorder.roots[0]  # type: ignore[index]
        skipped: list[Skipped] = []
        table = await run_in_threadpool(find_predictions, root, ids, skipped)
        for bad in skipped:
            if bad.path not in self._reported:
                self._reported.add(bad.path)
                log.warning(
                    "Skipped %s: %s; feedback on the requests it held cannot be matched.",
                    bad.path, bad.reason,
                )  # fmt: skip
        return _logged(table)


def _owned(logged: dict[str, Logged], owner: str | None) -> dict[str, Logged]:
    if owner is None:
        return logged
    return {rid: entry for rid, entry in logged.items() if entry.api_key == owner}


def _unknown(request_id: str, owner: str | None) -> str:
    dropped = "records dropped when the log queue was full cannot be found"
    if owner is None:
        return (
            f"No logged prediction has request id '{request_id}'; send the request_id of "
            f"an answer from this service ({dropped})."
        )
    return (
        f"No logged prediction made with this API key has request id '{request_id}'; "
        f"send the request_id of an answer to a request made with the same key ({dropped})."
    )


def _logged(table: pa.Table) -> dict[str, Logged]:
    """What log rows (of the prediction schema) say about each request."""
    rows = table.select(
        ["request_id", "index", "batch_size", "model_name", "model_version", "api_key", "codes"]
    )
    out: dict[str, Logged] = {}
    for row in rows.to_pylist():
        logged = out.get(row["request_id"])
        if logged is None:
            logged = Logged(
                row["batch_size"], row["model_name"], row["model_version"], row["api_key"], {}
            )
            out[row["request_id"]] = logged
        logged.top1[row["index"]] = row["codes"][0] if row["codes"] else None
    return out


def _records(
    items: list[Item], logged: dict[str, Logged], now: int, api_key: str | None
) -> list[FeedbackRecord]:
    """One record per item; a text named twice (an omitted index is 0) is refused."""
    records = []
    first_at: dict[tuple[str, int], int] = {}
    for position, item in enumerate(items):
        record = _record(position, item, logged[item.request_id], now, api_key)
        first = first_at.setdefault((record.request_id, record.index), position)
        if first != position:
            raise InvalidInput(
                f"feedback[{first}] and feedback[{position}] both give the truth of input "
                f"{record.index} of request '{record.request_id}'; send one per text."
            )
        records.append(record)
    return records


def _record(
    position: int, item: Item, entry: Logged, now: int, api_key: str | None
) -> FeedbackRecord:
    index = item.index
    if index is None:
        if entry.batch_size != 1:
            raise InvalidInput(
                f"feedback[{position}] has no 'index', but request '{item.request_id}' had "
                f"{entry.batch_size} inputs; say which with an index from 0 to "
                f"{entry.batch_size - 1}."
            )
        index = 0
    if index >= entry.batch_size:
        raise InvalidInput(
            f"feedback[{position}].index is {index}, but request '{item.request_id}' had "
            f"{entry.batch_size} input(s); use an index from 0 to {entry.batch_size - 1}."
        )
    if index not in entry.top1:  # not logged: it was answered with an error
        raise InvalidInput(
            f"feedback[{position}]: text {index} of request '{item.request_id}' was answered "
            "with an error, not a prediction; there is nothing to correct."
        )
    label = item.truth if isinstance(item.truth, str) else None
    value = None if isinstance(item.truth, str) else item.truth
    return FeedbackRecord(
        item.request_id, index, now, label, entry.top1.get(index),
        entry.model_name, entry.model_version, api_key, value,
    )  # fmt: skip


def parse_feedback(body: bytes, max_items: int, truth: TruthRule | None = None) -> list[Item]:
    """The items of a feedback body, or one clear InvalidInput."""
    rule = truth or LabelRule()
    try:
        payload = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"The request body is not valid JSON ({exc}).") from None
    if payload is None:
        raise InvalidInput(f"The request body is empty; send a JSON object like {_example(rule)}.")
    entries = payload if isinstance(payload, list) else [payload]
    if not entries:
        raise InvalidInput(f"The feedback array is empty; send 1 to {max_items} items.")
    if len(entries) > max_items:
        raise InvalidInput(
            f"The feedback array has {len(entries)} items, more than the limit of "
            f"{max_items}; split it."
        )
    return [_item(i, entry, rule, max_items) for i, entry in enumerate(entries)]


def _item(position: int, entry: Any, truth: TruthRule, max_items: int) -> Item:
    where = f"feedback[{position}]"
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where} must be a JSON object like {_example(truth)}.")
    unknown = sorted(set(entry) - {"request_id", "index", truth.field})
    if unknown:
        raise InvalidInput(
            f"{where} has an unknown field '{unknown[0]}'; an item has only request_id, "
            f"index and {truth.field}."
        )
    rid, index, raw = entry.get("request_id"), entry.get("index"), entry.get(truth.field)
    if not isinstance(rid, str) or request_id_ms(rid) is None:
        raise InvalidInput(
            f"{where}.request_id must be the request_id of an answer (a UUID such as "
            f"'01a201e4-8cdd-7b2a-86e3-7adad27870a6'), not {_show(rid)}."
        )
    if index is not None:
        whole = json_integer(index)
        # No request holds more texts than the batch limit: a larger index names none.
        if whole is None or not 0 <= whole < max_items:
            raise InvalidInput(
                f"{where}.index must be an integer from 0 to {max_items - 1}, not {_show(index)}."
            )
        index = whole
    found = truth.read(raw)
    if found is None:
        raise InvalidInput(f"{where}.{truth.field} must be {truth.described()}, not {_show(raw)}.")
    if (request_id_ms(rid) or 0) > time.time_ns() // 1_000_000 + SKEW_MS:
        raise NotFound(
            f"No logged prediction has request id '{rid}': its time is in the future, so "
            "this service did not issue it."
        )
    return Item(rid, index, found)


def _example(truth: TruthRule) -> str:
    return _EXAMPLE.format(field=truth.field, truth=_EXAMPLE_TRUTHS.get(truth.field, '"..."'))


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode() if value is not None else "missing"
    return text if len(text) <= 60 else text[:57] + "..."
