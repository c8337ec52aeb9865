"""``mlcycle serve`` as a real process: a registered model, uvicorn, HTTP, SIGTERM."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlcycle.core.settings import Settings
from mlcycle.core.tracking import tracking_restored, use_tracking
from mlcycle.registry.ops import set_alias
from mlcycle.train.pipeline import train_model

MLCYCLE = str(Path(sys.executable).with_name("mlcycle"))
VOCABULARY = {
    "5610A": ["restaurant", "cuisine", "traditionnelle", "brasserie", "plats", "menu"],
    "4711D": ["supermarché", "alimentation", "épicerie", "rayons", "caisse", "produits"],
    "6201Z": ["logiciel", "développement", "programmation", "applications", "code", "web"],
    "9602A": ["coiffure", "salon", "coupe", "coloration", "mèches", "barbier"],
}
SMALL_MODEL = {"dim": 16, "epoch": 10, "minCount": 1, "bucket": 5000, "wordNgrams": 1}
STARTUP_LIMIT_S = 120  # a guard against hanging, not a speed requirement


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[str]
    url: str


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project home whose registry holds ``nace@production``, trained on a small set."""
    home = tmp_path_factory.mktemp("home")
    rng = random.Random(0)
    codes = [rng.choice(sorted(VOCABULARY)) for _ in range(400)]
    texts = [" ".join(rng.sample(VOCABULARY[code], 3)) for code in codes]
    data = home / "train.csv"
    pd.DataFrame({"text": texts, "nace": codes}).to_csv(data, index=False)
    with tracking_restored():
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        settings = Settings(home=home)
        result = train_model(str(data), SMALL_MODEL, settings=settings)
        use_tracking(settings)
        set_alias(result.name, "production", result.version)
    return home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLCYCLE_", "MLFLOW_"))}
    return {**env, "MLCYCLE_HOME": str(home), **settings}


def _start(home: Path, *args: str, **settings: str) -> Server:
    port = _free_port()
    command = [MLCYCLE, "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    process = subprocess.Popen(
        command, env=_env(home, **settings), cwd=home, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}")
    _wait_ready(server)
    return server


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _, err = server.process.communicate()
            raise AssertionError(f"the server exited early:\n{err}")
        try:
            if httpx.get(f"{server.url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.process.kill()
    raise AssertionError("the server did not become ready")


def _stop(server: Server) -> tuple[int, str]:
    server.process.send_signal(signal.SIGTERM)
    try:
        _, err = server.process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise
    return server.process.returncode, err


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[Server]:
    server = _start(home, "--model", "nace@production")
    yield server
    if server.process.poll() is None:
        _stop(server)


def test_predicts_over_http(server: Server) -> None:
    body = {"texts": ["Brasserie, cuisine traditionnelle", "salon de coiffure"], "k": 2}
    response = httpx.post(f"{server.url}/predict", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == {"name": "nace", "version": "1"}
    assert [ranked[0]["code"] for ranked in answer["predictions"]] == ["5610A", "9602A"]
    assert all(len(ranked) == 2 for ranked in answer["predictions"])
    info = httpx.get(f"{server.url}/").json()
    # Trained on too few rows to calibrate: the threshold is the target precision itself.
    assert info == {"name": "nace", "version": "1", "labels": 4, "model_uri": "models:/nace/1",
                    "auto_coding_threshold": 0.95}  # fmt: skip


def test_a_batch_with_bad_texts_is_answered_text_by_text(server: Server) -> None:
    """Over HTTP: a blank text and a number get their own errors, the others their codes,
    each code with its NAF label and parents; the bad texts are neither logged nor
    open to feedback, and the metrics count them."""
    body = {"texts": ["salon de coiffure", "", 42, "Brasserie, cuisine traditionnelle"], "k": 2}
    response = httpx.post(f"{server.url}/predict", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [e["index"] for e in answer["errors"]] == [1, 2]
    assert [e["error"] for e in answer["errors"]] == ["blank", "not_a_string"]
    assert answer["predictions"][1] is None and answer["predictions"][2] is None
    hair, food = answer["predictions"][0][0], answer["predictions"][3][0]
    assert (hair["code"], hair["label"]) == ("9602A", "Coiffure")
    assert hair["parents"]["section"] == {"code": "S", "label": "Autres activités de services"}
    assert [level["code"] for level in food["parents"].values()] == ["I", "56", "561", "5610"]
    rid = answer["request_id"]
    refused = httpx.post(
        f"{server.url}/feedback", json={"request_id": rid, "index": 1, "true_code": "9602A"}
    )
    assert refused.status_code == 422 and "answered with an error" in refused.json()["detail"]
    stored = httpx.post(
        f"{server.url}/feedback", json={"request_id": rid, "index": 3, "true_code": "5610A"}
    )
    assert stored.json() == {"stored": 1}
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'mlcycle_prediction_input_errors_total{error="not_a_string"} 1.0' in metrics


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "content", "headers", "status"),
    [
        ("POST", "/predict", b"{oops", JSON, 422),
        ("POST", "/predict", b'{"texts": []}', JSON, 422),
        ("POST", "/predict", b'{"texts": ["a"]}', {"content-type": "text/plain"}, 415),
        ("POST", "/predict", b'{"texts": ["a"], "k": 0}', JSON, 422),
        ("POST", "/predict", b"x" * 13_000_000, JSON, 413),
        ("GET", "/predict", b"", {}, 405),
        ("GET", "/missing", b"", {}, 404),
    ],
)
def test_bad_requests_get_4xx_and_the_server_stays_up(
    server: Server, method: str, path: str, content: bytes, headers: dict[str, str], status: int
) -> None:
    response = httpx.request(method, f"{server.url}{path}", content=content, headers=headers)
    assert response.status_code == status
    assert set(response.json()) == {"error", "detail"}
    assert httpx.get(f"{server.url}/health").json() == {"status": "alive"}
    again = httpx.post(f"{server.url}/predict", json={"texts": ["menu brasserie"]})
    assert again.status_code == 200


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_the_server_cleanly(home: Path, workers: str) -> None:
    server = _start(home, "--model", "models:/nace@production", "--workers", workers)
    try:
        answer = httpx.post(f"{server.url}/predict", json={"texts": ["code web"]})
    finally:
        code, err = _stop(server)  # even when the request failed: no server left behind
    assert answer.status_code == 200
    assert code == 0, err
    assert "Traceback" not in err


# Deadlines of one second for a request's headers, then its body.
IMPATIENT = {"MLCYCLE_SERVE__HEADER_TIMEOUT_S": "1", "MLCYCLE_SERVE__BODY_TIMEOUT_S": "1"}
PREDICT_HEAD = (
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 40\r\n\r\n"
)


def _connect(server: Server, sent: bytes) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)), timeout=STARTUP_LIMIT_S)
    client.sendall(sent)
    return client


def _until_closed(client: socket.socket) -> bytes:
    reply = b""
    while chunk := client.recv(65536):
        reply += chunk
    return reply


@pytest.fixture(scope="module")
def impatient_server(home: Path) -> Iterator[Server]:
    server = _start(home, "--model", "nace@production", **IMPATIENT)
    yield server
    _stop(server)


@pytest.mark.parametrize(
    ("sent", "part"),
    [
        (b"POST /predict HTTP/1.1\r\nHost: x\r\n", "headers"),
        (PREDICT_HEAD, "body"),
        (PREDICT_HEAD + b'{"texts": ["brasserie', "body"),
    ],
    ids=["partial-headers", "headers-and-no-body", "half-a-body"],
)
def test_a_client_too_slow_to_send_its_request_gets_a_408(
    impatient_server: Server, sent: bytes, part: str
) -> None:
    with _connect(impatient_server, sent) as client:
        reply = _until_closed(client)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), reply
    assert b"connection: close" in head.lower()
    detail = json.loads(body)
    assert detail["error"] == "request_timeout"
    assert detail["detail"].startswith(f"The request {part} did not arrive within 1 second")
    assert httpx.get(f"{impatient_server.url}/health").status_code == 200


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
    impatient_server: Server,
) -> None:
    with _connect(impatient_server, b"") as client:
        assert _until_closed(client) == b""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_does_not_wait_for_a_body_that_never_comes(home: Path, workers: str) -> None:
    # A body deadline long enough for the body to be still awaited when SIGTERM comes.
    settings = {**IMPATIENT, "MLCYCLE_SERVE__BODY_TIMEOUT_S": "5"}
    server = _start(home, "--model", "nace@production", "--workers", workers, **settings)
    with _connect(server, PREDICT_HEAD) as client:
        answer = httpx.post(f"{server.url}/predict", json={"texts": ["code web"]})
        code, err = _stop(server)
        reply = _until_closed(client)
    assert answer.status_code == 200
    assert code == 0, err
    assert "Traceback" not in err and "CancelledError" not in err, err
    assert "graceful shutdown exceeded" not in err, err
    assert reply.startswith(b"HTTP/1.1 408"), reply


def test_a_missing_alias_is_one_sentence_and_a_non_zero_exit(home: Path) -> None:
    result = subprocess.run(
        [MLCYCLE, "serve", "--model", "nace@nowhere", "--port", str(_free_port())],
        env=_env(home), cwd=home, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "nowhere" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_port_in_use_is_one_sentence_and_a_non_zero_exit(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [MLCYCLE, "serve", "--model", "nace@production", "--port", port, "--workers", "2"],
            env=_env(home), cwd=home, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"127.0.0.1:{port}" in last and "--port" in last


def _tcp_sockets(port: int) -> list[tuple[str, int, int]]:
    """(state, local port, inode) of this machine's IPv4 TCP sockets on ``port``."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port:
            rows.append((fields[3], local_port, int(fields[9])))
    return rows


def _owners(inodes: set[int]) -> dict[int, int]:
    """How many of these socket inodes each process holds, by pid."""
    counts: dict[int, int] = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:
            continue  # another user's process, or one that just ended
        held = sum(1 for link in links if link.startswith("socket:[") and int(link[8:-1]) in inodes)
        if held:
            counts[int(fd_dir.parent.name)] = held
    return counts


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_two_workers_share_connections_opened_together(home: Path) -> None:
    """A client opening its connections at once (wrk, a pool) reaches both workers."""
    server = _start(home, "--model", "nace@production", "--workers", "2")
    port = int(server.url.rsplit(":", 1)[1])
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while sum(state == "0A" for state, _, _ in _tcp_sockets(port)) < 2:  # 0A: LISTEN
            assert time.monotonic() < deadline, "the second worker never listened"
            time.sleep(0.2)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
        for client in clients:  # a request on each, so every connection has been accepted
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        replies = [client.recv(4096) for client in clients]
        established = {inode for state, _, inode in _tcp_sockets(port) if state == "01"}
        owners = _owners(established)
        for client in clients:
            client.close()
    finally:
        code, err = _stop(server)
    assert all(reply.startswith(b"HTTP/1.1 200") for reply in replies)
    assert len(owners) == 2 and sum(owners.values()) == 16, owners
    assert code == 0, err
