"""Online experiments judged on live evidence: ``monitor compare`` and the ``live`` gate.

A real MLflow store with real registered versions of the shipped ``quality`` example
(one random forest trained, registered three times: the gate judges logs, not models);
the prediction, shadow and feedback logs are written as a shadowing server writes them
(:func:`tests.unit.test_monitor_compare.write_shadow`). Version 1 holds production;
version 2 is the better challenger, version 3 the worse, version 4 has few labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlcycle.core.settings import get_settings
from mlcycle.data.examples import example_frame
from mlcycle.data.ingest import add_dataset
from mlcycle.loop.examples import example
from mlcycle.registry.audit import read_events
from mlcycle.registry.manifest import MANIFEST_TAG
from mlcycle.registry.ops import register, resolve, set_alias
from mlcycle.registry.promotion import promote
from mlcycle.registry.refs import ModelRef
from mlcycle.train.pipeline import train_model
from tests.conftest import _isolate, one_sentence, project_path, run_cli
from tests.unit.test_monitor_compare import write_shadow

LIVE = {"margin": 0.01, "min_labelled": 200, "confidence": 0.95}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The quality project whose production is guarded by the live gate alone."""
    home = tmp_path_factory.mktemp("live") / "home"
    project = yaml.safe_load(example("quality").project.read_text())
    project["registry"]["environments"] = ["staging", {"name": "production", "gates": ["live"]}]
    project["registry"]["gates"]["live"] = LIVE
    project_path(home).parent.mkdir(parents=True, exist_ok=True)
    project_path(home).write_text(yaml.safe_dump(project))
    with pytest.MonkeyPatch.context() as mp:
        _isolate(home, mp)
        example_frame("quality").to_csv(home.parent / "quality.csv", index=False)
        add_dataset(str(home.parent / "quality.csv"), "quality")
        trained = train_model()
        set_alias("quality", "production", trained.version)
        tags = resolve(ModelRef("quality", version=trained.version)).tags
        for _ in range(3):  # versions 2, 3 and 4: the same model, judged by their logs
            register(trained.model_uri, "quality", {k: v for k, v in tags.items()
                                                    if k != MANIFEST_TAG})  # fmt: skip
        settings = get_settings()
        write_shadow(settings, 1000, "1", "2", 0.70, 0.80, seed=1)
        write_shadow(settings, 1000, "1", "3", 0.70, 0.55, seed=2, hours_ago=2)
        write_shadow(settings, 400, "1", "4", 0.70, 0.90, labelled=50, seed=3, hours_ago=3)
        yield home
    get_settings.cache_clear()


def test_compare_shows_each_difference_with_its_interval(home: Path) -> None:
    done = run_cli(home, "monitor", "compare", "--since", "1d")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "Shadow: version 1 (champion, 1,000 rows, 1,000 labelled) vs 2" in out
    assert "Shadow: version 1 (champion, 1,000 rows, 1,000 labelled) vs 3" in out
    assert "+0.1000 (+0.0" in out and "-0.1500 (-0.1" in out  # intervals excluding 0
    assert "McNemar" in out and "Agreement: " in out


def test_compare_as_json_holds_every_figure(home: Path) -> None:
    import json

    done = run_cli(home, "monitor", "compare", "--since", "1d", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    found = {c["challenger_version"]: c for c in json.loads(done.stdout)["comparisons"]}
    better = found["2"]["metrics"]["accuracy_top1"]["difference"]
    assert better["low"] > 0.0 and better["p_value"] < 1e-6
    assert found["4"]["labelled"] == {"champion": 50, "challenger": 50}


def test_a_window_without_experiment_traffic_is_one_sentence(home: Path) -> None:
    done = run_cli(home, "monitor", "compare", "--from", "2020-01-01", "--to", "2020-01-02")
    assert "No shadow or canary traffic" in one_sentence(done)


def test_the_report_has_an_experiment_section(home: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from mlcycle.monitor.report import make_report

    now = datetime.now(UTC)
    output = home.parent / "report.html"
    figures = make_report(get_settings(), now - timedelta(days=1), now, output)
    assert len(figures["experiment"]["comparisons"]) == 3
    assert "Online experiment" in output.read_text()


def test_the_live_gate_promotes_a_better_challenger_and_records_it(home: Path) -> None:
    moved = promote("quality", "2", "production", reason="live evidence")
    [gate] = moved.gates
    assert gate.name == "live" and gate.passed, gate
    assert moved.moved and resolve("quality@production").version == "2"
    assert "1000 labelled shadow requests" in gate.detail
    [event] = [
        e for e in read_events("quality", get_settings(), "production") if e.to_version == "2"
    ]
    assert event.gates[0]["name"] == "live" and event.gates[0]["passed"]
    set_alias("quality", "production", "1")  # back, for the other tests


def test_the_live_gate_refuses_a_worse_challenger(home: Path) -> None:
    set_alias("quality", "production", "1")
    moved = promote("quality", "3", "production")
    [gate] = moved.gates
    assert not gate.passed and not moved.moved, gate
    assert "worse beyond the margin" in gate.detail
    assert resolve("quality@production").version == "1"


def test_the_live_gate_refuses_with_too_few_labels(home: Path) -> None:
    set_alias("quality", "production", "1")
    moved = promote("quality", "4", "production")
    [gate] = moved.gates
    assert not gate.passed and not moved.moved
    assert "only 50 labelled request(s)" in gate.detail and "needs 200" in gate.detail


def test_the_live_gate_is_in_no_default_gate_list(home: Path) -> None:
    from mlcycle.registry.environments import gates_for

    assert "live" not in gates_for("staging", get_settings().registry)


def test_a_retrain_can_stop_at_challenger_and_it_is_recorded(home: Path) -> None:
    from mlcycle.loop.retrain import CHALLENGER, promote_through
    from mlcycle.train.pipeline import TrainResult

    settings = get_settings()
    retrain = settings.monitor.retrain.model_copy(update={"stop_at": "challenger"})
    monitor = settings.monitor.model_copy(update={"retrain": retrain})
    settings = settings.model_copy(update={"monitor": monitor})
    version = resolve(ModelRef("quality", version="2"))
    trained = TrainResult(version.run_id or "", version.source, "quality", "2", {}, {})
    outcome, [move] = promote_through(settings, trained, "manual")
    assert outcome == CHALLENGER and move["alias"] == "challenger" and move["moved"]
    assert resolve("quality@challenger").version == "2"
    assert resolve("quality@production").version == "1"  # the live gate decides later
    [event] = read_events("quality", settings, "challenger")
    assert (event.action, event.to_version) == ("promote", "2")
    assert "live gate" in event.reason
