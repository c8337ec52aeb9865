"""The fastText-style engine: learning, ranking, persistence, behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlcycle.core.errors import InvalidInput, ModelError
from mlcycle.models.fasttext import FastTextClassifier, FastTextParams
from mlcycle.tasks.text.generator import generate

# 4,000 generated rows hold some 570 of the 732 NAF subclasses, most seen a few times:
# a learning rate above the default 0.2 fits them in 20 epochs.
FAST = {"dim": 32, "epoch": 20, "bucket": 20_000, "thread": 1, "lr": 0.5}


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[str]]:
    frame = generate(4000, seed=7)
    return frame["text"].tolist(), frame["nace"].tolist()


@pytest.fixture(scope="module")
def model(data: tuple[list[str], list[str]]) -> FastTextClassifier:
    texts, labels = data
    return FastTextClassifier(**FAST).fit(texts, labels)


def test_learns_well_above_chance(model: FastTextClassifier, data) -> None:
    texts, labels = data
    top1 = model.predict(texts, k=1).codes[:, 0]
    chance = max(labels.count(c) for c in set(labels)) / len(labels)
    assert np.mean(top1 == np.asarray(labels)) > max(0.6, 3 * chance)


def test_ranked_output_shape_and_order(model: FastTextClassifier) -> None:
    pred = model.predict(["coiffeur", "boulangerie patisserie", ""], k=5)
    assert pred.codes.shape == (3, 5) and pred.probs.shape == (3, 5)
    assert np.all(np.diff(pred.probs, axis=1) <= 1e-7)  # best first
    assert np.all((pred.probs >= 0) & (pred.probs <= 1))
    assert all(len(set(row)) == 5 for row in pred.codes)  # no code twice
    assert pred.empty.tolist() == [False, False, True]  # nothing left of ""


def test_k_is_clamped_to_label_count(model: FastTextClassifier) -> None:
    pred = model.predict(["coiffeur"], k=10_000)
    assert pred.codes.shape == (1, len(model.labels))
    assert set(pred.codes[0]) == set(model.labels)


def test_batch_equals_one_by_one(model: FastTextClassifier, data) -> None:
    texts = [*data[0][:40], "", "zzqx inconnu", "un mot"]
    batch = model.predict(texts, k=3)
    for i, text in enumerate(texts):
        alone = model.predict([text], k=3)
        assert list(alone.codes[0]) == list(batch.codes[i])
        np.testing.assert_allclose(alone.probs[0], batch.probs[i], rtol=1e-5)


@pytest.mark.parametrize(
    ("original", "variant"),
    [
        ("coiffure et soins esthetiques", "COIFFURE ET SOINS ESTHETIQUES"),
        ("boulangerie patisserie", "Boulangerie-Pâtisserie !!"),
        ("vente de fruits et legumes", "vente de fruits, et légumes 75011"),
        ("restaurant traditionnel", "  restaurant    traditionnel  "),
    ],
)
def test_casing_accents_punctuation_do_not_change_prediction(model, original, variant) -> None:
    pred = model.predict([original, variant], k=3)
    assert list(pred.codes[0]) == list(pred.codes[1])
    np.testing.assert_allclose(pred.probs[0], pred.probs[1], rtol=1e-6)


@pytest.mark.parametrize("loss", ["softmax", "hs"])
def test_other_losses_learn_and_give_distributions(loss: str, data) -> None:
    texts, labels = data
    model = FastTextClassifier(**{**FAST, "loss": loss}).fit(texts, labels)
    full = model.predict(texts[:50], k=len(model.labels))
    np.testing.assert_allclose(full.probs.sum(axis=1), 1.0, rtol=1e-3)
    assert np.mean(model.predict(texts, k=1).codes[:, 0] == np.asarray(labels)) > 0.6


def test_save_load_round_trip(model: FastTextClassifier, tmp_path: Path, data) -> None:
    model.save(tmp_path / "m")
    loaded = FastTextClassifier.load(tmp_path / "m")
    texts = data[0][:200]
    a, b = model.predict(texts, k=5), loaded.predict(texts, k=5)
    assert (a.codes == b.codes).all()
    np.testing.assert_array_equal(a.probs, b.probs)
    assert not list((tmp_path / "m").glob(".*.tmp"))  # no temp files left behind


def test_single_thread_training_is_reproducible(data) -> None:
    texts, labels = data[0][:800], data[1][:800]
    a = FastTextClassifier(**FAST, seed=3).fit(texts, labels).predict(texts[:50], k=3)
    b = FastTextClassifier(**FAST, seed=3).fit(texts, labels).predict(texts[:50], k=3)
    np.testing.assert_array_equal(a.probs, b.probs)


def test_load_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="Cannot read"):
        FastTextClassifier.load(tmp_path)


def test_untrained_model_refuses_to_predict() -> None:
    with pytest.raises(ModelError):
        FastTextClassifier().predict(["x"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dim": 0}, "dim"),
        ({"loss": "hinge"}, "loss"),
        ({"minn": 5, "maxn": 3}, "minn"),
        ({"colour": 1}, "Unknown"),
        ({"epoch": "many"}, "not a valid"),
        ({"dsub": 0}, "dsub must be between 1 and dim"),
        ({"dim": 8, "dsub": 9}, "dsub must be between 1 and dim"),
        ({"cutoff": -1}, "cutoff must be 0"),
        ({"retrain": -2}, "retrain must be 0"),
        ({"quantize": "maybe"}, "quantize='maybe' is not a valid bool"),
        ({"quantize": True, "prune": False}, "quantize needs prune"),
    ],
)
def test_bad_parameters_are_one_clear_error(params, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        FastTextParams.from_mapping(params)


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("False", False), ("1", True), (0, False), ("1.0", True)]
)
def test_switches_read_from_the_command_line_or_yaml(raw, value) -> None:
    assert FastTextParams.from_mapping({"quantize": raw}).quantize is value


def test_fit_refuses_a_single_class() -> None:
    with pytest.raises(InvalidInput, match="two distinct labels"):
        FastTextClassifier(**FAST).fit(["a b", "c d"], ["0111Z", "0111Z"])


def test_prediction_features_match_training_features(model: FastTextClassifier, data) -> None:
    """The numba kernel and the numpy encoder must see the same rows for a text."""
    from mlcycle.models.fasttext.forward import flat
    from mlcycle.models.fasttext.kernels import _gather_rows
    from mlcycle.models.fasttext.vocab import encode

    tokens = [model.cleaner.tokens(t) for t in [*data[0][:30], "zzqx mot inconnu", ""]]
    enc = encode(tokens, model.vocab)
    buf = np.empty(10_000, dtype=np.int64)
    p = model.params
    nwords = np.int64(model.vocab.size)
    for i in range(len(tokens)):
        n = _gather_rows(
            i,
            enc.type_ids,
            enc.text_offsets,
            enc.type_hashes,
            enc.type_rows,
            enc.type_row_offsets,
            p.wordNgrams,
            nwords,
            np.uint64(p.bucket),
            buf,
        )
        expected = model._rows.matrix()[buf[:n]].mean(axis=0)
        np.testing.assert_allclose(
            model._encoder.hidden(flat([tokens[i]]))[0][0], expected, atol=1e-5
        )
