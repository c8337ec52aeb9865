"""The log store over real Parquet logs: windows, joins, truncated files, object storage.

Also home of the helpers other monitoring tests use to write prediction logs in the
server's own format (``mlcycle.data.predlog``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from mlcycle.data.predlog import (
    FEEDBACK_SCHEMA,
    PREDICTION_SCHEMA,
    new_request_id,
    write_partitioned,
)
from mlcycle.monitor import aggregates as agg
from mlcycle.monitor.logstore import LogStore

T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def ms_of(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def prediction_table(
    texts: list[str | None],
    codes: list[list[str]],
    probs: list[list[float]],
    ms: np.ndarray,
    version: str = "1",
    latency_ms: float = 3.0,
) -> pa.Table:
    """One single-text request per row, in the prediction log's schema."""
    ids = [new_request_id(int(m)) for m in ms]
    return pa.Table.from_pydict(
        {
            "request_id": ids,
            "index": pa.array(np.zeros(len(ids)), pa.int32()),
            "batch_size": pa.array(np.ones(len(ids)), pa.int32()),
            "timestamp": pa.array(np.asarray(ms, np.int64)).cast(pa.timestamp("ms", tz="UTC")),
            "model_name": ["nace"] * len(ids),
            "model_version": [version] * len(ids),
            "text": pa.array(texts, pa.string()),
            "text_hash": pa.nulls(len(ids), pa.string()),
            "text_chars": pa.array([len(t or "") for t in texts], pa.int32()),
            "codes": codes,
            "probabilities": pa.array(probs, pa.list_(pa.float32())),
            "latency_ms": pa.array(np.full(len(ids), latency_ms), pa.float32()),
            "api_key": pa.nulls(len(ids), pa.string()),
            "record": pa.nulls(len(ids), pa.string()),
            "value": pa.nulls(len(ids), pa.float64()),
            "first_of_request": pa.nulls(len(ids), pa.bool_()),  # as files written before it
            "arm": pa.nulls(len(ids), pa.string()),
        },
        schema=PREDICTION_SCHEMA,
    )


def feedback_table(request_ids: list[str], true_codes: list[str], at_ms: int) -> pa.Table:
    n = len(request_ids)
    return pa.Table.from_pydict(
        {
            "request_id": request_ids,
            "index": pa.array(np.zeros(n), pa.int32()),
            "timestamp": pa.array(np.full(n, at_ms, np.int64)).cast(pa.timestamp("ms", tz="UTC")),
            "true_code": true_codes,
            "predicted_code": pa.nulls(n, pa.string()),
            "model_name": ["nace"] * n,
            "model_version": ["1"] * n,
            "api_key": pa.nulls(n, pa.string()),
            "true_value": pa.nulls(n, pa.float64()),
        },
        schema=FEEDBACK_SCHEMA,
    )


def simple_log(root: Path, n: int = 40, start: datetime = T0) -> pa.Table:
    """``n`` predictions one second apart: half 5610A at 0.9, half 9602A at 0.5."""
    ms = ms_of(start) + 1000 * np.arange(n)
    codes = [["5610A", "5610C"] if i % 2 == 0 else ["9602A", "9602B"] for i in range(n)]
    probs = [[0.9, 0.05] if i % 2 == 0 else [0.5, 0.3] for i in range(n)]
    texts = ["restaurant traditionnel" if i % 2 == 0 else "salon de coiffure" for i in range(n)]
    table = prediction_table(texts, codes, probs, ms)
    write_partitioned(root, table)
    return table


def test_a_window_counts_only_its_rows(tmp_path: Path) -> None:
    simple_log(tmp_path / "p", 40)
    store = LogStore(tmp_path / "p", tmp_path / "f")
    with store.open_window(T0 + timedelta(seconds=10), T0 + timedelta(seconds=30)) as window:
        totals = agg.totals(window)
        codes = agg.code_counts(window)
        histogram = agg.probability_histogram(window)
    assert totals.predictions == 20
    assert codes == {"5610A": 10, "9602A": 10}
    assert histogram[90] == 10 and histogram[50] == 10


def test_feedback_joins_on_request_and_index_latest_label_wins(tmp_path: Path) -> None:
    table = simple_log(tmp_path / "p", 10)
    ids = table.column("request_id").to_pylist()
    at = ms_of(T0) + 60_000
    write_partitioned(tmp_path / "f", feedback_table(ids[:4], ["9999Z"] * 4, at))
    # Relabelled later: the second label counts, once.
    write_partitioned(tmp_path / "f", feedback_table(ids[:2], ["5610A", "9602A"], at + 5000))
    unknown = str(uuid.UUID(int=(ms_of(T0) + 3000) << 80 | 0x7 << 76 | 0b10 << 62 | 12345))
    write_partitioned(tmp_path / "f", feedback_table([unknown], ["5610A"], at))
    store = LogStore(tmp_path / "p", tmp_path / "f")
    with store.open_window(T0, T0 + timedelta(minutes=1)) as window:
        found = agg.labelled(window)
    labels = {}
    for true, count in zip(found.true_codes, found.counts, strict=True):
        labels[true] = labels.get(true, 0) + count
    assert labels == {"5610A": 1, "9602A": 1, "9999Z": 2}
    assert found.unmatched == 1


def test_a_truncated_partition_is_skipped_and_reported(tmp_path: Path) -> None:
    simple_log(tmp_path / "p", 10)
    simple_log(tmp_path / "p", 10, T0 + timedelta(seconds=20))
    victim = sorted((tmp_path / "p").rglob("part-*.parquet"))[-1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # what a crash mid-write leaves
    store = LogStore(tmp_path / "p", tmp_path / "f")
    with store.open_window(T0, T0 + timedelta(minutes=5)) as window:
        assert agg.totals(window).predictions == 10
        assert [s.path for s in window.skipped] == [str(victim)]
        assert "cut short" in window.skipped[0].reason


def test_an_empty_store_gives_an_empty_window(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "none", tmp_path / "nothing")
    with store.open_window(T0, T0 + timedelta(days=1)) as window:
        assert agg.totals(window).predictions == 0
        assert agg.latency_quantiles(window) is None
        assert agg.labelled(window).true_codes == []


def test_object_storage_through_fsspec_runs_the_same_queries(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    import pyarrow.parquet as pq

    memory = fsspec.filesystem("memory")
    table = simple_log(tmp_path / "p", 12)
    for path in (tmp_path / "p").rglob("part-*.parquet"):
        relative = path.relative_to(tmp_path / "p").as_posix()
        with memory.open(f"memory://bucket-{tmp_path.name}/p/{relative}", "wb") as handle:
            pq.write_table(pq.read_table(path), handle)
    store = LogStore(f"memory://bucket-{tmp_path.name}/p", f"memory://bucket-{tmp_path.name}/f")
    with store.open_window(T0, T0 + timedelta(minutes=1)) as window:
        assert agg.totals(window).predictions == table.num_rows
        assert agg.code_counts(window)["5610A"] == 6


def test_sql_word_counts_match_the_reference_profile_counting(tmp_path: Path) -> None:
    from mlcycle.data import textstats
    from mlcycle.models.fasttext.cleaner import default_cleaner
    from mlcycle.tasks.text.generator import generate

    texts = [*generate(2000, seed=7, drift=True)["text"], "Œuvre d'art, 12 Ø œufs", "", "le la"]
    n = len(texts)
    ms = ms_of(T0) + np.arange(n) * 10
    write_partitioned(tmp_path / "p", prediction_table(texts, [["5610A"]] * n, [[0.5]] * n, ms))
    store = LogStore(tmp_path / "p", tmp_path / "f")
    with store.open_window(T0, T0 + timedelta(minutes=5)) as window:
        tally = agg.word_tally(window, sorted(default_cleaner().stop_words))
    assert tally.words == textstats.token_counts(texts)
    assert tally.texts == n
    assert tally.empty_after_cleaning >= 2  # "" and "le la"
