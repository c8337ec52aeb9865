"""Check a file as the project's task needs it: text rows or typed tabular rows.

``data add`` and ``train --data FILE`` both go through :func:`check_file`, so a file is
read the same way whichever command takes it. The project's task decides the shape:
the text task checks a text and a label per row; tabular tasks type every feature,
check the target and rows, and freeze the types in the dataset version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mlcycle.core.settings import Settings
from mlcycle.core.tabular import TaskKind, is_column_type
from mlcycle.data.profile import ReferenceProfile, build_profile, build_tabular_profile
from mlcycle.data.readers import RawTable
from mlcycle.data.validate import Schema, TabularSchema, Validated, validate, validate_tabular

TEXT_TASK = "text-classification"


@dataclass(frozen=True)
class Checked:
    """A validated table and what its version records about its shape."""

    validated: Validated
    target: str  # the target's column in the table (``label`` for text)
    types: dict[str, str]  # feature -> type (``text`` for the text of a text task)
    task: str
    describe: dict[str, Any]  # the columns as the file named them, for the metadata

    @property
    def table(self) -> pa.Table:
        return self.validated.table

    def profile(self) -> ReferenceProfile:
        """The reference profile monitoring compares production inputs with."""
        if self.task == TEXT_TASK:
            categorical = [name for name, type_ in self.types.items() if type_ == "categorical"]
            return build_profile(self.table, categorical=categorical)
        kind: TaskKind = "classification" if self.task == "classification" else "regression"
        types = {name: type_ for name, type_ in self.types.items() if is_column_type(type_)}
        return build_tabular_profile(self.table, types, self.target, kind)


def check_file(
    raw: RawTable,
    settings: Settings,
    policy: str,
    shown: str,
    text_col: str | None = None,
    label_col: str | None = None,
) -> Checked:
    """Validate ``raw`` for the project's task under a bad-row ``policy``.

    ``text_col`` and ``label_col`` override the project's columns (text task: the text
    and the label; tabular: the target).
    """
    task = settings.model.task
    if task == TEXT_TASK:
        schema = Schema.from_settings(settings, text_col, label_col)
        checked = validate(raw, schema, policy, shown)
        described: dict[str, Any] = {"text_col": schema.text_col, "label_col": schema.label_col}
        types = {"text": "text", **dict.fromkeys(schema.categorical, "categorical")}
        return Checked(checked, "label", types, task, described)
    tabular = tabular_schema(settings, label_col)
    checked = validate_tabular(raw, tabular, policy, shown)
    described = {"target": tabular.target, "types": dict(checked.types)}
    return Checked(checked, tabular.target, dict(checked.types), task, described)


def tabular_schema(settings: Settings, target: str | None = None) -> TabularSchema:
    """The tabular schema of the project's settings (``data.*``)."""
    data = settings.data
    return TabularSchema(
        target=target or data.target,
        task="classification" if settings.model.task == "classification" else "regression",
        features=tuple(data.features) if data.features is not None else None,
        types={name: kind for name, kind in data.types.items() if kind != "text"},
        min_class_rows=data.min_class_rows,
        max_bad_share=data.max_bad_share,
    )
