"""What a project trains: the model (name, task, family, parameters) and its data.

In the project file::

    model:
      name: diabetes
      task: regression                  # text-classification | classification | regression
      family: sklearn                   # default: the task's own (fasttext for text)
      params:
        estimator: sklearn.ensemble.HistGradientBoostingRegressor
        max_iter: 200
    data:
      dataset: diabetes                 # default: the dataset added last
      target: progression
      features: [age, sex, bmi, bp]     # default: every other column
      types: {sex: categorical}         # default: inferred at ``data add``

A text task reads its text (the feature typed ``text``, else the first) and, beside it,
the other features as categorical columns: ``features: [text, type_, nature]``.
    train: {test_size: 0.2, seed: 42}

A model trained by the user's own code (``mlcycle models import``) has the ``pyfunc``
family, and ``mlcycle retrain`` runs its MLproject entry point::

    model:
      name: churn
      task: classification
      family: pyfunc
      retrain:
        project: trainer                # the MLproject folder, beside the project file
        entry_point: main
        parameters: {data: "{data}", alpha: 0.5}   # "{data}": the training set's CSV

Which tasks and families exist is known above this layer (``mlcycle.tasks``,
``mlcycle.models``); here names are only checked for shape.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlcycle.core.tabular import ColumnType

TASK_NAMES = ("text-classification", "classification", "regression")
# A feature's type: a tabular column type, or the text of a text task.
FeatureType = ColumnType | Literal["text"]
# Names a text task's categorical columns cannot take: the canonical text and label
# columns, and the fields of a /predict request.
RESERVED_TEXT_COLUMNS = ("text", "label", "texts", "k")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_FAMILY = re.compile(r"^[A-Za-z][\w.-]*$")


class ProjectRetrain(BaseModel):
    """How ``mlcycle retrain`` retrains a model trained by the user's own code: it runs
    the entry point of an MLproject with ``mlflow run`` in the current environment."""

    model_config = ConfigDict(extra="forbid")

    # The folder holding the MLproject file: absolute, or relative to the project file's.
    project: str
    entry_point: str = "main"
    # Passed as ``-P name=value``; the text ``{data}`` in a value becomes the path of the
    # training set (the latest dataset version plus feedback) written as CSV.
    parameters: dict[str, Any] = Field(default_factory=dict)


class ModelSettings(BaseModel):
    """The registered model: its name, task, family and the family's parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str
    task: str
    # None: the task's default family (fasttext for text, sklearn for tabular).
    family: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    # Models trained by the user's own code: the MLproject ``mlcycle retrain`` runs.
    retrain: ProjectRetrain | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "must be letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("task")
    @classmethod
    def _task(cls, value: str) -> str:
        if value not in TASK_NAMES:
            raise ValueError(f"unknown task {value!r}; the tasks are {', '.join(TASK_NAMES)}")
        return value

    @field_validator("family")
    @classmethod
    def _family(cls, value: str | None) -> str | None:
        if value is not None and not _FAMILY.match(value):
            raise ValueError(f"{value!r} cannot name a model family")
        return value


class DataSettings(BaseModel):
    """The columns a model learns from, and how ``mlcycle data add`` checks a file."""

    model_config = ConfigDict(extra="forbid")

    # The dataset ``train`` reads by default (its latest version); None: the dataset
    # added last. The demo and a retrain from generated data store versions under it
    # (None: the model's name).
    dataset: str | None = None
    target: str = "label"
    # None: every column but the target.
    features: list[str] | None = None
    # Explicit column types; the others are inferred when a file is added.
    types: dict[str, FeatureType] = Field(default_factory=dict)
    # The hierarchy classification labels belong to (a name that
    # ``mlcycle.tasks.labels.nomenclature`` knows); None: plain labels.
    nomenclature: str | None = None
    # The nomenclature level the labels are at (one of its levels, coarsest first in
    # ``Nomenclature.levels``); None: its finest. Codes of other levels are bad rows.
    label_level: str | None = None
    # Classification labels must match this after normalisation; None accepts any.
    label_pattern: str | None = None
    # Upper-case labels and drop dots and spaces inside them ("56.10a" -> "5610A").
    normalise_labels: bool = False
    max_text_chars: int = Field(10_000, ge=1)
    # Classification: a class with fewer rows than this cannot be learnt and evaluated
    # (a 20% split needs 3 rows to hold one out, 5-fold tuning 5); its rows are bad rows.
    min_class_rows: int = Field(5, ge=1)
    on_bad_rows: Literal["reject", "drop", "quarantine"] = "reject"
    # Past this share of bad rows even drop/quarantine refuse: likely the wrong file/column.
    max_bad_share: float = Field(0.25, ge=0.0, le=1.0)
    # The MLflow experiment whose runs hold the dataset versions.
    experiment: str = "mlcycle-datasets"

    @model_validator(mode="after")
    def _level_of_a_nomenclature(self) -> DataSettings:
        if self.label_level is not None and self.nomenclature is None:
            raise ValueError("data.label_level needs data.nomenclature, whose level it names")
        return self

    @model_validator(mode="after")
    def _target_not_a_feature(self) -> DataSettings:
        if self.features is not None and self.target in self.features:
            raise ValueError(f"the target {self.target!r} cannot also be a feature")
        if self.features is not None and len(set(self.features)) != len(self.features):
            raise ValueError("features must not repeat a column")
        return self

    def text_feature(self) -> str:
        """The text column of a text task: the one typed ``text``, else the first feature."""
        typed = [name for name, kind in self.types.items() if kind == "text"]
        if typed:
            return typed[0]
        return self.features[0] if self.features else "text"

    def categorical_features(self) -> list[str]:
        """The features of a text task beside its text: categorical columns (the coding
        API's ``type_``, ``nature``...), each learnt as an embedding; none by default."""
        text = self.text_feature()
        return [name for name in self.features or () if name != text]

    def check_text_features(self) -> None:
        """Refuse features a text task cannot read beside its text (one sentence).

        Raises:
            ValueError: A second text, a feature typed other than categorical, or a
                name the task and its requests use for themselves.
        """
        for name in self.categorical_features():
            kind = self.types.get(name, "categorical")
            if kind != "categorical":
                raise ValueError(
                    f"data.types.{name} is {kind!r}, but a text task reads the features "
                    f"beside its text {self.text_feature()!r} as categories; type it "
                    "categorical or leave it out of data.features"
                )
            if name in RESERVED_TEXT_COLUMNS:
                raise ValueError(
                    f"a text task cannot read a column named {name!r} beside its text "
                    f"({', '.join(RESERVED_TEXT_COLUMNS)} name the text, the label and the "
                    "fields of a request); rename that column in your file"
                )


class CalibrationSettings(BaseModel):
    """How training calibrates a classifier's top-1 probability (families that can, such
    as fasttext) and the auto-coding threshold it derives from it::

        train:
          calibration: {auto_code_precision: 0.95, share: 0.1, min_rows: 50}
    """

    model_config = ConfigDict(extra="forbid")

    # The precision answers coded without review must reach: the threshold on the
    # calibrated top-1 probability is the lowest (in steps of 0.01) whose answers reach
    # it on the calibration rows. Serving and monitoring use that threshold.
    auto_code_precision: float = Field(0.95, gt=0.0, le=1.0)
    # Share of the training rows set aside to fit the calibration (0: no calibration).
    share: float = Field(0.1, ge=0.0, lt=0.5)
    # Fewer calibration rows than this would fit noise: the rows stay in training, the
    # scores are kept as they are and the run says so.
    min_rows: int = Field(50, ge=10)


class TrainSettings(BaseModel):
    """How a training run splits its data."""

    model_config = ConfigDict(extra="forbid")

    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    seed: int = 42
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
