"""Compact models: pruning that changes no prediction, product quantization, formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlcycle.core.errors import InvalidInput, ModelError
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.tasks.text.generator import generate

SMALL = {"dim": 32, "epoch": 20, "bucket": 20_000, "thread": 1, "seed": 4}
FORMAT1 = Path(__file__).parent / "data" / "fasttext_format1"
# Words no generated text holds: their character n-grams land in rows training never saw.
UNSEEN = ["zzqxw vbkjh", "plombier zzqxw chauffagiste", "", "!!!", "wxyzzy"]


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[str], list[str], np.ndarray]:
    # The 40 most frequent codes of the generated set: a few thousand rows teach them
    # well (the whole nomenclature's 732 would need far more), so a lost point shows.
    frame = generate(8000, seed=9)
    frequent = frame["nace"].value_counts().index[:40]
    frame = frame[frame["nace"].isin(frequent)].head(5000)
    texts, labels = frame["text"].tolist(), frame["nace"].tolist()
    return texts[:4000], labels[:4000], texts[4000:] + UNSEEN, np.asarray(labels[4000:])


@pytest.fixture(scope="module")
def full(data) -> FastTextClassifier:
    return FastTextClassifier(**SMALL, prune=False).fit(data[0], data[1])


@pytest.fixture(scope="module")
def pruned(data) -> FastTextClassifier:
    return FastTextClassifier(**SMALL).fit(data[0], data[1])


@pytest.fixture(scope="module")
def quantized(data) -> FastTextClassifier:
    return FastTextClassifier(**SMALL, quantize=True, cutoff=6000, qout=True).fit(data[0], data[1])


def _same(a: FastTextClassifier, b: FastTextClassifier, texts: list[str]) -> None:
    """Every label ranked alike, with bit-identical probabilities."""
    k = len(a.labels)
    left, right = a.predict(texts, k=k), b.predict(texts, k=k)
    assert (left.codes == right.codes).all()
    np.testing.assert_array_equal(left.probs, right.probs)


def _top1(model: FastTextClassifier, data) -> float:
    return float(np.mean(model.predict(data[2][: len(data[3])]).codes[:, 0] == data[3]))


def _bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir())


# -- pruning ---------------------------------------------------------------------------


def test_pruned_model_keeps_fewer_rows(full, pruned) -> None:
    assert full._rows.kind == "dense" and pruned._rows.kind == "pruned"
    assert len(pruned._rows.kept) < 0.7 * full._rows.n_rows
    # The unseen words do reach rows the pruned model dropped: the test below means it.
    assert any(pruned._rows.remap[r] < 0 for r in pruned.vocab.token_rows("zzqxw", -1))


def test_pruned_model_predicts_exactly_as_the_full_one(full, pruned, data) -> None:
    """Same seed, one thread: the same training; pruning must not change one bit."""
    _same(full, pruned, data[2])


def test_dropped_rows_are_regenerated_bit_for_bit(full, pruned) -> None:
    np.testing.assert_array_equal(pruned._rows.matrix(), full._rows.table)


def test_pruning_a_trained_model_changes_no_prediction(data) -> None:
    model = FastTextClassifier(**{**SMALL, "seed": 8}, prune=False).fit(data[0], data[1])
    before = model.predict(data[2], k=5)
    model.prune()
    after = model.predict(data[2], k=5)
    assert model._rows.kind == "pruned" and model.params.prune
    assert (before.codes == after.codes).all()
    np.testing.assert_array_equal(before.probs, after.probs)


# -- quantization ----------------------------------------------------------------------


def test_quantized_model_stays_close_to_the_full_one(full, quantized, data) -> None:
    assert quantized._rows.kind == "quantized"
    assert len(quantized._rows.kept) <= 6000 + 1  # the cutoff, plus the end-of-text row
    assert quantized._rows.codes.shape[1] == SMALL["dim"] // 2  # dsub 2: a byte per pair
    gap = _top1(full, data) - _top1(quantized, data)
    assert _top1(full, data) > 0.5
    assert gap <= 0.02, f"quantization lost {100 * gap:.1f} points of top-1"


def test_quantized_batch_equals_one_by_one(quantized, data) -> None:
    texts = data[2][-40:]
    batch = quantized.predict(texts, k=3)
    for i, text in enumerate(texts):
        alone = quantized.predict([text], k=3)
        assert list(alone.codes[0]) == list(batch.codes[i])
        np.testing.assert_allclose(alone.probs[0], batch.probs[i], rtol=1e-5)


def test_quantize_method_matches_fit(data) -> None:
    """``quantize()`` on a trained model is what ``fit`` with ``quantize: true`` does."""
    params = {**SMALL, "quantize": True, "retrain": 2}
    fitted = FastTextClassifier(**params).fit(data[0], data[1])
    later = FastTextClassifier(**{**params, "quantize": False}, prune=False)
    later.fit(data[0], data[1]).quantize(data[0], data[1])
    assert later.params.quantize and later.params.prune
    _same(fitted, later, data[2])


def test_quantize_refuses_a_quantized_model_and_foreign_labels(quantized, data) -> None:
    with pytest.raises(InvalidInput, match="quantized already"):
        quantized.quantize(data[0], data[1])
    model = FastTextClassifier(**{**SMALL, "epoch": 1}).fit(data[0][:500], data[1][:500])
    with pytest.raises(InvalidInput, match="'9999Z' is not one"):
        model.quantize(["plombier"], ["9999Z"])
    with pytest.raises(ModelError, match="not trained"):
        FastTextClassifier().quantize(["a"], ["b"])


def test_kmeans_learns_the_clusters_it_is_given() -> None:
    from mlcycle.models.fasttext.quantize import decode, product_quantize

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(256, 2)).astype(np.float32) * 10
    points = centres[rng.integers(0, 256, 5000)] + rng.normal(size=(5000, 2)) * 0.01
    codes, centroids = product_quantize(points.astype(np.float32), 2, seed=1, threads=2)
    error = np.linalg.norm(decode(codes, centroids, 2) - points, axis=1)
    assert codes.dtype == np.uint8 and centroids.shape == (1, 256, 2)
    # 256 well-separated clusters: nearly every point decodes next to its own centre
    # (Lloyd's from random points, without k-means++, left a third of them astray).
    assert np.mean(error < 0.1) > 0.95


def test_a_width_dsub_does_not_divide_is_quantized_whole() -> None:
    from mlcycle.models.fasttext.quantize import decode, product_quantize

    vectors = np.random.default_rng(1).normal(size=(300, 7)).astype(np.float32)
    codes, centroids = product_quantize(vectors, 3, seed=0, threads=1)
    assert codes.shape == (300, 3) and centroids.shape == (3, 256, 3)
    decoded = decode(codes, centroids, 7)
    assert decoded.shape == (300, 7)
    assert np.abs(decoded - vectors).mean() < 0.5 * np.abs(vectors).mean()


# -- saving and loading ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["full", "pruned", "quantized"])
def test_round_trip_keeps_every_prediction(name, request, tmp_path: Path, data) -> None:
    model = request.getfixturevalue(name)
    model.save(tmp_path / name)
    loaded = FastTextClassifier.load(tmp_path / name)
    assert loaded._rows.kind == model._rows.kind and loaded.params == model.params
    _same(model, loaded, data[2])
    assert not list((tmp_path / name).glob(".*.tmp"))


def test_sizes_on_disk(full, pruned, quantized, tmp_path: Path) -> None:
    sizes = {}
    for name, model in (("full", full), ("pruned", pruned), ("quantized", quantized)):
        model.save(tmp_path / name)
        sizes[name] = _bytes(tmp_path / name)
    rows = full._rows.n_rows * SMALL["dim"] * 4
    assert sizes["full"] > rows
    assert sizes["pruned"] < 0.7 * sizes["full"]
    assert sizes["quantized"] < 0.15 * sizes["full"]
    codes = (tmp_path / "quantized" / "codes.npy").stat().st_size
    assert codes <= 6001 * SMALL["dim"] // 2 + 128  # a byte per pair of floats, a header
    assert (tmp_path / "quantized" / "input.npy").stat().st_size <= 128  # no float rows


def test_a_format1_model_still_loads_and_answers_as_before() -> None:
    """A model saved by the engine before format 2 (tests/unit/data/fasttext_format1)."""
    answers = json.loads((FORMAT1 / "answers.json").read_text())
    model = FastTextClassifier.load(FORMAT1 / "model")
    pred = model.predict(answers["texts"], k=3)
    assert pred.codes.tolist() == answers["codes"]
    np.testing.assert_allclose(pred.probs, answers["probs"], rtol=1e-5)
    assert model._rows.kind == "dense"


def test_a_format1_model_saves_as_format2(tmp_path: Path) -> None:
    old = FastTextClassifier.load(FORMAT1 / "model")
    old.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "fasttext.json").read_text())["format"] == 2
    texts = json.loads((FORMAT1 / "answers.json").read_text())["texts"]
    _same(old, FastTextClassifier.load(tmp_path / "again"), texts)


def test_an_unknown_format_is_one_clear_error(tmp_path: Path) -> None:
    shutil.copytree(FORMAT1 / "model", tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "fasttext.json").read_text())
    (tmp_path / "m" / "fasttext.json").write_text(json.dumps({**meta, "format": 9}))
    with pytest.raises(ModelError, match=r"format 9 .* is not supported"):
        FastTextClassifier.load(tmp_path / "m")


def test_a_quantized_model_missing_its_codes_is_one_clear_error(quantized, tmp_path) -> None:
    quantized.save(tmp_path / "q")
    (tmp_path / "q" / "codes.npy").unlink()
    with pytest.raises(ModelError, match="Cannot read a fastText model"):
        FastTextClassifier.load(tmp_path / "q")


def test_extreme_scores_give_probabilities_without_overflow(pruned, data) -> None:
    """A one-vs-all logit below -88 overflowed float32 ``exp`` (a RuntimeWarning)."""
    import copy
    import warnings

    loud = copy.copy(pruned)
    loud._out = pruned._out * np.float32(1000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = loud.predict([*data[2][:20], ""], k=len(pruned.labels))
    assert np.isfinite(pred.probs).all() and (pred.probs >= 0).all() and (pred.probs <= 1).all()
    assert pred.probs.min() == 0.0 and pred.probs.max() == 1.0


def test_a_model_fitted_again_without_quantize_saves_its_new_classifier(data, tmp_path) -> None:
    from dataclasses import replace

    params = {**SMALL, "epoch": 2, "quantize": True, "qout": True, "retrain": 1}
    model = FastTextClassifier(**params).fit(data[0][:1500], data[1][:1500])
    model.params = replace(model.params, quantize=False, qout=False)
    model.fit(data[0][:1500], data[1][:1500])
    model.save(tmp_path / "again")
    assert not (tmp_path / "again" / "output_codes.npy").exists()
    _same(model, FastTextClassifier.load(tmp_path / "again"), data[2][:50])
