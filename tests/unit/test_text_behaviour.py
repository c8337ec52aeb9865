"""Behaviour checks: the curated cases are unambiguous, perturbations keep the top-1."""

from __future__ import annotations

from collections import defaultdict

import pytest

from mlcycle.core.settings import behaviour_cases, load_settings
from mlcycle.models.fasttext import FastTextClassifier
from mlcycle.models.fasttext.cleaner import default_cleaner
from mlcycle.registry.gates import p99_latency_ms
from mlcycle.tasks.text import behaviour
from mlcycle.tasks.text import nace_vocabulary as vocab
from mlcycle.tasks.text.generator import generate
from mlcycle.tasks.text.label_vocabulary import vocabulary

# The curated cases of the NACE example project (the default project).
DEFAULT_CASES: dict[str, str] = dict(behaviour_cases(load_settings()))


def _phrase_owners() -> dict[str, set[str]]:
    """Cleaned phrase -> the subclasses (or ``family:NAME`` pools) that can emit it,
    over the whole vocabulary: hand-written and derived from the labels."""
    clean = default_cleaner().clean
    owners: dict[str, set[str]] = defaultdict(set)
    words = vocabulary()
    for sub in words.subclasses:
        for phrase in (sub.label, *(p for slot in vocab.SLOTS for p in getattr(sub.words, slot))):
            owners[clean(phrase)].add(sub.code)
    for family, pool in words.families.items():
        for slot in vocab.SLOTS:
            for phrase in getattr(pool, slot):
                owners[clean(phrase)].add(f"family:{family}")
    return owners


@pytest.mark.parametrize(("text", "code"), sorted(DEFAULT_CASES.items()))
def test_curated_cases_belong_to_exactly_their_subclass(text: str, code: str) -> None:
    # A phrase shared by a family pool or another subclass would be a coin toss, not a
    # minimum-functionality check (``boulangerie pâtisserie`` is in the bakery family's
    # pool, which 1071A, 1071C, 1071D and 4724Z all draw from, so it is not in the set).
    assert _phrase_owners()[default_cleaner().clean(text)] == {code}


def test_boulangerie_patisserie_is_ambiguous_in_the_generator() -> None:
    assert len(_phrase_owners()[default_cleaner().clean("boulangerie pâtisserie")]) > 1


def test_perturbations_change_the_text_but_not_what_the_cleaner_sees() -> None:
    text = "Vendeur d'huîtres à Arcachon"
    clean = default_cleaner().clean
    for name, perturb in behaviour.PERTURBATIONS.items():
        changed = perturb(text)
        assert changed != text, name
        assert clean(changed) == clean(text), name


@pytest.fixture(scope="module")
def model() -> FastTextClassifier:
    frame = generate(4000, seed=3)
    params = {"dim": 16, "epoch": 8, "bucket": 10_000, "wordNgrams": 2, "thread": 1}
    return FastTextClassifier(**params).fit(frame["text"].tolist(), frame["nace"].tolist())


def test_checks_on_a_real_classifier(model: FastTextClassifier) -> None:
    texts = generate(50, seed=8)["text"].tolist()
    rate, broken = behaviour.invariance(model, texts)
    assert rate == 1.0 and broken == []  # the model's cleaner folds case, accents, marks
    cases = {"coiffeur": "9602A", "coiffeur ": "0111Z"}  # the second is deliberately wrong
    hit, misses = behaviour.functionality(model, cases)
    assert hit == 0.5 and misses == ["'coiffeur ' -> 9602A, expected 0111Z"]
    report = behaviour.check(model, texts, cases)
    assert report.functionality == 0.5 and report.broken == misses
    assert p99_latency_ms(model, [[text] for text in texts], samples=50) > 0.0
