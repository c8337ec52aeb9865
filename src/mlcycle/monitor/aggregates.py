"""The aggregate queries over an open window: counts, histograms, quantiles, word tallies.

Each function is one or two DuckDB queries on the window's ``p`` and ``f`` tables and
returns at most a few thousand numbers (one per code, bin, word or time bucket). Words
are counted as :mod:`mlcycle.data.textstats` counts them for the reference profile:
ligatures expanded, accents stripped, lower case, letters only, words of two letters or
more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlcycle.monitor.logstore import Window
from mlcycle.monitor.panels import TimeSeries

PROBABILITY_BINS = 100  # bins of 0.01: any threshold of two decimals is a bin edge
LATENCY_LEVELS = (0.5, 0.9, 0.95, 0.99)

# Words of two letters or more, extracted in one regex pass (faster than split + filter).
_WORDS = """
regexp_extract_all(lower(strip_accents(
    replace(replace(replace(replace(text, 'œ', 'oe'), 'Œ', 'OE'), 'æ', 'ae'), 'Æ', 'AE')
  )), '[a-z]{2,}')
"""


@dataclass(frozen=True)
class Totals:
    predictions: int
    requests: int
    first_ms: int | None
    last_ms: int | None
    texts_logged: int


def totals(window: Window) -> Totals:
    row = window.rows(
        """SELECT count(*), count(*) FILTER (WHERE first_of_request), min(ms), max(ms),
                  count(text) FROM p"""
    )[0]
    return Totals(int(row[0]), int(row[1]), row[2], row[3], int(row[4]))


def series(window: Window, bucket_ms: int, threshold: float) -> TimeSeries:
    """Per time bucket: volume, auto-coding rate, mean confidence (classification),
    latency p50/p95."""
    records = window.records(
        """
        SELECT ms // ? * ? AS t, count(*) AS predictions,
               count(*) FILTER (WHERE first_of_request) AS requests,
               avg((p1 >= ?)::INT) AS auto_coding_rate, avg(p1) AS mean_confidence,
               quantile_cont(latency_ms, 0.5) FILTER (WHERE first_of_request) AS p50_ms,
               quantile_cont(latency_ms, 0.95) FILTER (WHERE first_of_request) AS p95_ms
        FROM p GROUP BY t ORDER BY t
        """,
        [bucket_ms, bucket_ms, threshold],
    )
    names = ["predictions", "requests", "auto_coding_rate", "mean_confidence", "p50_ms", "p95_ms"]
    return TimeSeries(
        [r["t"] for r in records], {name: [r[name] for r in records] for name in names}
    )


def code_counts(window: Window) -> dict[str, int]:
    """Predicted top-1 codes and how often each was answered."""
    return dict(window.rows("SELECT top1, count(*) FROM p WHERE top1 IS NOT NULL GROUP BY 1"))


def code_counts_by_bucket(window: Window, bucket_ms: int) -> list[tuple[int, str, int]]:
    return window.rows(
        "SELECT ms // ? * ? AS t, top1, count(*) FROM p WHERE top1 IS NOT NULL GROUP BY ALL",
        [bucket_ms, bucket_ms],
    )


def probability_histogram(window: Window, where: str = "TRUE") -> np.ndarray:
    """Top-1 probabilities in ``PROBABILITY_BINS`` bins over [0, 1] (1.0 in the last)."""
    rows = window.rows(
        f"""SELECT least(floor(p1 * {PROBABILITY_BINS}), {PROBABILITY_BINS - 1})::INT, count(*)
            FROM p WHERE p1 IS NOT NULL AND {where} GROUP BY 1"""
    )
    counts = np.zeros(PROBABILITY_BINS)
    for index, count in rows:
        counts[max(int(index), 0)] += count
    return counts


def latency_quantiles(window: Window) -> dict[str, float] | None:
    """Request latency percentiles in ms (one value per request, not per text)."""
    levels = list(LATENCY_LEVELS)
    row = window.rows(
        """SELECT quantile_cont(latency_ms, ?::DOUBLE[]) FROM p
           WHERE first_of_request AND latency_ms IS NOT NULL""",
        [levels],
    )[0]
    if row[0] is None:
        return None
    return {f"p{level * 100:g}": float(v) for level, v in zip(levels, row[0], strict=True)}


def length_counts(window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Distinct text lengths (characters) and how many texts had each."""
    rows = window.rows(
        "SELECT text_chars, count(*) FROM p WHERE text_chars IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    if not rows:
        return np.zeros(0), np.zeros(0)
    values, counts = zip(*rows, strict=True)
    return np.asarray(values, dtype=np.float64), np.asarray(counts, dtype=np.float64)


@dataclass(frozen=True)
class WordTally:
    """Word counts of the window's logged texts and how many texts had no content word."""

    words: dict[str, int]
    texts: int
    empty_after_cleaning: int


def word_tally(window: Window, stop_words: list[str]) -> WordTally:
    """Word frequencies, and texts left with no word but stop words (the model sees nothing)."""
    con = window.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE w AS SELECT {_WORDS} AS words FROM p "
                "WHERE text IS NOT NULL")  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE stop_words (word VARCHAR PRIMARY KEY)")
    con.executemany("INSERT INTO stop_words VALUES (?)", [[w] for w in stop_words])
    words = dict(window.rows("SELECT word, count(*) FROM (SELECT unnest(words) AS word FROM w) "
                             "GROUP BY 1"))  # fmt: skip
    # Only a text whose first word is a stop word (or with no word) can be all stop
    # words: the exact test runs on those few.
    candidates, with_content = window.rows(
        """
        WITH c AS (
            SELECT row_number() OVER () AS rid, words FROM w
            WHERE len(words) = 0 OR words[1] IN (SELECT word FROM stop_words)
        )
        SELECT (SELECT count(*) FROM c),
               (SELECT count(DISTINCT rid) FROM (SELECT rid, unnest(words) AS word FROM c)
                ANTI JOIN stop_words USING (word))
        """
    )[0]
    texts = window.rows("SELECT count(*) FROM w")[0][0]
    return WordTally(words, int(texts), int(candidates - with_content))


@dataclass(frozen=True)
class Labelled:
    """Predictions with feedback, as distinct (true code, ranked codes) patterns."""

    true_codes: list[str]
    top_codes: list[list[str]]
    counts: np.ndarray
    feedback_rows: int
    unmatched: int


def labelled(window: Window) -> Labelled:
    """Feedback with a true label joined to the window's predictions on (request_id, index)."""
    rows = window.rows(
        """SELECT f.true_code, p.top5, count(*) FROM f JOIN p USING (request_id, "index")
           WHERE f.true_code IS NOT NULL GROUP BY ALL"""
    )
    feedback_rows, unmatched = feedback_counts(window)
    if not rows:
        return Labelled([], [], np.zeros(0), feedback_rows, unmatched)
    true, top, counts = zip(*rows, strict=True)
    return Labelled(
        list(true), [list(t) for t in top], np.asarray(counts, float), feedback_rows, unmatched
    )


def feedback_counts(window: Window) -> tuple[int, int]:
    """Feedback rows read, and those naming a request of this window that the log lacks."""
    start_ms = int(window.start.timestamp() * 1000)
    end_ms = int(window.end.timestamp() * 1000)
    unmatched = window.rows(
        """SELECT count(*) FROM f ANTI JOIN p USING (request_id, "index")
           WHERE ('0x' || substr(request_id, 1, 8) || substr(request_id, 10, 4))::BIGINT
                 BETWEEN ? AND ?""",
        [start_ms, end_ms - 1],
    )[0][0]
    feedback_rows = window.rows("SELECT count(*) FROM f")[0][0]
    return int(feedback_rows), int(unmatched)


_VALUED = """FROM f JOIN p USING (request_id, "index")
             WHERE f.true_value IS NOT NULL AND p.value IS NOT NULL"""


def labelled_values(window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Regression: the predicted and true value of each prediction with feedback."""
    found = window.con.execute(f"SELECT p.value, f.true_value {_VALUED}").fetchnumpy()
    return np.asarray(found["value"], np.float64), np.asarray(found["true_value"], np.float64)


def largest_errors(window: Window, top: int) -> list[tuple[str, int, float, float]]:
    """``(request_id, index, predicted, true)`` of the labelled predictions furthest off."""
    return window.rows(
        f"""SELECT request_id, "index", p.value, f.true_value {_VALUED}
            ORDER BY abs(p.value - f.true_value) DESC, request_id, "index" LIMIT ?""",
        [top],
    )


def error_by_bucket(window: Window, bucket_ms: int) -> list[tuple[int, int, float, float]]:
    """``(bucket, labelled, rmse, mae)`` of the labelled regression predictions."""
    return window.rows(
        f"""SELECT p.ms // ? * ? AS t, count(*), sqrt(avg((p.value - f.true_value) ** 2)),
                   avg(abs(p.value - f.true_value)) {_VALUED} GROUP BY t ORDER BY t""",
        [bucket_ms, bucket_ms],
    )


def predicted_values(window: Window) -> np.ndarray:
    """Regression: every predicted value of the window."""
    found = window.con.execute("SELECT value FROM p WHERE value IS NOT NULL").fetchnumpy()
    return np.asarray(found["value"], np.float64)


def mean_value_by_bucket(window: Window, bucket_ms: int) -> list[tuple[int, float]]:
    return window.rows(
        """SELECT ms // ? * ? AS t, avg(value) FROM p WHERE value IS NOT NULL
           GROUP BY t ORDER BY t""",
        [bucket_ms, bucket_ms],
    )


def accuracy_by(window: Window, key_sql: str, params: list | None = None) -> list[tuple]:
    """``(key, labelled, top-1 hits)`` grouped by a SQL expression over ``p``."""
    return window.rows(
        f"""SELECT {key_sql} AS k, count(*), count(*) FILTER (WHERE p.top1 = f.true_code)
            FROM f JOIN p USING (request_id, "index") WHERE f.true_code IS NOT NULL
            GROUP BY k ORDER BY k""",
        params or [],
    )


def by_version(window: Window, threshold: float) -> list[dict]:
    """Per served model version: predictions, auto-coding rate, labelled predictions and
    their top-1 accuracy (classification) or RMSE (regression)."""
    out = window.records(
        """
        SELECT p.model_version AS version, count(*) AS predictions,
               avg((p.p1 >= ?)::INT) AS auto_coding_rate,
               count(f.true_code) + count(f.true_value) AS labelled,
               count(*) FILTER (WHERE p.top1 = f.true_code) AS top1_hits,
               count(f.true_code) AS labelled_codes,
               sqrt(avg((p.value - f.true_value) ** 2)) AS rmse,
               min(p.ms) AS first_ms, max(p.ms) AS last_ms
        FROM p LEFT JOIN f USING (request_id, "index")
        GROUP BY 1 ORDER BY first_ms
        """,
        [threshold],
    )
    for row in out:
        codes = row.pop("labelled_codes")
        row["accuracy_top1"] = row["top1_hits"] / codes if codes else None
    return out
