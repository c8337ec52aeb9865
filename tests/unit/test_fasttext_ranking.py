"""The k best classes per row: what a stable descending sort would give, without it."""

import numpy as np
import pytest

from mlcycle.models.fasttext.ranking import top_k


@pytest.mark.parametrize("k", [1, 2, 5, 31, 32])
def test_top_k_is_the_head_of_a_stable_descending_sort(k):
    rng = np.random.default_rng(k)
    # Few distinct values, so ties are everywhere and their order is tested too.
    scores = rng.integers(-4, 5, size=(200, 32)).astype(np.float32)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(top_k(scores, k), expected)


def test_top_k_on_continuous_scores_of_many_classes():
    scores = np.random.default_rng(0).normal(size=(50, 732)).astype(np.float32)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(top_k(scores, 5), expected)


def test_a_nan_score_ranks_below_every_number():
    scores = np.array([[np.nan, 0.1, -3.0, np.nan, 2.0]], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [[4, 1, 2]]
    assert top_k(scores, 5).tolist()[0][:3] == [4, 1, 2]
    assert sorted(top_k(scores, 5).tolist()[0][3:]) == [0, 3]


def test_every_row_of_an_empty_batch():
    assert top_k(np.empty((0, 7), dtype=np.float32), 3).shape == (0, 3)
