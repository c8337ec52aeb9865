"""Live comparison statistics: known answers, seeded intervals, the tests named."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from mlcycle.core.errors import InvalidInput
from mlcycle.models import live


def _paired_hits(n: int = 1000, base: float = 0.7, gain: int = 100) -> tuple[np.ndarray, ...]:
    """Champion hits at ``base``; the challenger also right on ``gain`` of its misses."""
    rng = np.random.default_rng(3)
    champion = rng.random(n) < base
    challenger = champion.copy()
    challenger[np.flatnonzero(~champion)[:gain]] = True
    return champion, challenger


def test_a_challenger_better_by_ten_points_has_an_interval_excluding_zero() -> None:
    champion, challenger = _paired_hits()
    found = live.paired_accuracy(champion, challenger)
    assert found.difference.value == pytest.approx(0.1)
    assert 0.0 < found.difference.low < 0.1 < found.difference.high
    # McNemar exact: 100 discordant pairs, all for the challenger.
    assert found.difference.p_value == pytest.approx(binomtest(100, 100, 0.5).pvalue)
    assert "McNemar" in found.difference.test
    assert found.challenger.value - found.champion.value == pytest.approx(0.1)


def test_identical_versions_agree_fully_with_p_value_one() -> None:
    champion, _ = _paired_hits()
    codes = np.where(champion, "a", "b")
    agreement = live.code_agreement(codes, codes)
    assert agreement["rate"]["value"] == 1.0 and agreement["disagreements"] == []
    found = live.paired_accuracy(champion, champion)
    assert found.difference.value == 0.0 and found.difference.p_value == 1.0
    assert found.difference.low == found.difference.high == 0.0
    errors = np.random.default_rng(0).normal(size=300)
    same = live.paired_errors(errors, errors)
    assert same["rmse"].difference.p_value == 1.0 and same["rmse"].ratio is not None
    assert same["rmse"].ratio.value == 1.0


def test_intervals_are_seeded_and_reproducible() -> None:
    champion, challenger = _paired_hits(n=800, gain=40)
    first = live.paired_accuracy(champion, challenger, seed=7)
    assert live.paired_accuracy(champion, challenger, seed=7) == first
    other = live.paired_accuracy(champion, challenger, seed=8)
    assert (other.difference.low, other.difference.high) != (
        first.difference.low,
        first.difference.high,
    )
    arms = live.independent_accuracy(champion[:400], challenger[400:], seed=7)
    assert live.independent_accuracy(champion[:400], challenger[400:], seed=7) == arms


def test_independent_arms_use_fishers_test_and_a_wider_interval() -> None:
    champion, challenger = _paired_hits()
    paired = live.paired_accuracy(champion, challenger)
    arms = live.independent_accuracy(champion, challenger)
    assert "Fisher" in arms.difference.test and arms.difference.p_value < 0.001
    width = arms.difference.high - arms.difference.low
    assert width > paired.difference.high - paired.difference.low
    assert arms.difference.low > 0.0


def test_a_smaller_error_shows_in_rmse_mae_and_their_ratio() -> None:
    rng = np.random.default_rng(1)
    errors = rng.normal(0.0, 2.0, 1500)  # beyond the exact bootstrap: grouped draws
    better = errors * 0.8 + rng.normal(0.0, 0.1, errors.size)
    found = live.paired_errors(errors, better)
    rmse = found["rmse"]
    assert rmse.difference.high < 0.0 and rmse.difference.p_value < 0.01
    assert rmse.ratio is not None and rmse.ratio.high < 0.9
    assert found["mae"].difference.high < 0.0
    arms = live.independent_errors(errors[:700], better[700:])
    assert arms["rmse"].difference.high < 0.0 and "independent" in arms["rmse"].difference.test


def test_value_agreement_counts_within_the_tolerance_and_lists_the_largest() -> None:
    found = live.value_agreement([1.0, 2.0, 3.0, 4.0], [1.0, 2.05, 5.0, 4.0], tolerance=0.1,
                                 keys=["a", "b", "c", "d"])  # fmt: skip
    assert found["rate"]["value"] == 0.75
    assert [row["row"] for row in found["largest"]] == ["c", "b"]
    assert found["difference"]["mean"] == pytest.approx(0.5125)


def test_disagreements_are_counted_champion_to_challenger() -> None:
    found = live.code_agreement(["a", "a", "a", "b"], ["b", "b", "a", "c"])
    assert found["rate"]["value"] == 0.25
    assert [(d["champion"], d["challenger"], d["count"]) for d in found["disagreements"]] == [
        ("a", "b", 2),
        ("b", "c", 1),
    ]


def test_unequal_pairs_and_empty_arms_are_refused() -> None:
    with pytest.raises(InvalidInput, match="equal numbers"):
        live.paired_accuracy([1, 0], [1])
    with pytest.raises(InvalidInput, match="labelled rows"):
        live.independent_accuracy([], [1.0])
