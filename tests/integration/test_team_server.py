"""The team server for real: ``mlcycle server start`` (MLflow on a PostgreSQL cluster of its
own, basic auth, mlcycle's roles), users added (the first with the CLI), then mlcycle's
commands run against it by several accounts at once, each from its own process."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import optuna
import psycopg
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.ingest import add_dataset
from mlcycle.registry import promotion
from mlcycle.server import postgres
from mlcycle.server.users import add_user
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import train_model
from tests.conftest import cli_env, isolated, one_sentence, run_cli, write_project

pytestmark = [
    pytest.mark.slow,
    # MLflow's user API imports its server app, which uses a deprecated Starlette module.
    pytest.mark.filterwarnings("ignore:starlette.middleware.wsgi is deprecated"),
]

ADMIN_PASSWORD = "team-admin-password-1"
USERS = {  # name: (role, password)
    "rita": ("reader", "rita-password-123"),
    "eddy": ("editor", "eddy-password-123"),
    "erin": ("editor", "erin-password-123"),
    "mona": ("maintainer", "mona-password-123"),
}
# A tiny model and one gate: what is tested is the server, not the classifier.
PROJECT = """\
model: {params: {dim: 8, epoch: 2, bucket: 1000}}
registry:
  environments:
    - {name: production, gates: [quality]}
  gates:
    quality: {minimums: {accuracy_top1: 0.0}}
  holdout: {fraction: 0.1, max_rows: 150}
"""


@dataclass(frozen=True)
class Team:
    url: str
    state: Path  # the server's
    client: Path  # the clients' project home


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server(state_home: Path, *args: str, password: str | None = ADMIN_PASSWORD, **kw):
    env = {"MLCYCLE_SERVER_ADMIN_PASSWORD": password} if password else {}
    return run_cli(state_home, "server", *args, "--home", str(state_home), extra_env=env, **kw)


def signed_in(team: Team, user: str) -> dict[str, str]:
    password = ADMIN_PASSWORD if user == "admin" else USERS[user][1]
    return {
        "MLFLOW_TRACKING_URI": team.url,
        "MLFLOW_TRACKING_USERNAME": user,
        "MLFLOW_TRACKING_PASSWORD": password,
    }


def as_user(team: Team, user: str, *args: str, stdin: str | None = None):
    """``mlcycle ARGS`` run by ``user`` against the team server."""
    return run_cli(team.client, *args, extra_env=signed_in(team, user), stdin=stdin)


@contextlib.contextmanager
def registry_as(team: Team, user: str) -> Iterator[MlflowClient]:
    """An MLflow client of the team server signed in as ``user`` (this process)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in signed_in(team, user).items():
            mp.setenv(name, value)
        yield MlflowClient(team.url, team.url)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    if shutil.which("pg_ctl") is None and not list(Path("/usr/lib/postgresql").glob("*/bin")):
        pytest.skip("No PostgreSQL server binaries; install Debian's postgresql.")
    root = tmp_path_factory.mktemp("team")
    state_home, client = root / "server-home", root / "client-home"
    write_project(client, PROJECT)
    port = _free_port()
    try:
        started = _server(state_home, "start", "--port", str(port), "--json", timeout=400)
        assert started.returncode == 0, started.stderr[-3000:]
        team = Team(json.loads(started.stdout)["url"], state_home / "server", client)
        _add_users(team)
        generate(600, seed=3).to_csv(root / "first.csv", index=False)
        generate(600, seed=4).to_csv(root / "second.csv", index=False)
        yield team
    finally:
        _server(state_home, "stop", password=None, timeout=120)
        cluster = postgres.cluster_for(state_home / "server", 0)
        shutil.rmtree(cluster.data, ignore_errors=True)
        cluster.log.unlink(missing_ok=True)


def _add_users(team: Team) -> None:
    """The first user added with ``server user add``; the others with the function it
    calls, in this process (each command would spend seconds of CPU importing MLflow)."""
    (name, (role, password)), *others = USERS.items()
    done = as_user(team, "admin", "server", "user", "add", name, "--role", role,
                   "--password-stdin", stdin=password + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"Added {name} as {role}."
    with registry_as(team, "admin"):
        for name, (role, password) in others:
            assert add_user(team.url, name, password, role).roles == (role,)


def test_the_admin_lists_each_user_with_their_role(team: Team) -> None:
    done = as_user(team, "admin", "server", "user", "list", "--json")
    assert done.returncode == 0, done.stderr
    listed = {u["name"]: (u["roles"], u["admin"]) for u in json.loads(done.stdout)}
    assert listed == {
        "admin": ([], True),
        **{name: ([role], False) for name, (role, _) in USERS.items()},
    }
    refused = one_sentence(as_user(team, "eddy", "server", "user", "list"))
    assert "administrator" in refused


def test_concurrent_adds_and_trains_by_two_editors_lose_nothing(team: Team) -> None:
    data = team.client.parent
    adds = [("eddy", "first.csv"), ("erin", "second.csv")]
    with ThreadPoolExecutor(2) as pool:
        added = list(pool.map(lambda a: as_user(team, a[0], "data", "add", str(data / a[1]),
                                                "--name", "shared"), adds))  # fmt: skip
    assert [d.returncode for d in added] == [0, 0], [d.stderr[-1500:] for d in added]
    with registry_as(team, "mona") as client:
        versions = _dataset_versions(client)
    assert sorted(versions.values()) == ["eddy", "erin"], versions  # who added each

    trainers = ["eddy", "erin"] * 4
    with ThreadPoolExecutor(8) as pool:
        trained = list(
            pool.map(lambda u: as_user(team, u, "train", "--data", "shared@1"), trainers)
        )
    assert [t.returncode for t in trained] == [0] * 8, [t.stderr[-1500:] for t in trained]
    with registry_as(team, "mona") as client:
        registered = client.search_model_versions("name = 'nace'")
        users = sorted(client.get_run(v.run_id).data.tags["mlflow.user"] for v in registered)
    assert len(registered) >= 8  # and the other tests' versions
    assert users.count("eddy") >= 4 and users.count("erin") == 4, users


def test_a_reader_is_refused_every_write(team: Team, tmp_path: Path) -> None:
    generate(300, seed=9).to_csv(tmp_path / "mine.csv", index=False)
    for args in (
        ("data", "add", str(tmp_path / "mine.csv"), "--name", "ritas"),
        ("train", "--data", str(tmp_path / "mine.csv")),
        ("models", "promote", "nace", "--version", "1", "--force", "--reason", "try"),
    ):
        said = one_sentence(as_user(team, "rita", *args))
        assert "refused" in said and team.url in said, (args, said)
    assert as_user(team, "rita", "models", "list", "nace").returncode == 0  # reading is fine


def test_an_editor_cannot_promote_and_a_maintainer_can_with_the_audit_naming_them(
    team: Team,
) -> None:
    _ensure_a_version(team)
    promote = ("models", "promote", "nace", "--version", "1", "--force", "--reason", "team")
    said = one_sentence(as_user(team, "eddy", *promote))
    assert "needs the maintainer role; eddy is editor" in said, said
    # Said before any gate runs or any version is looked up (a version that does not
    # exist would be "not found" after), and likewise for a rollback.
    early = one_sentence(as_user(team, "eddy", "models", "promote", "nace", "--version", "99"))
    assert "needs the maintainer role; eddy is editor" in early, early
    back = one_sentence(as_user(team, "eddy", "models", "rollback", "nace", "--reason", "r"))
    assert "needs the maintainer role; eddy is editor" in back, back
    # The editor's refused attempt left no registry lock behind (else this one waits).
    done = as_user(team, "mona", *promote)
    assert done.returncode == 0, done.stderr[-2000:]
    history = as_user(team, "mona", "models", "history", "nace", "--json")
    events = json.loads(history.stdout)
    production = [e for e in events if e["alias"] == "production"]
    assert [(e["user"], e["to_version"]) for e in production] == [("mona", "1")], events


def test_wrong_password_unknown_server_and_busy_port_are_one_sentence(team: Team) -> None:
    env_user = as_user(team, "eddy", "models", "list", "nace")
    assert env_user.returncode == 0
    wrong = run_cli(team.client, "models", "list", "nace", extra_env={
        "MLFLOW_TRACKING_URI": team.url, "MLFLOW_TRACKING_USERNAME": "eddy",
        "MLFLOW_TRACKING_PASSWORD": "not-it"})  # fmt: skip
    assert "refused the credentials" in one_sentence(wrong)
    down = f"http://127.0.0.1:{_free_port()}"
    silent = run_cli(team.client, "models", "list", "nace", extra_env={"MLFLOW_TRACKING_URI": down})
    assert f"{down} does not answer" in one_sentence(silent)
    port = team.url.rsplit(":", 1)[1]
    busy = _server(team.client.parent / "other", "start", "--port", port)
    assert f"Cannot listen on 127.0.0.1:{port}" in one_sentence(busy)
    no_password = _server(team.client.parent / "other", "start", "--port", "1", password=None)
    assert "MLCYCLE_SERVER_ADMIN_PASSWORD" in one_sentence(no_password)
    refused_db = f"postgresql://someone:secret@127.0.0.1:{_free_port()}/mlflow"
    no_db = _server(team.client.parent / "other", "start", "--port", str(_free_port()),
                    "--db", refused_db)  # fmt: skip
    said = one_sentence(no_db)
    assert "PostgreSQL refused the connection" in said and "secret" not in said, said


def test_login_checks_the_password_then_saves_it_for_mlflow(team: Team, tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    args = ("login", team.url, "--user", "eddy", "--password-stdin")
    wrong = run_cli(team.client, *args, extra_env=home, stdin="not-it\n")
    assert "refused eddy's password" in one_sentence(wrong)
    assert not (tmp_path / ".mlflow").exists()
    done = run_cli(team.client, *args, extra_env=home, stdin="eddy-password-123\n")
    assert done.returncode == 0, done.stderr
    saved = tmp_path / ".mlflow" / "credentials"
    assert saved.stat().st_mode & 0o077 == 0
    listed = run_cli(team.client, "models", "list", "nace",
                     extra_env=home | {"MLFLOW_TRACKING_URI": team.url})  # fmt: skip
    assert listed.returncode == 0, listed.stderr


def _dataset_versions(client: MlflowClient) -> dict[str, str]:
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        "tags.`mlcycle.dataset.name` = 'shared'",
    )
    return {r.info.run_id: r.data.tags["mlflow.user"] for r in runs}


def _ensure_a_version(team: Team) -> None:
    with registry_as(team, "mona") as client:
        exists = client.search_model_versions("name = 'nace'")
    if not exists:
        done = as_user(team, "eddy", "train", "--data", str(team.client.parent / "first.csv"))
        assert done.returncode == 0, done.stderr[-2000:]


def _two_versions(team: Team) -> list[str]:
    with registry_as(team, "mona") as client:
        versions = [v.version for v in client.search_model_versions("name = 'nace'")]
    for _ in range(2 - len(versions)):
        data = str(team.client.parent / "first.csv")
        done = as_user(team, "eddy", "train", "--data", data, "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        versions.append(str(json.loads(done.stdout)["version"]))
    return sorted(versions, key=int)[-2:]


def _serving(team: Team, port: int, secret: str) -> subprocess.Popen[str]:
    """``mlcycle serve`` of nace@production on the team server, signed in as a reader; it
    would poll the registry only hourly, so a swap within seconds is the event's doing."""
    env = {
        **cli_env(team.client), **signed_in(team, "rita"),
        "MLCYCLE_WEBHOOK_SECRET": secret, "MLCYCLE_SERVE__RELOAD_SECONDS": "3600",
    }  # fmt: skip
    command = [sys.executable, "-m", "mlcycle", "serve", "--model", "nace@production",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=team.client.parent, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    _until(lambda: _answering_version(port) is not None, process)
    return process


def _answering_version(port: int) -> str | None:
    try:
        shown = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    except httpx.TransportError:
        return None
    return str(shown.json()["version"]) if shown.status_code == 200 else None


def _until(condition, process: subprocess.Popen[str], limit_s: float = 120) -> None:
    """Wait for ``condition`` (a guard against hanging, not a speed requirement)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"mlcycle serve exited: {process.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.1)


def test_serve_swaps_at_once_when_the_server_says_the_alias_moved(team: Team) -> None:
    old, new = _two_versions(team)
    promote = ("models", "promote", "nace", "--force", "--reason", "hook")
    assert as_user(team, "mona", *promote, "--version", old).returncode == 0
    secret, port = "a-webhook-secret-of-team", _free_port()
    hook = f"http://127.0.0.1:{port}/hooks/registry"
    refused = as_user(team, "mona", "server", "hook", "add", hook, "--secret-stdin",
                      stdin=secret + "\n")  # fmt: skip
    assert "administrator" in one_sentence(refused)  # MLflow: webhooks are admins' alone
    added = as_user(team, "admin", "server", "hook", "add", hook, "--secret-stdin",
                    stdin=secret + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr[-2000:]
    process = _serving(team, port, secret)
    try:
        assert _answering_version(port) == old
        moved = as_user(team, "mona", *promote, "--version", new)
        assert moved.returncode == 0, moved.stderr[-2000:]
        _until(lambda: _answering_version(port) == new, process)
        forged = httpx.post(hook, json={"entity": "model_version_alias", "data": {}},
                            headers={"X-MLflow-Signature": "v1,AAAA"})  # fmt: skip
        assert forged.status_code == 401, forged.text
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={"texts": ["boulangerie"]})
        assert answer.status_code == 200 and answer.json()["model"]["version"] == new, answer.text
    finally:
        process.terminate()
        process.communicate(timeout=60)
        removed = as_user(team, "admin", "server", "hook", "remove", hook)
        assert removed.returncode == 0, removed.stderr[-2000:]
    listed = json.loads(as_user(team, "admin", "server", "hook", "list", "--json").stdout)
    assert hook not in [h["url"] for h in listed]


def test_tuning_studies_live_on_the_servers_postgresql(team: Team, tmp_path: Path) -> None:
    shown = _server(team.state.parent, "tuning-url", password=None)
    url = shown.stdout.strip()
    assert url.startswith("postgresql://mlcycle_tune:"), shown.stderr
    (tmp_path / "space.yaml").write_text("dim: [4, 8]\nepoch: [1, 2]\n")
    done = as_user(team, "eddy", "tune", "--storage", url, "--study", "team", "--trials", "4",
                   "--workers", "2", "--space", str(tmp_path / "space.yaml"),
                   "--data", str(team.client.parent / "first.csv"), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    study = optuna.load_study(study_name="team", storage=url)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(url.rsplit("/", 1)[0] + "/mlflow", connect_timeout=10).close()


def _embedded_store(home: Path, model: str, csv: Path) -> None:
    """A project home with one dataset version and ``model`` version 1 in production.

    Made in this process by the functions ``data add``, ``train`` and ``models promote
    --force --reason x`` call: what is tested is its import, not those commands.
    """
    write_project(home, PROJECT.replace("model: {", f"model: {{name: {model}, ", 1))
    with isolated(home):
        use_tracking(get_settings())
        assert add_dataset(str(csv), "local").version.ref == "local@1"
        assert train_model("local@1").version == "1"
        assert promotion.promote(model, "1", "production", "x", force=True).moved


def test_server_import_copies_an_embedded_store_once_and_refuses_a_different_model(
    team: Team, tmp_path: Path
) -> None:
    generate(400, seed=7).to_csv(tmp_path / "local.csv", index=False)
    home = tmp_path / "mine" / ".mlcycle"
    _embedded_store(home, "localmodel", tmp_path / "local.csv")

    first = as_user(team, "mona", "server", "import", str(home), "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    done = json.loads(first.stdout)
    assert (done["datasets_added"], done["versions_copied"]) == (["local@1"], ["localmodel/1"])
    assert "localmodel@production -> 1" in done["aliases_set"] and done["events_copied"] == 1
    with registry_as(team, "mona") as client:
        version = client.get_model_version_by_alias("localmodel", "production")
        assert version.tags["mlcycle.copied_from"].endswith(" localmodel/1")
    listed = json.loads(as_user(team, "mona", "data", "list", "local", "--json").stdout)
    assert [v["ref"] for v in listed] == ["local@1"]
    history = json.loads(as_user(team, "mona", "models", "history", "localmodel", "--json").stdout)
    assert [(e["alias"], e["to_version"], e["reason"]) for e in history] == [
        ("production", "1", "x")
    ]

    again = as_user(team, "mona", "server", "import", str(home), "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    done = json.loads(again.stdout)
    assert done["datasets_skipped"] == ["local@1"] and done["versions_skipped"] == ["localmodel/1"]
    assert (done["datasets_added"], done["versions_copied"], done["aliases_set"]) == ([], [], [])
    assert done["events_copied"] == 0

    _ensure_a_version(team)  # the server's own nace, trained there
    other = tmp_path / "other" / ".mlcycle"
    _embedded_store(other, "nace", tmp_path / "local.csv")
    said = one_sentence(as_user(team, "mona", "server", "import", str(other)))
    assert "already holds a different model named nace" in said, said
    missing = one_sentence(as_user(team, "mona", "server", "import", str(tmp_path / "nothing")))
    assert "does not exist" in missing, missing
    not_a_store = one_sentence(as_user(team, "mona", "server", "import", str(tmp_path)))
    assert "holds no embedded MLflow store" in not_a_store, not_a_store
    down = f"http://127.0.0.1:{_free_port()}"
    silent = as_user(team, "mona", "server", "import", str(home), "--url", down)
    assert f"{down} does not answer" in one_sentence(silent)
    wrong = run_cli(team.client, "server", "import", str(home), extra_env={
        **signed_in(team, "mona"), "MLFLOW_TRACKING_PASSWORD": "not-it"})  # fmt: skip
    assert "refused the credentials" in one_sentence(wrong)
