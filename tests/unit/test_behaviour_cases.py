"""The behaviour gate's cases are project data: a file beside the project file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import behaviour_cases, default_project, get_settings, load_settings
from mlcycle.core.settings.registry import BehaviourGate
from mlcycle.tasks import task_of
from tests.conftest import project_path, write_project

ROOT = Path(__file__).resolve().parents[2]
NACE_CASES = ROOT / "examples" / "nace" / "behaviour.yaml"


def _beside(home: Path, name: str, text: str) -> Path:
    path = project_path(home).parent / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_file_beside_the_project_file_holds_the_cases(project_home: Path) -> None:
    write_project(project_home, "registry: {gates: {behaviour: {cases_file: cases.yaml}}}")
    _beside(project_home, "cases.yaml", "coiffeur: 9602A\ntaxi: 4932Z\n")
    settings = get_settings()
    assert behaviour_cases(settings) == {"coiffeur": "9602A", "taxi": "4932Z"}
    # Training keeps them out of the frozen holdout, so models can learn them.
    assert task_of(settings).curated_inputs()["text"].tolist() == ["coiffeur", "taxi"]


def test_a_csv_file_in_the_data_layout_holds_the_cases(project_home: Path) -> None:
    write_project(project_home, "registry: {gates: {behaviour: {cases_file: cases.csv}}}")
    _beside(project_home, "cases.csv", 'text,nace\ncoiffeur,9602A\n"taxi, VTC",4932Z\n')
    assert behaviour_cases(get_settings()) == {"coiffeur": "9602A", "taxi, VTC": "4932Z"}


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("absent.yaml", None, "does not exist"),
        ("list.yaml", "- coiffeur\n- taxi\n", "text: code"),
        ("cases.csv", "description,code\ncoiffeur,9602A\n", "'text' and 'nace'"),
        ("cases.txt", "coiffeur 9602A\n", ".yaml"),
    ],
)
def test_a_bad_cases_file_is_one_sentence_naming_it_and_the_setting(
    project_home: Path, name: str, text: str | None, words: str
) -> None:
    write_project(project_home, f"registry: {{gates: {{behaviour: {{cases_file: {name}}}}}}}")
    if text is not None:
        _beside(project_home, name, text)
    with pytest.raises(InvalidInput) as caught:
        behaviour_cases(get_settings())
    message = caught.value.message
    assert str(project_path(project_home).parent / name) in message
    assert "registry.gates.behaviour.cases_file" in message and words in message
    assert "\n" not in message


def test_cases_inline_and_in_a_file_at_once_are_refused(project_home: Path) -> None:
    write_project(
        project_home,
        "registry: {gates: {behaviour: {cases_file: cases.yaml, cases: {taxi: 4932Z}}}}",
    )
    with pytest.raises(InvalidInput, match="cases_file"):
        get_settings()


def test_the_nace_example_ships_its_cases_as_a_file_the_default_project_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no mlcycle.yaml here: the packaged default project
    monkeypatch.delenv("MLCYCLE_PROJECT", raising=False)
    settings = load_settings()
    shipped = yaml.safe_load(NACE_CASES.read_text(encoding="utf-8"))
    assert len(shipped) == 11 and shipped["vendeur d'huîtres"] == "4723Z"
    assert behaviour_cases(settings) == shipped
    packaged = default_project().parent / settings.registry.gates.behaviour.cases_file
    assert packaged.read_text(encoding="utf-8") == NACE_CASES.read_text(encoding="utf-8")
    assert "cases:" not in default_project().read_text(encoding="utf-8")


def test_the_default_minimum_tolerates_one_miss_in_ten() -> None:
    gate = BehaviourGate()
    assert gate.min_functionality == 0.9
    assert 9 / 10 >= gate.min_functionality > 8 / 10
