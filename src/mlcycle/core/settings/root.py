"""Settings: the project file ``mlcycle.yaml``, then ``MLCYCLE_*`` variables, then defaults.

Nothing here touches the disk or MLflow at import; ``get_settings()`` reads once and
caches. ``MLFLOW_TRACKING_URI``, when set, wins over the embedded SQLite store.

With no project file, mlcycle runs the flagship example (the text classifier of
``examples/``, shipped in the package as ``tasks/text/default_project.yaml``), so
``mlcycle demo`` and the README's commands work in an empty folder. A project file of
one's own replaces it whole: nothing of the example leaks into another project.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings.deploy import DeploySettings
from mlcycle.core.settings.model import DataSettings, ModelSettings, TrainSettings
from mlcycle.core.settings.monitor import MonitorSettings
from mlcycle.core.settings.pipeline import PipelineSettings
from mlcycle.core.settings.registry import RegistrySettings
from mlcycle.core.settings.serve import ServeSettings
from mlcycle.core.settings.tune import TuneSettings

PROJECT_FILE_ENV = "MLCYCLE_PROJECT"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
# The tracking URI mlcycle itself had MLflow write into TRACKING_URI_ENV: not the user's.
OWN_TRACKING_URI_ENV = "MLCYCLE_OWN_TRACKING_URI"
DEFAULT_PROJECT_FILE = "mlcycle.yaml"
# Read as data (a file beside the tasks that own its content), so core imports nothing
# of the package.
DEFAULT_PROJECT = "tasks/text/default_project.yaml"


class Settings(BaseSettings):
    """Every knob mlcycle reads; the project file must say at least ``model``."""

    model_config = SettingsConfigDict(
        env_prefix="MLCYCLE_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Path(".mlcycle")
    model: ModelSettings
    # The MLflow experiment of training runs; None: the model's name.
    experiment: str | None = None
    tracking_uri: str | None = None
    data: DataSettings = Field(default_factory=DataSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    tune: TuneSettings = Field(default_factory=TuneSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)

    @field_validator("experiment")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _text_features(self) -> Settings:
        if self.model.task == "text-classification":
            self.data.check_text_features()
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        project = YamlConfigSettingsSource(settings_cls, yaml_file=project_source())
        return (init_settings, env_settings, project)

    @property
    def experiment_name(self) -> str:
        """The experiment training runs go to."""
        return self.experiment or self.model.name

    @property
    def dataset_name(self) -> str:
        """The dataset the demo and a retrain from generated data store versions under:
        ``data.dataset``, else the model's name."""
        return self.data.dataset or self.model.name

    def served_ref(self) -> str:
        """What ``mlcycle serve`` answers with: ``serve.model``, else the last environment."""
        if self.serve.model:
            return self.serve.model
        return f"{self.model.name}@{self.registry.environments[-1].name}"

    def resolved_tracking_uri(self) -> str:
        """The tracking store: ``MLFLOW_TRACKING_URI``, else settings, else SQLite in home.

        ``MLFLOW_TRACKING_URI`` as ``use_tracking`` left it for child processes (MLflow
        writes it there) is another home's store, not the user's choice: passed over.
        """
        env = os.environ.get(TRACKING_URI_ENV)
        if env and env != os.environ.get(OWN_TRACKING_URI_ENV):
            return env
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{self.home.resolve() / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.home.resolve() / "artifacts"


def project_file() -> Path:
    """The project file named by ``MLCYCLE_PROJECT``, else ``mlcycle.yaml`` here."""
    return Path(os.environ.get(PROJECT_FILE_ENV) or DEFAULT_PROJECT_FILE)


def project_source() -> Path:
    """The file settings are read from: the project file, else the packaged example.

    Raises:
        InvalidInput: ``MLCYCLE_PROJECT`` names a file that does not exist.
    """
    path = project_file()
    if path.is_file():
        return path
    if os.environ.get(PROJECT_FILE_ENV):
        raise InvalidInput(
            f"{PROJECT_FILE_ENV} names {path}, which does not exist; fix the path or unset it."
        )
    return default_project()


def default_project() -> Path:
    """The packaged example project file (the flagship text classifier)."""
    return Path(str(resources.files("mlcycle").joinpath(DEFAULT_PROJECT)))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; a bad project file or variable is one clear error."""
    return load_settings()


def load_settings(**overrides: Any) -> Settings:
    """Settings read afresh (``overrides`` as keyword arguments win over every source)."""
    try:
        return Settings(**overrides)
    except InvalidInput:
        raise
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from None
    except Exception as exc:  # a YAML syntax error surfaces as a parser exception
        raise InvalidInput(
            f"The project file {project_source()} could not be read ({exc}); fix its YAML."
        ) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    source = project_source()
    if first["type"] == "missing" and where == "model":
        return (
            f"The project file {source} has no 'model' section; say at least "
            "model: {name: ..., task: ...} (see examples/ for complete files)."
        )
    if not first["loc"] and first["type"] == "value_error":  # a check across sections
        return f"The project file {source} is invalid: {first['ctx']['error']}."
    if source == default_project():  # no project file: the value came from a variable
        variable = "MLCYCLE_" + "__".join(str(part).upper() for part in first["loc"])
        return f"Setting '{where}' is invalid ({first['msg']}); fix {variable}."
    return (
        f"Setting '{where}' is invalid ({first['msg']}); fix it in {source} "
        "or the MLCYCLE_ environment variables."
    )
