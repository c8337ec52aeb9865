"""Text input drift against direct per-text computations and scipy."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from mlcycle.models.fasttext.cleaner import default_cleaner
from mlcycle.monitor.results import NoData
from mlcycle.monitor.text import OTHER, TextReference, text_drift, vocabulary
from mlcycle.tasks.text.generator import generate

TOL = {"rel": 1e-6, "abs": 1e-9}


def _words(text: str | None) -> list[str]:
    """The monitor's word space, spelled out one text at a time."""
    folded = unicodedata.normalize("NFKD", (text or "").lower().replace("œ", "oe"))
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return [w for w in re.sub(r"[^a-z]+", " ", bare).split() if len(w) >= 2]


REFERENCE_TEXTS = generate(600, seed=1).text.tolist()
CURRENT_TEXTS = [
    *generate(300, seed=2, drift=True).text.tolist(),
    "",
    None,
    "de la et",  # stop words only: empty after cleaning
    "12 / 34",
    "trottinettes électriques trottinettes",
]


@pytest.fixture(scope="module")
def reference() -> TextReference:
    return TextReference.from_texts(REFERENCE_TEXTS)


def test_reference_from_texts_counts_every_word(reference: TextReference) -> None:
    expected = Counter(w for t in REFERENCE_TEXTS for w in _words(t))
    assert reference.tokens == dict(expected)
    assert reference.total_tokens == sum(expected.values())
    assert reference.rows == len(REFERENCE_TEXTS)


def test_text_drift_matches_per_text_definitions(reference: TextReference) -> None:
    found = text_drift(CURRENT_TEXTS, reference)
    words = [_words(t) for t in CURRENT_TEXTS]
    flat = [w for ws in words for w in ws]
    known = set(reference.tokens)
    assert found.texts == len(CURRENT_TEXTS)
    assert found.oov_rate == pytest.approx(sum(w not in known for w in flat) / len(flat), **TOL)
    assert found.reference_oov_rate == 0.0  # the vocabulary is every reference word

    cleaner = default_cleaner()
    empty = [not cleaner.tokens(t or "") for t in CURRENT_TEXTS]
    assert found.empty_share == pytest.approx(np.mean(empty), **TOL)

    lengths = [len(t or "") for t in CURRENT_TEXTS]
    ref_lengths = [len(t) for t in REFERENCE_TEXTS]
    assert found.length.method == "ks"
    assert found.length.statistic == pytest.approx(ks_2samp(ref_lengths, lengths).pvalue, **TOL)
    assert found.mean_length == pytest.approx(np.mean(lengths))

    current = Counter(flat)
    keys = sorted(known)
    r = np.array([reference.tokens[k] for k in keys] + [0], float)
    c = np.array([current[k] for k in keys] + [sum(current[w] for w in current if w not in known)])
    assert found.tokens.statistic == pytest.approx(jensenshannon(r, c), **TOL)


def test_new_frequent_tokens_explain_the_drift(reference: TextReference) -> None:
    found = text_drift(CURRENT_TEXTS, reference, top=500)
    new = [entry["token"] for entry in found.new_tokens]
    assert "trottinettes" in new
    assert all(token not in reference.tokens for token in new)
    counts = [entry["count"] for entry in found.new_tokens]
    assert counts == sorted(counts, reverse=True)
    assert all(entry["current_share"] > entry["reference_share"] for entry in found.rising_tokens)
    payload = found.to_dict()
    assert payload["tokens"]["method"] == "jensenshannon"


def test_same_distribution_shows_no_token_drift(reference: TextReference) -> None:
    found = text_drift(generate(600, seed=1).text.tolist(), reference)
    assert found.tokens.statistic == pytest.approx(0.0, abs=1e-7)
    assert found.oov_rate == 0.0 and found.new_tokens == []


def test_reference_from_a_profile_keeps_only_the_top_words() -> None:
    texts = generate(3000, seed=1).text.tolist()
    lengths = [len(t) for t in texts]
    counts = Counter(w for t in texts for w in _words(t))
    top = dict(counts.most_common(50))
    quantiles = {str(q): float(np.quantile(lengths, q)) for q in (0.0, 0.1, 0.5, 0.9, 1.0)}
    profile = SimpleNamespace(
        tokens=top, total_tokens=sum(counts.values()), text_length=quantiles, rows=len(lengths)
    )
    reference = TextReference.from_profile(profile)
    assert reference.lengths.size == pytest.approx(len(lengths))
    big = generate(3000, seed=9, drift=True).text.tolist()
    found = text_drift(big, reference)
    assert found.reference_oov_rate == pytest.approx(1 - sum(top.values()) / sum(counts.values()))
    # Large on both sides: the normed Wasserstein distance decides, read off the quantiles.
    assert found.length.method == "wasserstein_norm"
    grid = (np.arange(1000) + 0.5) / 1000
    pseudo = np.interp(grid, [0.0, 0.1, 0.5, 0.9, 1.0], list(quantiles.values()))
    cur = [len(t) for t in big]
    expected = wasserstein_distance(pseudo, cur) / np.std(pseudo)
    assert found.length.statistic == pytest.approx(expected, **TOL)
    assert OTHER not in [entry["token"] for entry in found.rising_tokens]


def test_explicit_vocabulary() -> None:
    reference = TextReference.from_texts(["boulangerie artisanale", "pâtisserie fine"])
    explicit = TextReference(
        reference.tokens, reference.total_tokens, reference.lengths, reference.rows,
        vocabulary=vocabulary(["Boulangerie", "Pâtisserie"]),
    )  # fmt: skip
    found = text_drift(["boulangerie fine", "pâtisserie artisanale"], explicit)
    assert found.oov_rate == 0.5 and found.reference_oov_rate is None


@pytest.mark.parametrize("texts", [[], np.array([], dtype=object)])
def test_empty_window_is_no_data(reference: TextReference, texts: object) -> None:
    with pytest.raises(NoData, match="no texts"):
        text_drift(texts, reference)


def test_texts_without_words(reference: TextReference) -> None:
    found = text_drift(["", None, "42", "!!"], reference)
    assert found.empty_share == 1.0 and found.oov_rate == 0.0
    assert found.tokens is None and found.to_dict()["tokens"] is None
