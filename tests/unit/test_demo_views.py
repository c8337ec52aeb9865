"""The demo's last hint points at a UI that exists: a team server serves its own."""

from __future__ import annotations

import io

from rich.console import Console

from mlcycle.cli.demo_views import print_ui_hint


def _hint(uri: str) -> str:
    out = Console(file=io.StringIO(), width=200)
    print_ui_hint(out, uri)
    return out.file.getvalue()  # type: ignore[attr-defined]


def test_a_team_server_is_browsed_where_it_is_and_a_file_store_through_mlflow_ui() -> None:
    team = _hint("http://team.example:5000")
    assert "at http://team.example:5000" in team and "mlflow ui" not in team
    local = _hint("sqlite:////home/me/.mlcycle/mlflow.db")
    assert "mlflow ui --backend-store-uri sqlite:////home/me/.mlcycle/mlflow.db" in local
