"""What a user reads when a setting is wrong."""

from __future__ import annotations

import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import load_settings


def test_a_bad_variable_without_a_project_file_names_the_variable(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no mlcycle.yaml here: the packaged project is read
    monkeypatch.delenv("MLCYCLE_PROJECT", raising=False)
    monkeypatch.setenv("MLCYCLE_SERVE__EXPERIMENT__SHARE", "1.5")
    with pytest.raises(InvalidInput) as raised:
        load_settings()
    assert raised.value.message == (
        "Setting 'serve.experiment.share' is invalid (Input should be less than or equal "
        "to 1); fix MLCYCLE_SERVE__EXPERIMENT__SHARE."
    )
