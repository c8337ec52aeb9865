"""Default search spaces of ``mlcycle tune`` for scikit-learn's usual estimators.

A space is written as in the project file's ``tune.space``: integer ranges where the
estimator takes an integer, float ranges (log scale for rates and penalties) where it
takes a float, lists of choices otherwise. The ranges are the ones people usually
search first; an estimator that is not here asks for ``tune.space`` in the project file.
"""

from __future__ import annotations

from typing import Any

from mlcycle.core.errors import InvalidInput

_HIST_GRADIENT_BOOSTING = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "max_iter": {"low": 50, "high": 400, "step": 50},
    "max_leaf_nodes": {"low": 8, "high": 64},
    "min_samples_leaf": {"low": 5, "high": 50},
    "l2_regularization": {"low": 1e-4, "high": 10.0, "log": True},
}
_FOREST = {
    "n_estimators": {"low": 50, "high": 400, "step": 50},
    "max_depth": [None, 4, 8, 16],  # None: grown until the leaves are pure
    "min_samples_leaf": {"low": 1, "high": 10},
    "max_features": ["sqrt", "log2", 1.0],
}
_GRADIENT_BOOSTING = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "n_estimators": {"low": 50, "high": 400, "step": 50},
    "max_depth": {"low": 2, "high": 6},
    "subsample": {"low": 0.5, "high": 1.0},
}
_TREE = {
    "max_depth": [None, 3, 5, 10, 20],
    "min_samples_leaf": {"low": 1, "high": 20},
}
_NEIGHBOURS = {
    "n_neighbors": {"low": 1, "high": 50},
    "weights": ["uniform", "distance"],
}
_PENALTY = {"alpha": {"low": 1e-4, "high": 100.0, "log": True}}

SPACES: dict[str, dict[str, Any]] = {
    "HistGradientBoostingClassifier": _HIST_GRADIENT_BOOSTING,
    "HistGradientBoostingRegressor": _HIST_GRADIENT_BOOSTING,
    "RandomForestClassifier": _FOREST,
    "RandomForestRegressor": _FOREST,
    "ExtraTreesClassifier": _FOREST,
    "ExtraTreesRegressor": _FOREST,
    "GradientBoostingClassifier": _GRADIENT_BOOSTING,
    "GradientBoostingRegressor": _GRADIENT_BOOSTING,
    "DecisionTreeClassifier": _TREE,
    "DecisionTreeRegressor": _TREE,
    "KNeighborsClassifier": _NEIGHBOURS,
    "KNeighborsRegressor": _NEIGHBOURS,
    "LogisticRegression": {"C": {"low": 1e-3, "high": 100.0, "log": True}},
    "Ridge": _PENALTY,
    "Lasso": _PENALTY,
    "ElasticNet": {**_PENALTY, "l1_ratio": {"low": 0.05, "high": 1.0}},
}


def default_space(cls: type) -> dict[str, Any]:
    """The default space of estimator class ``cls`` (or of the scikit-learn class it extends).

    Raises:
        InvalidInput: There is none; the project file must give ``tune.space``.
    """
    for klass in cls.__mro__:
        if klass.__module__.startswith("sklearn.") and klass.__name__ in SPACES:
            return {name: _copy(entry) for name, entry in SPACES[klass.__name__].items()}
    raise InvalidInput(
        f"mlcycle has no default search space for {cls.__name__}; give one as tune.space "
        "in the project file (each parameter a {low, high} range or a list of choices)."
    )


def _copy(entry: Any) -> Any:
    return dict(entry) if isinstance(entry, dict) else list(entry)
