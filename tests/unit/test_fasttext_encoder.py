"""The encoder's cache of unknown tokens: full caches, huge batches, many threads."""

from __future__ import annotations

import numpy as np
import pytest

from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.fasttext.forward import Encoder, flat
from mlcycle.tasks.text.generator import generate
from tests.threads import in_threads

STEMS = ["coiffur", "boulanger", "restaur", "commerc", "vent"]
WORDS = [f"zq{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(300)]


@pytest.fixture(scope="module")
def model() -> FastTextClassifier:
    frame = generate(2000, seed=3)
    params = {"dim": 16, "epoch": 5, "bucket": 5000, "thread": 1, "wordNgrams": 2}
    return FastTextClassifier(**params).fit(frame["text"].tolist(), frame["nace"].tolist())


def _encoder(model: FastTextClassifier, capacity: int) -> Encoder:
    return Encoder(model.vocab, model._rows, model.params.wordNgrams, unknown_capacity=capacity)


def _hidden(encoder: Encoder, texts: list[list[str]]) -> np.ndarray:
    return encoder.hidden(flat(texts))[0]


def _texts(seed: int, n: int) -> list[list[str]]:
    """Token lists mixing stems of the training texts with words no model has seen."""
    rng = np.random.default_rng(seed)
    return [[*rng.choice(WORDS, 3), *rng.choice(STEMS, 2)] for _ in range(n)]


def test_a_batch_with_more_unknown_words_than_the_cache_holds(model) -> None:
    texts = _texts(1, 200)  # about 300 distinct unknown words, a cache of 10
    small, roomy = _encoder(model, 10), _encoder(model, 10_000)
    np.testing.assert_array_equal(_hidden(small, texts), _hidden(roomy, texts))
    one_by_one = np.vstack([_hidden(small, [t]) for t in texts])  # renewing as it goes
    np.testing.assert_array_equal(one_by_one, _hidden(roomy, texts))


def test_threads_renewing_the_cache_get_the_single_thread_answers(model) -> None:
    texts = _texts(2, 400)
    expected = _hidden(_encoder(model, 10_000), texts)
    shared = _encoder(model, 40)  # renewed again and again under the readers
    results = in_threads(lambda worker: np.vstack([_hidden(shared, [t]) for t in texts[worker::4]]))
    for worker, result in enumerate(results):
        assert isinstance(result, np.ndarray), result
        np.testing.assert_array_equal(result, expected[worker::4])
