"""Pipelines on a real MLflow store: cached steps, reruns downstream of a change, failures
that stop only their dependants, ``--from``, the default pipeline and monitoring triggers.

The project is the diabetes regression (scikit-learn's bundled data, Ridge) with steps of
every kind: built-ins, a Python function and a command, in two independent branches.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.loop.pipeline.record import SKIPPED, SUCCEEDED, experiment_name
from mlcycle.loop.pipeline.runner import run_pipeline
from tests.conftest import one_sentence, project_path, run_cli, write_project
from tests.integration.test_tabular_loop import REGRESSION, _diabetes

COUNT_SCRIPT = """\
import json, os, pathlib
given = json.loads(os.environ["MLCYCLE_PIPELINE_INPUTS"])
into = json.loads(os.environ["MLCYCLE_PIPELINE_OUTPUTS"])
text = pathlib.Path(given["file:out/summary.txt"]).read_text()
pathlib.Path(into["file:out/count.txt"]).write_text(str(len(text.split())))
"""

FUNCTIONS = """\
from pathlib import Path

def summarise(inputs, outputs, params):
    words = Path(inputs["file:notes.md"]).read_text().split()
    Path(outputs["file:out/summary.txt"]).write_text(" ".join(words[: params["keep"]]))
    return {"words": len(words)}

def explode(inputs, outputs, params):
    raise ValueError("the notes are not in the expected shape")
"""


def _project(home: Path, steps: dict | None, module: str) -> Path:
    """The diabetes project with ``steps`` (None: the default pipeline); its folder holds
    the data, the notes, the user's functions (as ``module``) and a script."""
    folder = project_path(home).parent
    (folder / "data").mkdir(parents=True, exist_ok=True)
    _diabetes(folder / "data" / "diabetes.csv")
    (folder / "notes.md").write_text("Ridge on ten baseline measures, first try.\n")
    (folder / f"{module}.py").write_text(FUNCTIONS)
    (folder / "count.py").write_text(COUNT_SCRIPT)
    project = yaml.safe_load(REGRESSION)
    if steps is not None:
        project["pipeline"] = {"steps": steps}
    write_project(home, yaml.safe_dump(project), on_default=False)
    return folder


def _two_branches(module: str) -> dict:
    return {
        "add": {"uses": "data-add", "inputs": ["file:data/diabetes.csv"],
                "outputs": ["dataset:diabetes"]},
        "train": {"uses": "train", "inputs": ["dataset:diabetes"], "outputs": ["model:diabetes"]},
        "evaluate": {"uses": "evaluate", "inputs": ["model:diabetes"],
                     "outputs": ["file:out/metrics.json"]},
        "summary": {"function": f"{module}:summarise", "inputs": ["file:notes.md"],
                    "outputs": ["file:out/summary.txt"], "params": {"keep": 4}},
        "count": {"command": "python count.py", "code": ["count.py"],
                  "inputs": ["file:out/summary.txt"], "outputs": ["file:out/count.txt"]},
    }  # fmt: skip


def _statuses(result) -> dict[str, str]:
    return {record.step: record.status for record in result.steps}


def _ran(result) -> set[str]:
    return {record.step for record in result.steps if record.status == SUCCEEDED}


def test_unchanged_steps_are_skipped_and_a_change_reruns_exactly_what_follows_it(
    project_home: Path,
) -> None:
    module = f"steps_{uuid.uuid4().hex[:8]}"
    folder = _project(project_home, _two_branches(module), module)
    settings = get_settings()
    first = run_pipeline(settings)
    assert _ran(first) == {"add", "train", "evaluate", "summary", "count"}, [
        (s.step, s.message) for s in first.steps
    ]
    metrics = json.loads((folder / "out" / "metrics.json").read_text())
    assert set(metrics) >= {"r2", "rmse", "mae"}
    assert (folder / "out" / "count.txt").read_text() == "4"

    second = run_pipeline(settings)
    assert set(_statuses(second).values()) == {SKIPPED}

    data = folder / "data" / "diabetes.csv"
    pd.read_csv(data).iloc[:-25].to_csv(data, index=False)  # the data changed
    third = run_pipeline(settings)
    assert _ran(third) == {"add", "train", "evaluate"}, _statuses(third)
    assert _statuses(third)["summary"] == _statuses(third)["count"] == SKIPPED
    assert third.steps[0].outputs == {
        "dataset:diabetes": third.steps[0].outputs["dataset:diabetes"]
    }
    assert third.steps[0].outputs["dataset:diabetes"].startswith("diabetes@2#")

    (folder / "count.py").write_text(COUNT_SCRIPT + "# the script changed\n")
    assert _ran(run_pipeline(settings)) == {"count"}
    (folder / "out" / "metrics.json").unlink()  # an output lost: its step runs again
    assert _ran(run_pipeline(settings)) == {"evaluate"}
    _check_recorded(third, settings)


def _check_recorded(result, settings) -> None:
    """The run is a parent run in the pipeline experiment, each step a nested run."""
    parent = mlflow.get_run(result.run_id)
    assert parent.data.tags["mlcycle.pipeline.trigger"] == "manual"
    experiment = mlflow.get_experiment_by_name(experiment_name(settings))
    nested = mlflow.search_runs(
        [experiment.experiment_id],
        f"tags.`mlflow.parentRunId` = '{result.run_id}'",
        output_format="list",
    )
    assert sorted(r.data.tags["mlcycle.pipeline.step"] for r in nested) == sorted(
        r.step for r in result.steps
    )
    durations = {r.data.tags["mlcycle.pipeline.step"]: r.data.metrics["duration_s"] for r in nested}
    assert durations["train"] > 0


def test_a_failed_step_stops_its_dependants_only(project_home: Path) -> None:
    module = f"steps_{uuid.uuid4().hex[:8]}"
    steps = {
        "boom": {"function": f"{module}:explode", "inputs": ["file:notes.md"],
                 "outputs": ["file:out/b.txt"]},
        "after-boom": {"command": "python count.py", "inputs": ["file:out/b.txt"],
                       "outputs": ["file:out/c.txt"]},
        "summary": {"function": f"{module}:summarise", "inputs": ["file:notes.md"],
                    "outputs": ["file:out/summary.txt"], "params": {"keep": 2}},
    }  # fmt: skip
    folder = _project(project_home, steps, module)
    done = run_cli(project_home, "pipeline", "run")
    assert done.returncode == 1, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert (
        "failed" in lines["boom"]
        and "ValueError: the notes are not in the expected" in lines["boom"]
    )
    assert "blocked" in lines["after-boom"] and "not run: boom failed" in lines["after-boom"]
    assert "succeeded" in lines["summary"]
    assert (folder / "out" / "summary.txt").exists() and not (folder / "out" / "c.txt").exists()
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Pipeline failed: boom, after-boom")


def test_from_reads_what_earlier_steps_left_and_needs_them_to_have_run(
    project_home: Path,
) -> None:
    module = f"steps_{uuid.uuid4().hex[:8]}"
    steps = _two_branches(module)
    steps = {name: steps[name] for name in ("summary", "count")}
    _project(project_home, steps, module)
    settings = get_settings()
    with pytest.raises(Exception, match="Step 'summary' has never succeeded"):
        run_pipeline(settings, start="count")
    assert _ran(run_pipeline(settings)) == {"summary", "count"}
    again = run_pipeline(settings, start="count", force=True)
    assert _statuses(again) == {"count": SUCCEEDED}
    assert _statuses(run_pipeline(settings, stop="summary")) == {"summary": SKIPPED}


def test_the_default_pipeline_trains_and_promotes_and_new_data_retrains(
    project_home: Path,
) -> None:
    from mlcycle.data.ingest import add_dataset
    from mlcycle.registry.ops import resolve
    from mlcycle.registry.refs import ModelRef

    folder = _project(project_home, None, "unused")
    settings = get_settings()
    add_dataset(str(folder / "data" / "diabetes.csv"), "diabetes", settings=settings)
    first = run_pipeline(settings)
    assert _statuses(first) == {"train": SUCCEEDED, "promote": SUCCEEDED}, [
        (s.step, s.message) for s in first.steps
    ]
    assert resolve(ModelRef.parse("diabetes@staging")).version == "1"
    assert set(_statuses(run_pipeline(settings)).values()) == {SKIPPED}

    data = folder / "data" / "diabetes.csv"
    pd.read_csv(data).iloc[:-30].to_csv(data, index=False)
    add_dataset(str(data), "diabetes", settings=settings)  # what train reads by default
    third = run_pipeline(settings)
    assert _statuses(third)["train"] == SUCCEEDED
    assert third.steps[0].outputs == {"model:diabetes": "diabetes/2"}


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            {"train": {"uses": "train", "inputs": ["dataset:sirene"], "outputs": ["model:d"]}},
            "Step 'train' reads dataset:sirene, which no step writes and which does not exist",
        ),
        (
            {"s": {"function": "no_such_module_here:clean", "outputs": ["file:x"]}},
            "Function no_such_module_here:clean: there is no module no_such_module_here",
        ),
        (
            {"s": {"function": "json:no_such_function", "outputs": ["file:x"]}},
            "Function json:no_such_function: json has no function no_such_function.",
        ),
        (
            {"s": {"command": "python go.py", "code": ["go.py"], "outputs": ["file:x"]}},
            "The command step's code file go.py does not exist.",
        ),
        (
            {"a": {"command": "true", "inputs": ["file:b"], "outputs": ["file:a"]},
             "b": {"command": "true", "inputs": ["file:a"], "outputs": ["file:b"]}},
            "The pipeline has a cycle: ",
        ),
    ],
)  # fmt: skip
def test_a_pipeline_that_cannot_run_is_one_sentence_before_any_step(
    project_home: Path, steps: dict, expected: str
) -> None:
    _project(project_home, steps, "unused")
    said = one_sentence(run_cli(project_home, "pipeline", "run"))
    assert expected in said, said
    use_tracking(get_settings())
    experiment = mlflow.get_experiment_by_name(experiment_name(get_settings()))
    assert experiment is None  # nothing ran, nothing was recorded


def test_a_monitoring_breach_triggers_the_run_and_is_recorded(project_home: Path) -> None:
    from mlcycle.registry.loading import load_served_model
    from mlcycle.registry.ops import set_alias
    from tests.integration.test_monitor_tabular import drifted_patients, log_records

    module = f"steps_{uuid.uuid4().hex[:8]}"
    steps = _two_branches(module)
    folder = _project(project_home, {k: steps[k] for k in ("add", "train")}, module)
    quiet = run_cli(project_home, "pipeline", "run", "--if-breached")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == "No monitoring rule is breached: nothing to run."

    settings = get_settings()
    trained = run_pipeline(settings)
    set_alias("diabetes", "production", trained.steps[1].outputs["model:diabetes"].split("/")[1])
    model = load_served_model("diabetes@production").model
    frame = pd.read_csv(folder / "data" / "diabetes.csv")
    drifted = drifted_patients(frame, 300, 2)
    start = datetime.now(UTC) - timedelta(hours=1)
    log_records(project_home, model, drifted, "progression", start,
                drifted["progression"].to_numpy(float))  # fmt: skip
    done = run_cli(project_home, "pipeline", "run", "--if-breached", "--since", "2h", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["trigger"].startswith("monitor: ") and "feature_drift" in result["trigger"]
    tags = mlflow.get_run(result["run_id"]).data.tags
    assert tags["mlcycle.pipeline.trigger"] == result["trigger"]


def test_show_draws_the_last_runs_and_render_writes_a_template_deploy_check_accepts(
    project_home: Path, tmp_path: Path
) -> None:
    from mlcycle.deploy import check

    module = f"steps_{uuid.uuid4().hex[:8]}"
    steps = _two_branches(module)
    _project(project_home, {k: steps[k] for k in ("summary", "count")}, module)
    assert _ran(run_pipeline(get_settings())) == {"summary", "count"}  # what show draws
    shown = run_cli(project_home, "pipeline", "show", "--svg", str(tmp_path / "p.svg"),
                    "--html", str(tmp_path / "p.html"))  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[0] == "summary" and lines[0].endswith("s")
    assert "after summary" in lines[1] and "succeeded" in lines[1]
    assert (tmp_path / "p.svg").read_text().startswith("<svg")
    assert "<img" in (tmp_path / "p.html").read_text()

    out = tmp_path / "deploy" / "argo" / "pipeline" / "diabetes-pipeline.yaml"
    rendered = run_cli(project_home, "pipeline", "render", "--argo", "-o", str(out))
    assert rendered.returncode == 0, rendered.stderr
    report = check(tmp_path / "deploy")
    assert report.ok and report.checked == ["argo/pipeline/diabetes-pipeline.yaml: 1 objects valid"]
    said = one_sentence(run_cli(project_home, "pipeline", "render", "--cron"))
    assert said == "Error: pipeline.schedule is not set in the project file; add a cron line."
