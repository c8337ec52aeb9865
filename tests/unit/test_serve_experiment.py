"""Online experiments without a server: which arm answers, the shadow queue's bound and
what a shadow answer logs (``mlcycle.serve.experiment``, ``mlcycle.serve.shadow``)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.core.settings import ExperimentSettings, ServeSettings
from mlcycle.serve import shadow_process
from mlcycle.serve.answers import Answer
from mlcycle.serve.bodies import Inputs
from mlcycle.serve.components import challenger_ref
from mlcycle.serve.experiment import Experiment, share_point
from mlcycle.serve.follow import ReloadResult
from mlcycle.serve.holder import ModelHolder
from mlcycle.serve.logrecords import LogRecord
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.shadow import Failure, ShadowJob, ShadowScorer
from mlcycle.serve.shadow_link import GATHER_MAX, QUEUE_ITEMS, QUEUE_REQUESTS, ShadowLink
from mlcycle.serve.shadow_process import after_champion, lowest_priority
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

    def score_inputs(self, inputs: Inputs) -> Answer:
        if "boom" in inputs.items:
            raise RuntimeError("boom")
        return Answer(b"", [[self.code]] * len(inputs.items), [[0.9]] * len(inputs.items))


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


def _scorer(records: Records) -> ShadowScorer:
    holder = _holder(FakePredictor("2", code="4711D"))
    limits = Limits.from_settings(ServeSettings())
    return ShadowScorer(holder, limits, records)  # type: ignore[arg-type]


def _link(metrics: Metrics | None = None) -> ShadowLink:
    return ShadowLink(None, "nace@challenger", metrics)  # type: ignore[arg-type]


def test_the_shadow_queue_drops_past_its_bound() -> None:
    link = _link()  # not started: nothing is taken off the queue
    accepted = [link.submit(ShadowJob(b"a", f"id-{n}", 0, None, 1)) for n in range(1010)]
    assert sum(accepted) == QUEUE_REQUESTS and link.dropped == 10


def test_the_shadow_queue_drops_past_its_bound_in_texts() -> None:
    metrics = Metrics()
    link = _link(metrics)  # not started: nothing is taken off the queue
    big = [link.submit(ShadowJob(b"a", f"id-{n}", 0, None, 1000)) for n in range(25)]
    small = link.submit(ShadowJob(b"a", "id-small", 0, None, 1))
    assert sum(big) == QUEUE_ITEMS // 1000 and not small  # full, though of few requests
    assert link.dropped == 25 - QUEUE_ITEMS // 1000 + 1
    assert metrics.registry.get_sample_value("mlcycle_shadow_dropped_total") == link.dropped


def test_the_sender_gathers_what_is_queued_into_one_message_and_then_stops() -> None:
    link = _link()
    jobs = [ShadowJob(b"a", f"id-{n}", 0, None, 1) for n in range(GATHER_MAX + 5)]
    for job in jobs:
        link.submit(job)
    link._queue.put(None)  # what stop() puts
    assert link._gather() == jobs[:GATHER_MAX]
    assert link._gather() == jobs[GATHER_MAX:]  # the stop is not lost with the group
    assert link._gather() is None


def test_the_champion_is_marked_busy_while_it_answers_even_when_it_fails() -> None:
    link = _link()
    with link.champion_working(), link.champion_working():
        assert link.champion_busy.value == 2  # two requests answered at once
    with pytest.raises(RuntimeError), link.champion_working():
        raise RuntimeError("the answer failed")
    assert link.champion_busy.value == 0


def test_the_challenger_scores_a_batch_once_the_champion_is_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shadow_process, "YIELD_MAX_S", 60.0)
    busy = multiprocessing.get_context("spawn").RawValue("i", 1)
    small = ShadowJob(b"a", "id-0", 0, None, 1)
    assert list(after_champion([small], busy)) == [small]  # scored at once: too small to wait
    job = ShadowJob(b"a", "id-1", 0, None, 1000)
    taken: list[ShadowJob] = []
    scorer = threading.Thread(target=lambda: taken.extend(after_champion([job], busy)))
    scorer.start()
    scorer.join(0.3)
    assert scorer.is_alive() and taken == []  # waits while the champion answers
    busy.value = 0
    scorer.join(10)
    assert taken == [job]


def test_the_challenger_scores_anyway_when_the_champion_is_never_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shadow_process, "YIELD_MAX_S", 0.01)
    busy = multiprocessing.get_context("spawn").RawValue("i", 1)
    jobs = [ShadowJob(b"a", f"id-{n}", 0, None, 1000) for n in range(3)]
    assert list(after_champion(jobs, busy)) == jobs  # each after the bound at most


def test_a_shadow_answer_is_logged_with_the_champions_request_id() -> None:
    records = Records()
    outcome = _scorer(records).score(ShadowJob(b"brasserie,salon", "id-1", 123, "client-a", 2))
    (record,) = records.logged
    assert outcome is None
    assert (record.request_id, record.ms, record.api_key) == ("id-1", 123, "client-a")
    assert (record.model_version, record.arm, record.codes) == ("2", "shadow", [["4711D"]] * 2)


def test_a_failing_challenger_says_why_and_never_raises() -> None:
    records = Records()
    scorer = _scorer(records)
    refused = scorer.score(ShadowJob(b"bad", "id-1", 0, None, 1))
    failed = scorer.score(ShadowJob(b"boom", "id-2", 0, None, 1))
    assert records.logged == []
    assert refused == Failure("invalid_input", True, "not for this model")
    assert failed is not None and (failed.kind, failed.refused) == ("RuntimeError", False)
    assert "Traceback" in failed.detail and "RuntimeError: boom" in failed.detail


def test_the_link_counts_what_the_process_reports(caplog: pytest.LogCaptureFixture) -> None:
    """Reports go through a real pipe, as from the challenger's process; jobs sent and
    never answered (the process died) are the challenger's errors."""
    metrics = Metrics()
    link, reasons, reloads = _link(metrics), [], []
    link.on_failed, link.on_reload = reasons.append, reloads.append
    ours, theirs = multiprocessing.Pipe()
    link._conn = ours
    jobs = [ShadowJob(b"a,b", f"id-{n}", 0, None, 2) for n in range(5)]
    assert all(link.submit(job) for job in jobs)
    assert link._forward([link._queue.get() for _ in jobs[:3]])
    assert link._forward([link._queue.get() for _ in jobs[3:]])
    assert [theirs.recv(), theirs.recv()] == [jobs[:3], jobs[3:]]
    boom = Failure("RuntimeError", False, "Traceback ...\nRuntimeError: boom")
    for report in (
        ("reloaded", ReloadResult(None, "3", swapped=True)),
        ("done", [None, boom]), ("done", [boom]), ("failed", "no alias 'later'"),
    ):  # fmt: skip
        theirs.send(report)
    theirs.close()  # the process is gone, two jobs unanswered
    link._pump(ours)
    assert (link.version, reloads[0].current, reasons) == ("3", "3", ["no alias 'later'"])
    link._lost()
    assert (link.answered, link.failed, link.version) == (1, 4, None)
    value = metrics.registry.get_sample_value
    assert value("mlcycle_shadow_answers_total") == 1
    assert value("mlcycle_challenger_errors_total", {"stage": "answer"}) == 4
    said = [r for r in caplog.records if "failed on a request" in r.getMessage()]
    assert len(said) == 1 and "RuntimeError: boom" in said[0].getMessage()
    # Every job is taken back from the bound: the queue takes as many as at first.
    more = [link.submit(ShadowJob(b"a", f"m-{n}", 0, None, 1)) for n in range(QUEUE_REQUESTS)]
    assert all(more) and link.dropped == 0


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling policies")
def test_the_shadow_scoring_thread_runs_at_idle_priority_and_only_it() -> None:
    seen: dict[str, int] = {}

    def scoring() -> None:
        lowest_priority()
        seen["scoring"] = os.sched_getscheduler(0)

    thread = threading.Thread(target=scoring)
    thread.start()
    thread.join()
    assert seen["scoring"] == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # this thread kept its own
