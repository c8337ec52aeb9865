"""The pipeline's graph, its checks and its pictures, without a store."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import yaml

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import load_settings
from mlcycle.deploy import schemas
from mlcycle.loop.pipeline import picture
from mlcycle.loop.pipeline.graph import pipeline_of
from mlcycle.loop.pipeline.record import FAILED, SUCCEEDED, StepRecord
from mlcycle.loop.pipeline.schedule import argo_documents, crontab_line

MODEL = {"name": "diabetes", "task": "regression", "family": "sklearn"}
STEPS = {
    "add": {"uses": "data-add", "inputs": ["file:data.csv"], "outputs": ["dataset:d"]},
    "train": {"uses": "train", "inputs": ["dataset:d"], "outputs": ["model:diabetes"]},
    "report": {"command": "python r.py", "inputs": ["model:diabetes"], "outputs": ["file:r.txt"]},
    "promote": {"uses": "promote", "inputs": ["model:diabetes"], "params": {"to": "staging"}},
    "notes": {"function": "steps:notes", "inputs": ["file:notes.md"], "outputs": ["file:n.txt"]},
}


def _settings(steps: dict, **pipeline):
    return load_settings(model=MODEL, pipeline={"steps": steps, **pipeline})


def _problem(steps: dict, **pipeline) -> str:
    with pytest.raises(InvalidInput) as raised:
        pipeline_of(_settings(steps, **pipeline))
    return raised.value.message


def test_steps_run_after_what_they_read_whatever_their_order_in_the_file() -> None:
    shuffled = {name: STEPS[name] for name in ("promote", "report", "notes", "train", "add")}
    pipeline = pipeline_of(_settings(shuffled))
    order = list(pipeline.steps)
    assert order.index("add") < order.index("train") < order.index("report")
    assert order.index("train") < order.index("promote")
    assert pipeline.upstream == {
        "add": [], "train": ["add"], "report": ["train"], "promote": ["train"], "notes": [],
    }  # fmt: skip


def test_from_and_to_select_what_follows_and_what_precedes() -> None:
    pipeline = pipeline_of(_settings(STEPS))
    assert pipeline.select("train") == ["train", "report", "promote"]
    assert pipeline.select(None, "train") == ["add", "train"]
    assert pipeline.select("train", "train") == ["train"]
    assert pipeline.select("notes") == ["notes"]
    with pytest.raises(InvalidInput, match="no step 'trian'; its steps: add, train"):
        pipeline.select("trian")
    with pytest.raises(InvalidInput, match="No step runs from 'report' to 'add'"):
        pipeline.select("report", "add")


def test_a_cycle_is_named_step_by_step() -> None:
    steps = {
        "a": {"command": "true", "inputs": ["file:c.txt"], "outputs": ["file:a.txt"]},
        "b": {"command": "true", "inputs": ["file:a.txt"], "outputs": ["file:b.txt"]},
        "c": {"command": "true", "inputs": ["file:b.txt"], "outputs": ["file:c.txt"]},
    }
    said = _problem(steps)
    assert said.startswith("The pipeline has a cycle: ")
    assert set(said.split(": ")[1].rstrip(".").split(" -> ")) == {"a", "b", "c"}
    itself = {"a": {"command": "true", "inputs": ["file:a.txt"], "outputs": ["file:a.txt"]}}
    assert _problem(itself) == "The pipeline has a cycle: a -> a."


def test_two_producers_of_one_output_are_refused() -> None:
    steps = {
        "one": {"command": "true", "outputs": ["file:x.txt"]},
        "two": {"command": "true", "outputs": ["file:x.txt"]},
    }
    assert (
        _problem(steps)
        == "Steps 'one' and 'two' both write file:x.txt; one output has one producer."
    )


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"uses": "trian"}, "unknown step 'trian'; built-in steps: data-add, validate, train"),
        ({"uses": "train", "command": "x"}, "exactly one of uses, function or command"),
        ({}, "exactly one of uses, function or command"),
        ({"function": "not a path"}, "must read module:name"),
        ({"uses": "train", "inputs": ["data.csv"]}, "'data.csv' is not a reference; write one of"),
        ({"uses": "train", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_step_is_one_sentence_naming_it(step: dict, expected: str) -> None:
    with pytest.raises(InvalidInput, match=r"^Setting .pipeline\.steps\.s.* is invalid") as raised:
        _settings({"s": step})
    assert expected in raised.value.message


def test_step_names_and_schedules_are_checked() -> None:
    with pytest.raises(InvalidInput, match="step name 'Train It' must be lower-case"):
        _settings({"Train It": {"uses": "train"}})
    with pytest.raises(InvalidInput, match="not a five-field cron line"):
        _settings(STEPS, schedule="every monday")
    assert _settings(STEPS, schedule=" 0  4 * * 1").pipeline.schedule == "0 4 * * 1"


def test_without_steps_the_pipeline_is_train_then_promote_to_the_first_environment() -> None:
    pipeline = pipeline_of(load_settings(model=MODEL))
    assert pipeline.default
    assert list(pipeline.steps) == ["train", "promote"]
    assert pipeline.steps["promote"].params == {"to": "staging"}
    assert pipeline.upstream["promote"] == ["train"]


def test_the_picture_has_a_box_per_step_and_an_arrow_per_dependency() -> None:
    pipeline = pipeline_of(_settings(STEPS))
    last = {step: None for step in pipeline.steps}
    last["train"] = StepRecord("train", SUCCEEDED, seconds=12.5)
    last["report"] = StepRecord("report", FAILED, seconds=0.4, message="<exit 1> & more")
    drawn = ET.fromstring(picture.svg(pipeline, last))
    svg = "{http://www.w3.org/2000/svg}"
    assert len(drawn.findall(f"{svg}g")) == 5
    assert len(drawn.findall(f"{svg}path")) == 3  # add->train, train->report, train->promote
    texts = [t.text for t in drawn.iter(f"{svg}text")]
    assert "succeeded, 12.5 s" in texts and "never run" in texts
    page = picture.html(pipeline, last, "diabetes <pipeline>")
    assert "data:image/svg+xml;base64," in page and "&lt;exit 1&gt; &amp; more" in page
    lines = picture.text(pipeline, last)
    assert lines[1].split()[:4] == ["train", "train", "after", "add"]


def test_the_argo_template_has_a_task_per_step_and_validates() -> None:
    settings = _settings(STEPS, schedule="0 4 * * 1")
    template, cron = argo_documents(settings, pipeline_of(settings), "registry.example/ml:1")
    for document in (template, cron):
        assert schemas.validate(yaml.safe_load(yaml.safe_dump(document))) == []
    tasks = {t["name"]: t for t in template["spec"]["templates"][0]["dag"]["tasks"]}
    assert set(tasks) == set(STEPS)
    assert tasks["report"]["depends"] == "train" and "depends" not in tasks["add"]
    pod = template["spec"]["templates"][1]["container"]
    assert pod["image"] == "registry.example/ml:1"
    assert pod["args"][:6] == ["pipeline", "run", "--from", "{{inputs.parameters.step}}",
                               "--to", "{{inputs.parameters.step}}"]  # fmt: skip
    assert {"name": "MLCYCLE_PIPELINE_DIR", "value": "/data"} in pod["env"]
    assert cron["spec"]["schedules"] == ["0 4 * * 1"]
    assert cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"] == "diabetes-pipeline"


def test_a_crontab_line_needs_a_schedule(tmp_path) -> None:
    line = crontab_line(_settings(STEPS, schedule="30 2 * * *"), tmp_path / "my project")
    assert line.startswith("30 2 * * * cd ") and "'" in line  # the space is quoted
    assert "pipeline run --trigger schedule >>" in line
    with pytest.raises(InvalidInput, match=r"pipeline\.schedule is not set"):
        crontab_line(_settings(STEPS), tmp_path)
