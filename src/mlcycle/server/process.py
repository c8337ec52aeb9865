"""Start, stop and look at a team server: MLflow's tracking server and its PostgreSQL.

``start`` returns once the server answers, or says why it could not; the server runs
on in its own session (a closed terminal does not stop it) until ``stop``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from mlcycle.core.errors import InvalidInput, Unavailable
from mlcycle.core.ports import check_port
from mlcycle.core.private import private_dirs
from mlcycle.core.processes import alive
from mlcycle.core.urls import hide_password
from mlcycle.server import postgres
from mlcycle.server.config import (
    ServerSpec,
    read_running,
    save_running,
    session_secret,
    spec_record,
    webhook_key,
    write_auth_config,
)

APP = "mlcycle-auth"  # the entry point of mlcycle.server.auth_app
_READY_S = 180  # a first start runs MLflow's database migrations: most of a minute here
_STOP_S = 30


def start(spec: ServerSpec, admin_password: str) -> dict[str, Any]:
    """Run the server of ``spec`` in the background; return what ``status`` shows."""
    private_dirs(spec.state)
    running = status(spec.state)
    if running["running"]:
        raise InvalidInput(f"A server of {spec.state} already runs at {running['url']}.")
    check_port(spec.host, spec.port)
    save_running(spec.state, {**spec_record(spec), "pid": 0})  # what stop needs to undo
    try:
        tracking, users = _databases(spec)
        env = _server_env(spec, tracking, users, admin_password)
        log = spec.state / "server.log"
        _bootstrap_users(env, log)
        with log.open("ab") as out:
            process = subprocess.Popen(
                _command(spec), env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        save_running(spec.state, {**spec_record(spec), "pid": process.pid})
        _wait_ready(spec, process, log)
    except BaseException:
        stop(spec.state)  # a failed start leaves nothing running
        raise
    return status(spec.state)


def stop(state: Path) -> bool:
    """Stop the server of ``state`` and its own PostgreSQL; False when none was running."""
    record = read_running(state)
    if record is None:
        return False
    pid = int(str(record.get("pid", 0)))
    stopped = pid > 0 and alive(pid)
    if stopped:
        os.killpg(pid, signal.SIGTERM)
        _wait_gone(pid)
    spec = _spec(record)
    if spec.db is None:
        postgres.stop(_cluster(spec))
    save_running(state, {**record, "pid": 0})
    return stopped


def status(state: Path) -> dict[str, Any]:
    """Whether the server of ``state`` runs and answers, with its address."""
    record = read_running(state)
    if record is None:
        return {"state": str(state), "running": False, "url": None}
    spec = _spec(record)
    pid = int(str(record.get("pid", 0)))
    running = pid > 0 and alive(pid)
    return {
        "state": str(state),
        "running": running,
        "answering": running and _answers(spec.url),
        "url": spec.url,
        "pid": pid if running else None,
        "database": "own PostgreSQL cluster" if spec.db is None else "external PostgreSQL",
        "artifacts": spec.artifacts_uri,
        "tuning_storage": _shown_tuning_url(state),
        "log": str(state / "server.log"),
    }


def tuning_url(state: Path) -> str:
    """Where ``mlcycle tune`` keeps its studies on this server's PostgreSQL (password in).

    The own cluster's tuning role owns only that database; with ``--db``, it is a
    sibling database on the same server, reached with the same credentials.
    """
    record = read_running(state)
    if record is None:
        raise InvalidInput(f"No server was started from {state}; run mlcycle server start.")
    spec = _spec(record)
    if spec.db is not None:
        return _sibling_database(spec.db, "_optuna")
    host = socket.gethostname() if spec.host in ("0.0.0.0", "::") else spec.url.split("//")[1]
    return _cluster(spec).tuning_url(host.rsplit(":", 1)[0])


def _shown_tuning_url(state: Path) -> str | None:
    try:
        return hide_password(tuning_url(state))
    except OSError:  # a server started before mlcycle made one: the next start does
        return None


def _databases(spec: ServerSpec) -> tuple[str, str]:
    """The tracking store's and the user store's URLs (both PostgreSQL), created if new."""
    if spec.db is not None:
        users = _sibling_database(spec.db, "_users")
        _create(spec.db, users, _sibling_database(spec.db, "_optuna"))
        return spec.db, users
    cluster = _cluster(spec)
    postgres.ensure(cluster)
    if not postgres.running(cluster):
        # Tuning workers on other machines reach its tuning database where the server is.
        loopback = spec.host in ("127.0.0.1", "localhost", "::1")
        postgres.start(cluster, "127.0.0.1" if loopback else f"127.0.0.1,{spec.host}")
    stores = ("mlflow", "mlflow_users")
    for name in stores:
        postgres.create_database(cluster.url("postgres"), name)
    postgres.add_tuning_role(cluster, keep_out=stores)
    return cluster.url("mlflow"), cluster.url("mlflow_users")


def _create(tracking: str, *siblings: str) -> None:
    """Create the user and tuning databases beside an external tracking database."""
    import psycopg

    server = tracking.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(tracking, connect_timeout=10):
            pass
        for sibling in siblings:
            postgres.create_database(server, sibling.rsplit("/", 1)[1])
    except psycopg.Error as exc:
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unavailable(
            f"PostgreSQL refused the connection to {hide_password(tracking)}: {said}."
        ) from None


def _sibling_database(url: str, suffix: str) -> str:
    base, _, name = url.rpartition("/")
    if not url.startswith(("postgresql://", "postgresql+psycopg://")) or not name:
        raise InvalidInput(
            f"--db must be a PostgreSQL URL naming a database (postgresql://USER:PASSWORD@HOST"
            f"/NAME), not {hide_password(url)!r}."
        )
    return f"{base}/{name.split('?')[0]}{suffix}"


def _server_env(spec: ServerSpec, tracking: str, users: str, password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return {
        **env,
        # Secrets go through the environment, never the command line (``ps`` shows it).
        "MLFLOW_BACKEND_STORE_URI": _sqlalchemy_url(tracking),
        "MLFLOW_AUTH_CONFIG_PATH": str(write_auth_config(spec.state, _sqlalchemy_url(users))),
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": session_secret(spec.state),
        # MLflow's job runner (GenAI scorers, prompt optimisation: nothing mlcycle uses)
        # is seven more processes that take a minute to start on two cores.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        **_webhook_env(spec),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }


def _webhook_env(spec: ServerSpec) -> dict[str, str]:
    """Let registry webhooks reach served APIs on the team's own network.

    MLflow posts only to public https addresses by default (against SSRF); a team's
    served APIs sit on private addresses. Only an administrator may register a webhook
    (MLflow's rule), so the wider reach is theirs alone.
    """
    return {
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": webhook_key(spec.state),
        # Each worker caches the webhook list; a new one is seen within seconds, not 60.
        "MLFLOW_WEBHOOK_CACHE_TTL": "5",
    }


def _bootstrap_users(env: dict[str, str], log: Path) -> None:
    """Create the user store and the admin once, before the workers start.

    MLflow does it in the parent process only for its own app name; left to the
    workers, two of them create the same tables at once and one dies.
    """
    code = "from mlflow.server.auth import bootstrap_admin_user; bootstrap_admin_user()"
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=_READY_S,
        )  # fmt: skip
    if done.returncode != 0:
        raise Unavailable(f"The user store could not be prepared: {_last_line(log)}")


def _command(spec: ServerSpec) -> list[str]:
    mlflow = str(Path(sys.executable).parent / "mlflow")
    names = _names(spec.host)
    hosts = names + [f"{name}:{spec.port}" for name in names]
    origins = [f"http://{name}:{spec.port}" for name in names]
    return [
        mlflow, "server", "--app-name", APP,
        "--host", spec.host, "--port", str(spec.port), "--workers", str(spec.workers),
        "--serve-artifacts", "--artifacts-destination", spec.artifacts_uri,
        "--allowed-hosts", ",".join(hosts), "--cors-allowed-origins", ",".join(origins),
    ]  # fmt: skip


def _names(host: str) -> list[str]:
    """The names clients may reach the server by (MLflow refuses other Host headers).

    Listening on every interface means colleagues reach it by this machine's name.
    """
    names = [host, "localhost", "127.0.0.1"]
    if host in ("0.0.0.0", "::"):
        names = [socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1"]
    return list(dict.fromkeys(names))


def _sqlalchemy_url(url: str) -> str:
    """SQLAlchemy's spelling for psycopg 3 (plain ``postgresql://`` means psycopg2)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _wait_ready(spec: ServerSpec, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + _READY_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"The server stopped while starting: {_last_line(log)}")
        if _answers(spec.url):
            return
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    raise Unavailable(f"The server did not answer at {spec.url} within {_READY_S} s; see {log}.")


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + _STOP_S
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"nothing in {log}"


def _spec(record: dict[str, Any]) -> ServerSpec:
    fields = {k: record[k] for k in ("host", "port", "db", "artifacts", "workers") if k in record}
    return replace(ServerSpec(Path(str(record["state"]))), **fields)


def _cluster(spec: ServerSpec) -> postgres.Cluster:
    return postgres.cluster_for(spec.state, _cluster_port(spec))


def _cluster_port(spec: ServerSpec) -> int:
    """The own cluster's port: chosen free once, then kept (clients never see it)."""
    path = spec.state / "postgres-port"
    if path.exists():
        return int(path.read_text())
    port = check_port("127.0.0.1", 0)
    path.write_text(str(port))
    return port
