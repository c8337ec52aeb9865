"""Tabular data for tests: scikit-learn's bundled data sets (no download) and messy frames
with every column type, nulls, unknown categories and numbers written as text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

MIXED_TYPES = {
    "x": "numeric",
    "z": "numeric",
    "city": "categorical",
    "smoker": "boolean",
    "seen": "datetime",
}
CITIES = ["paris", "lyon", "lille", "nantes"]


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One OpenMP thread: HistGradientBoosting's threads spin on every small call, which
    on a shared machine costs far more than the work (serving runs one per worker)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def bundled(name: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, str]]:
    """Features, target and types of ``diabetes``, ``wine`` or ``breast_cancer``."""
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    data = loader(as_frame=True, scaled=False) if name == "diabetes" else loader(as_frame=True)
    frame = data.data
    target = data.target.to_numpy()
    if name != "diabetes":
        target = np.asarray(data.target_names)[target]  # classes by name, as text
    return frame, target, dict.fromkeys(frame.columns, "numeric")


def mixed_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every column type with nulls; a class and a value that depend on all of them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = np.where(rng.random(n) < 0.1, np.nan, rng.normal(2.0, 3.0, n))
    city = rng.choice([*CITIES, None], n, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    smoker = rng.choice([True, False, None], n, p=[0.4, 0.5, 0.1])
    seconds = rng.integers(1_500_000_000, 1_700_000_000, n)
    seen = pd.Series(pd.to_datetime(seconds, unit="s").astype("datetime64[us]"))
    seen = seen.where(rng.random(n) > 0.05)
    frame = pd.DataFrame({"x": x, "z": z, "city": city, "smoker": smoker, "seen": seen})
    score = x + 0.3 * np.nan_to_num(z) + (city == "paris") - (smoker == True)  # noqa: E712
    classes = np.where(score > 0.8, "high", np.where(score > -0.5, "mid", "low"))
    value = 100 + 10 * score + 0.5 * (seen.dt.month.fillna(6).to_numpy())
    return frame, classes, value


def random_records(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """JSON-like records of the mixed frame's columns: nulls, NaN, unknown categories,
    numbers as text the pipeline accepts, dates in several ISO forms and zones."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(n):
        records.append(
            {
                "x": _number(rng),
                "z": _number(rng),
                "city": [*CITIES, "rome", None, float("nan")][rng.integers(len(CITIES) + 3)],
                "smoker": [True, False, None][rng.integers(3)],
                "seen": _date(rng),
            }
        )
    return records


def _number(rng: np.random.Generator) -> Any:
    value = float(rng.normal(0, 3))
    form = rng.integers(8)
    return [
        value,
        round(value),
        int(value),
        str(round(value, 3)),
        f" {value:.2e} ",
        None,
        float("nan"),
        "nan",
    ][form]


def _date(rng: np.random.Generator) -> Any:
    stamp = dt.datetime(2015, 1, 1) + dt.timedelta(seconds=int(rng.integers(0, 300_000_000)))
    form = rng.integers(7)
    return [
        stamp.strftime("%Y-%m-%d"),
        stamp.strftime("%Y-%m-%dT%H:%M:%S"),
        stamp.strftime("%Y-%m-%d %H:%M"),
        stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        stamp.strftime("%Y-%m-%dT%H:%M:%S+05:30"),
        stamp,
        None,
    ][form]


def served_tabular(
    task: str, version: str = "1", max_iter: int = 20, seed: int = 0, dates: bool = True
) -> Any:
    """A HistGradientBoosting model of ``task`` fitted on the mixed frame (without its date
    column unless ``dates``), as a registry load gives it to a server (``ServedModel``
    named ``cases``)."""
    from mlcycle.models.protocol import ServedModel
    from mlcycle.models.sklearn import SklearnModel

    frame, classes, values = mixed_frame(600, seed=seed)
    types = {k: v for k, v in MIXED_TYPES.items() if dates or v != "datetime"}
    estimator = f"HistGradientBoosting{'Classifier' if task == 'classification' else 'Regressor'}"
    model = SklearnModel.build(estimator, {"max_iter": max_iter}, task, types)  # type: ignore[arg-type]
    model.fit(frame[list(types)], classes if task == "classification" else values)
    return ServedModel("cases", version, model, f"models:/cases/{version}", task, "sklearn")


def tabular_settings(home: Any, task: str, **serve: Any) -> Any:
    """Settings of a tabular project named ``cases`` (its model is ``served_tabular``'s)."""
    from mlcycle.core.settings import Settings

    return Settings(
        home=home, model={"name": "cases", "task": task}, data={"target": "y"}, serve=serve
    )


RECORD = {"x": 0.5, "z": "2.5", "city": "paris", "smoker": True, "seen": "2021-06-01"}


def wire_records(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """:func:`random_records` as a client sends them in JSON: missing values (NaN, the
    text "nan") as null, dates as ISO text."""

    def wire(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        missing = value == "nan" or (isinstance(value, float) and np.isnan(value))
        return None if missing else value

    return [{k: wire(v) for k, v in record.items()} for record in random_records(n, seed)]
