"""Text input drift: length, unknown words, word distribution and empty texts.

Words are counted as the dataset's reference profile counts them
(:mod:`mlcycle.data.textstats`: lower case, accent-free, letters only, words of two
letters or more), so the reference and the current window speak the same vocabulary.
All per-text work is Arrow compute or numpy over the flattened words, never a Python
loop over texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.data import textstats
from mlcycle.models.fasttext.cleaner import default_cleaner
from mlcycle.monitor import categorical, numeric
from mlcycle.monitor.counts import Counts, align
from mlcycle.monitor.results import DriftResult, require_data

OTHER = "<other>"  # every word outside the reference's kept vocabulary
_QUANTILE_POINTS = 1000


@dataclass(frozen=True)
class TextReference:
    """What normal input looks like, from a dataset profile or from reference texts.

    Attributes:
        tokens: Word counts (the profile keeps the most frequent words only).
        total_tokens: All word occurrences, kept or not (at least ``sum(tokens)``).
        lengths: Text lengths in characters, as a sample (raw or weighted).
        rows: Number of reference texts.
        vocabulary: The words counted as known; the keys of ``tokens`` when None.
        empty_share: Share of reference texts empty after cleaning, when known.
    """

    tokens: Mapping[str, int]
    total_tokens: int
    lengths: numeric.Sample
    rows: int
    vocabulary: frozenset[str] | None = None
    empty_share: float | None = None

    @classmethod
    def from_texts(cls, texts: Any) -> TextReference:
        """Everything from the reference texts themselves (exact, not truncated)."""
        words = _words(texts)
        counts = Counts(*_value_counts(pc.list_flatten(words)))
        return cls(
            tokens=dict(zip(counts.keys.tolist(), counts.counts.astype(int).tolist(), strict=True)),
            total_tokens=int(counts.total),
            lengths=numeric.sample(_lengths(texts)),
            rows=len(words),
            empty_share=float(np.mean(_empty_after_cleaning(words))) if len(words) else None,
        )

    @classmethod
    def from_profile(cls, profile: Any) -> TextReference:
        """From a dataset's reference profile (``mlcycle.data.profile.ReferenceProfile``).

        The profile stores length quantiles, not lengths: the reference length sample is
        read off the quantile function at 1,000 evenly spaced levels (linear between the
        stored quantiles), each standing for ``rows / 1000`` texts.
        """
        levels = np.array([float(q) for q in profile.text_length])
        values = np.array([float(v) for v in profile.text_length.values()])
        order = np.argsort(levels)
        grid = (np.arange(_QUANTILE_POINTS) + 0.5) / _QUANTILE_POINTS
        pseudo = np.interp(grid, levels[order], values[order])
        weights = np.full(_QUANTILE_POINTS, profile.rows / _QUANTILE_POINTS)
        return cls(
            tokens=dict(profile.tokens),
            total_tokens=int(profile.total_tokens),
            lengths=numeric.sample(pseudo, weights),
            rows=int(profile.rows),
        )

    def known_words(self) -> frozenset[str]:
        return self.vocabulary if self.vocabulary is not None else frozenset(self.tokens)


@dataclass(frozen=True)
class TextDrift:
    """Text input drift of a window of texts against a :class:`TextReference`."""

    texts: int
    length: DriftResult
    mean_length: float
    oov_rate: float
    reference_oov_rate: float | None
    tokens: DriftResult | None
    empty_share: float
    reference_empty_share: float | None
    new_tokens: list[dict[str, Any]] = field(default_factory=list)
    rising_tokens: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {key: getattr(self, key) for key in self.__dataclass_fields__}
        out["length"] = self.length.to_dict()
        out["tokens"] = self.tokens.to_dict() if self.tokens is not None else None
        return out


def text_drift(texts: Any, reference: TextReference, top: int = 20) -> TextDrift:
    """Compare a window of raw texts with the reference.

    Args:
        texts: The window's raw texts (Arrow array, numpy array or list; null is empty).
        reference: The reference, e.g. ``TextReference.from_profile(profile)``.
        top: How many new and rising words to list.

    Returns:
        Length drift (KS on small windows, normed Wasserstein on large), the share of
        word occurrences outside the reference vocabulary, the Jensen-Shannon distance
        between word distributions (None when the window has no word at all), the
        share of texts with no word left after the model's cleaning, and the words
        that explain the change.

    Raises:
        NoData: The window holds no text.
    """
    words = _words(texts)
    require_data(len(words), "current", "texts")
    flat = pc.list_flatten(words)
    keys, counts = _value_counts(flat)
    known = reference.known_words()
    in_vocabulary = np.fromiter((key in known for key in keys.tolist()), bool, len(keys))
    total = counts.sum()
    lengths = _lengths(texts)
    return TextDrift(
        texts=len(words),
        length=numeric.numeric_drift(reference.lengths, lengths),
        mean_length=float(lengths.mean()),
        oov_rate=float(counts[~in_vocabulary].sum() / total) if total else 0.0,
        reference_oov_rate=_reference_oov(reference),
        tokens=_token_drift(reference, keys, counts) if total else None,
        empty_share=float(np.mean(_empty_after_cleaning(words))),
        reference_empty_share=reference.empty_share,
        new_tokens=_listing(keys[~in_vocabulary], counts[~in_vocabulary], total, top),
        rising_tokens=_rising(reference, keys, counts, top),
    )


def _words(texts: Any) -> pa.ListArray:
    return textstats.tokens(textstats.normalise(texts))


def _lengths(texts: Any) -> np.ndarray:
    raw = pc.fill_null(textstats.as_array(texts), "")
    return np.asarray(pc.utf8_length(raw).to_numpy(zero_copy_only=False), dtype=np.float64)


def _value_counts(flat: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    tally = pc.value_counts(flat)
    keys = np.asarray(tally.field("values").to_pylist(), dtype=object)
    return keys, np.asarray(tally.field("counts"), dtype=np.float64)


def _reference_oov(reference: TextReference) -> float | None:
    if reference.vocabulary is not None or not reference.total_tokens:
        return None
    return 1.0 - sum(reference.tokens.values()) / reference.total_tokens


def _token_drift(reference: TextReference, keys: np.ndarray, counts: np.ndarray) -> DriftResult:
    """JS distance over the reference's kept words plus one bucket for all others."""
    kept = set(reference.tokens)
    mask = np.fromiter((key in kept for key in keys.tolist()), bool, len(keys))
    current = dict(zip(keys[mask].tolist(), counts[mask].tolist(), strict=True))
    current[OTHER] = float(counts[~mask].sum())
    ref = dict(reference.tokens)
    ref[OTHER] = max(reference.total_tokens - sum(reference.tokens.values()), 0)
    return categorical.jensen_shannon_test(ref, current)


def _rising(reference: TextReference, keys: np.ndarray, counts: np.ndarray, top: int) -> list:
    """Known words whose share grew, ranked by their part of the JS divergence."""
    names, ref, cur = align(dict(reference.tokens), Counts(keys, counts))
    if not ref.sum() or not cur.sum():
        return []
    ref_total = max(reference.total_tokens, ref.sum())
    p, q = ref / ref_total, cur / counts.sum()
    terms = categorical.js_terms(ref, cur)
    rising = np.flatnonzero((q > p) & (ref > 0))
    order = rising[np.argsort(-terms[rising], kind="stable")][:top]
    return [
        {"token": names[i], "reference_share": float(p[i]), "current_share": float(q[i])}
        for i in order.tolist()
    ]


def _listing(keys: np.ndarray, counts: np.ndarray, total: float, top: int) -> list:
    order = np.lexsort((keys.astype(str), -counts))[:top]
    return [
        {"token": keys[i], "count": int(counts[i]), "share": float(counts[i] / total)}
        for i in order.tolist()
    ]


def _empty_after_cleaning(words: pa.ListArray) -> np.ndarray:
    """Per text: True when the model's cleaner leaves no token.

    The cleaner drops words under two letters (already gone here) and its stop words;
    stemming never empties a word, so a text keeps a token exactly when one of its words
    is not a stop word: one set look-up over all words, no stemming needed.
    """
    flat = pc.list_flatten(words)
    stop_words = pa.array(sorted(default_cleaner().stop_words), pa.string())
    kept = np.asarray(pc.invert(pc.is_in(flat, value_set=stop_words)), dtype=bool)
    lengths = np.diff(np.asarray(words.offsets))
    row_of = np.repeat(np.arange(len(words)), lengths)
    return np.bincount(row_of[kept], minlength=len(words)) == 0


def vocabulary(words: Sequence[str]) -> frozenset[str]:
    """A vocabulary in the monitor's word space from any list of words (normalised here)."""
    return frozenset(pc.list_flatten(_words(list(words))).to_pylist())


def text_drift_from_counts(
    words: Mapping[str, int],
    lengths: numeric.Sample,
    texts: int,
    empty_texts: int,
    reference: TextReference,
    top: int = 20,
) -> TextDrift:
    """:func:`text_drift` from aggregates: word counts, a length sample, empty texts.

    For windows tallied elsewhere (a ``GROUP BY`` in DuckDB); the words must be counted
    as :mod:`mlcycle.data.textstats` counts them.

    Raises:
        NoData: The window holds no text.
    """
    require_data(texts, "current", "texts")
    keys = np.empty(len(words), dtype=object)
    keys[:] = list(words)
    counts = np.asarray(list(words.values()), dtype=np.float64)
    known = reference.known_words()
    in_vocabulary = np.fromiter((key in known for key in keys.tolist()), bool, len(keys))
    total = counts.sum()
    mean = float(np.average(lengths.values, weights=lengths.weights)) if lengths.size else 0.0
    return TextDrift(
        texts=int(texts),
        length=numeric.numeric_drift(reference.lengths, lengths),
        mean_length=mean,
        oov_rate=float(counts[~in_vocabulary].sum() / total) if total else 0.0,
        reference_oov_rate=_reference_oov(reference),
        tokens=_token_drift(reference, keys, counts) if total else None,
        empty_share=empty_texts / texts,
        reference_empty_share=reference.empty_share,
        new_tokens=_listing(keys[~in_vocabulary], counts[~in_vocabulary], total, top),
        rising_tokens=_rising(reference, keys, counts, top),
    )
