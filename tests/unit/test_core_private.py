"""Owner-only files and folders, whatever the umask: the home, the tracking database, logs."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from mlcycle.core.private import private_dirs, private_file
from mlcycle.core.settings import get_settings
from mlcycle.core.tracking import use_tracking
from mlcycle.data.predlog import FEEDBACK_SCHEMA, log_roots, write_partitioned


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common default umask, under which plain mkdir/open make 0755/0644."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_folder_created_is_owner_only_and_existing_ones_are_left_alone(tmp_path) -> None:
    (tmp_path / "mine").mkdir(mode=0o755)
    created = private_dirs(tmp_path / "mine" / "a" / "b")
    assert created.is_dir()
    assert mode(tmp_path / "mine") == 0o755  # the user's own folder keeps its mode
    assert mode(tmp_path / "mine" / "a") == mode(created) == 0o700


def test_a_file_is_created_owner_only_and_an_existing_one_is_kept(tmp_path) -> None:
    path = private_file(tmp_path / "new" / "f.db")
    assert path.read_bytes() == b"" and mode(path) == 0o600 and mode(path.parent) == 0o700
    mine = tmp_path / "mine.db"
    mine.write_bytes(b"data")
    mine.chmod(0o640)
    private_file(mine)
    assert mine.read_bytes() == b"data" and mode(mine) == 0o640


def test_tracking_creates_the_home_and_its_database_owner_only(project_home) -> None:
    use_tracking(get_settings())
    from mlflow import MlflowClient

    MlflowClient().search_experiments()  # MLflow creates its tables in the file
    database = project_home / "mlflow.db"
    assert database.stat().st_size > 0
    assert mode(project_home) == 0o700 and mode(database) == 0o600


def _feedback_rows() -> pa.Table:
    now = datetime.now(UTC)
    columns = {name: [None] for name in FEEDBACK_SCHEMA.names}
    columns.update(request_id=["r"], index=[0], timestamp=[now], true_code=["5610A"])
    return pa.Table.from_pydict(columns, schema=FEEDBACK_SCHEMA)


def test_the_prediction_log_writer_makes_owner_only_folders_and_files(project_home) -> None:
    """Through the writer the server uses: the home itself is created owner-only too."""
    _, feedback = log_roots(get_settings())
    written = [Path(p) for p in write_partitioned(feedback, _feedback_rows())]
    assert len(written) == 1 and mode(written[0]) == 0o600
    for folder in (written[0].parent, feedback, project_home):
        assert mode(folder) == 0o700, folder


def test_a_log_root_the_user_made_keeps_its_mode(tmp_path) -> None:
    root = tmp_path / "shared-logs"
    root.mkdir(mode=0o750)
    (path,) = write_partitioned(root, _feedback_rows())
    assert mode(root) == 0o750
    assert mode(Path(path)) == 0o600 and mode(Path(path).parent) == 0o700
