"""The live gate on evidence from real servers: a shadow server answers with the champion,
scores the challenger beside it, clients send feedback over HTTP, and ``models promote``
decides on that live traffic alone (production is guarded by the live gate only).

Two versions of the flagship model: one trained on the right codes, one on shuffled
codes. The better one, as challenger, is promoted; the worse one is then refused.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlcycle.core.settings import Settings
from mlcycle.registry.ops import resolve, set_alias
from mlcycle.train.pipeline import train_model
from tests.conftest import write_project
from tests.integration.test_serve_process import MLCYCLE, SMALL_MODEL, VOCABULARY
from tests.integration.test_serve_production import _env, _registry, _start, _stop

PROJECT = """
serve:
  reload_seconds: 0.5
  prediction_log: {flush_seconds: 0.5}
registry:
  environments: [{name: production, gates: [live]}]
  gates:
    live: {min_labelled: 150, margin: 0.02, confidence: 0.95}
"""
REQUESTS = 220


def _labelled(count: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    codes = [rng.choice(sorted(VOCABULARY)) for _ in range(count)]
    texts = [" ".join(rng.sample(VOCABULARY[code], 3)) for code in codes]
    return pd.DataFrame({"text": texts, "nace": codes})


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The home, the good version and the bad one (trained on shuffled codes)."""
    home = tmp_path_factory.mktemp("live-servers")
    right = _labelled(400, seed=4)
    shuffled = right.assign(nace=right["nace"].sample(frac=1.0, random_state=5).to_numpy())
    right.to_csv(home / "right.csv", index=False)
    shuffled.to_csv(home / "shuffled.csv", index=False)
    write_project(home, PROJECT)
    with _registry(home):
        good = train_model(str(home / "right.csv"), SMALL_MODEL, settings=Settings(home=home))
        bad = train_model(str(home / "shuffled.csv"), SMALL_MODEL, settings=Settings(home=home))
    assert good.version is not None and bad.version is not None
    return home, good.version, bad.version


def _shadow_traffic(home: Path, logs: dict[str, str], seed: int) -> None:
    """A shadow server; labelled requests, one at a time, each with its feedback."""
    # At normal priority: an idle challenger on a machine busy with other tests may
    # score too few requests for the gate's minimum.
    server = _start(home, workers=1, MLCYCLE_SERVE__EXPERIMENT__MODE="shadow",
                    MLCYCLE_SERVE__EXPERIMENT__SHADOW_PRIORITY="normal", **logs)  # fmt: skip
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for text, code in _labelled(REQUESTS, seed).itertuples(index=False):
                answer = client.post("/predict", json={"texts": [text]})
                assert answer.status_code == 200, answer.text
                item = {"request_id": answer.json()["request_id"], "true_code": code}
                assert client.post("/feedback", json=item).status_code == 200
    finally:
        code, err = _stop(server)  # drains the shadow queue and writes the logs
    assert code == 0, err


def _promote(home: Path, version: str, logs: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [MLCYCLE, "models", "promote", "nace", "--version", version, "--to", "production",
            "--json"]  # fmt: skip
    return subprocess.run(argv, env=_env(home, **logs), capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_the_live_gate_promotes_the_better_challenger_and_refuses_the_worse(
    versions: tuple[Path, str, str], tmp_path: Path
) -> None:
    home, good, bad = versions
    logs = {
        "MLCYCLE_SERVE__PREDICTION_LOG__DIR": str(tmp_path / "log"),
        "MLCYCLE_SERVE__PREDICTION_LOG__FEEDBACK_DIR": str(tmp_path / "feedback"),
        "MLCYCLE_SERVE__PREDICTION_LOG__SHADOW_DIR": str(tmp_path / "shadow"),
    }
    with _registry(home):
        set_alias("nace", "production", bad)
        set_alias("nace", "challenger", good)
    _shadow_traffic(home, logs, seed=11)
    promoted = _promote(home, good, logs)
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-2000:]
    with _registry(home):
        assert resolve("nace@production").version == good

        set_alias("nace", "challenger", bad)  # now the worse one challenges
    _shadow_traffic(home, logs, seed=12)
    refused = _promote(home, bad, logs)
    assert refused.returncode != 0
    assert "refused" in refused.stderr and "live" in refused.stderr, refused.stderr[-2000:]
    [gate] = json.loads(refused.stdout)["gates"]  # judged on the evidence, not refused
    assert gate["name"] == "live" and not gate["passed"]  # for want of labels
    assert gate["figure"].startswith("top-1 -"), gate  # the challenger does worse
    with _registry(home):
        assert resolve("nace@production").version == good
