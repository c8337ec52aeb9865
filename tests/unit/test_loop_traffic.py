"""The demo's client: what it sends for a tabular project, over real HTTP.

A small recording server stands in for the API (the test checks the bodies the client
sends, not the API): records with nulls for gaps (JSON has no NaN), batches of
``BATCH``, and feedback naming each record with its true value or class.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from mlcycle.core.settings import get_settings
from mlcycle.loop.traffic import BATCH, Inputs, send_traffic
from mlcycle.tasks import task_of
from tests.conftest import _isolate, write_project


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, Any]]] = []
    errors: ClassVar[list[dict[str, Any]]] = []  # each /predict answer's per-item errors

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append((self.path, body))
        answer = {"request_id": f"r{len(self.bodies)}", "model": {"name": "m", "version": "1"},
                  "errors": self.errors}  # fmt: skip
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    _Recorder.bodies, _Recorder.errors = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str, target: Any) -> Inputs:
    home = tmp_path / "home"
    write_project(home, f"model: {{name: m, task: {task}}}\ndata: {{target: y}}", on_default=False)
    _isolate(home, monkeypatch)
    rows = 2 * BATCH + 10
    frame = pd.DataFrame(
        {
            "bmi": np.where(np.arange(rows) % 7 == 0, np.nan, np.arange(rows) / 2),
            "city": pd.Series(["paris", None] * (rows // 2)),
            "count": np.arange(rows, dtype=np.int64),
            "y": [target(i) for i in range(rows)],
        }
    )
    return Inputs(task_of(get_settings()), get_settings(), frame)


def test_records_are_sent_in_batches_with_nulls_and_their_true_values(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = _inputs(tmp_path, monkeypatch, "regression", lambda i: 100.0 + i)
    done = send_traffic(api, inputs, feedback_share=0.5)
    assert (done.sent, done.labelled, done.versions) == (110, 100, {"1": 110})
    predicts = [body for path, body in _Recorder.bodies if path == "/predict"]
    assert [len(body["records"]) for body in predicts] == [BATCH, BATCH, 10]
    first = predicts[0]["records"][0]
    assert first == {"bmi": None, "city": "paris", "count": 0}  # no target, no NaN
    feedback = [body for path, body in _Recorder.bodies if path == "/feedback"]
    assert feedback[0][1] == {"request_id": "r1", "index": 1, "true_value": 101.0}


def test_a_classification_sends_its_true_class(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = _inputs(tmp_path, monkeypatch, "classification", lambda i: i % 3)
    send_traffic(api, inputs, feedback_share=0.1)
    feedback = [body for path, body in _Recorder.bodies if path == "/feedback"]
    assert len(feedback) == 1 and feedback[0][2]["true_code"] == "2"


def test_no_feedback_is_sent_for_an_item_answered_with_an_error(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Recorder.errors = [{"index": 1, "error": "blank", "message": "texts[1] is empty or blank."}]
    inputs = _inputs(tmp_path, monkeypatch, "classification", lambda i: i % 3)
    done = send_traffic(api, inputs, feedback_share=0.1)
    feedback = [body for path, body in _Recorder.bodies if path == "/feedback"]
    assert [item["index"] for item in feedback[0]][:3] == [0, 2, 3]
    assert done.labelled == BATCH - 1
