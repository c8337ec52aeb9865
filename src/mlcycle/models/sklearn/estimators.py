"""An estimator named in the project file: import path, parameters, fit for the task.

``model.params.estimator`` names a class by import path
(``sklearn.ensemble.HistGradientBoostingClassifier``, ``xgboost.XGBClassifier``) or,
for scikit-learn's usual estimators, by class name alone. The class must derive from
scikit-learn's ``BaseEstimator`` and fit the task (a classifier with class probabilities
for classification, a regressor for regression); every way this goes wrong is one
:class:`~mlcycle.core.errors.InvalidInput` sentence saying what to do.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor

from mlcycle.core.errors import InvalidInput
from mlcycle.core.tabular import TaskKind

# Where a bare class name is looked for, in order.
SHORT_NAME_MODULES = (
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.tree",
    "sklearn.neighbors",
    "sklearn.svm",
    "sklearn.naive_bayes",
    "sklearn.neural_network",
    "sklearn.dummy",
)
# Import names whose package is installed under another name.
PIP_NAMES = {"sklearn": "scikit-learn", "skops": "skops"}
EXAMPLES = {
    "classification": "sklearn.ensemble.HistGradientBoostingClassifier",
    "regression": "sklearn.ensemble.HistGradientBoostingRegressor",
}


def resolve_estimator(path: str, params: Mapping[str, Any], kind: TaskKind) -> BaseEstimator:
    """The estimator ``path`` built with ``params``, checked against the task ``kind``.

    Raises:
        InvalidInput: The class cannot be imported (naming the package to install), is no
            scikit-learn estimator, does not fit the task, or a parameter is unknown.
    """
    cls = import_class(path)
    if not (inspect.isclass(cls) and issubclass(cls, BaseEstimator)):
        raise InvalidInput(
            f"model.params.estimator {path!r} is not a scikit-learn estimator (a class "
            f"deriving from sklearn.base.BaseEstimator); name one, e.g. {EXAMPLES[kind]}."
        )
    estimator = _build(cls, dict(params))
    _check_task(estimator, kind)
    _check_values(estimator)
    return estimator


def import_class(path: str) -> Any:
    """The object at ``module.Name`` (or a bare scikit-learn class name)."""
    module_name, _, name = path.rpartition(".")
    if not module_name:
        return _short_name(path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidInput(_missing_module(path, module_name, exc.name or module_name)) from None
    except Exception as exc:  # a package that is installed but broken
        raise InvalidInput(
            f"Importing {module_name!r} for model.params.estimator failed ({exc}); "
            "reinstall its package."
        ) from None
    if not hasattr(module, name):
        raise InvalidInput(
            f"Module {module_name!r} has no {name!r}{_close(name, dir(module))}; "
            "check model.params.estimator."
        )
    return getattr(module, name)


def _short_name(name: str) -> Any:
    candidates: list[str] = []
    for module_name in SHORT_NAME_MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            return getattr(module, name)
        candidates += [n for n in dir(module) if n[:1].isupper()]
    raise InvalidInput(
        f"model.params.estimator {name!r} is no scikit-learn estimator{_close(name, candidates)}; "
        "give its import path, e.g. sklearn.ensemble.HistGradientBoostingClassifier."
    )


def _missing_module(path: str, module_name: str, missing: str) -> str:
    root = missing.split(".")[0]
    if importlib.util.find_spec(root) is not None:  # the package is there: a typo
        return f"model.params.estimator {path!r}: there is no module {module_name!r}; check it."
    package = PIP_NAMES.get(root, root)
    return (
        f"model.params.estimator {path!r} needs the package {package!r}, which is not "
        f"installed; install it with pip install {package}."
    )


def _close(name: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or nothing."""
    found = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _build(cls: type, params: dict[str, Any]) -> BaseEstimator:
    """``cls(**params)``; an unknown parameter lists the valid ones."""
    valid = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    for name in params:
        if name not in valid:
            raise InvalidInput(
                f"{cls.__name__} has no parameter {name!r}{_close(name, valid)}; "
                f"its parameters are {', '.join(valid)}."
            )
    try:
        return cls(**params)
    except TypeError as exc:  # a required parameter left out
        raise InvalidInput(
            f"{cls.__name__} could not be built ({exc}); check model.params."
        ) from None


def _check_values(estimator: BaseEstimator) -> None:
    """Refuse now a parameter value the estimator would refuse when fitted.

    scikit-learn checks its parameters as ``fit`` starts, before it reads the data, so a
    fit on no rows reports a bad value (``n_estimators=0``, ``max_depth=2.5``) and trains
    nothing. Any other failure of that fit (no rows, or an estimator that checks its
    values later) says nothing about the values and is left to the real fit.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clone(estimator).fit(np.empty((0, 1)), np.empty(0))
    except Exception as exc:
        if is_parameter_error(exc):
            raise InvalidInput(str(exc).strip()) from None


def is_parameter_error(exc: BaseException) -> bool:
    """Whether ``exc`` is scikit-learn's refusal of a parameter value (its class lives in a
    private module, so it is known by name)."""
    return type(exc).__name__ == "InvalidParameterError"


def _check_task(estimator: BaseEstimator, kind: TaskKind) -> None:
    name = type(estimator).__name__
    if kind == "classification" and is_regressor(estimator):
        raise InvalidInput(
            f"{name} is a regressor, but model.task is classification; use a classifier, "
            f"e.g. {EXAMPLES[kind]}, or set model.task: regression."
        )
    if kind == "regression" and is_classifier(estimator):
        raise InvalidInput(
            f"{name} is a classifier, but model.task is regression; use a regressor, "
            f"e.g. {EXAMPLES[kind]}, or set model.task: classification."
        )
    if not (is_classifier(estimator) or is_regressor(estimator)):
        raise InvalidInput(
            f"{name} is neither a classifier nor a regressor; model.task {kind} needs "
            f"one, e.g. {EXAMPLES[kind]}."
        )
    if kind == "classification" and not hasattr(estimator, "predict_proba"):
        raise InvalidInput(
            f"{name} gives no class probabilities (no predict_proba), which mlcycle ranks "
            "classes by; choose another classifier, or set its option for them if it has one."
        )
