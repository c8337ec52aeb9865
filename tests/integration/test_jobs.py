"""Scoring jobs for real: Debian's redis-server, ``mlcycle serve`` taking jobs over HTTP,
``mlcycle worker`` processes scoring them, one killed with SIGKILL mid-job."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.conftest import cli_env, project_path
from tests.integration.test_batch_predict import _texts
from tests.integration.test_batch_predict import home as home
from tests.integration.test_serve_process import Server, _free_port, _start, _stop

pytestmark = pytest.mark.slow
JOBS = {"MLCYCLE_SERVE__JOBS__CHUNK_ROWS": "2000", "MLCYCLE_SERVE__JOBS__LEASE_SECONDS": "3"}
# Requests of 10 texts: a body limit of 120 kB, which a job's upload is not held to.
SMALL_REQUESTS = {"MLCYCLE_SERVE__MAX_BATCH": "10"}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("No redis-server; install Debian's redis-server to run the jobs tests.")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(port=port)
    _until(lambda: _answers(client), "redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=30)


def _answers(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _env(home: Path, redis_url: str) -> dict[str, str]:
    return {**JOBS, "MLCYCLE_SERVE__JOBS__REDIS_URL": redis_url,
            "MLCYCLE_PROJECT": str(project_path(home))}  # fmt: skip


@pytest.fixture(scope="module")
def api(home: Path, redis_url: str) -> Iterator[Server]:
    server = _start(home, "--model", "nace@production", **_env(home, redis_url), **SMALL_REQUESTS)
    yield server
    if server.process.poll() is None:
        _stop(server)


def _worker(home: Path, redis_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**cli_env(home), **_env(home, redis_url)}
    return subprocess.Popen([sys.executable, "-m", "mlcycle", "worker", *args], env=env,
                            cwd=home.parent, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _until(condition, what: str, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s  # a guard against hanging, not a speed requirement
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _job(api: Server, job_id: str) -> dict:
    return httpx.get(f"{api.url}/jobs/{job_id}", timeout=10).json()


def test_a_job_whose_worker_is_killed_is_resumed_with_no_row_lost_or_doubled(
    api: Server, home: Path, redis_url: str
) -> None:
    frame = _texts(40_000)
    body = frame.to_csv(index=False).encode()
    sent = httpx.post(f"{api.url}/jobs", params={"id_col": "siren", "k": 2}, content=body,
                      headers={"content-type": "text/csv"}, timeout=60)  # fmt: skip
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["id"]
    assert sent.json()["status"] == "queued" and sent.json()["model"] == "nace@production"

    first = _worker(home, redis_url)
    _until(lambda: int(_job(api, job_id).get("chunks_done", 0)) >= 3, "no chunk was scored")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert _job(api, job_id)["status"] == "running"  # until its lease lapses

    second = _worker(home, redis_url)
    try:
        _until(lambda: _job(api, job_id)["status"] in ("done", "failed"), "never finished")
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)
    record = _job(api, job_id)
    assert record["status"] == "done", record
    assert (record["resumed"], record["version"], record["rows_done"]) == ("1", "nace/1", "40000")
    assert not (home / "jobs" / job_id / "parts").exists() and len(body) > 1_000_000
    result = httpx.get(f"{api.url}/jobs/{job_id}/result", timeout=60)
    assert result.status_code == 200
    table = pq.read_table(io.BytesIO(result.content))
    assert table.column("siren").to_pylist() == frame["siren"].tolist()  # none lost, none twice
    assert table.column_names == ["siren", "code_1", "probability_1", "code_2",
                                  "probability_2", "empty_text"]  # fmt: skip
    assert table.schema.metadata[b"mlcycle.model"] == b"nace/1"
    _logged_once(home, record["request_id"], frame, table)


def _logged_once(home: Path, request_id: str, frame, table) -> None:
    """The prediction log holds every row of the job once, under the job's request id,
    with the version that scored it (a chunk scored again replaced its rows)."""
    from mlcycle.data.predlog import read_log

    log = read_log(home / "predictions").to_pandas()
    rows = log[log["request_id"] == request_id].sort_values("index")
    assert rows["index"].tolist() == list(range(len(frame)))
    assert rows["text"].tolist() == frame["text"].fillna("").tolist()  # as the model read it
    assert set(rows["model_version"]) == {"1"} and set(rows["batch_size"]) != {0}
    assert [codes[0] for codes in rows["codes"]] == table.column("code_1").to_pylist()


def test_mistakes_get_a_4xx_in_one_sentence(api: Server, home: Path, redis_url: str) -> None:
    inbox = home / "jobs" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for body, words in [
        ({"input": "../../etc/passwd"}, "under the jobs inbox"),
        ({"input": "nothing.csv"}, "is not a file in the jobs inbox"),
        ({"input": "http://example.com/a.csv"}, "must be in an object store"),
        ({"input": "x.csv", "colour": "red"}, "Unknown option 'colour'"),
        ({"texts": ["a"]}, 'The body must be {"input"'),
    ]:
        answer = httpx.post(f"{api.url}/jobs", json=body, timeout=10)
        assert answer.status_code == 422 and words in answer.json()["detail"], answer.text
    bad = httpx.post(f"{api.url}/jobs", content=b"{", headers={"content-type": "application/json"})
    assert bad.status_code == 422
    assert httpx.get(f"{api.url}/jobs/nope", timeout=10).status_code == 404

    _texts(50).to_csv(inbox / "gone.csv", index=False)
    queued = httpx.post(f"{api.url}/jobs", json={"input": "gone.csv"}, timeout=10).json()
    early = httpx.get(f"{api.url}/jobs/{queued['id']}/result", timeout=10)
    assert early.status_code == 409 and "is queued" in early.json()["detail"]
    (inbox / "gone.csv").unlink()  # the input disappears before a worker reads it
    done = _worker(home, redis_url, "--once")
    assert done.wait(timeout=300) == 0, done.stderr.read()[-2000:]
    record = _job(api, queued["id"])
    assert record["status"] == "failed" and "does not exist" in record["error"], record


def test_without_redis_jobs_are_503_and_predictions_go_on(
    api: Server, redis_url: str, home: Path
) -> None:
    import redis

    redis.Redis.from_url(redis_url).shutdown(nosave=True)
    answer = httpx.post(f"{api.url}/jobs", content=b"text\nboulangerie\n", timeout=30,
                        headers={"content-type": "text/csv"})  # fmt: skip
    assert answer.status_code == 503 and "Jobs are unavailable" in answer.json()["detail"]
    assert httpx.get(f"{api.url}/jobs/any", timeout=30).status_code == 503
    predicted = httpx.post(f"{api.url}/predict", json={"texts": ["boulangerie"]}, timeout=30)
    assert predicted.status_code == 200, predicted.text
