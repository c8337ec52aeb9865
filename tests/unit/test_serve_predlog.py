"""The prediction log's contract: ids, layout, atomic files, readers, the recorder."""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mlcycle.core.settings import Settings
from mlcycle.data import predlog
from mlcycle.serve.logrecords import FeedbackRecord, LogRecord, feedback_table, prediction_table
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.recorder import Recorder

DAY_MS = 86_400_000
NOON = 1_767_268_800_000  # 2026-01-01T12:00:00Z


def _record(ms: int, texts: list[str], k: int = 2, key: str | None = "ci") -> LogRecord:
    n = len(texts)
    codes = [[f"{5610 + j}A" for j in range(k)] for _ in range(n)]
    probs = [np.linspace(0.9, 0.1, k).tolist() for _ in range(n)]
    return LogRecord(predlog.new_request_id(ms), ms, "nace", "3", texts, codes, probs, 1.5, key)


def test_request_ids_are_uuid7_carrying_their_millisecond() -> None:
    ids = {predlog.new_request_id(NOON) for _ in range(2000)}
    assert len(ids) == 2000
    for rid in list(ids)[:50]:
        parsed = uuid.UUID(rid)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert predlog.request_id_ms(rid) == NOON
    later = predlog.new_request_id(NOON + 1)
    assert later > max(ids)  # time-ordered as strings too


def test_request_ids_do_not_follow_pythons_random_generator() -> None:
    """Ids from Mersenne Twister can be predicted from the ids a client has seen."""
    random.seed(11)
    first = predlog.new_request_id(NOON)
    random.seed(11)
    assert predlog.new_request_id(NOON) != first


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_does_not_reuse_its_parents_ids() -> None:
    predlog.new_request_id(NOON)  # the parent has random bits in hand
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the worker: send its first id and leave at once
        os.write(writer, predlog.new_request_id(NOON).encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader) as pipe:
        in_child = pipe.read()
    assert uuid.UUID(in_child).version == 7
    assert in_child != predlog.new_request_id(NOON)


@pytest.mark.parametrize(
    "bad", ["", "nope", "ac8168d4-5f81-4efe-bf0b-198b568eb579", 42, None, "01a201e4-8cdd"]
)
def test_foreign_ids_are_not_ours(bad: object) -> None:
    assert predlog.request_id_ms(bad) is None  # type: ignore[arg-type]


def test_log_roots_default_to_the_home_and_follow_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert predlog.log_roots(settings) == (tmp_path / "predictions", tmp_path / "feedback")
    moved = Settings(
        home=tmp_path,
        serve={"prediction_log": {"dir": tmp_path / "p", "feedback_dir": tmp_path / "f"}},
    )
    assert predlog.log_roots(moved) == (tmp_path / "p", tmp_path / "f")


def test_rows_per_text_with_the_schema(tmp_path: Path) -> None:
    records = [_record(NOON, ["boulangerie", "coiffure"], k=3), _record(NOON + 5, ["taxi"], k=1)]
    table = prediction_table(records, salt=None)
    assert table.schema == predlog.PREDICTION_SCHEMA
    rows = table.to_pylist()
    assert [r["index"] for r in rows] == [0, 1, 0]
    assert [r["batch_size"] for r in rows] == [2, 2, 1]
    assert [r["text"] for r in rows] == ["boulangerie", "coiffure", "taxi"]
    assert rows[0]["codes"] == ["5610A", "5611A", "5612A"] and rows[2]["codes"] == ["5610A"]
    assert rows[0]["probabilities"][0] == pytest.approx(0.9)
    assert rows[0]["request_id"] == rows[1]["request_id"] != rows[2]["request_id"]
    assert rows[2]["timestamp"] == datetime.fromtimestamp((NOON + 5) / 1000, UTC)
    assert {r["api_key"] for r in rows} == {"ci"} and rows[0]["text_hash"] is None


def test_a_salt_replaces_texts_by_their_hmac() -> None:
    table = prediction_table([_record(NOON, ["secret activity"])], salt=b"pepper-pepper-pepper")
    [row] = table.to_pylist()
    expected = hmac.new(b"pepper-pepper-pepper", b"secret activity", hashlib.sha256).hexdigest()
    assert row["text"] is None and row["text_hash"] == expected and row["text_chars"] == 15


def test_files_are_partitioned_by_utc_day_and_named_by_time_range(tmp_path: Path) -> None:
    before_midnight = NOON + 12 * 3_600_000 - 1
    records = [_record(NOON, ["a"]), _record(before_midnight, ["b"]), _record(NOON + DAY_MS, ["c"])]
    written = [
        Path(p) for p in predlog.write_partitioned(tmp_path, prediction_table(records, None))
    ]
    assert sorted(p.parent.name for p in written) == ["date=2026-01-01", "date=2026-01-02"]
    first = next(p for p in written if p.parent.name == "date=2026-01-01")
    assert first.name.startswith(f"part-{NOON}-{before_midnight}-")
    assert not list(tmp_path.rglob(".*"))  # no temporary file left behind
    assert pq.read_table(first).num_rows == 2


def test_read_log_filters_by_time_and_skips_temporary_files(tmp_path: Path) -> None:
    records = [_record(NOON + i * 3_600_000, [f"t{i}"]) for i in range(4)]
    predlog.write_partitioned(tmp_path, prediction_table(records, None))
    folder = tmp_path / "date=2026-01-01"
    (folder / ".part-1-2-ab.parquet.tmp").write_bytes(b"half a file")
    assert predlog.read_log(tmp_path).num_rows == 4
    start = datetime.fromtimestamp(NOON / 1000, UTC) + timedelta(hours=1)
    window = predlog.read_log(tmp_path, start=start, end=start + timedelta(hours=2))
    assert window.column("text").to_pylist() == ["t1", "t2"]
    empty = predlog.read_log(tmp_path / "nothing", columns=["request_id"])
    assert empty.num_rows == 0 and empty.column_names == ["request_id"]


def test_find_predictions_opens_only_files_whose_range_fits(tmp_path: Path) -> None:
    early, late = _record(NOON, ["x", "y"]), _record(NOON + 60_000, ["z"])
    predlog.write_partitioned(tmp_path, prediction_table([early], None))
    predlog.write_partitioned(tmp_path, prediction_table([late], None))
    found = predlog.find_predictions(tmp_path, [early.request_id, "not-an-id"])
    assert found.column("request_id").to_pylist() == [early.request_id] * 2
    # A file that cannot hold the id is not read, even when it is unreadable.
    (tmp_path / "date=2026-01-01" / f"part-{NOON + 10}-{NOON + 20}-ff.parquet").write_bytes(b"x")
    assert predlog.find_predictions(tmp_path, [late.request_id]).num_rows == 1


@pytest.mark.parametrize("cut", [0, 0.5], ids=["empty", "cut-short"])
def test_readers_skip_and_name_a_file_that_is_not_whole_parquet(tmp_path: Path, cut: float) -> None:
    early, late = _record(NOON, ["x"]), _record(NOON + 60_000, ["y", "z"])
    predlog.write_partitioned(tmp_path, prediction_table([early], None))
    [victim] = predlog.write_partitioned(tmp_path, prediction_table([late], None))
    data = Path(victim).read_bytes()
    Path(victim).write_bytes(data[: int(len(data) * cut)])  # what a crash can leave
    skipped: list[predlog.Skipped] = []
    found = predlog.find_predictions(tmp_path, [early.request_id, late.request_id], skipped)
    assert found.column("request_id").to_pylist() == [early.request_id]
    assert [s.path for s in skipped] == [victim]
    assert predlog.read_log(tmp_path).num_rows == 1
    also: list[predlog.Skipped] = []
    predlog.read_log(tmp_path, skipped=also)
    assert also == skipped and "cut short" in also[0].reason


def test_feedback_table_has_the_feedback_schema(tmp_path: Path) -> None:
    rows = [FeedbackRecord("id", 1, NOON, "5610A", "5610B", "nace", "3", None)]
    table = feedback_table(rows)
    assert table.schema == predlog.FEEDBACK_SCHEMA
    predlog.write_partitioned(tmp_path, table)
    back = predlog.read_log(tmp_path, predlog.FEEDBACK_SCHEMA).to_pylist()
    assert back[0]["true_code"] == "5610A" and back[0]["index"] == 1


def test_the_recorder_writes_on_flush_and_on_stop(tmp_path: Path) -> None:
    roots = (tmp_path / "p", tmp_path / "f")
    recorder = Recorder(Metrics(), roots, flush_seconds=0.2)
    recorder.start()
    recorder.prediction(_record(NOON, ["a", "b"]))
    deadline = time.monotonic() + 10
    while not list(roots[0].rglob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert predlog.read_log(roots[0]).num_rows == 2  # written by the thread, no stop yet
    recorder.prediction(_record(NOON, ["c"]))
    recorder.feedback.append(FeedbackRecord("id", 0, NOON, "5610A", None, None, None, None))
    recorder.stop()
    assert predlog.read_log(roots[0]).num_rows == 3
    assert predlog.read_log(roots[1], predlog.FEEDBACK_SCHEMA).num_rows == 1


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    metrics = Metrics()
    recorder = Recorder(metrics, (tmp_path / "p", tmp_path / "f"), max_queue=3)
    for _ in range(5):
        recorder.prediction(_record(NOON, ["one", "two"]))
    assert len(recorder.records) == 1 and recorder.dropped == 8
    recorder.stop()
    text = metrics.render()[0].decode()
    assert 'mlcycle_prediction_log_records_total{outcome="dropped"} 8.0' in text
    assert 'mlcycle_prediction_log_records_total{outcome="written"} 2.0' in text
    assert predlog.read_log(tmp_path / "p").num_rows == 2


def test_a_failed_write_is_counted_and_the_recorder_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "p"
    blocker.write_text("a file where the log folder should be")
    metrics = Metrics()
    recorder = Recorder(metrics, (blocker, tmp_path / "f"))
    recorder.prediction(_record(NOON, ["lost"]))
    recorder.flush()
    recorder.prediction(_record(NOON, ["also lost"]))
    recorder.stop()
    assert 'records_total{outcome="failed"} 2.0' in metrics.render()[0].decode()
    assert recorder.queued == recorder.taken  # nothing held in memory


def test_a_url_root_writes_to_object_storage_through_fsspec() -> None:
    import fsspec

    root = f"memory://bucket-{uuid.uuid4().hex}/predictions"
    records = [_record(NOON, ["a", "b"]), _record(NOON + DAY_MS, ["c"])]
    written = predlog.write_partitioned(root, prediction_table(records, None))
    assert len(written) == 2 and all("/date=2026-01-0" in p for p in written)
    assert predlog.read_log(root).num_rows == 3
    assert predlog.find_predictions(root, [records[1].request_id]).num_rows == 1
    fs = fsspec.filesystem("memory")
    assert not [p for p in fs.find(root.removeprefix("memory://")) if ".tmp" in p]
    settings = Settings(serve={"prediction_log": {"dir": root}})
    assert predlog.log_roots(settings)[0] == root
