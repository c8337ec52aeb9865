"""Online experiments without a server: which arm answers, the shadow queue's bound and
what a shadow answer logs (``mlcycle.serve.experiment``, ``mlcycle.serve.shadow``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.settings import ExperimentSettings, ServeSettings
from mlcycle.serve.answers import Answer
from mlcycle.serve.app import challenger_ref
from mlcycle.serve.bodies import Inputs
from mlcycle.serve.experiment import Experiment, share_point
from mlcycle.serve.faults import BLANK, Fault
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.logrecords import LogRecord
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.shadow import (
    QUEUE_ITEMS,
    QUEUE_REQUESTS,
    SHADOW_PART,
    ShadowJob,
    ShadowScorer,
)
from mlcycle.serve.validation import Limits


class FakePredictor:
    """Answers every text with ``code``; fails on the text ``boom``."""

    def __init__(self, version: str, code: str = "5610A") -> None:
        self.served = SimpleNamespace(name="nace", version=version)
        self.version = version
        self.code = code

    def request_limits(self, limits: Limits) -> Limits:
        return limits

    def parse(self, body: bytes, limits: Limits) -> Inputs:
        if body == b"bad":
            raise InvalidInput("not for this model")
        return Inputs(body.decode().split(","), 1, False)

    def answer_inputs(self, inputs: Inputs, request_id: str) -> Answer:
        if "boom" in inputs.items:
            raise RuntimeError("boom")
        return Answer(b"{}", [[self.code]] * len(inputs.items), [[0.9]] * len(inputs.items))


class Records:
    def __init__(self) -> None:
        self.logged: list[LogRecord] = []

    def prediction(self, record: LogRecord) -> None:
        self.logged.append(record)


def _holder(predictor: Any = None) -> ModelHolder:
    holder = ModelHolder("nace@challenger")
    holder.predictor = predictor
    return holder


def _experiment(mode: str, share: float, sticky: str = "key", loaded: bool = True) -> Experiment:
    config = ExperimentSettings(mode=mode, share=share, sticky=sticky)
    return Experiment(config, _holder(FakePredictor("2") if loaded else None))


def test_share_points_are_fixed_and_spread() -> None:
    assert share_point("client-a") == share_point("client-a")
    points = [share_point(f"request-{i}") for i in range(20_000)]
    assert all(0.0 <= p < 1.0 for p in points)
    assert sum(p < 0.3 for p in points) / len(points) == pytest.approx(0.3, abs=0.02)


def test_canary_is_sticky_per_key_and_falls_back_to_the_request_id() -> None:
    experiment, champion = _experiment("canary", 0.3), FakePredictor("1")
    for key in (f"client-{i}" for i in range(50)):
        arms = {experiment.arm(champion, f"id-{n}", key)[1] for n in range(20)}
        assert arms == {"canary" if share_point(key) < 0.3 else "champion"}
    without = {n: experiment.arm(champion, f"id-{n}", None) for n in range(200)}
    for n, (predictor, arm) in without.items():
        assert (arm == "canary") == (share_point(f"id-{n}") < 0.3)
        assert predictor.version == ("2" if arm == "canary" else "1")


def test_sticky_request_ignores_the_key() -> None:
    experiment, champion = _experiment("canary", 0.5, sticky="request"), FakePredictor("1")
    arms = {experiment.arm(champion, f"id-{n}", "one-client")[1] for n in range(100)}
    assert arms == {"canary", "champion"}


def test_the_champion_answers_in_shadow_mode_and_without_a_challenger() -> None:
    champion = FakePredictor("1")
    assert _experiment("shadow", 1.0).arm(champion, "id", "k") == (champion, "champion")
    missing = _experiment("canary", 1.0, loaded=False)
    assert missing.arm(champion, "id", "k") == (champion, "champion")


def test_a_missing_challenger_is_said_once_and_shown(caplog: pytest.LogCaptureFixture) -> None:
    experiment = _experiment("shadow", 1.0, loaded=False)
    for _ in range(3):
        experiment.failed(NotFound("Model nace has no alias 'later'."))
    said = [r for r in caplog.records if "is not served" in r.getMessage()]
    assert len(said) == 1 and "the champion answers alone" in said[0].getMessage()
    status = experiment.status()
    assert status["error"] == "Model nace has no alias 'later'." and status["version"] is None


def test_challenger_references() -> None:
    assert challenger_ref("nace@production", "challenger") == "nace@challenger"
    assert challenger_ref("models:/nace/3", "staging") == "nace@staging"
    assert challenger_ref("nace@production", "other@candidate") == "other@candidate"
    assert challenger_ref("nace@production", "nace/4") == "nace/4"


def _scorer(
    records: Records, predictor: Any = None, metrics: Metrics | None = None, **kwargs: Any
) -> ShadowScorer:
    holder = _holder(predictor or FakePredictor("2", code="4711D"))
    limits = Limits.from_settings(ServeSettings())
    return ShadowScorer(holder, limits, records, metrics, **kwargs)  # type: ignore[arg-type]


def test_the_shadow_queue_drops_past_its_bound() -> None:
    scorer = _scorer(Records())  # not started: nothing is taken off the queue
    accepted = [scorer.submit(ShadowJob(b"a", f"id-{n}", 0, None, 1)) for n in range(1010)]
    assert sum(accepted) == QUEUE_REQUESTS and scorer.dropped == 10


def test_the_shadow_queue_drops_past_its_bound_in_texts() -> None:
    metrics = Metrics()
    scorer = _scorer(Records(), metrics=metrics)  # not started: nothing is taken off
    big = [scorer.submit(ShadowJob(b"a", f"id-{n}", 0, None, 1000)) for n in range(25)]
    small = scorer.submit(ShadowJob(b"a", "id-small", 0, None, 1))
    assert sum(big) == QUEUE_ITEMS // 1000 and not small  # full, though of few requests
    assert scorer.dropped == 25 - QUEUE_ITEMS // 1000 + 1
    assert metrics.registry.get_sample_value("mlcycle_shadow_dropped_total") == scorer.dropped


class PartsPredictor(FakePredictor):
    """Says, in ``events``, each part of a request it answers."""

    def __init__(self, events: list[str]) -> None:
        super().__init__("2")
        self.events = events

    def answer_inputs(self, inputs: Inputs, request_id: str) -> Answer:
        self.events.append(f"part of {len(inputs.items)}")
        return super().answer_inputs(inputs, request_id)


WHOLE_PART = f"part of {SHADOW_PART}"


def test_a_shadow_request_is_scored_a_part_at_a_time_while_the_worker_is_idle() -> None:
    events: list[str] = []
    predictor, records = PartsPredictor(events), Records()
    state = {"arrived": 0, "busy_for": 0}

    def activity() -> tuple[int, int]:
        if events[-1:] == [WHOLE_PART] and not state["arrived"]:  # a client's request arrives
            state["arrived"], state["busy_for"] = 1, 3
        busy = state["busy_for"] > 0
        state["busy_for"] -= busy
        events.append("busy" if busy else "idle")
        return state["arrived"], int(busy)

    scorer = _scorer(records, predictor, activity=activity)
    texts = [f"text {i}" for i in range(2 * SHADOW_PART + 3)]
    scorer.score(ShadowJob(",".join(texts).encode(), "id-1", 5, None, len(texts)))
    at = [i for i, event in enumerate(events) if event.startswith("part")]
    assert [events[i] for i in at] == [WHOLE_PART, WHOLE_PART, "part of 3"]
    # Between the first part and the second, the scorer waited for the client's request
    # to be answered and the worker to stay idle (one look more); then it went on.
    assert events[at[0] + 1 : at[1]] == ["busy", "busy", "busy", "idle"]
    assert events[at[1] + 1 : at[2]] == ["idle"]
    (record,) = records.logged  # the parts logged as one answer to the whole request
    assert (record.request_id, record.texts, record.arm) == ("id-1", texts, "shadow")
    assert record.codes == [["5610A"]] * len(texts) and record.indexes is None


def test_the_parts_of_inputs_keep_their_columns_and_leave_out_the_faults() -> None:
    faults = (Fault(1, BLANK, "blank"),)
    inputs = Inputs(["a", "b", "c", "d", "e"], 2, False, faults, {"type_": [1, 2, 3, 4, 5]})
    parts = list(inputs.parts(2))
    assert [(p.items, p.columns, p.faults, p.k) for p in parts] == [
        (["a", "b"], {"type_": [1, 2]}, (), 2),
        (["c", "d"], {"type_": [3, 4]}, (), 2),
        (["e"], {"type_": [5]}, (), 2),
    ]
    assert list(Inputs([], 1, False, faults).parts(2)) == []


def test_a_shadow_answer_is_logged_with_the_champions_request_id() -> None:
    records = Records()
    scorer = _scorer(records)
    scorer.score(ShadowJob(b"brasserie,salon", "id-1", 123, "client-a", 2))
    (record,) = records.logged
    assert (record.request_id, record.ms, record.api_key) == ("id-1", 123, "client-a")
    assert (record.model_version, record.arm, record.codes) == ("2", "shadow", [["4711D"]] * 2)


def test_a_failing_challenger_is_counted_and_never_raises() -> None:
    records = Records()
    scorer = _scorer(records)
    scorer.score(ShadowJob(b"bad", "id-1", 0, None, 1))
    scorer.score(ShadowJob(b"boom", "id-2", 0, None, 1))
    assert scorer.failed == 2 and records.logged == []
