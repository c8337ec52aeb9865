"""Per-feature input drift: logged records against the training profile.

A tabular prediction is logged with its input record (a JSON object, ``record``); so is
a text model's prediction with the categorical columns it read beside the text. The
window's records are parsed once in DuckDB and each feature is counted there (numbers
and dates as distinct values with their counts, categories by value), so no record
becomes a Python object. Each feature is then compared with its reference profile
(:mod:`mlcycle.data.feature_profile`) by :mod:`mlcycle.monitor.tabular`, which picks
the method as Evidently does by default:

- numeric and datetime (seconds since 1970): the profile's sample of training values
  (every value of a dataset up to 5,000 rows, a seeded sample beyond, so the small-
  reference switch at 1,000 rows decides as on the whole column) against the window's
  values;
- categorical and boolean: the profile keeps the most frequent values and counts the
  rest as one "other"; a current value outside the kept ones is counted as "other" too,
  so both sides have the same categories and a value never seen in training shows up
  as a rising "other".

Nulls are dropped before testing (as Evidently does) and reported as a share beside
the training share. The dataset drifts when at least ``drift_share`` of the features
drift (Evidently's ``DataDriftPreset(drift_share)``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mlcycle.core.errors import InvalidInput
from mlcycle.data import parsing
from mlcycle.monitor import categorical, numeric
from mlcycle.monitor.counts import Counts, align, as_counts
from mlcycle.monitor.logstore import Window
from mlcycle.monitor.panels import FeatureDrift, FeatureDriftPanel
from mlcycle.monitor.results import NoData
from mlcycle.monitor.tabular import categorical_column_drift, numeric_column_drift

if TYPE_CHECKING:
    from mlcycle.data.feature_profile import FeatureProfile
    from mlcycle.data.profile import ReferenceProfile

OTHER = "<other>"  # every value beyond those the profile kept
CHANGES = 3
_NUMBERS = ("numeric", "datetime")


def feature_panel(
    window: Window, profile: ReferenceProfile | None, drift_share: float
) -> FeatureDriftPanel:
    """Every profiled feature of the window's records against the training data."""
    if profile is None or not profile.features:
        return FeatureDriftPanel.missing(
            "No per-feature reference profile (the model was not trained on a stored "
            "dataset version that profiles its input columns): nothing to compare the "
            "records with.",
            drift_share=drift_share,
        )
    names = list(profile.features)
    records, unreadable = _parse_records(window, names)
    if records == 0:
        return FeatureDriftPanel.missing(
            "No input record is logged in this window (the server logs them for tabular "
            "models, and beside the texts of a text model with columns): per-feature "
            "drift needs them.",
            drift_share=drift_share,
            unreadable=unreadable,
        )
    nulls = _null_counts(window, len(names))
    columns = [
        feature_drift(name, feature, _current(window, i, feature.type), nulls[i] / records)
        for i, (name, feature) in enumerate(profile.features.items())
    ]
    return summarise(columns, drift_share, records, unreadable)


def summarise(
    columns: list[FeatureDrift], drift_share: float, records: int = 0, unreadable: int = 0
) -> FeatureDriftPanel:
    """The panel of per-feature results: how many drifted, and the dataset verdict
    (over the features that could be judged)."""
    judged = [c for c in columns if c.result is not None]
    drifted = sum(c.result.drifted for c in judged if c.result is not None)
    share = drifted / len(judged) if judged else 0.0
    return FeatureDriftPanel(
        records=records,
        unreadable=unreadable,
        drift_share=drift_share,
        drifted_count=drifted,
        drifted_share=share,
        dataset_drift=bool(judged) and share >= drift_share,
        columns=columns,
    )


def feature_drift(
    name: str,
    reference: FeatureProfile,
    current: numeric.Sample | Counts,
    null_share: float | None = None,
) -> FeatureDrift:
    """One feature's drift: the current values (a weighted sample of numbers, or category
    counts) against the feature's profile."""
    known: dict[str, Any] = {
        "column": name,
        "type": reference.type,
        "null_share": null_share,
        "reference_null_share": reference.null_share,
    }
    try:
        if reference.type in _NUMBERS:
            return _numeric_drift(reference, _as_sample(current), known)
        return _categorical_drift(reference, _as_counts(current), known)
    except NoData:
        side = "training data" if _empty_reference(reference) else "window"
        return FeatureDrift.missing(f"The {side} holds no value of {name!r}.", **known)


def _numeric_drift(
    reference: FeatureProfile, current: numeric.Sample, known: dict[str, Any]
) -> FeatureDrift:
    ref = numeric.sample(reference.sample or [])
    result = numeric_column_drift(ref, current)
    means: dict[str, Any] = {"reference_mean": _mean(ref), "current_mean": _mean(current)}
    return FeatureDrift(result=result, **known, **means)


def _categorical_drift(
    reference: FeatureProfile, current: Counts, known: dict[str, Any]
) -> FeatureDrift:
    kept = dict(reference.counts or {})
    ref = {**kept, OTHER: reference.other} if reference.other else kept
    cur = _fold(current, set(kept))
    result = categorical_column_drift(as_counts(ref), cur)
    return FeatureDrift(result=result, **known, changes=_changes(as_counts(ref), cur))


def _fold(current: Counts, kept: set[str]) -> Counts:
    """Current counts with every value the profile did not keep merged into OTHER."""
    return current.regroup(lambda key: key if str(key) in kept else OTHER)


def _changes(reference: Counts, current: Counts) -> list[dict]:
    if reference.total == 0 or current.total == 0:
        return []
    keys, ref, cur = align(reference, current)
    return categorical.top_changes(keys, ref, cur, CHANGES)


def _empty_reference(reference: FeatureProfile) -> bool:
    return not reference.sample and not reference.counts and not reference.other


def _mean(data: numeric.Sample) -> float | None:
    if not data.size:
        return None
    return float(np.average(data.values, weights=data.weights))


def _as_sample(current: numeric.Sample | Counts) -> numeric.Sample:
    if isinstance(current, numeric.Sample):
        return current
    raise InvalidInput("Give a numeric feature's current values as a numeric sample.")


def _as_counts(current: numeric.Sample | Counts) -> Counts:
    if isinstance(current, Counts):
        return current
    raise InvalidInput("Give a categorical feature's current values as category counts.")


# The window's records, parsed once: ``v[i]`` is the i-th profiled feature as text.
def _parse_records(window: Window, names: list[str]) -> tuple[int, int]:
    """Parse the records into table ``r``; the number parsed, and those that are not
    JSON objects (left out)."""
    paths = [f"$.{json.dumps(name)}" for name in names]
    window.con.execute(
        """CREATE OR REPLACE TEMP TABLE r AS
           SELECT json_extract_string(record, ?::VARCHAR[]) AS v FROM p
           WHERE CASE WHEN json_valid(record) THEN json_type(record) END = 'OBJECT'""",
        [paths],
    )
    parsed = window.rows("SELECT count(*) FROM r")[0][0]
    logged = window.rows("SELECT count(record) FROM p")[0][0]
    return int(parsed), int(logged - parsed)


def _null_counts(window: Window, features: int) -> list[int]:
    counted = ", ".join(f"count(*) FILTER (WHERE v[{i + 1}] IS NULL)" for i in range(features))
    return [int(n) for n in window.rows(f"SELECT {counted} FROM r")[0]]


def _current(window: Window, position: int, kind: str) -> numeric.Sample | Counts:
    """The window's values of one feature: a weighted sample (numbers, dates as seconds
    since 1970, as the profile stores them) or category counts. Yes/no values and dates
    are read as ``data add`` reads them (``oui``, ``1`` and ``true`` are all true)."""
    value = f"v[{position + 1}]"
    if kind == "numeric":
        rows = window.rows(
            f"""SELECT x, count(*) FROM (SELECT TRY_CAST({value} AS DOUBLE) AS x FROM r)
                WHERE isfinite(x) GROUP BY 1"""
        )
        return _weighted([x for x, _ in rows], [n for _, n in rows])
    rows = window.rows(f"SELECT {value}, count(*) FROM r WHERE {value} IS NOT NULL GROUP BY 1")
    keys = pa.chunked_array([pa.array([k.strip() for k, _ in rows], pa.string())])
    counts = [n for _, n in rows]
    if kind == "datetime":
        moments, unread = parsing.parse_datetimes(keys)
        seconds = moments.cast(pa.int64()).to_numpy(zero_copy_only=False) / 1e6
        return _weighted(seconds[~unread], np.asarray(counts)[~unread])
    if kind == "boolean":
        flags, unread = parsing.parse_booleans(keys)
        pairs = zip(keys.to_pylist(), flags.to_pylist(), unread, strict=True)
        shown = [raw if bad else str(flag).lower() for raw, flag, bad in pairs]
        return as_counts(_summed(shown, counts))
    return as_counts(_summed(keys.to_pylist(), counts))


def _weighted(values: list | np.ndarray, counts: list | np.ndarray) -> numeric.Sample:
    return numeric.sample(np.asarray(values, np.float64), np.asarray(counts, np.float64))


def _summed(keys: list[str], counts: list[int]) -> dict[str, int]:
    """Counts by key, adding up keys that read the same (`` oui`` and ``oui``)."""
    out: dict[str, int] = {}
    for key, count in zip(keys, counts, strict=True):
        out[key] = out.get(key, 0) + count
    return out
