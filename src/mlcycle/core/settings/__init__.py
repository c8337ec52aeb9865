"""Settings: one section per module, read once from the project file and ``MLCYCLE_*``."""

from mlcycle.core.settings.cases import behaviour_cases, cases_path
from mlcycle.core.settings.deploy import DeployEnvironment, DeploySettings
from mlcycle.core.settings.model import (
    TASK_NAMES,
    CalibrationSettings,
    DataSettings,
    FeatureType,
    ModelSettings,
    ProjectRetrain,
    TrainSettings,
)
from mlcycle.core.settings.monitor import MonitorSettings, duration_seconds
from mlcycle.core.settings.pipeline import PipelineSettings, PipelineStep, parse_reference
from mlcycle.core.settings.registry import GATE_NAMES, RegistrySettings
from mlcycle.core.settings.root import (
    Settings,
    default_project,
    get_settings,
    load_settings,
    project_file,
    project_source,
)
from mlcycle.core.settings.serve import (
    AuthSettings,
    ExperimentSettings,
    PredictionLogSettings,
    ServeSettings,
)
from mlcycle.core.settings.tune import TuneSettings

__all__ = [
    "GATE_NAMES",
    "TASK_NAMES",
    "AuthSettings",
    "CalibrationSettings",
    "DataSettings",
    "DeployEnvironment",
    "DeploySettings",
    "ExperimentSettings",
    "FeatureType",
    "ModelSettings",
    "MonitorSettings",
    "PipelineSettings",
    "PipelineStep",
    "PredictionLogSettings",
    "ProjectRetrain",
    "RegistrySettings",
    "ServeSettings",
    "Settings",
    "TrainSettings",
    "TuneSettings",
    "behaviour_cases",
    "cases_path",
    "default_project",
    "duration_seconds",
    "get_settings",
    "load_settings",
    "parse_reference",
    "project_file",
    "project_source",
]
