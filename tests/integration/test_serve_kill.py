"""A worker killed with SIGKILL under load: no answered prediction lost, no stale metrics.

uvicorn's supervisor restarts a dead worker under a new pid; the tests kill one of two
workers of a real ``mlcycle serve`` while clients keep sending, then read the Parquet
log and ``/metrics``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from mlcycle.data import predlog
from tests.integration import test_serve_production as production
from tests.integration.test_serve_process import _owners, _tcp_sockets
from tests.integration.test_serve_production import AUTH, KEY, LIMIT_S, Load, _start, _stop

MODEL_INFO = re.compile(r'^mlcycle_model_info\{.*pid="(\d+)".*\} 1\.0$')
IN_FLIGHT = "mlcycle_http_requests_in_flight "
T = TypeVar("T")

home = production.home  # the project home with ``nace@production``, keys and settings


def _metrics(url: str) -> list[str]:
    """The exposition lines; a connection the killed worker had accepted is retried."""
    for _ in range(3):
        try:
            return httpx.get(f"{url}/metrics", timeout=LIMIT_S).text.splitlines()
        except httpx.TransportError:
            time.sleep(0.2)
    return httpx.get(f"{url}/metrics", timeout=LIMIT_S).text.splitlines()


def _model_pids(url: str) -> set[int]:
    """The pids of the workers whose model-info series says a model is loaded."""
    return {int(m[1]) for line in _metrics(url) if (m := MODEL_INFO.match(line))}


def _in_flight(url: str) -> float:
    line = next(x for x in _metrics(url) if x.startswith(IN_FLIGHT))
    return float(line.removeprefix(IN_FLIGHT))


def _wait(probe: Callable[[], T], what: str) -> T:
    """The first truthy value ``probe`` returns (a bounded wait)."""
    deadline = time.monotonic() + LIMIT_S
    while not (value := probe()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)
    return value


def test_a_worker_killed_under_load_loses_no_answered_prediction(
    home: Path, tmp_path: Path
) -> None:
    log_dir = tmp_path / "log"
    # No periodic write during the test: everything the killed worker answered is
    # still waiting to be written when it dies.
    server = _start(home, MLCYCLE_SERVE__PREDICTION_LOG__DIR=str(log_dir),
                    MLCYCLE_SERVE__PREDICTION_LOG__FLUSH_SECONDS="300")  # fmt: skip
    try:
        with Load(server.url) as load:
            load.wait_for(lambda: len(load.answers) >= 300, "300 answers")
            victim = min(_model_pids(server.url))
            os.kill(victim, signal.SIGKILL)
            # The restarted worker, a new pid, has loaded its model.
            _wait(lambda: len(_model_pids(server.url) - {victim}) == 2, "the restart")
            count = len(load.answers)
            load.wait_for(lambda: len(load.answers) >= count + 300, "answers after it")
            code, err = _stop(server)  # while the load goes on
    finally:
        if server.process.poll() is None:
            _stop(server)
    assert code == 0, err
    assert "Traceback" not in err
    rows = predlog.read_log(log_dir, columns=["request_id", "index"])
    logged = Counter(
        zip(*(rows.column(c).to_pylist() for c in ("request_id", "index")), strict=True)
    )
    answered = [(a["request_id"], i) for _, a in load.answers for i in range(len(a["predictions"]))]
    lost = [row for row in answered if row not in logged]
    assert lost == [], f"{len(lost)} of {len(answered)} answered texts are not in the log"
    assert max(logged.values()) == 1  # nothing written twice
    # Rows beyond the answers: requests the killed worker answered as the connection died.
    assert len(logged) - len(answered) <= 3 * len(load.failures)
    assert not [p for p in (home / "spool").rglob("*") if p.is_file()]  # all compacted


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_a_killed_worker_leaves_no_stale_series_in_the_metrics(home: Path) -> None:
    server = _start(home)
    port = int(server.url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=LIMIT_S) as slow:
            # A request whose body never comes: one request in flight on one worker.
            slow.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {KEY}\r\nContent-Length: 100\r\n\r\n{{".encode()
            )
            [victim] = _wait(lambda: _owners(_established(port)), "the accept")
            _wait(lambda: _in_flight(server.url) >= 2, "the in-flight gauge")  # + the scrape
            assert victim in _model_pids(server.url)
            os.kill(victim, signal.SIGKILL)
            _wait(lambda: len(_model_pids(server.url) - {victim}) == 2, "the restart")
        assert victim not in _model_pids(server.url)
        # Each worker sets its gauge every 0.2 s, so a sibling may still count the last
        # scrape; once it has caught up, only the scrape itself is in flight.
        _wait(lambda: _in_flight(server.url) == 1, "in flight: the scrape alone")
        assert httpx.post(
            f"{server.url}/predict", json={"texts": ["menu"]}, headers=AUTH
        ).is_success
    finally:
        code, err = _stop(server)
    assert code == 0, err


def _established(port: int) -> set[int]:
    return {inode for state, _, inode in _tcp_sockets(port) if state == "01"}
