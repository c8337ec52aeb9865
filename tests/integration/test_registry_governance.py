"""Registry governance on a real MLflow store: gates, audit trail, rollback, cards, copy.

One store per module: three versions of ``nace`` trained small on the same data
(v1 fair, v2 deliberately weaker with fewer epochs, v3 better). Each test moves its
own environment, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import mlflow
import pytest

from mlcycle.core.errors import Conflict, InvalidInput, NotFound
from mlcycle.core.settings import get_settings
from mlcycle.data.writers import write_dataset
from mlcycle.registry.audit import read_events
from mlcycle.registry.history import served_during
from mlcycle.registry.ops import register, resolve, set_alias
from mlcycle.registry.promotion import promote, rollback
from mlcycle.registry.refs import ModelRef
from mlcycle.tasks.text.generator import generate
from mlcycle.train.pipeline import train_model
from tests.conftest import cli_env, isolated, write_project
from tests.forked_cli import run_mlcycle

BASE = {"dim": 24, "epoch": 8, "bucket": 20_000, "wordNgrams": 2}
WEAKER = {**BASE, "epoch": 2}
BETTER = {**BASE, "dim": 32, "epoch": 20}

# Thresholds chosen so the scenario means something at this size: every model clears
# the quality floor, so what refuses the weaker v2 is the champion comparison (2 epochs
# on 10,000 rows of the 732 NAF subclasses: about 0.23 top-1, 0.31 at the division).
PROJECT = """\
registry:
  environments:
    - {name: staging, gates: [quality, champion]}
    - production
    - {name: qa, gates: [contract, quality]}
    - {name: canary, gates: [quality, champion]}
    - {name: edge, gates: [quality, champion]}
    - {name: shadow, gates: [quality]}
  gates:
    quality: {minimums: {accuracy_top1: 0.15, accuracy_division: 0.2}}
    champion: {metrics: [accuracy_top1, f1_macro, accuracy_division], margin: 0.01}
    behaviour: {min_functionality: 0.5, invariance_texts: 50}
    latency: {p99_ms: 250.0, samples: 100}
  lock_timeout_s: 300
"""


@dataclass(frozen=True)
class Store:
    home: Path
    v1: str
    v2: str
    v3: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("governance") / "home"
    home.mkdir()
    write_project(home, PROJECT)
    with isolated(home):
        data = home.parent / "train.csv"
        write_dataset(generate(10_000, seed=5), data)
        versions = [train_model(str(data), p).version for p in (BASE, WEAKER, BETTER)]
        yield Store(home, *versions)


def cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = run_mlcycle(list(args), env=cli_env(home), timeout=300)
    assert "Traceback" not in done.stdout + done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_done_when_scenario(store: Store) -> None:
    """v1 promoted; weaker v2 refused naming the gate; v3 promoted; rollback to v1."""
    first = cli(
        store.home,
        "models",
        "promote",
        "nace",
        "--version",
        store.v1,
        "--to",
        "production",
        "--reason",
        "first release",
    )
    for gate in ("contract", "quality", "champion", "behaviour", "latency"):
        assert gate in first.stdout
    assert "nace@production -> version 1" in first.stdout

    weaker = cli(
        store.home,
        "models",
        "promote",
        "nace",
        "--version",
        store.v2,
        "--to",
        "production",
        "--reason",
        "fewer epochs",
        check=False,
    )
    assert weaker.returncode == 4
    assert "refused" in weaker.stderr and "champion" in weaker.stderr
    assert resolve(ModelRef("nace", alias="production")).version == store.v1

    better = cli(
        store.home,
        "models",
        "promote",
        "nace",
        "--version",
        store.v3,
        "--to",
        "production",
        "--reason",
        "more epochs, wider",
        "--json",
    )
    moved = json.loads(better.stdout)
    assert moved["moved"] and moved["previous"] == store.v1
    assert all(g["passed"] for g in moved["gates"])

    back = cli(
        store.home,
        "models",
        "rollback",
        "nace",
        "--alias",
        "production",
        "--reason",
        "complaints",
        "--json",
    )
    assert json.loads(back.stdout)["version"] == store.v1
    assert resolve(ModelRef("nace", alias="production")).version == store.v1

    history = json.loads(
        cli(store.home, "models", "history", "nace", "--alias", "production", "--json").stdout
    )
    steps = [(e["action"], e["from_version"], e["to_version"], e["reason"]) for e in history]
    assert steps == [
        ("promote", None, store.v1, "first release"),
        ("refused", store.v1, store.v2, "fewer epochs"),
        ("promote", store.v1, store.v3, "more epochs, wider"),
        ("rollback", store.v3, store.v1, "complaints"),
    ]
    assert all(e["time"] and e["user"] for e in history)
    times = [e["time"] for e in history]
    assert times == sorted(times)
    refused = history[1]["gates"]
    failed = {g["name"] for g in refused if not g["passed"]}
    assert "champion" in failed and "quality" not in failed and "contract" not in failed

    # v2 never held production at any moment of the trail.
    events = read_events("nace", get_settings(), "production")
    end = events[-1].moment + timedelta(seconds=1)
    span = served_during(events, "production", events[0].moment, end)
    assert store.v2 not in {t.version for t in span}
    assert [t.version for t in span] == [store.v1, store.v3, store.v1]

    card = store.home.parent / "card.html"
    cli(store.home, "models", "card", "nace@production", "-o", str(card))
    page = card.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Model card: nace version 1" in page
    for section in (
        "Intended use",
        "Data lineage",
        "Training parameters",
        "Metrics per level of naf-rev2",
        "lowest F1",
        "Gate results",
        "Promotion history",
    ):
        assert section in page
    assert "first release" in page and "complaints" in page


def test_history_at_a_moment_and_show(store: Store) -> None:
    """``--at`` answers which version served; ``show`` says who promoted it and when."""
    promote("nace", store.v1, "staging", "at test")
    promote("nace", store.v3, "staging", "newer")
    events = read_events("nace", get_settings(), "staging")
    between = events[0].time  # the instant v1 took staging, before v3 did
    answer = json.loads(
        cli(store.home, "models", "history", "nace", "--at", between, "--json").stdout
    )
    assert [s["version"] for s in answer["served"] if s["alias"] == "staging"] == [store.v1]
    day = json.loads(
        cli(
            store.home,
            "models",
            "history",
            "nace",
            "--alias",
            "staging",
            "--at",
            between[:10],
            "--json",
        ).stdout
    )
    assert [s["version"] for s in day["served"]][-2:] == [store.v1, store.v3]

    shown = json.loads(cli(store.home, "models", "show", "nace@staging", "--json").stdout)
    assert shown["version"] == store.v3 and "staging" in shown["aliases"]
    assert shown["dataset"]["digest"] and shown["holdout"]["digest"]
    assert shown["metrics"]["accuracy_top1"] > 0
    promoted = shown["promotions"]["staging"]
    assert promoted["reason"] == "newer" and promoted["promoted_by"]
    assert promoted["gates"] == "passed: quality, champion"
    listed = json.loads(cli(store.home, "models", "list", "--json").stdout)
    assert listed["environments"]["staging"] == store.v3
    assert {r["version"] for r in listed["versions"]} >= {store.v1, store.v2, store.v3}


def test_evidence_is_logged_to_the_candidate_run(store: Store) -> None:
    first = promote("nace", store.v2, "edge", "evidence")
    assert first.moved  # the first holder of edge: nothing to beat
    second = promote("nace", store.v1, "edge", "v1 beats v2")
    assert second.moved and second.previous == store.v2
    client = mlflow.MlflowClient()
    run_id = resolve(ModelRef("nace", version=store.v1)).run_id
    folders = [f.path for f in client.list_artifacts(run_id, "promotion")]
    edge = [f for f in folders if "/edge-" in f]
    assert edge
    names = {Path(f.path).name for f in client.list_artifacts(run_id, edge[-1])}
    assert {"gates.json", "champion_comparison.csv", "card.md", "card.html"} <= names


def _broken_version(store: Store) -> str:
    """A version whose files are there but whose classifier cannot load."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(f"models:/nace/{store.v1}", dst_path=tmp))
        for item in (local / "artifacts" / "fasttext").iterdir():
            item.unlink()
        with mlflow.start_run(experiment_id=mlflow.get_experiment_by_name("nace").experiment_id):
            mlflow.log_artifacts(str(local), "model")
            uri = f"runs:/{mlflow.active_run().info.run_id}/model"
    return register(uri, "nace").version


def test_version_that_fails_to_load_is_refused_then_forced(store: Store) -> None:
    broken = _broken_version(store)
    result = promote("nace", broken, "qa", "try the broken one")
    assert result.action == "refused" and result.failed_gates == ["contract", "quality"]
    contract = result.gates[0]
    assert "did not load" in contract.detail or "failed to load" in contract.detail
    with pytest.raises(InvalidInput, match="--reason"):
        promote("nace", broken, "qa", force=True)
    forced = promote("nace", broken, "qa", "incident drill", force=True)
    assert forced.action == "force" and resolve(ModelRef("nace", alias="qa")).version == broken
    with pytest.raises(Conflict, match="no previous holder"):
        rollback("nace", "qa")
    last = read_events("nace", get_settings(), "qa")[-1]
    assert (last.action, last.reason, last.to_version) == ("force", "incident drill", broken)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["models", "promote", "nope", "--version", "1"], 3, "No registered model named 'nope'"),
        (["models", "promote", "nace", "--version", "99"], 3, "has no version 99"),
        (["models", "show", "nace@nowhere"], 3, "has no alias 'nowhere'"),
        (
            ["models", "promote", "nace", "--version", "1", "--to", "nowhere"],
            2,
            "not a configured environment",
        ),
        (["models", "promote", "nace", "--version", "1", "--force"], 2, "--force needs --reason"),
        (["models", "rollback", "nace", "--alias", "bad alias!"], 2, "not a usable alias"),
        (
            ["models", "history", "nace", "--alias", "production", "--at", "last week"],
            2,
            "not a date",
        ),
        (["models", "card", "nace/1", "-o", "card.pdf"], 2, ".md or .html"),
    ],
)
def test_cli_mistakes_are_one_sentence(store: Store, args, code, message) -> None:
    done = cli(store.home, *args, check=False)
    assert done.returncode == code, done.stderr
    assert message in done.stderr


def test_concurrent_promotions_lose_no_event(store: Store) -> None:
    """Two processes promote at once: one waits, then compares with the other's result."""
    alias = "canary"
    settings = get_settings()
    before = len(read_events("nace", settings, alias))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlcycle",
                "models",
                "promote",
                "nace",
                "--version",
                v,
                "--to",
                alias,
                "--reason",
                f"race {v}",
            ],
            env=cli_env(store.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in (store.v3, store.v1)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all("Traceback" not in out + err for out, err in outputs)
    events = read_events("nace", settings, alias)[before:]
    assert sorted(e.reason for e in events) == sorted(f"race {v}" for v in (store.v3, store.v1))
    first, second = events
    # The second saw the first's result: it moved (or was refused) from what the first set.
    current = first.to_version if first.moved else first.from_version
    assert second.from_version == current
    holder = resolve(ModelRef("nace", alias=alias)).version
    assert holder == (second.to_version if second.moved else current)


def test_copy_to_another_registry(store: Store, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'prod' / 'mlflow.db'}"
    (tmp_path / "prod").mkdir()
    done = json.loads(
        cli(
            store.home, "models", "copy", f"nace/{store.v3}", "--to-tracking-uri", target, "--json"
        ).stdout
    )
    assert done["version"] == "1" and done["holdout_copied"]
    source = mlflow.MlflowClient().get_model_version("nace", store.v3)
    there = mlflow.MlflowClient(tracking_uri=target, registry_uri=target)
    copied = there.get_model_version("nace", "1")
    for tag in ("mlcycle.dataset_digest", "mlcycle.dataset_name", "mlcycle.holdout_digest"):
        assert copied.tags[tag] == source.tags[tag]
    assert copied.tags["mlcycle.copied_from"].endswith(f"nace/{store.v3}")
    assert str(there.get_model_version_by_alias("nace", "challenger").version) == "1"
    run = there.get_run(copied.run_id)
    assert run.data.params["dim"] == "32"
    assert run.data.metrics == mlflow.get_run(source.run_id).data.metrics
    # The copy serves the same answers as the original.
    texts = ["coiffeur", "vendeur d'huitres", "taxi conventionné"]
    mine = mlflow.pyfunc.load_model(f"models:/nace/{store.v3}").predict(texts)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=copied.source, dst_path=tmp, tracking_uri=target
        )
        theirs = mlflow.pyfunc.load_model(local).predict(texts)
    assert [r[0]["code"] for r in theirs] == [r[0]["code"] for r in mine]
    # The target's gates run there, on the copied holdout.
    env = {**cli_env(store.home), "MLFLOW_TRACKING_URI": target}
    promoted = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcycle",
            "models",
            "promote",
            "nace",
            "--version",
            "1",
            "--to",
            "staging",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert promoted.returncode == 0, promoted.stderr
    assert there.get_model_version_by_alias("nace", "staging").tags["mlcycle.staging.gates"]
    with pytest.raises(NotFound):
        promote("nope", "1", "production")


def test_a_move_made_outside_mlcycle_joins_the_trail(store: Store) -> None:
    """The MLflow UI moved the alias: the next promotion records that move, then its own."""
    assert promote("nace", store.v1, "shadow", "first").moved
    set_alias("nace", "shadow", store.v2)  # as the MLflow UI or API would
    third = promote("nace", store.v3, "shadow", "after an outside move")
    assert third.moved and third.previous == store.v2
    events = read_events("nace", get_settings(), "shadow")
    assert [(e.action, e.from_version, e.to_version) for e in events] == [
        ("promote", None, store.v1),
        ("outside", store.v1, store.v2),
        ("promote", store.v2, store.v3),
    ]
    assert events[1].user == "unknown"
    back = rollback("nace", "shadow", "undo")
    assert back.version == store.v2  # the holder before v3, though mlcycle did not put it
    history = cli(store.home, "models", "history", "nace", "--alias", "shadow", "--json")
    assert [e["action"] for e in json.loads(history.stdout)] == [
        "promote",
        "outside",
        "promote",
        "rollback",
    ]
