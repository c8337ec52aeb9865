"""Live quality: accuracies, Wilson intervals against scipy, confused pairs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.stats import binomtest

from mlcycle.core.errors import InvalidInput
from mlcycle.monitor.quality import (
    confused_pairs,
    flag_patterns,
    hit_flags,
    live_quality,
    quality_from_flags,
)
from mlcycle.monitor.results import NoData
from mlcycle.tasks.text.nace import LEVELS, NAF_REV2, at_level, subclasses

CODES = np.array([code for code, _ in subclasses()])


def _predictions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranked top-5 codes and true codes, right about 70% of the time at top 1."""
    rng = np.random.default_rng(seed)
    true = CODES[rng.integers(0, CODES.size, n)]
    top = CODES[rng.integers(0, CODES.size, (n, 5))]
    hit1 = rng.random(n) < 0.7
    top[hit1, 0] = true[hit1]
    later = ~hit1 & (rng.random(n) < 0.5)
    top[later, 3] = true[later]
    return top, true


def test_accuracies_overall_and_per_level() -> None:
    top, true = _predictions(3000, 1)
    found = live_quality(top, true, nomenclature=NAF_REV2)
    assert found.labelled == 3000
    assert not any("section" in name for name in live_quality(top, true).metrics)
    m = found.metrics
    assert m["accuracy_top1"].value == pytest.approx(np.mean(top[:, 0] == true))
    assert m["accuracy_top5"].value == pytest.approx(np.mean((top == true[:, None]).any(axis=1)))
    for level in LEVELS[:-1]:
        t = np.array([at_level(c, level) for c in true])
        p = np.array([[at_level(c, level) for c in row] for row in top])
        assert m[f"accuracy_top1_{level}"].value == pytest.approx(np.mean(p[:, 0] == t))
        assert m[f"accuracy_top5_{level}"].value == pytest.approx(np.mean((p == t[:, None]).any(1)))
    # Coarser levels can only be easier.
    assert m["accuracy_top1_section"].value >= m["accuracy_top1_division"].value
    assert m["accuracy_top1_division"].value >= m["accuracy_top1"].value


def test_interval_is_scipys_wilson_interval() -> None:
    top, true = _predictions(2000, 2)
    found = live_quality(top, true).metrics["accuracy_top1"]
    hits = int((top[:, 0] == true).sum())
    reference = binomtest(hits, 2000).proportion_ci(0.95, method="wilson")
    assert found.low == pytest.approx(reference.low, abs=1e-9)
    assert found.high == pytest.approx(reference.high, abs=1e-9)
    assert found.low < found.value < found.high


def test_every_answer_right_still_has_an_interval_below_one() -> None:
    """200 hits of 200 do not prove a perfect model: a percentile bootstrap said [1, 1]."""
    codes = np.array([["5610A"]] * 200)
    found = live_quality(codes, codes[:, 0]).metrics["accuracy_top1"]
    assert found.value == found.high == 1.0
    assert found.low == pytest.approx(binomtest(200, 200).proportion_ci(method="wilson").low)
    assert 0.97 < found.low < 0.99


def test_aggregated_patterns_give_the_same_answer() -> None:
    top, true = _predictions(1500, 6)
    flags, names = hit_flags(top, true)
    patterns, counts = flag_patterns(flags)
    assert counts.sum() == 1500 and len(patterns) < 20
    from_counts = quality_from_flags(patterns, counts, names)
    from_rows = live_quality(top, true).metrics
    assert from_counts == from_rows


def test_confused_pairs_match_a_direct_count() -> None:
    top, true = _predictions(4000, 7)
    expected = Counter((t, p) for t, p in zip(true, top[:, 0], strict=True) if t != p)
    found = confused_pairs(true, top[:, 0], top=5)
    errors = sum(expected.values())
    best = expected.most_common(1)[0][1]
    assert found[0]["count"] == best
    for pair in found:
        assert pair["true"] != pair["predicted"]
        assert pair["count"] == expected[pair["true"], pair["predicted"]]
        assert pair["share_of_errors"] == pytest.approx(pair["count"] / errors)
    aggregated = confused_pairs(["a", "a", "b"], ["b", "c", "b"], counts=[7, 3, 100])
    assert aggregated == [
        {"true": "a", "predicted": "b", "count": 7, "share_of_errors": 0.7},
        {"true": "a", "predicted": "c", "count": 3, "share_of_errors": pytest.approx(0.3)},
    ]
    assert confused_pairs(["a"], ["a"]) == []


def test_labels_that_are_not_naf_codes_get_overall_metrics_only() -> None:
    found = live_quality([["cat", "dog"], ["dog", "cat"], ["cat", "dog"]], ["cat", "cat", "dog"])
    assert set(found.metrics) == {"accuracy_top1", "accuracy_top5"}
    assert found.metrics["accuracy_top1"].value == pytest.approx(1 / 3)
    assert found.metrics["accuracy_top5"].value == 1.0


def test_no_feedback_yet_is_no_data() -> None:
    with pytest.raises(NoData, match="no feedback yet"):
        live_quality(np.empty((0, 5), dtype=str), np.empty(0, dtype=str))


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="one per prediction"):
        live_quality([["5610A"], ["5610C"]], ["5610A"])
    with pytest.raises(InvalidInput, match="same length"):
        confused_pairs(["a", "b"], ["a"])
