"""Monitoring on a real MLflow store: report, check with a real webhook, retrain.

One store per module: ``nace`` version 1 trained small on dataset ``nace@1`` (so it has
a reference profile) and promoted. Its predictions on normal then drifted generated
traffic are written as the server writes them (``mlcycle.data.predlog``), with
feedback for part of the drifted traffic.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.data.predlog import write_partitioned
from mlcycle.data.writers import write_dataset
from mlcycle.monitor.report import make_report
from mlcycle.monitor.rules import run_check
from mlcycle.tasks.text.generator import generate
from tests.conftest import _isolate, cli_env, write_project
from tests.forked_cli import run_mlcycle
from tests.unit.test_monitor_logstore import feedback_table, prediction_table

SMALL = {"dim": 32, "epoch": 10, "bucket": 20_000, "wordNgrams": 2}
# Retrains train with the project's parameters: the default project's, made as small as
# SMALL (the full size costs CPU time, and no assertion here needs its accuracy).
PROJECT = """\
model:
  params: {dim: 32, epoch: 10, bucket: 20000, wordNgrams: 2}
registry:
  gates:
    quality: {minimums: {accuracy_top1: 0.1, accuracy_division: 0.2}}
    champion: {margin: 0.05}
    behaviour: {min_functionality: 0.3, invariance_texts: 30}
    latency: {p99_ms: 500.0, samples: 50}
    contract: {fresh_process: false}
monitor:
  min_predictions: 50
  rules:
    live_accuracy: {min_top1: 0.95, min_labelled: 20}
"""
NOW = datetime.now(UTC).replace(microsecond=0)
NORMAL_START = NOW - timedelta(hours=2)
DRIFT_START = NOW - timedelta(hours=1)


@dataclass(frozen=True)
class Monitored:
    home: Path
    version: str


def _log_traffic(home: Path, model, frame, start: datetime, feedback_share: float) -> None:
    texts = frame["text"].tolist()
    prediction = model.predict(texts, k=5)
    ms = int(start.timestamp() * 1000) + np.arange(len(texts)) * 2000
    table = prediction_table(
        texts, prediction.codes.tolist(), prediction.probs.tolist(), ms, version="1"
    )
    write_partitioned(home / "predictions", table)
    labelled = int(len(texts) * feedback_share)
    if labelled:
        ids = table.column("request_id").to_pylist()[:labelled]
        at = int(ms[labelled - 1]) + 1000
        feedback = feedback_table(ids, frame["nace"].tolist()[:labelled], at)
        write_partitioned(home / "feedback", feedback)


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    from mlcycle.data.ingest import add_dataset
    from mlcycle.registry.loading import load_served_model
    from mlcycle.registry.ops import set_alias
    from mlcycle.train.pipeline import train_model

    home = tmp_path_factory.mktemp("monitor") / "home"
    home.mkdir()
    write_project(home, PROJECT)
    with pytest.MonkeyPatch.context() as mp:
        _isolate(home, mp)
        data = home / "train.csv"
        write_dataset(generate(5000, seed=3), data)
        add_dataset(str(data), "nace", label_col="nace")
        result = train_model("nace@1", SMALL)
        set_alias("nace", "production", result.version)
        model = load_served_model("nace@production").model
        _log_traffic(home, model, generate(600, seed=4), NORMAL_START, 0.0)
        _log_traffic(home, model, generate(600, seed=5, drift=True), DRIFT_START, 0.5)
        yield Monitored(home, result.version)
    get_settings.cache_clear()


def test_the_report_shows_drift_against_the_training_profile(
    monitored: Monitored, tmp_path: Path
) -> None:
    settings = get_settings()
    normal = make_report(settings, NORMAL_START, DRIFT_START - timedelta(seconds=1))
    out = tmp_path / "report.html"
    drifted = make_report(settings, DRIFT_START, NOW, out)
    assert drifted["model"]["dataset"] == "nace@1"
    js_normal = normal["prediction"]["drift"]["code"]["scores"]["jensenshannon"]["statistic"]
    js_drift = drifted["prediction"]["drift"]["code"]["scores"]["jensenshannon"]["statistic"]
    assert js_drift > js_normal
    text = drifted["text"]["drift"]
    assert text["oov_rate"] > normal["text"]["drift"]["oov_rate"]
    assert text["new_tokens"], "the drifted traffic brings words the training data lacks"
    assert drifted["confidence"]["baseline"]["change_points"] < 0
    quality = drifted["quality"]
    assert quality["labelled"] == 300
    for level in ("section", "division", "group", "class"):
        metric = quality["metrics"][f"accuracy_top1_{level}"]
        assert metric["low"] <= metric["value"] <= metric["high"]
    assert quality["confused"]
    assert normal["quality"]["available"] is False  # no feedback there: said, not crashed
    page = out.read_text()
    assert "<svg" in page and "id='figures'" in page
    assert 'src="http' not in page and 'href="http' not in page  # nothing to fetch


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_check_exits_non_zero_and_posts_an_alertmanager_alert(monitored: Monitored) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v2/alerts"
    env = {**cli_env(monitored.home), "MLCYCLE_MONITOR__WEBHOOKS": json.dumps([url])}
    # From the drift's start to now: NOW was taken when the module was imported, which
    # in a whole run can be half an hour before this test.
    since = f"{int((datetime.now(UTC) - DRIFT_START).total_seconds() // 60) + 5}m"
    try:
        done = run_mlcycle(["monitor", "check", "--since", since, "--json"], env=env, timeout=300)
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stderr
    verdict = json.loads(done.stdout)
    assert "prediction_drift" in verdict["breached"]
    assert "live_accuracy" in verdict["breached"], done.stdout
    assert verdict["webhooks"][0]["delivered"] is True
    (alerts,) = _Receiver.received
    names = {a["labels"]["alertname"] for a in alerts}
    assert "MlcyclePredictionDrift" in names
    assert all(a["annotations"]["summary"] and a["startsAt"] for a in alerts)


def test_an_empty_window_is_said_and_judges_nothing(monitored: Monitored) -> None:
    settings = get_settings()
    start = NOW + timedelta(days=30)
    summary = make_report(settings, start, start + timedelta(days=1))
    assert summary["volume"]["predictions"] == 0
    assert any("No predictions" in note for note in summary["notes"])
    result = run_check(settings, start, start + timedelta(days=1), notify=False)
    assert result.exit_code == 0
    assert {r.status for r in result.results} == {"skipped"}


def test_a_bad_window_is_one_clear_sentence(monitored: Monitored) -> None:
    done = run_mlcycle(["monitor", "report", "--since", "soon"], env=cli_env(monitored.home),
                       timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "not a duration" in done.stderr and "Traceback" not in done.stderr


def test_a_model_without_a_stored_profile_is_reported_clearly(monitored: Monitored) -> None:
    from mlcycle.monitor.summary import build_summary
    from mlcycle.train.pipeline import train_model

    data = monitored.home / "plain.csv"
    write_dataset(generate(1500, seed=9), data)
    plain = train_model(str(data), {**SMALL, "epoch": 3})
    summary = build_summary(get_settings(), DRIFT_START, NOW, model=f"nace/{plain.version}")
    assert summary.model.profile is None and summary.to_dict()["model"]["profile"] is False
    assert any("no reference profile" in note for note in summary.notes)
    assert summary.prediction.drift.available is False
    assert summary.quality.available is True  # what needs no profile is still there


def test_retrain_if_needed_adds_feedback_and_promotes(monitored: Monitored) -> None:
    import mlflow

    from mlcycle.loop.retrain import PROMOTED, retrain
    from mlcycle.registry.ops import resolve
    from mlcycle.registry.refs import ModelRef

    settings = get_settings()
    result = retrain(settings, if_needed=True)
    assert result.trigger == "rules"
    assert result.feedback_rows > 0
    assert result.dataset == "nace@2"
    assert result.outcome == PROMOTED, result.promotions
    assert resolve(ModelRef.parse("nace@production")).version == result.version
    tags = mlflow.get_run(result.run_id).data.tags
    assert tags["mlcycle.retrain.trigger"] == "rules"
    assert tags["mlcycle.retrain.outcome"] == PROMOTED
    assert tags["mlcycle.dataset_ref"] == "nace@2"
    # The new model's reference now holds the drifted words it learned from.
    after = make_report(settings, DRIFT_START, NOW)
    assert after["model"]["dataset"] == "nace@2"


def test_retrain_stops_at_staging_when_a_human_approves_production(
    monitored: Monitored,
) -> None:
    from mlcycle.loop.retrain import STAGED, retrain
    from mlcycle.registry.ops import resolve
    from mlcycle.registry.refs import ModelRef

    settings = get_settings()
    human = settings.model_copy(
        update={"monitor": settings.monitor.model_copy(
            update={"retrain": settings.monitor.retrain.model_copy(update={"stop_at": "staging"})}
        )}
    )  # fmt: skip
    before = resolve(ModelRef.parse("nace@production")).version
    result = retrain(human)  # unconditional: no --if-needed
    assert result.trigger in ("manual", "rules")
    assert result.outcome == STAGED, result.promotions
    assert [p["alias"] for p in result.promotions] == ["staging"]
    assert resolve(ModelRef.parse("nace@staging")).version == result.version
    assert resolve(ModelRef.parse("nace@production")).version == before
