"""Production mode against real processes: keys, feedback across workers, Prometheus,
slow clients, the load-test command, SIGTERM under load and hot swap under load."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlcycle.core.settings import Settings
from mlcycle.core.tracking import tracking_restored, use_tracking
from mlcycle.data import predlog
from mlcycle.registry.ops import register, resolve, set_alias
from mlcycle.train.pipeline import train_model
from tests.conftest import project_path, write_project
from tests.integration.test_serve_process import (
    MLCYCLE,
    SMALL_MODEL,
    VOCABULARY,
    Server,
    _free_port,
    _stop,
    _wait_ready,
)

KEY = "integration-key-0123456789abcdef"
ADMIN_KEY = "integration-admin-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SETTINGS_FILE = f"""
serve:
  reload_seconds: 0.5
  auth:
    enabled: true
    keys:
      integration: {hashlib.sha256(KEY.encode()).hexdigest()}
      ops: {{digest: {hashlib.sha256(ADMIN_KEY.encode()).hexdigest()}, role: admin}}
  prediction_log: {{flush_seconds: 0.5}}
"""
TEXTS = ["brasserie menu", "salon coiffure", "logiciel web", "épicerie caisse"]
LIMIT_S = 60  # guards against hanging, not speed requirements


@contextlib.contextmanager
def _registry(home: Path) -> Iterator[None]:
    """Point this test process's MLflow at ``home`` for a moment."""
    with tracking_restored():
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        use_tracking(Settings(home=home))
        yield


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``nace@production`` (version 1) and ``swapme`` versions 1-3 of the same model."""
    import random

    home = tmp_path_factory.mktemp("prod")
    rng = random.Random(1)
    codes = [rng.choice(sorted(VOCABULARY)) for _ in range(400)]
    texts = [" ".join(rng.sample(VOCABULARY[code], 3)) for code in codes]
    pd.DataFrame({"text": texts, "nace": codes}).to_csv(home / "train.csv", index=False)
    write_project(home, SETTINGS_FILE)
    with _registry(home):
        result = train_model(str(home / "train.csv"), SMALL_MODEL, settings=Settings(home=home))
        set_alias(result.name, "production", result.version)
        source = resolve(f"{result.name}/{result.version}").source
        for _ in range(3):
            register(source, "swapme")
        set_alias("swapme", "production", "1")
    return home


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "MLFLOW_"))}
    return {**env, "MLCYCLE_HOME": str(home), "MLCYCLE_PROJECT": str(project_path(home)),
            **extra}  # fmt: skip


def _start(home: Path, *args: str, workers: int = 2, **env: str) -> Server:
    port = _free_port()
    command = [MLCYCLE, "serve", "--port", str(port), "--workers", str(workers), *args]
    process = subprocess.Popen(
        command, env=_env(home, **env), cwd=home, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}")
    _wait_ready(server)
    # /ready reached one worker; the merged metrics show when every worker has its model.
    deadline = time.monotonic() + LIMIT_S
    while _loaded_workers(server.url) < workers:
        assert time.monotonic() < deadline, "not every worker loaded its model"
        time.sleep(0.2)
    return server


def _loaded_workers(url: str) -> int:
    lines = httpx.get(f"{url}/metrics").text.splitlines()
    return sum(1 for x in lines if x.startswith("mlcycle_model_info{") and x.endswith(" 1.0"))


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[Server]:
    server = _start(home)
    yield server
    if server.process.poll() is None:
        _stop(server)


def _predict(url: str, texts: list[str], headers: dict[str, str] = AUTH) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"texts": texts, "k": 2}, headers=headers)


def test_keys_are_required_over_http(server: Server) -> None:
    assert _predict(server.url, ["menu"], {}).status_code == 401
    assert (
        _predict(server.url, ["menu"], {"X-API-Key": "wrong-key-of-some-length"}).status_code == 403
    )
    assert _predict(server.url, ["menu"], {"X-API-Key": KEY}).status_code == 200
    assert _predict(server.url, ["menu"]).status_code == 200
    for open_path in ("/health", "/ready", "/metrics"):
        assert httpx.get(server.url + open_path).status_code == 200


def test_feedback_finds_predictions_answered_by_any_worker(server: Server) -> None:
    answers = [_predict(server.url, [text]).json() for text in TEXTS * 3]
    assert len({a["request_id"] for a in answers}) == len(answers)
    for answer in answers:  # new connections: each may reach the other worker
        item = {"request_id": answer["request_id"], "true_code": "56.10A"}
        response = httpx.post(f"{server.url}/feedback", json=item, headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text
    unknown = {"request_id": predlog.new_request_id(1_700_000_000_000), "true_code": "5610A"}
    missing = httpx.post(f"{server.url}/feedback", json=unknown, headers=AUTH)
    assert missing.status_code == 404 and "No logged prediction" in missing.json()["detail"]


def test_prometheus_scrapes_the_metrics_of_every_worker(server: Server, tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus binary is not installed (apt-get install prometheus)")
    for text in TEXTS * 5:
        assert _predict(server.url, [text]).status_code == 200
    port = _free_port()
    target = server.url.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: mlcycle\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    prometheus = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        query = _prometheus_query(f"http://127.0.0.1:{port}", prometheus)
        assert query('up{job="mlcycle"}') == 1
        assert query('sum(mlcycle_http_requests_total{route="/predict",status="200"})') >= 20
        assert query('count(mlcycle_model_info{name="nace",version="1"} == 1)') == 2
        assert query("sum(mlcycle_predictions_total)") >= 20
        assert query("sum(mlcycle_prediction_top1_probability_count)") >= 20
        assert query('sum(mlcycle_http_request_duration_seconds_bucket{le="+Inf"})') >= 20
        assert query("sum(mlcycle_prediction_texts_per_request_count)") >= 20
        assert query('sum(mlcycle_prediction_log_records_total{outcome="written"})') >= 20
        assert query("mlcycle_http_requests_in_flight") >= 0
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)


def _prometheus_query(base: str, process: subprocess.Popen[str]):
    def query(expression: str) -> float:
        """The first value of an instant query, once Prometheus has one (bounded wait)."""
        deadline = time.monotonic() + LIMIT_S
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1][-2000:]
            with contextlib.suppress(httpx.TransportError):
                answer = httpx.get(f"{base}/api/v1/query", params={"query": expression})
                # 503 (plain text) until Prometheus is ready, then JSON.
                result = answer.json()["data"]["result"] if answer.status_code == 200 else []
                if result:
                    return float(result[0]["value"][1])
            time.sleep(0.5)
        raise AssertionError(f"Prometheus has no value for {expression}")

    return query


def test_a_slow_client_does_not_starve_the_others(server: Server) -> None:
    body = json.dumps({"texts": ["coiffure salon"]}).encode()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=LIMIT_S) as slow:
        slow.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        answered = 0
        for position, byte in enumerate(body):  # about 3 s, a byte at a time
            slow.sendall(bytes([byte]))
            if position % 2 == 0:
                answered += _predict(server.url, ["brasserie"]).status_code == 200
            time.sleep(0.1)
        assert answered == (len(body) + 1) // 2  # everyone else was answered meanwhile
        reply = slow.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]


def test_the_loadtest_command_reports_throughput_and_errors(server: Server) -> None:
    def loadtest(*args: str) -> dict:
        done = subprocess.run(
            [MLCYCLE, "loadtest", server.url, "--duration", "2", "--concurrency", "4", "--json",
             *args], capture_output=True, text=True, timeout=LIMIT_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    report = loadtest("--api-key", KEY, "--batch", "3")
    assert report["ok"] == report["requests"] > 0 and report["errors"] == {}
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["texts_per_s"] == pytest.approx(report["requests_per_s"] * 3, rel=0.01)
    refused = loadtest("--api-key", "not-the-key-at-all", "--max-requests", "50")
    assert refused["ok"] == 0 and refused["errors"] == {"403": 50}


class Load:
    """Threads sending /predict back to back until stopped, recording every outcome."""

    def __init__(self, url: str, threads: int = 4, pause_s: float = 0.0) -> None:
        """``pause_s``: each thread's pause after each answer; a test that needs
        requests in flight, not a saturated server, leaves CPU to the rest of the suite."""
        self.url = url
        self.pause_s = pause_s
        self.stop = threading.Event()
        self.answers: list[tuple[int, dict]] = []  # (thread, body) of each 200
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(LIMIT_S)

    def _run(self, number: int) -> None:
        with httpx.Client(base_url=self.url, headers=AUTH, timeout=30) as client:
            turn = 0
            while not self.stop.is_set():
                turn += 1
                texts = TEXTS[: 1 + (turn + number) % 3]
                try:
                    response = client.post("/predict", json={"texts": texts})
                except httpx.TransportError as exc:
                    self.failures.append(repr(exc))
                    time.sleep(0.01)  # the server is going away: do not spin
                    continue
                if response.status_code == 200:
                    self.answers.append((number, response.json()))
                else:
                    self.failures.append(f"{response.status_code} {response.text}")
                if self.pause_s:
                    time.sleep(self.pause_s)

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + LIMIT_S
        while not condition():
            assert time.monotonic() < deadline, f"gave up waiting for {what}"
            time.sleep(0.1)


def test_sigterm_under_load_writes_every_answered_prediction(home: Path, tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    server = _start(home, MLCYCLE_SERVE__PREDICTION_LOG__DIR=str(log_dir),
                    MLCYCLE_SERVE__PREDICTION_LOG__FLUSH_SECONDS="300")  # fmt: skip
    try:
        with Load(server.url) as load:
            load.wait_for(lambda: len(load.answers) >= 200, "200 answers")
            code, err = _stop(server)  # while the load goes on
    finally:
        if server.process.poll() is None:  # the load failed before the stop
            _stop(server)
    assert code == 0, err
    assert "Traceback" not in err
    rows = predlog.read_log(log_dir, columns=["request_id", "index"])
    answered = [(a["request_id"], i) for _, a in load.answers for i in range(len(a["predictions"]))]
    logged = list(zip(*(rows.column(c).to_pylist() for c in ("request_id", "index")), strict=True))
    assert len(logged) == len(answered) and set(logged) == set(answered)
    assert len(answered) >= 200


def test_hot_swap_under_load_fails_no_request(home: Path) -> None:
    server = _start(home, "--model", "swapme@production")
    try:
        with Load(server.url, threads=6) as load:
            for version in ("2", "3"):
                with _registry(home):
                    set_alias("swapme", "production", version)
                load.wait_for(
                    lambda v=version: _last_versions(load, 30) == {v}, f"version {version}"
                )
            broken = _register_broken(home)
            load.wait_for(lambda: _reloads(server.url, "failed") >= 2, "both workers to fail")
            refused = httpx.post(f"{server.url}/admin/reload", headers=AUTH, timeout=LIMIT_S)
            reload = httpx.post(f"{server.url}/admin/reload", headers=ADMIN, timeout=LIMIT_S)
            count = len(load.answers)
            load.wait_for(lambda: len(load.answers) >= count + 50, "answers after the failure")
        assert load.failures == []
        assert _last_versions(load, 50) == {"3"}  # the broken version never answered
        for thread in range(6):  # each connection saw the versions in order, never back
            seen = [int(a["model"]["version"]) for t, a in load.answers if t == thread]
            assert seen == sorted(seen)
        assert {a["model"]["version"] for _, a in load.answers} == {"1", "2", "3"}
        assert refused.status_code == 403 and "admin role" in refused.json()["detail"]
        assert reload.status_code == 409, reload.text
        assert "Version 3 keeps answering" in reload.json()["detail"]
    finally:
        code, err = _stop(server)
    assert code == 0, err
    said = f"Version {broken} of swapme@production failed to load ("
    assert said in err  # the server log says why
    reason = err.split(said, 1)[1].split("); still answering", 1)[0]
    assert reason and reason not in reload.text  # the client is not told internals


def _last_versions(load: Load, count: int) -> set[str]:
    return (
        {answer["model"]["version"] for _, answer in load.answers[-count:]}
        if load.answers
        else set()
    )


def _reloads(url: str, outcome: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    prefix = f'mlcycle_model_reloads_total{{outcome="{outcome}"}} '
    return next(
        (float(x.removeprefix(prefix)) for x in text.splitlines() if x.startswith(prefix)), 0
    )


def _register_broken(home: Path) -> str:
    """A version whose artifacts do not exist, and move the alias onto it."""
    from mlflow import MlflowClient

    with _registry(home):
        version = MlflowClient().create_model_version("swapme", source=str(home / "nowhere"))
        set_alias("swapme", "production", str(version.version))
    return str(version.version)
