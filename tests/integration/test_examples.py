"""The shipped tabular examples: their files, their data, and the README's quick start.

Each example's project file passes its own gates on its whole data (data add, train,
promote to production), in a real MLflow store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlcycle.core.settings import default_project
from mlcycle.data.examples import example_frame
from mlcycle.data.ingest import add_dataset
from mlcycle.data.store import read_metadata
from mlcycle.loop.examples import examples
from mlcycle.registry.promotion import promote
from mlcycle.train.pipeline import train_model
from tests.conftest import _isolate, project_path, run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_ships_the_examples_project_files() -> None:
    shipped = examples()
    assert set(shipped) == {"nace", "diabetes", "quality"}
    for name, found in shipped.items():
        assert found.project.read_text() == (ROOT / "examples" / name / "mlcycle.yaml").read_text()
    assert shipped["nace"].project == default_project()


def test_example_data_is_the_same_every_time_and_has_gaps_and_categories() -> None:
    quality = example_frame("quality")
    assert quality.equals(example_frame("quality"))
    assert len(quality) == 178 and set(quality["cultivar"]) == {
        "cultivar_1", "cultivar_2", "cultivar_3",
    }  # fmt: skip
    assert set(quality["colour"].dropna()) == {"pale", "ruby", "deep"}
    assert quality[["magnesium", "ash", "colour", "proline"]].isna().sum().between(5, 30).all()
    assert quality.drop(columns=["magnesium", "ash", "colour", "proline"]).notna().all().all()
    diabetes = example_frame("diabetes")
    assert len(diabetes) == 442 and set(diabetes["sex"]) == {"1", "2"}


def test_data_example_writes_the_file_the_readme_adds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run_cli(home, "data", "example", "quality", "-o", str(tmp_path / "quality.csv"))
    assert done.returncode == 0 and "178 rows" in done.stdout, done.stderr
    assert (tmp_path / "quality.csv").read_text().startswith("alcohol,")


@pytest.mark.parametrize(("name", "categorical"), [("diabetes", {"sex"}),
                                                   ("quality", {"colour", "acidity"})])  # fmt: skip
def test_an_example_passes_its_own_gates_on_its_data(
    name: str, categorical: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    project = yaml.safe_load(examples()[name].project.read_text())
    project_path(home).parent.mkdir(parents=True, exist_ok=True)
    project_path(home).write_text(yaml.safe_dump(project))
    _isolate(home, monkeypatch)
    example_frame(name).to_csv(tmp_path / f"{name}.csv", index=False)
    added = add_dataset(str(tmp_path / f"{name}.csv"), name)
    types = read_metadata(added.version)["feature_types"]
    assert {column for column, kind in types.items() if kind == "categorical"} == categorical
    trained = train_model()
    moved = promote(name, trained.version, "production", reason="the README's quick start")
    assert moved.moved, [(g.name, g.figure, g.detail) for g in moved.gates]
    assert {g.name for g in moved.gates} == {"contract", "quality", "champion", "behaviour",
                                             "latency"}  # fmt: skip
