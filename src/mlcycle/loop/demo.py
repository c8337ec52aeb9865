"""``mlcycle demo``: the whole loop on an example project, as steps the CLI prints.

1. data: the example's data stored as a dataset version; 2. train, evaluate, track,
register; 3. promote through the gates; 4. serve in a background process that follows
the alias, and query it; 5. normal then drifted traffic, with feedback for half the
drifted inputs; 6. the monitoring check over the drifted window; 7. retrain on the
latest data plus feedback and promote; 8. the server swaps to the new version and
answers more drifted traffic; 9. the monitoring report of the drift and the recovery.

Each step is a function here; :mod:`mlcycle.cli.demo` calls them in order and prints
what they return. The data and traffic come from :func:`demo_data`: the task's synthetic
set for the text flagship, the example's bundled rows for a tabular one
(:mod:`mlcycle.loop.examples` says how its drift is made).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlcycle.core.errors import Conflict, Unavailable
from mlcycle.core.private import private_dirs
from mlcycle.core.settings import Settings
from mlcycle.data.ingest import AddResult, add_dataset
from mlcycle.loop.examples import DRIFT_SHARE, Example
from mlcycle.loop.retrain import PROMOTED, RetrainResult, retrain
from mlcycle.loop.traffic import Inputs, Traffic, send_traffic, wait_for_version
from mlcycle.registry.promotion import MoveResult, promote
from mlcycle.tasks import task_of
from mlcycle.train.pipeline import Reporter, TrainResult, synthetic_file, train_model

# The demo's server checks its alias every second and writes its log twice a second.
SERVER_ENV = {
    "MLCYCLE_SERVE__RELOAD_SECONDS": "1",
    "MLCYCLE_SERVE__PREDICTION_LOG__FLUSH_SECONDS": "0.5",
}
# Long enough for the server to have written what it was sent.
FLUSH_WAIT_S = float(SERVER_ENV["MLCYCLE_SERVE__PREDICTION_LOG__FLUSH_SECONDS"]) * 4 + 1
TABULAR_TRAFFIC = 150  # rows per burst: above monitor.min_predictions (100)


@dataclass(frozen=True)
class DemoData:
    """The first dataset and the three bursts of traffic the demo sends."""

    file: Path  # what step 1 stores as a dataset version
    rows: int
    normal: Inputs
    drifted: Inputs
    after: Inputs  # drifted traffic sent once the server swapped
    source: str  # where the rows come from, in a few words
    drift: str  # what the drifted traffic is
    showcase: list[Any]  # the inputs step 4 shows the answers to

    def showcase_body(self) -> dict[str, Any]:
        """The ``/predict`` body of the showcase inputs (three answers each)."""
        if self.normal.task.text_column is not None:
            return {"texts": list(self.showcase), "k": 3}
        return {"records": list(self.showcase)}


def demo_data(settings: Settings, chosen: Example, rows: int, seed: int) -> DemoData:
    """The example's data: generated for a text task, its bundled rows for a tabular one."""
    task = task_of(settings)
    if task.text_column is not None:
        return _generated(settings, chosen, rows, seed)
    return _bundled(settings, chosen, seed)


def _generated(settings: Settings, chosen: Example, rows: int, seed: int) -> DemoData:
    task = task_of(settings)
    traffic = max(300, rows // 25)

    def burst(offset: int, drift: bool) -> Inputs:
        return Inputs(task, settings, task.synthetic(traffic, seed + offset, drift=drift))

    file = synthetic_file(settings, task, rows)
    source = f"Generated data set: {file} ({rows:,} rows, seed {settings.train.seed})"
    normal = burst(1, False)
    shown = task.showcase() or normal.body(0, 4, 3)["texts"]
    return DemoData(file, rows, normal, burst(2, True), burst(3, True), source, chosen.drift, shown)


def _bundled(settings: Settings, chosen: Example, seed: int) -> DemoData:
    from mlcycle.data.examples import example_frame
    from mlcycle.data.writers import write_dataset

    task = task_of(settings)
    frame = example_frame(chosen.name)
    column = str(chosen.drift_column)
    drifted = frame[column] > frame[column].quantile(1 - DRIFT_SHARE)
    first, held = frame[~drifted], frame[drifted]
    file = private_dirs(settings.home / "data") / f"{chosen.name}-demo.csv"
    write_dataset(first, file)

    def burst(rows: pd.DataFrame, offset: int) -> Inputs:
        picked = rows.sample(TABULAR_TRAFFIC, replace=True, random_state=seed + offset)
        return Inputs(task, settings, picked.reset_index(drop=True))

    source = (
        f"The {chosen.name} example's data: {len(first):,} of its {len(frame):,} rows in "
        f"{file}; the {len(held):,} with the highest {column} are held back as drifted traffic"
    )
    normal = burst(first, 1)
    shown = normal.body(0, 4, 3)["records"]
    return DemoData(
        file, len(first), normal, burst(held, 2), burst(held, 3), source, chosen.drift, shown
    )


def store_data(data: DemoData, settings: Settings) -> AddResult:
    """Step 1: the first data, validated and stored as a dataset version."""
    return add_dataset(str(data.file), settings.dataset_name, settings=settings)


def train_first(added: AddResult, settings: Settings, reporter: Reporter) -> TrainResult:
    """Step 2: train, evaluate, track and register the first model."""
    return train_model(added.version.ref, reporter=reporter, settings=settings)


def promote_first(trained: TrainResult, settings: Settings) -> MoveResult:
    """Step 3: promote the first model to the last environment through the gates."""
    last = settings.registry.environments[-1].name
    return promote(
        trained.name, str(trained.version), last, reason="mlcycle demo: the first model",
        settings=settings,
    )  # fmt: skip


def require_moved(moved: MoveResult) -> None:
    """The demo goes on only with the model in production."""
    if not moved.moved and moved.action != "none":
        raise Conflict(
            f"The demo's model failed the gate(s) {', '.join(moved.failed_gates)}; run "
            f"`mlcycle models history {moved.name}` to see why, and report it: the demo's data "
            "should always pass."
        )


@contextmanager
def serving(settings: Settings, ref: str) -> Iterator[str]:
    """``mlcycle serve`` in the background, following ``ref``; stopped with SIGTERM."""
    port = _free_port()
    env = {**os.environ, **SERVER_ENV, "MLCYCLE_HOME": str(settings.home.resolve())}
    command = [sys.executable, "-m", "mlcycle", "serve", "--model", ref, "--port", str(port)]
    log = settings.home / "demo-serve.log"
    with open(log, "w") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        problem = _wait_ready(url, server)
        if problem is not None:
            raise Unavailable(f"The API did not become ready on {url} ({problem}); see {log}.")
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 90.0) -> str | None:
    """None once ``/ready`` answers 200; else why not (the server's reason when it gave
    up loading, or that it stopped or took too long)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            reply = httpx.get(f"{url}/ready", timeout=2)
            if reply.status_code == 200:
                return None
            detail = str(reply.json().get("detail", ""))
            if reply.status_code == 503 and detail and "still loading" not in detail:
                return detail  # it gave up: no use waiting
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    return "the server stopped" if server.poll() is not None else "it took too long"


def first_answers(url: str, data: DemoData) -> dict[str, Any]:
    """Step 4: the API's answer to the showcase inputs.

    Raises:
        Unavailable: The API refused them (a build that cannot serve this task).
    """
    import httpx

    reply = httpx.post(f"{url}/predict", json=data.showcase_body(), timeout=30)
    if reply.status_code != 200:
        raise Unavailable(
            f"The API refused the example's inputs ({reply.status_code}: {_detail(reply)}); "
            f"this build of mlcycle cannot serve {data.normal.task.name} projects yet."
        )
    return dict(reply.json())


def _detail(reply: Any) -> str:
    try:
        return str(reply.json().get("detail", reply.text))[:300]
    except ValueError:
        return str(reply.text)[:300]


def monitored(settings: Settings, url: str) -> Settings:
    """The settings with the server's ``/metrics`` as the check's error-rate source (the
    log holds answers only)."""
    monitor = settings.monitor.model_copy(update={"metrics_url": f"{url}/metrics"})
    return settings.model_copy(update={"monitor": monitor})


def normal_then_drifted(url: str, data: DemoData) -> tuple[Traffic, Traffic, datetime]:
    """Step 5: normal traffic, then drifted traffic with the truth of half of it; returns
    both and when the drift began."""
    normal = send_traffic(url, data.normal)
    drift_start = datetime.now(UTC)
    drifted = send_traffic(url, data.drifted, feedback_share=0.5)
    time.sleep(FLUSH_WAIT_S)  # the server writes its log every flush interval
    return normal, drifted, drift_start


def check_drift(settings: Settings, start: datetime, end: datetime) -> Any:
    """Step 6: the monitoring rules over the drifted window (``monitor check``)."""
    from mlcycle.monitor.rules import run_check

    return run_check(settings, start, end)


def retrain_on_feedback(
    settings: Settings, start: datetime, end: datetime, fired: bool, reporter: Reporter
) -> RetrainResult:
    """Step 7: retrain on the latest data plus feedback and promote through the gates.

    Only if needed when the check fired (as ``retrain --if-needed`` would); when it is
    quiet, the demo retrains anyway, to show the rest of the loop.
    """
    return retrain(settings, if_needed=fired, start=start, end=end, reporter=reporter)


def swap_and_send(url: str, outcome: RetrainResult, data: DemoData) -> tuple[bool, Traffic | None]:
    """Step 8: wait for the server to answer with the promoted version, then send more
    drifted traffic. ``(False, None)`` when nothing was promoted or it did not swap."""
    if not outcome.version or outcome.outcome != PROMOTED:
        return False, None
    if not wait_for_version(url, outcome.version, data.normal.body(0, 1, 1)):
        return False, None
    after = send_traffic(url, data.after, feedback_share=0.5)
    time.sleep(FLUSH_WAIT_S)
    return True, after


def report(settings: Settings, began: datetime) -> tuple[dict[str, Any], Path]:
    """Step 9: the monitoring report of everything the demo sent, written under home."""
    from mlcycle.monitor.report import make_report

    path = settings.home / "monitoring-report.html"
    summary = make_report(settings, began, datetime.now(UTC) + timedelta(seconds=1), path)
    return summary, path
