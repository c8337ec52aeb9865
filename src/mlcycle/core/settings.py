"""Settings: defaults, then the project file ``mlcycle.yaml``, then ``MLCYCLE_*`` variables.

Nothing here touches the disk or MLflow at import; ``get_settings()`` reads once and
caches. ``MLFLOW_TRACKING_URI``, when set, wins over the embedded SQLite store.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from mlcycle.core.errors import InvalidInput
from mlcycle.core.monitor_settings import MonitorSettings
from mlcycle.core.registry_settings import RegistrySettings
from mlcycle.core.serve_settings import AuthSettings, PredictionLogSettings
from mlcycle.core.tune_settings import TuneSettings

PROJECT_FILE_ENV = "MLCYCLE_PROJECT"
DEFAULT_PROJECT_FILE = "mlcycle.yaml"

# The seed project's MLproject defaults for the fastText classifier.
DEFAULT_TRAIN_PARAMS: dict[str, Any] = {
    "dim": 150,
    "lr": 0.2,
    "epoch": 25,
    "wordNgrams": 3,
    "minn": 3,
    "maxn": 4,
    "minCount": 3,
    "bucket": 100_000,
    "thread": 0,  # 0 means one per core
    "loss": "ova",
}


class TrainSettings(BaseModel):
    params: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_TRAIN_PARAMS))
    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    seed: int = 42
    text_col: str = "text"
    label_col: str = "nace"


class ServeSettings(BaseModel):
    model: str = "nace@production"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    max_batch: int = Field(1000, ge=1)
    max_text_chars: int = Field(2000, ge=1)
    max_k: int = Field(20, ge=1)
    # Seconds between checks that the served alias still points at the loaded version
    # (0: never; POST /admin/reload still checks at once).
    reload_seconds: float = Field(30.0, ge=0.0)
    # Seconds a client has to send a request's headers once its first byte is in, then
    # its body once the headers are; past either it is answered 408 and disconnected.
    header_timeout_s: float = Field(10.0, gt=0.0)
    body_timeout_s: float = Field(15.0, gt=0.0)
    # Seconds SIGTERM leaves requests in flight before cancelling them; longer than a
    # body may take, so a request whose body is still arriving ends first, with a 408.
    shutdown_grace_s: float = Field(20.0, gt=0.0)
    metrics: bool = True
    auth: AuthSettings = Field(default_factory=AuthSettings)
    prediction_log: PredictionLogSettings = Field(default_factory=PredictionLogSettings)

    @model_validator(mode="after")
    def _bodies_end_before_the_grace(self) -> ServeSettings:
        if self.body_timeout_s >= self.shutdown_grace_s:
            raise ValueError(
                f"body_timeout_s ({self.body_timeout_s:g}) must be shorter than "
                f"shutdown_grace_s ({self.shutdown_grace_s:g}), so that SIGTERM never has "
                "to cancel a request still waiting for its body"
            )
        return self


class DataSettings(BaseModel):
    """Dataset validation and storage (``mlcycle data add``)."""

    # Labels must match this after normalisation; None accepts any non-empty label.
    code_pattern: str | None = r"^\d{4}[A-Z]$"
    # Upper-case labels and drop dots/spaces inside them ("56.10a" -> "5610A").
    normalise_codes: bool = True
    max_text_chars: int = Field(10_000, ge=1)
    on_bad_rows: Literal["reject", "drop", "quarantine"] = "reject"
    # Past this share of bad rows even drop/quarantine refuse: likely the wrong file/column.
    max_bad_share: float = Field(0.25, ge=0.0, le=1.0)
    # The MLflow experiment whose runs hold the dataset versions.
    experiment: str = "mlcycle-datasets"
    # Dataset that ``train`` uses by default (its latest version); None: the model name.
    default_dataset: str | None = None


class Settings(BaseSettings):
    """Every knob mlcycle reads, with the defaults of the embedded mode."""

    model_config = SettingsConfigDict(
        env_prefix="MLCYCLE_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Path(".mlcycle")
    model_name: str = "nace"
    experiment: str = "nace"
    tracking_uri: str | None = None
    train: TrainSettings = Field(default_factory=TrainSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    tune: TuneSettings = Field(default_factory=TuneSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    @field_validator("model_name", "experiment")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        project = YamlConfigSettingsSource(settings_cls, yaml_file=project_file())
        return (init_settings, env_settings, project)

    def resolved_tracking_uri(self) -> str:
        """The tracking store: ``MLFLOW_TRACKING_URI``, else settings, else SQLite in home."""
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{self.home.resolve() / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.home.resolve() / "artifacts"


def project_file() -> Path:
    return Path(os.environ.get(PROJECT_FILE_ENV, DEFAULT_PROJECT_FILE))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; a bad project file or variable is one clear error."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise InvalidInput(
            f"Setting '{where}' is invalid ({first['msg']}); fix it in {project_file()} "
            "or the MLCYCLE_ environment variables."
        ) from None
    except Exception as exc:  # a YAML syntax error surfaces as a parser exception
        raise InvalidInput(
            f"The project file {project_file()} could not be read ({exc}); fix its YAML."
        ) from None
