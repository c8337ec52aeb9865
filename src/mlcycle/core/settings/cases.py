"""The behaviour gate's cases: project data, in the project file or a file beside it.

::

    registry:
      gates:
        behaviour:
          cases_file: behaviour.yaml    # relative to the project file's folder

A YAML file holds what ``cases`` would: ``text: expected label`` lines for a text task,
a list of ``{record: {...}, expect: ...}`` for a tabular one. A CSV file (text tasks) is
in the data's own layout, the text column and the target column, one case a row, so a
few rows of the data can become cases. The file is read when a training or a gate
needs the cases, never when settings are read: a server runs without it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings.root import Settings, project_source

SETTING = "registry.gates.behaviour.cases_file"
TEXT_TASK = "text-classification"
Cases = dict[str, str] | list[dict[str, Any]]


def cases_path(settings: Settings) -> Path | None:
    """The cases file the project names, as a path (None: the cases are inline)."""
    name = settings.registry.gates.behaviour.cases_file
    if name is None:
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() else project_source().absolute().parent / path


def behaviour_cases(settings: Settings) -> Cases:
    """The cases: read from ``cases_file`` when the project names one, else inline.

    Raises:
        InvalidInput: The file is missing, unreadable, or not shaped as the task's cases.
    """
    path = cases_path(settings)
    if path is None:
        return settings.registry.gates.behaviour.cases
    if not path.is_file():
        raise _bad(path, "does not exist; create it or fix the path (relative paths start "
                         "at the project file's folder)")  # fmt: skip
    text_task = settings.model.task == TEXT_TASK
    if path.suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(path, text_task)
    if path.suffix.lower() == ".csv" and text_task:
        return _from_csv(path, settings.data.text_feature(), settings.data.target)
    kinds = ".yaml, .yml or .csv" if text_task else ".yaml or .yml (tabular cases)"
    raise _bad(path, f"must be a {kinds} file")


def _bad(path: Path, problem: str) -> InvalidInput:
    return InvalidInput(f"The behaviour cases file {path} ({SETTING}) {problem}.")


def _from_yaml(path: Path, text_task: bool) -> Cases:
    try:
        found = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _bad(path, f"could not be read ({' '.join(str(exc).split())})") from None
    if text_task:
        if not isinstance(found, dict) or not found:
            raise _bad(path, "must map each text to its expected label (text: code, one a line)")
        return {str(text): str(code) for text, code in found.items()}
    if not isinstance(found, list) or not all(isinstance(case, dict) for case in found):
        raise _bad(path, "must be a list of cases ({record: {...}, expect: ...} each)")
    return found


def _from_csv(path: Path, text: str, target: str) -> dict[str, str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            rows, columns = list(reader), list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _bad(path, f"could not be read ({exc})") from None
    if text not in columns or target not in columns:
        raise _bad(
            path,
            f"needs the columns {text!r} and {target!r}, as the data has them "
            f"(it has {', '.join(map(repr, columns)) or 'none'})",
        )
    return {row[text]: row[target].strip() for row in rows if (row[text] or "").strip()}
