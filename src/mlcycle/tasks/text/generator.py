"""Embedded generator of French company-activity descriptions labelled with NAF codes.

Every NAF rev.2 subclass (732) can be drawn. The most frequent 83 speak with the
hand-written words of :mod:`~mlcycle.tasks.text.nace_vocabulary`; every other one with
words derived from its own official label (:mod:`~mlcycle.tasks.text.label_vocabulary`:
``Fabrication de pompes et compresseurs`` gives ``fabricant de pompes``...).

Each row is built like a registry clerk would read it: a core phrase from one of a few
templates (``coiffeur``, ``vente au détail de pain``, ``boulangerie, fabrication de
croissants``), sometimes a second activity of another class, sometimes statute
boilerplate, then the noise real Sirene text carries: upper case, dropped accents,
abbreviations, typos, stray digits. A small share of labels is swapped for a
confusable neighbour, as human coders disagree.

Class frequencies follow Zipf's law (the class of rank r drawn with probability
proportional to 1/r) over a fixed rank order: the hand-written classes, the most
common first (``FREQUENT_FIRST``: restaurants, hairdressers, housing rental, building
trades, consulting, software...; then ``WRITTEN_REST``, with one exception it
explains), derived classes known to be common (``DERIVED_FREQUENT``: holdings,
property administration, finishing trades...), then all the others in a fixed
shuffled order; drift reorders each of the two tiers. This is an assumption, not a
measurement: no register data ships with mlcycle or is downloaded. It only follows
what is generally known of French registers: a few hundred subclasses make most of
them, led by retail, restaurants, construction trades, consulting and real estate.
Under it the 20 most frequent subclasses make half the rows, the 200 most frequent
82%, and the rarest about 19 rows in 100,000 (732 times fewer than the first), so a
sample of 100,000 rows holds every subclass.

Everything is drawn from one ``numpy.random.Generator`` in a fixed order, over words
held in tuples (never sets, whose order depends on hash randomisation), so the same
``(rows, seed, drift)`` gives the same frame in any process. Slots are
picked with vectorised index arithmetic over flattened word pools; only the noise
touches rows one by one, and only the rows it changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from mlcycle.core.errors import InvalidInput
from mlcycle.tasks.text import nace_vocabulary as vocab
from mlcycle.tasks.text.activity_columns import draw_columns
from mlcycle.tasks.text.label_vocabulary import elided, starts_with_vowel, vocabulary

# Difficulty knobs, set when the generator had 83 classes (a TF-IDF + linear model near
# 82% top-1); over all 732 the demo's fastText model reaches about 75% on 30,000 rows.
_ZIPF_EXPONENT = 1.0  # Zipf: the most frequent class 732x the rarest
_FAMILY_SHARE = 0.4  # chance a slot takes its word from the shared family pool
_SECONDARY_RATE = 0.15  # rows that mention a second activity
_LABEL_NOISE = 0.04  # rows labelled with a confusable neighbour
_TREND_RATE = 0.45  # drift rows (of classes with trends) that use new vocabulary

_SLOT_OF = {"head": "heads", "product": "products", "qualifier": "qualifiers"}


@dataclass(frozen=True)
class _Pools:
    """All pools of one slot flattened in one array; pool ``p`` is a slice of it."""

    items: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray


@dataclass(frozen=True)
class _Tables:
    codes: np.ndarray
    labels: np.ndarray
    family: np.ndarray  # class index -> pool id of its family
    slots: dict[str, _Pools]
    elided: np.ndarray  # activities ready to meet a product starting with a vowel
    vowel: np.ndarray  # per product item: does it start with a vowel sound
    neighbours: _Pools  # class index -> indices of the other members of its family


def _flatten(pools: list[tuple]) -> _Pools:
    sizes = np.array([len(pool) for pool in pools], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    items = np.empty(int(sizes.sum()), dtype=object)
    items[:] = [item for pool in pools for item in pool]
    return _Pools(items, offsets, sizes)


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    words = vocabulary()
    subclasses = words.subclasses
    family_names = list(words.families)
    n = len(subclasses)
    slots = {
        slot: _flatten(
            [getattr(s.words, slot) for s in subclasses]
            + [getattr(words.families[f], slot) for f in family_names]
        )
        for slot in vocab.SLOTS
    }
    slots["trends"] = _flatten([s.words.trends for s in subclasses])
    family_of = {name: n + i for i, name in enumerate(family_names)}
    members: dict[str, list[int]] = {}
    for i, s in enumerate(subclasses):
        members.setdefault(s.family, []).append(i)
    mates = [tuple(j for j in members[s.family] if j != i) for i, s in enumerate(subclasses)]
    return _Tables(
        codes=np.array([s.code for s in subclasses], dtype=object),
        labels=np.array([s.label for s in subclasses], dtype=object),
        family=np.array([family_of[s.family] for s in subclasses], dtype=np.int64),
        slots=slots,
        elided=np.array([elided(a) for a in slots["activities"].items], dtype=object),
        vowel=np.array([starts_with_vowel(p) for p in slots["products"].items]),
        neighbours=_flatten(mates),
    )


def known_codes() -> tuple[str, ...]:
    """The subclass codes the generator can emit (every NAF rev.2 subclass), in code order."""
    return tuple(s.code for s in vocabulary().subclasses)


def class_weights(drift: bool = False) -> np.ndarray:
    """Zipf-like class probabilities, aligned with :func:`known_codes`.

    The rank order is an assumption (see the module docstring): the hand-written
    subclasses in the order the vocabulary gives, the derived ones known to be common,
    then every other subclass in a fixed shuffled order.

    Args:
        drift: Use the shifted mix: another rank order and surging new-economy classes.

    Returns:
        Probabilities summing to one.
    """
    return _class_weights(drift).copy()


@lru_cache(maxsize=2)
def _class_weights(drift: bool) -> np.ndarray:
    codes = known_codes()
    written = [*vocab.FREQUENT_FIRST, *vocab.WRITTEN_REST]
    known = {*written, *vocab.DERIVED_FREQUENT}
    derived = [*vocab.DERIVED_FREQUENT, *_shuffled([c for c in codes if c not in known], 7)]
    if drift:  # another mix of the same economy: the ranks move within each tier
        written, derived = _shuffled(written, 11), _shuffled(derived, 11)
    rank_of = {code: rank for rank, code in enumerate([*written, *derived])}
    rank = np.array([rank_of[c] for c in codes], dtype=np.float64)
    weights = 1.0 / (rank + 1.0) ** _ZIPF_EXPONENT
    if drift:
        weights[[codes.index(c) for c in vocab.DRIFT_SURGING]] *= 4.0
    return weights / weights.sum()


def _shuffled(codes: list[str], seed: int) -> list[str]:
    return [codes[i] for i in np.random.default_rng(seed).permutation(len(codes))]


def _pick(rng: np.random.Generator, pools: _Pools, pool_ids: np.ndarray) -> np.ndarray:
    """Uniform item index inside each row's pool."""
    u = rng.random(len(pool_ids))
    return pools.offsets[pool_ids] + (u * pools.sizes[pool_ids]).astype(np.int64)


def _word_index(
    rng: np.random.Generator, tables: _Tables, slot: str, classes: np.ndarray
) -> np.ndarray:
    """Item indices for a slot, drawn from the class pool or its family's shared pool."""
    pools = tables.slots[slot]
    if slot == "trends":
        return _pick(rng, pools, classes)
    family = tables.family[classes]
    use_family = rng.random(len(classes)) < _FAMILY_SHARE
    pool_ids = np.where(use_family, family, classes)
    # A single-member family has an empty pool: fall back to the class's own words.
    pool_ids = np.where(pools.sizes[pool_ids] == 0, classes, pool_ids)
    return _pick(rng, pools, pool_ids)


def _slot_text(
    rng: np.random.Generator, tables: _Tables, name: str, classes: np.ndarray
) -> np.ndarray:
    if name == "label":
        return tables.labels[classes]
    if name == "ap":
        act = _word_index(rng, tables, "activities", classes)
        prod = _word_index(rng, tables, "products", classes)
        plain = tables.slots["activities"].items[act] + " "
        joined = np.where(tables.vowel[prod], tables.elided[act], plain)
        return joined + tables.slots["products"].items[prod]
    slot = _SLOT_OF.get(name, name + "s")
    return tables.slots[slot].items[_word_index(rng, tables, slot, classes)]


def _render(
    rng: np.random.Generator,
    tables: _Tables,
    templates: tuple[tuple[str, float], ...],
    classes: np.ndarray,
) -> np.ndarray:
    """Fill one template per row; rows are grouped by template so each slot is vectorised."""
    probs = np.array([w for _, w in templates])
    chosen = rng.choice(len(templates), size=len(classes), p=probs / probs.sum())
    out = np.empty(len(classes), dtype=object)
    for k, (template, _) in enumerate(templates):
        rows = np.flatnonzero(chosen == k)
        if rows.size == 0:
            continue
        text = np.full(rows.size, "", dtype=object)
        for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
            # re.split puts literal text at even positions and slot names at odd ones.
            text = text + (part if i % 2 == 0 else _slot_text(rng, tables, part, classes[rows]))
        out[rows] = text
    return out


def _neighbour_or_random(
    rng: np.random.Generator, tables: _Tables, classes: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """A family mate of each class where one exists, else a class drawn from the mix."""
    has_mate = tables.neighbours.sizes[classes] > 0
    mates = _pick(rng, tables.neighbours, classes)
    mate_class = tables.neighbours.items[np.minimum(mates, len(tables.neighbours.items) - 1)]
    random_class = rng.choice(len(weights), size=len(classes), p=weights)
    return np.where(has_mate, mate_class, random_class).astype(np.int64)


def _add_secondary(
    rng: np.random.Generator,
    tables: _Tables,
    texts: np.ndarray,
    classes: np.ndarray,
    weights: np.ndarray,
) -> None:
    """Mention a second activity, often a confusable neighbour's, on some rows."""
    rows = np.flatnonzero(rng.random(len(texts)) < _SECONDARY_RATE)
    near = _neighbour_or_random(rng, tables, classes[rows], weights)
    far = rng.choice(len(weights), size=rows.size, p=weights)
    other = np.where(rng.random(rows.size) < 0.5, near, far)
    second = _render(rng, tables, vocab.SECONDARY_TEMPLATES, other)
    connectors = np.array(vocab.SECONDARY_CONNECTORS, dtype=object)
    glue = connectors[rng.integers(len(connectors), size=rows.size)]
    # The main activity usually comes first, but registries do not guarantee it.
    main_first = rng.random(rows.size) < 0.85
    texts[rows] = np.where(main_first, texts[rows] + glue + second, second + glue + texts[rows])


def _add_affixes(rng: np.random.Generator, texts: np.ndarray, drift: bool) -> None:
    """Wrap some rows in statute boilerplate; in drift mode add new-economy qualifiers."""
    n = len(texts)
    for words, rate, before in (
        (vocab.BOILERPLATE_PREFIXES, 0.10, True),
        (vocab.BOILERPLATE_SUFFIXES, 0.10, False),
        (vocab.DRIFT_QUALIFIERS, 0.15 if drift else 0.0, False),
    ):
        rows = np.flatnonzero(rng.random(n) < rate)
        picked = np.array(words, dtype=object)[rng.integers(len(words), size=rows.size)]
        texts[rows] = picked + " " + texts[rows] if before else texts[rows] + " " + picked


def _apply_trends(
    rng: np.random.Generator, tables: _Tables, texts: np.ndarray, classes: np.ndarray
) -> None:
    """Rewrite some drift rows with the new vocabulary of their class."""
    has_trend = tables.slots["trends"].sizes[classes] > 0
    rows = np.flatnonzero(has_trend & (rng.random(len(texts)) < _TREND_RATE))
    texts[rows] = _render(rng, tables, vocab.TREND_TEMPLATES, classes[rows])


# Accented letters mapped to their base letter (é -> e), ligatures spelled out (œ -> oe).
_ACCENTS = str.maketrans(
    {ch: unicodedata.normalize("NFKD", ch)[0] for ch in "àâäáãéèêëîïíôöóûüùúçÀÂÄÉÈÊËÎÏÔÖÛÜÙÇ"}
    | {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "²": "2"}
)
_ABBREVIATION = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, vocab.ABBREVIATIONS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)


def _abbreviate(text: str) -> str:
    return _ABBREVIATION.sub(
        lambda m: vocab.ABBREVIATIONS.get(m.group(0).lower(), m.group(0)), text
    )


def _typo(text: str, u: np.ndarray) -> str:
    """Swap, drop or double one letter, as fast typing does."""
    i = int(u[0] * (len(text) - 1))
    if len(text) < 4 or not text[i].isalpha():
        return text
    kind = int(u[1] * 3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def _stray(text: str, u: np.ndarray) -> str:
    """Leftovers of addresses, list numbering and form filling around the activity."""
    number = int(u[1] * 99_999)
    pattern = vocab.STRAY_PATTERNS[int(u[0] * len(vocab.STRAY_PATTERNS))]
    return pattern.format(t=text, n=number, n1=number % 10, n2=number % 100, n3=number % 1000)


def _recase(text: str, u: float, strip: bool, apostrophe: bool) -> str:
    if u < 0.30:  # Sirene exports: upper case, mostly without accents or apostrophes
        text = text.translate(_ACCENTS) if u < 0.25 else text
        text = text.upper()
        return text.replace("'", " ") if apostrophe else text
    text = text.translate(_ACCENTS) if strip else text
    if u < 0.45:
        return text.lower()
    if u < 0.75:
        return text[:1].upper() + text[1:]
    return text


def _apply_noise(rng: np.random.Generator, texts: np.ndarray) -> list[str]:
    """Abbreviations, case, accents, typos and stray characters; draws come first."""
    n = len(texts)
    abbreviated = np.flatnonzero(rng.random(n) < 0.12)
    case_u = rng.random(n)
    strip = rng.random(n) < 0.35
    apostrophe = rng.random(n) < 0.7
    typo_rows = np.flatnonzero(rng.random(n) < 0.08)
    typo_u = rng.random((typo_rows.size, 5))
    stray_rows = np.flatnonzero(rng.random(n) < 0.07)
    stray_u = rng.random((stray_rows.size, 2))
    out: list[str] = texts.tolist()
    for i in abbreviated.tolist():
        out[i] = _abbreviate(out[i])
    out = [
        _recase(t, u, s, a)
        for t, u, s, a in zip(
            out, case_u.tolist(), strip.tolist(), apostrophe.tolist(), strict=True
        )
    ]
    for i, u in zip(typo_rows.tolist(), typo_u, strict=True):
        out[i] = _typo(out[i], u)
        if u[4] < 0.3:
            out[i] = _typo(out[i], u[2:4])
    for i, u in zip(stray_rows.tolist(), stray_u, strict=True):
        out[i] = _stray(out[i], u)
    return out


def _noisy_labels(
    rng: np.random.Generator, tables: _Tables, classes: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Relabel a few rows with a family mate, as two coders would disagree."""
    labels = classes.copy()
    rows = np.flatnonzero(rng.random(len(classes)) < _LABEL_NOISE)
    rows = rows[tables.neighbours.sizes[classes[rows]] > 0]
    labels[rows] = _neighbour_or_random(rng, tables, classes[rows], weights)
    return labels


def generate(
    rows: int, seed: int, drift: bool = False, extra_columns: bool = False
) -> pd.DataFrame:
    """Generate labelled French activity descriptions.

    Args:
        rows: Number of rows, at least 1.
        seed: Seed of the random generator; the same arguments give the same frame.
        drift: Shift the class mix and bring in vocabulary the normal mode never uses
            (e-commerce, VTC, dark kitchens...), over the same set of codes.
        extra_columns: Add the registry columns ``type_``, ``nature``, ``surface`` and
            ``event``, which carry some signal on the activity
            (:mod:`~mlcycle.tasks.text.activity_columns`); the texts and codes are the
            same either way.

    Returns:
        A frame with a ``text`` column (the description) and a ``nace`` column (the
        NAF rev.2 subclass code, e.g. ``5610A``), then the extra columns if asked.

    Raises:
        InvalidInput: If ``rows`` is below 1 or ``seed`` is negative.
    """
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise InvalidInput(
            f"The number of rows must be a whole number of at least 1, not {rows!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInput(f"The seed must be a whole number of at least 0, not {seed!r}.")
    tables = _tables()
    rng = np.random.default_rng(seed)
    weights = class_weights(drift)
    classes = rng.choice(len(weights), size=int(rows), p=weights)
    texts = _render(rng, tables, vocab.TEMPLATES, classes)
    if drift:
        _apply_trends(rng, tables, texts, classes)
    _add_secondary(rng, tables, texts, classes, weights)
    _add_affixes(rng, texts, drift)
    noisy = _apply_noise(rng, texts)
    labels = _noisy_labels(rng, tables, classes, weights)
    frame = pd.DataFrame({"text": noisy, "nace": tables.codes[labels].tolist()})
    if extra_columns:  # drawn from the true activity, as a registry knows it
        for name, values in draw_columns(tables.codes[classes].tolist(), int(seed)).items():
            frame[name] = values
    return frame
