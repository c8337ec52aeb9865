"""The team server's parts that need no server: passwords, URLs, saved credentials,
refusals said as one sentence, and the roles' agreement with the registry."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException, RestException

from mlcycle.core.errors import ErrorCode, InvalidInput, Unauthorized, Unavailable
from mlcycle.core.lock import PREFIX
from mlcycle.core.tracking import server_refusal
from mlcycle.core.urls import hide_password
from mlcycle.registry.ops import CHALLENGER
from mlcycle.server import auth_app, process, roles
from mlcycle.server.config import ADMIN_PASSWORD_ENV, admin_password
from mlcycle.server.login import _save


def test_the_admin_password_comes_from_a_file_or_the_environment_never_a_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_PASSWORD_ENV, raising=False)
    with pytest.raises(InvalidInput, match=ADMIN_PASSWORD_ENV):
        admin_password(None)
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, "short")
    with pytest.raises(InvalidInput, match="too short"):
        admin_password(None)
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, "a-long-enough-secret")
    assert admin_password(None) == "a-long-enough-secret"
    (tmp_path / "pw").write_text("from-the-file-123\n")
    assert admin_password(tmp_path / "pw") == "from-the-file-123"
    with pytest.raises(InvalidInput, match="Cannot read the password file"):
        admin_password(tmp_path / "missing")


def test_database_urls_are_checked_and_never_shown_with_their_password() -> None:
    assert hide_password("postgresql://me:secret@db:5432/mlflow") == (
        "postgresql://me:***@db:5432/mlflow"
    )
    assert hide_password("postgresql://db/mlflow") == "postgresql://db/mlflow"
    users = process._sibling_database("postgresql://me:pw@db/mlflow?sslmode=require", "_users")
    assert users == "postgresql://me:pw@db/mlflow_users"
    with pytest.raises(InvalidInput, match="PostgreSQL URL") as said:
        process._sibling_database("mysql://me:secret@db/mlflow", "_users")
    assert "secret" not in said.value.message
    assert process._sqlalchemy_url("postgresql://h/d") == "postgresql+psycopg://h/d"


def test_saved_credentials_are_owner_only_and_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".mlflow" / "credentials"
    path.parent.mkdir()
    path.write_text("[mlflow]\nmlflow_tracking_username = old\n[other]\nkey = kept\n")
    _save(path, "ana", "pass word=with;signs")
    saved = configparser.ConfigParser()
    saved.read(path)
    assert saved["mlflow"]["mlflow_tracking_username"] == "ana"
    assert saved["mlflow"]["mlflow_tracking_password"] == "pass word=with;signs"
    assert saved["other"]["key"] == "kept"
    assert path.stat().st_mode & 0o077 == 0


def test_refusals_and_silence_become_one_sentence_naming_the_server() -> None:
    url = "http://team:5000"
    plain_401 = MlflowException("API request to endpoint /x failed with error code 401 != 200.")
    said = server_refusal(plain_401, url)
    assert isinstance(said, Unauthorized) and said.code == ErrorCode.UNAUTHORIZED
    assert url in said.message and "MLFLOW_TRACKING_PASSWORD" in said.message
    ours = RestException({"error_code": "PERMISSION_DENIED", "message": "needs maintainer."})
    said = server_refusal(ours, url)
    assert said is not None and said.code == ErrorCode.FORBIDDEN and said.http_status == 403
    assert said.message.endswith("refused: needs maintainer.")
    down = MlflowException("Max retries exceeded with url: /api (Connection refused)")
    assert isinstance(server_refusal(down, url), Unavailable)
    missing = RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such"})
    assert server_refusal(missing, url) is None
    assert server_refusal(ValueError("not MLflow's"), url) is None


def test_the_roles_agree_with_the_registry_and_the_lock() -> None:
    assert roles.CANDIDATE_ALIAS == CHALLENGER
    assert auth_app.LOCK_PREFIX == PREFIX
    assert roles.MAY_MOVE_ALIASES < roles.MAY_CREATE < set(roles.GRANTS)
    assert roles.check_role("Editor") == "editor"
    with pytest.raises(ValueError, match="reader, editor, maintainer"):
        roles.check_role("boss")


@pytest.mark.parametrize(
    ("path", "moves", "creates"),
    [
        ("/api/2.0/mlflow/registered-models/alias", True, False),
        ("/ajax-api/2.0/mlflow/registered-models/alias", True, False),
        ("/api/2.0/mlflow/registered-models/rename", True, False),
        ("/api/2.0/mlflow/registered-models/create", False, True),
        ("/api/2.0/mlflow/experiments/create", False, True),
        ("/api/2.0/mlflow/runs/create", False, False),
        ("/api/2.0/mlflow/registered-models/alias/extra", False, False),
    ],
)
def test_the_rules_match_the_routes_they_guard(path: str, moves: bool, creates: bool) -> None:
    assert bool(auth_app._MOVES_ALIASES.match(path)) is moves
    assert bool(auth_app._CREATES.match(path)) is creates


def test_only_a_maintainer_moves_an_alias_other_than_the_candidate() -> None:
    assert roles.move_refusal("eddy", roles.CANDIDATE_ALIAS, {"editor"}) is None
    assert roles.move_refusal("mona", "production", {"maintainer"}) is None
    assert roles.move_refusal("eddy", "production", {"editor"}) == (
        "Moving a model's alias needs the maintainer role; eddy is editor."
    )
    refused = roles.move_refusal("rita", None, set())  # a rename moves every alias
    assert refused is not None and refused.endswith("rita is given no role.")


def test_a_server_on_every_interface_accepts_this_machines_name(tmp_path: Path) -> None:
    import socket

    from mlcycle.server.config import ServerSpec

    def allowed(host: str) -> list[str]:
        command = process._command(ServerSpec(tmp_path, host=host, port=5000))
        return command[command.index("--allowed-hosts") + 1].split(",")

    assert "127.0.0.1:5000" in allowed("127.0.0.1")
    assert socket.gethostname() not in allowed("127.0.0.1")
    assert f"{socket.getfqdn()}:5000" in allowed("0.0.0.0")
    assert "0.0.0.0" not in allowed("0.0.0.0")
