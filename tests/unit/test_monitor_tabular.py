"""Tabular drift: Evidently's default method per column, checked against scipy."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, chisquare, ks_2samp, wasserstein_distance

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor.results import NoData
from mlcycle.monitor.tabular import tabular_drift

TOL = {"rel": 1e-6, "abs": 1e-9}


def _frame(seed: int, rows: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colours = np.array(["red", "green", "blue", "grey"])
    return pd.DataFrame(
        {
            "amount": rng.normal(100 + 10 * shift, 15, rows),
            "rating": rng.integers(1, 4, rows).astype(float),  # 3 distinct values
            "colour": colours[
                rng.choice(4, rows, p=[0.4 - 0.2 * shift, 0.3, 0.2, 0.1 + 0.2 * shift])
            ],
            "member": rng.choice(["yes", "no"], rows, p=[0.6 - 0.3 * shift, 0.4 + 0.3 * shift]),
        }
    )


COLUMNS = {"numeric_columns": ["amount", "rating"], "categorical_columns": ["colour", "member"]}


def _vectors(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(set(ref) | set(cur))
    r, c = Counter(ref), Counter(cur)
    return np.array([r[k] for k in keys], float), np.array([c[k] for k in keys], float)


def test_small_reference_uses_ks_chi2_and_z() -> None:
    ref, cur = _frame(1, 800, 0.0), _frame(2, 500, 1.0)
    found = {c.column: c for c in tabular_drift(ref, cur, **COLUMNS).columns}

    ks = ks_2samp(ref.amount, cur.amount)
    assert found["amount"].result.method == "ks"
    assert found["amount"].result.statistic == pytest.approx(ks.pvalue, **TOL)

    for name in ("rating", "colour"):  # few-valued numeric columns count as categories
        r, c = _vectors(ref[name], cur[name])
        expected = chisquare(c, r * len(cur) / len(ref)).pvalue
        assert found[name].result.method == "chisquare"
        assert found[name].result.statistic == pytest.approx(expected, **TOL)
        assert found[name].result.drifted == (expected < 0.05)

    table = chi2_contingency(np.vstack(_vectors(ref.member, cur.member)), correction=False)
    assert found["member"].result.method == "z"
    assert found["member"].result.statistic == pytest.approx(table.pvalue, **TOL)


def test_large_reference_uses_wasserstein_and_jensen_shannon() -> None:
    ref, cur = _frame(3, 5000, 0.0), _frame(4, 4000, 1.0)
    result = tabular_drift(ref, cur, **COLUMNS)
    found = {c.column: c.result for c in result.columns}

    expected = wasserstein_distance(ref.amount, cur.amount) / np.std(ref.amount)
    assert found["amount"].method == "wasserstein_norm"
    assert found["amount"].statistic == pytest.approx(expected, **TOL)
    assert found["amount"].drifted == (expected >= 0.1)

    for name in ("rating", "colour", "member"):
        r, c = _vectors(ref[name], cur[name])
        expected = jensenshannon(r / r.sum(), c / c.sum())
        assert found[name].method == "jensenshannon"
        assert found[name].statistic == pytest.approx(expected, **TOL)

    share = sum(r.drifted for r in found.values()) / 4
    assert result.drifted_share == share
    assert result.dataset_drift == (share >= 0.5)
    assert result.to_dict()["columns"][0]["column"] == "amount"


def test_dataset_rule_is_share_of_drifted_columns() -> None:
    ref, cur = _frame(5, 3000, 0.0), _frame(6, 3000, 0.0)
    cur = cur.assign(amount=cur.amount + 30)  # one column of four drifts
    result = tabular_drift(ref, cur, **COLUMNS)
    assert result.drifted_count == 1 and not result.dataset_drift
    assert tabular_drift(ref, cur, **COLUMNS, drift_share=0.25).dataset_drift


def test_tables_of_every_form_give_the_same_result() -> None:
    ref, cur = _frame(7, 1500, 0.0), _frame(8, 1200, 0.5)
    expected = tabular_drift(ref, cur, **COLUMNS).to_dict()
    as_arrow = tabular_drift(pa.Table.from_pandas(ref), pa.Table.from_pandas(cur), **COLUMNS)
    as_dict = tabular_drift(
        {k: ref[k].to_numpy() for k in ref}, {k: cur[k].to_numpy() for k in cur}, **COLUMNS
    )
    assert as_arrow.to_dict() == expected
    assert as_dict.to_dict() == expected


def test_missing_values_are_dropped_before_testing() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, np.nan, 3.5, np.inf, 4.0, 5.0, 6.0, 7.0],
                        "c": ["a", None, "b", "a", "c", "b", "a", np.nan, "c"]})  # fmt: skip
    cur = pd.DataFrame({"x": [2.0, -np.inf, 3.0, 8.0, 9.0, np.nan, 1.5],
                        "c": ["a", "a", None, "b", "c", "c", "c"]})  # fmt: skip
    found = {c.column: c.result for c in tabular_drift(ref, cur, ["x"], ["c"]).columns}
    ks = ks_2samp([1.0, 2.0, 3.5, 4.0, 5.0, 6.0, 7.0], [2.0, 3.0, 8.0, 9.0, 1.5])
    assert found["x"].statistic == pytest.approx(ks.pvalue, **TOL)
    assert (found["c"].reference_size, found["c"].current_size) == (7, 6)


def test_constant_columns() -> None:
    ref = {"k": np.full(2000, 3.0), "c": ["same"] * 2000}
    cur = {"k": np.full(2000, 3.0), "c": ["same"] * 2000}
    found = tabular_drift(ref, cur, ["k"], ["c"])
    assert [c.result.statistic for c in found.columns] == [0.0, 0.0]
    assert not found.dataset_drift
    small = tabular_drift({"c": ["same"] * 50}, {"c": ["same"] * 40}, [], ["c"])
    assert small.columns[0].result.method == "z" and small.columns[0].result.statistic == 1.0


def test_bad_tables_get_one_clear_error() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    with pytest.raises(InvalidInput, match="Column 'y' is not in the reference data"):
        tabular_drift(ref, ref, ["y"])
    with pytest.raises(InvalidInput, match="declare it categorical"):
        tabular_drift(ref, ref, ["c"])
    with pytest.raises(NoData, match="current window has no value"):
        tabular_drift(ref, pd.DataFrame({"x": [np.nan], "c": [None]}), ["x"])
    with pytest.raises(NoData, match="current window has no value"):
        tabular_drift(ref, pd.DataFrame({"x": [np.nan], "c": [None]}), [], ["c"])
