"""The panels of classification monitoring: service, predicted labels, confidence, text
input and live accuracy.

Each takes an open window (and what it compares with) and returns its typed panel
(:mod:`mlcycle.monitor.panels`); a panel that cannot be computed says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlcycle.core.errors import MlcycleError
from mlcycle.monitor import aggregates as agg
from mlcycle.monitor.categorical import prediction_drift
from mlcycle.monitor.confidence import auto_coding_rate, confidence_drift
from mlcycle.monitor.counts import section_counts, section_of
from mlcycle.monitor.logstore import Window
from mlcycle.monitor.numeric import histogram_sample, sample
from mlcycle.monitor.panels import (
    AccuracyPanel,
    AccuracyPoint,
    ConfidenceBaseline,
    ConfidencePanel,
    LabelDrift,
    LabelPredictionPanel,
    Part,
    ServicePanel,
    Share,
    TextPanel,
    TimeSeries,
)
from mlcycle.monitor.quality import confused_pairs, hit_flags, quality_from_flags
from mlcycle.monitor.scrape import ErrorRate
from mlcycle.monitor.text import TextDrift, TextReference, text_drift_from_counts
from mlcycle.tasks.labels import Nomenclature

if TYPE_CHECKING:
    from mlcycle.core.settings import Settings
    from mlcycle.data.profile import ReferenceProfile

TOP = 20
_EDGES = np.linspace(0.0, 1.0, agg.PROBABILITY_BINS + 1)


def service_panel(window: Window, settings: Settings) -> ServicePanel:
    """Latency percentiles from the log; the error rate from the server's metrics."""
    from mlcycle.monitor.scrape import scrape_error_rate

    panel = ServicePanel(latency_ms=agg.latency_quantiles(window))
    url = settings.monitor.metrics_url
    if not url:
        panel.errors = Part[ErrorRate].missing(
            "The prediction log holds answered requests only; set monitor.metrics_url to the "
            "server's /metrics for the error rate."
        )
        return panel
    try:
        panel.errors = Part(result=scrape_error_rate(url))
    except MlcycleError as exc:
        panel.errors = Part[ErrorRate].missing(exc.message)
    return panel


def prediction_panel(
    window: Window,
    profile: ReferenceProfile | None,
    bucket_ms: int,
    nomenclature: Nomenclature | None = None,
) -> LabelPredictionPanel:
    """Predicted labels (and their top-level groups, with a nomenclature) now, over
    time, and against the training labels."""
    codes = agg.code_counts(window)
    total = sum(codes.values())
    panel = LabelPredictionPanel(codes=_shares(codes, total, TOP))
    if nomenclature is not None:
        panel.sections = _shares(section_counts(codes, nomenclature).as_dict(), total, None)
        by_bucket = agg.code_counts_by_bucket(window, bucket_ms)
        panel.section_series = _section_series(by_bucket, nomenclature)
    if profile is None or not profile.labels:
        panel.drift = LabelDrift.missing("No reference profile: no training label distribution.")
        return panel
    drift = prediction_drift(profile.labels, codes, nomenclature=nomenclature)
    panel.drift = LabelDrift(code=drift["code"], section=drift.get("section"))
    if nomenclature is not None:
        panel.reference_sections = _shares(
            section_counts(profile.labels, nomenclature).as_dict(), profile.rows, None
        )
    return panel


def _shares(counts: dict, total: float, top: int | None) -> list[Share]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
    return [Share(str(k), int(v), v / total if total else 0.0) for k, v in ranked]


def _section_series(rows: list[tuple[int, str, int]], nomenclature: Nomenclature) -> TimeSeries:
    """Share of each top-level group (the nomenclature's sections) per time bucket."""
    times = sorted({t for t, _, _ in rows})
    index = {t: i for i, t in enumerate(times)}
    by_section: dict[str, np.ndarray] = {}
    for t, code, n in rows:
        by_section.setdefault(section_of(code, nomenclature), np.zeros(len(times)))[index[t]] += n
    totals = np.maximum(sum(by_section.values(), np.zeros(len(times))), 1)
    shares = {s: (v / totals).tolist() for s, v in sorted(by_section.items())}
    return TimeSeries(times, shares)


def confidence_panel(window: Window, baseline: np.ndarray, threshold: float) -> ConfidencePanel:
    """Top-1 probability histogram, auto-coding rate, and both against the window before."""
    current = agg.probability_histogram(window)
    if current.sum() == 0:
        return ConfidencePanel.missing("No logged probability in this window.")
    now = auto_coding_rate(_at_bins(current), threshold)
    panel = ConfidencePanel(
        threshold=threshold,
        histogram=current.tolist(),
        baseline_histogram=baseline.tolist(),
        auto_coding_rate=now.rate,
        mean=float(np.dot(current, (_EDGES[:-1] + _EDGES[1:]) / 2) / current.sum()),
    )
    if baseline.sum() == 0:
        panel.baseline = ConfidenceBaseline.missing(
            "No predictions in the window of the same length before this one: nothing to "
            "compare the confidence with yet."
        )
        return panel
    before = auto_coding_rate(_at_bins(baseline), threshold)
    panel.baseline = ConfidenceBaseline(
        auto_coding_rate=before.rate,
        change_points=100.0 * (now.rate - before.rate),
        drift=confidence_drift(
            histogram_sample(_EDGES, baseline), histogram_sample(_EDGES, current)
        ),
    )
    return panel


def _at_bins(counts: np.ndarray) -> Any:
    """Each bin's count at its lower edge: a bin from the threshold up counts as coded."""
    return sample(_EDGES[:-1], counts)


def text_panel(window: Window, totals: agg.Totals, profile: ReferenceProfile | None) -> TextPanel:
    """Length, unknown words, word-distribution drift and the new frequent words."""
    from mlcycle.models.fasttext.cleaner import default_cleaner

    values, counts = agg.length_counts(window)
    lengths = {"values": values.tolist(), "counts": counts.tolist()}
    if totals.texts_logged == 0:
        return TextPanel.missing(
            "Texts are not logged (serve.prediction_log.log_text is false): only their "
            "lengths can be compared.",
            lengths=lengths,
        )
    tally = agg.word_tally(window, sorted(default_cleaner().stop_words))
    frequent = sorted(tally.words.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    panel = TextPanel(lengths=lengths, frequent_words=frequent)
    if profile is None or not profile.text_length:
        panel.drift = Part[TextDrift].missing("No reference profile: no training vocabulary.")
        return panel
    reference = TextReference.from_profile(profile)
    drift = text_drift_from_counts(
        tally.words, sample(values, counts), tally.texts, tally.empty_after_cleaning, reference
    )
    panel.drift = Part(result=drift)
    panel.reference_length = profile.text_length
    return panel


def quality_panel(
    window: Window, bucket_ms: int, nomenclature: Nomenclature | None = None
) -> AccuracyPanel:
    """Live accuracy (per level of the labels' nomenclature) with Wilson score intervals,
    confused pairs, over time."""
    found = agg.labelled(window)
    base: dict[str, Any] = {
        "feedback_rows": found.feedback_rows,
        "unmatched_feedback": found.unmatched,
    }
    if not found.true_codes:
        return AccuracyPanel.missing(
            "No feedback yet for the predictions of this window: send true labels to "
            "POST /feedback to measure live accuracy.",
            **base,
        )
    width = max(5, max(len(t) for t in found.top_codes))
    # Short rankings are padded with their own first code: no new hit, no foreign code.
    top = np.array([t + t[:1] * (width - len(t)) for t in found.top_codes], dtype=object)
    true = np.asarray(found.true_codes, dtype=str)
    flags, names = hit_flags(top.astype(str), true, nomenclature)
    patterns, counts = _weighted_patterns(flags, found.counts)
    series = agg.accuracy_by(window, "p.ms // ? * ?", [bucket_ms, bucket_ms])
    return AccuracyPanel(
        **base,
        labelled=int(found.counts.sum()),
        metrics=quality_from_flags(patterns, counts, names),
        confused=confused_pairs(found.true_codes, top[:, 0].astype(str), found.counts),
        series=[AccuracyPoint(t, n, hits / n) for t, n, hits in series],
    )


def _weighted_patterns(flags: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of hit flags with their summed counts: a few dozen patterns to
    sum instead of one per labelled (true code, ranking) pair."""
    bits = 1 << np.arange(flags.shape[1], dtype=np.int64)
    packed, inverse = np.unique(flags.astype(np.int64) @ bits, return_inverse=True)
    summed = np.bincount(inverse, weights=counts, minlength=packed.size)
    return (packed[:, None] & bits) != 0, summed
