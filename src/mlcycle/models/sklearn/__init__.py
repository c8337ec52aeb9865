"""The scikit-learn family: any estimator by import path, preprocessing inside, fast records."""

from mlcycle.models.sklearn.estimators import resolve_estimator
from mlcycle.models.sklearn.fast import CompiledPreprocessor, compile_preprocessor
from mlcycle.models.sklearn.flavor import load_model, log_model, signature
from mlcycle.models.sklearn.model import SklearnModel
from mlcycle.models.sklearn.preprocess import build_pipeline

__all__ = [
    "CompiledPreprocessor",
    "SklearnModel",
    "build_pipeline",
    "compile_preprocessor",
    "load_model",
    "log_model",
    "resolve_estimator",
    "signature",
]
