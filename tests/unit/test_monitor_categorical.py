"""Categorical drift statistics against scipy's reference implementations."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, chisquare, entropy

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor import categorical
from mlcycle.monitor.counts import Counts, align, as_counts, section_counts
from mlcycle.monitor.results import NoData
from mlcycle.tasks.text.nace import NAF_REV2

TOL = {"rel": 1e-6, "abs": 1e-9}
KEYS = ["5610A", "5610C", "4711D", "6201Z", "9602A"]


def _draw(seed: int, size: int, shares: list[float]) -> list[str]:
    rng = np.random.default_rng(seed)
    return rng.choice(KEYS, size=size, p=shares).tolist()


REF = _draw(1, 600, [0.3, 0.25, 0.2, 0.15, 0.1])
CUR = _draw(2, 400, [0.2, 0.2, 0.3, 0.2, 0.1])


def _vectors(ref: list, cur: list) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(set(ref) | set(cur))
    r, c = Counter(ref), Counter(cur)
    return np.array([r[k] for k in keys], float), np.array([c[k] for k in keys], float)


def test_chi2_goodness_of_fit_matches_scipy_chisquare() -> None:
    r, c = _vectors(REF, CUR)
    expected = chisquare(c, r * c.sum() / r.sum())
    result = categorical.chi2_goodness_of_fit(REF, CUR)
    assert result.test_statistic == pytest.approx(expected.statistic, **TOL)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)
    assert result.drifted == (expected.pvalue < 0.05)


@pytest.mark.parametrize("keys", [KEYS, KEYS[:2]])  # K - 1 > 1, and Yates's correction at 1
def test_chi2_homogeneity_matches_scipy_chi2_contingency(keys: list[str]) -> None:
    ref = [k for k in REF if k in keys]
    cur = [k for k in CUR if k in keys]
    expected = chi2_contingency(np.vstack(_vectors(ref, cur)))
    result = categorical.chi2_homogeneity(ref, cur)
    assert result.test_statistic == pytest.approx(expected.statistic, **TOL)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)


def test_z_test_is_the_uncorrected_two_by_two_chi2() -> None:
    ref = ["yes"] * 130 + ["no"] * 70
    cur = ["yes"] * 95 + ["no"] * 105
    expected = chi2_contingency(np.vstack(_vectors(ref, cur)), correction=False)
    result = categorical.z_test(ref, cur)
    assert result.test_statistic**2 == pytest.approx(expected.statistic, **TOL)
    assert result.statistic == pytest.approx(expected.pvalue, **TOL)


@pytest.mark.parametrize("base", [None, 2.0])
def test_jensen_shannon_matches_scipy(base: float | None) -> None:
    r, c = _vectors(REF, CUR)
    expected = jensenshannon(r, c, base=base)
    assert categorical.jensen_shannon_distance(REF, CUR, base=base) == pytest.approx(
        expected, **TOL
    )
    if base is None:
        result = categorical.jensen_shannon_test(REF, CUR)
        assert result.statistic == pytest.approx(expected, **TOL)
        assert result.drifted == (expected >= 0.1)


def test_psi_is_the_symmetric_kullback_leibler_divergence() -> None:
    r, c = _vectors(REF, CUR)
    p, q = r / r.sum(), c / c.sum()
    expected = entropy(p, q) + entropy(q, p)
    assert categorical.population_stability_index(REF, CUR).statistic == pytest.approx(
        expected, **TOL
    )


def test_categories_present_on_one_side_only() -> None:
    ref = {"a": 50, "b": 30, "c": 20}
    cur = {"a": 40, "b": 35, "d": 25}
    keys, r, c = align(ref, cur)
    assert keys.tolist() == ["a", "b", "c", "d"]
    assert r.tolist() == [50, 30, 20, 0] and c.tolist() == [40, 35, 0, 25]
    # New category now: expected count zero, infinite statistic, certain drift.
    gof = categorical.chi2_goodness_of_fit(ref, cur)
    assert math.isinf(gof.test_statistic) and gof.statistic == 0.0 and gof.drifted
    assert gof.to_dict()["test_statistic"] is None  # JSON has no infinity
    table = chi2_contingency(np.vstack((r, c)))
    homogeneity = categorical.chi2_homogeneity(ref, cur)
    assert homogeneity.statistic == pytest.approx(table.pvalue, **TOL)
    assert categorical.jensen_shannon_distance(ref, cur) == pytest.approx(
        jensenshannon(r, c), **TOL
    )
    psi = categorical.population_stability_index(ref, cur)
    assert math.isfinite(psi.statistic) and psi.drifted


def test_one_category_on_both_sides_is_no_drift() -> None:
    for test in (
        categorical.chi2_goodness_of_fit,
        categorical.chi2_homogeneity,
        categorical.z_test,
    ):
        result = test(["x"] * 10, ["x"] * 30)
        assert result.statistic == 1.0 and not result.drifted
    assert categorical.jensen_shannon_distance(["x"], ["x", "x"]) == 0.0


def test_every_input_form_counts_the_same() -> None:
    raw = ["a", "b", None, "a", "c", "a"]
    forms = [
        raw,
        np.array(raw, dtype=object),
        pa.array(raw),
        pa.chunked_array([raw[:3], raw[3:]]),
        pd.Series(raw),
        {"a": 3, "b": 1, "c": 1},
        Counts(np.array(["c", "b", "a"], dtype=object), np.array([1.0, 1.0, 3.0])),
    ]
    for form in forms:
        assert as_counts(form).as_dict() == {"a": 3, "b": 1, "c": 1}
    assert as_counts(np.array([1.0, np.nan, 1.0, 2.0])).as_dict() == {1.0: 2, 2.0: 1}


def test_bad_counts_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not negative"):
        as_counts({"a": -1})
    with pytest.raises(InvalidInput, match="numbers"):
        as_counts({"a": "many"})


@pytest.mark.parametrize("current", [[], {}, {"a": 0}, [None, None]])
def test_empty_current_window_is_no_data(current: object) -> None:
    with pytest.raises(NoData, match="current window holds no values"):
        categorical.categorical_drift({"a": 3, "b": 2}, current)
    with pytest.raises(NoData):
        categorical.jensen_shannon_distance({"a": 3}, current)


def test_empty_reference_is_no_data() -> None:
    with pytest.raises(NoData, match="reference window"):
        categorical.chi2_homogeneity({}, {"a": 1})


def test_categorical_drift_picks_the_method_and_lists_what_moved() -> None:
    small = categorical.categorical_drift(REF, CUR)
    assert small.result.method == "chi2_contingency"
    assert set(small.scores) == {"chi2_contingency", "jensenshannon", "psi"}
    large = categorical.categorical_drift({"a": 5000, "b": 5000}, {"a": 2000, "b": 7000, "c": 1000})
    assert large.result.method == "jensenshannon" and large.result.drifted
    assert large.changes[0]["category"] == "c"
    assert large.changes[0]["reference_share"] == 0.0
    assert large.changes[0]["current_share"] == pytest.approx(0.1)
    payload = large.to_dict()
    assert payload["result"]["method"] == "jensenshannon"


def test_section_counts_merge_codes_by_nace_section() -> None:
    counts = section_counts({"5610A": 10, "5610C": 5, "4711D": 7, "nonsense": 2}, NAF_REV2)
    assert counts.as_dict() == {"I": 15, "G": 7, "?": 2}


def test_prediction_drift_reports_codes_and_sections() -> None:
    # Codes move within section I only: the code distribution drifts, the sections do not.
    ref = {"5610A": 5000, "5610C": 5000, "4711D": 5000}
    cur = {"5610A": 9000, "5610C": 1000, "4711D": 5000}
    found = categorical.prediction_drift(ref, cur, nomenclature=NAF_REV2)
    assert found["code"].result.drifted
    assert set(categorical.prediction_drift(ref, cur)) == {"code"}  # plain labels: no groups
    assert found["section"].result.statistic == pytest.approx(0.0, abs=1e-12)
    assert not found["section"].result.drifted
