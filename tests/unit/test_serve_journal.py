"""The prediction log's journal: a dead worker's answers written once, never twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlcycle.data import predlog
from mlcycle.serve.journal import Journal, decode, encode, journal_folder
from mlcycle.serve.logrecords import LogRecord
from mlcycle.serve.metrics import Metrics
from mlcycle.serve.recorder import Recorder
from tests.unit.test_serve_predlog import NOON, _record

LIMIT_S = 60  # guards against hanging, not a speed requirement

# A worker that answers, journals and is then killed before its writer runs.
WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from mlcycle.data.predlog import new_request_id
    from mlcycle.serve.journal import Journal
    from mlcycle.serve.logrecords import LogRecord
    from mlcycle.serve.recorder import Recorder

    spool, root, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    recorder = Recorder(None, (root, root.with_name("f")), journal=Journal(spool))
    ids = []
    for i in range(count):
        ms = 1767268800000 + i
        ids.append(new_request_id(ms))
        recorder.prediction(LogRecord(ids[-1], ms, "nace", "3", [f"text {i}", "b"],
                                      [["5610A"], ["9602A"]], [[0.5], [0.25]], 1.0, None))
    print(json.dumps(ids), flush=True)
    time.sleep(600)
    """
)


def _recorder(tmp_path: Path, **options: object) -> Recorder:
    roots = (tmp_path / "p", tmp_path / "f")
    return Recorder(Metrics(), roots, journal=Journal(tmp_path / "spool"), **options)  # type: ignore[arg-type]


def _segments(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "spool").glob("*.journal"))


def _killed_worker(tmp_path: Path, count: int) -> list[str]:
    """Run WORKER until it has answered ``count`` requests, SIGKILL it; their ids."""
    child = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path / "spool"), str(tmp_path / "p"), str(count)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ids = json.loads(child.stdout.readline())  # type: ignore[union-attr]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(LIMIT_S)
        child.stdout.close()  # type: ignore[union-attr]
    return ids


def test_a_killed_workers_journal_is_written_once_by_the_next_recorder(tmp_path: Path) -> None:
    ids = _killed_worker(tmp_path, 50)
    [segment] = _segments(tmp_path)
    with segment.open("ab") as file:  # the line a death in mid-write leaves
        file.write(encode(_record(NOON, ["cut short"]))[:40])
    recorder = _recorder(tmp_path)
    recorder.start()
    recorder.stop()
    rows = predlog.read_log(tmp_path / "p").to_pylist()
    assert sorted({row["request_id"] for row in rows}) == sorted(ids)
    assert len(rows) == 100 and {row["text"] for row in rows} >= {"text 0", "text 49", "b"}
    assert rows[0]["codes"] == ["5610A"] and rows[0]["probabilities"] == [0.5]
    assert _segments(tmp_path) == []
    assert 'records_total{outcome="written"} 100.0' in recorder.metrics.render()[0].decode()  # type: ignore[union-attr]


def test_a_crash_between_the_parquet_and_the_delete_adds_no_row(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    for i in range(20):
        recorder.prediction(_record(NOON + i, ["a", "b"]))
    [segment] = _segments(tmp_path)
    kept = shutil.copy(segment, tmp_path / "kept")
    recorder.stop()  # writes the rows, deletes the segment
    files = sorted((tmp_path / "p").rglob("*.parquet"))
    shutil.move(kept, segment)  # as if the process had died before the delete
    _recorder(tmp_path).stop()  # adopts the segment and writes it again
    assert sorted((tmp_path / "p").rglob("*.parquet")) == files  # replaced, not added
    assert predlog.read_log(tmp_path / "p").num_rows == 40
    assert _segments(tmp_path) == []


def test_a_live_recorders_segment_is_left_to_it(tmp_path: Path) -> None:
    owner, sibling = _recorder(tmp_path), _recorder(tmp_path)
    owner.prediction(_record(NOON, ["mine"]))
    sibling.stop()
    assert predlog.read_log(tmp_path / "p").num_rows == 0 and len(_segments(tmp_path)) == 1
    owner.prediction(_record(NOON, ["mine too"]))
    owner.stop()
    assert predlog.read_log(tmp_path / "p").column("text").to_pylist() == ["mine", "mine too"]
    assert _segments(tmp_path) == []


def test_damaged_and_cut_lines_are_skipped_not_the_rest() -> None:
    good = [_record(NOON, ["a"]), _record(NOON + 1, ["b", "c"])]
    data = (
        encode(good[0]) + b"{not json\n" + b"[1, 2]\n" + b"\n" + encode(good[1]) + b'["01a2'
    )  # fmt: skip
    records, skipped = decode(data)
    assert records == good and skipped == 3


def test_a_segment_beyond_repair_is_set_aside_once(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir()
    damaged = tmp_path / "spool" / f"{'ab' * 16}.journal"
    damaged.write_bytes(b'["id", "not a time", "nace", "3", ["a"], [], [], 1, null]\n')
    recorder = _recorder(tmp_path)
    recorder.prediction(_record(NOON, ["fine"]))
    recorder.stop()
    assert predlog.read_log(tmp_path / "p").column("text").to_pylist() == ["fine"]
    assert [p.name for p in (tmp_path / "spool").iterdir()] == [f"{'ab' * 16}.damaged"]


def test_with_a_salt_the_journal_never_holds_the_text(tmp_path: Path) -> None:
    salt = b"pepper-pepper-pepper"
    recorder = _recorder(tmp_path, salt=salt)
    recorder.prediction(_record(NOON, ["secret activity"]))
    [segment] = _segments(tmp_path)
    assert b"secret" not in segment.read_bytes()
    recorder.stop()
    [row] = predlog.read_log(tmp_path / "p").to_pylist()
    expected = hmac.new(salt, b"secret activity", hashlib.sha256).hexdigest()
    assert row["text"] is None and row["text_hash"] == expected and row["text_chars"] == 15


def test_with_a_salt_a_texts_columns_are_dropped_everywhere(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, salt=b"pepper-pepper-pepper")
    columns = {"type_": ["SECRETTYPE"], "surface": [2]}
    recorder.prediction(_record(NOON, ["secret activity"])._replace(columns=columns))
    [segment] = _segments(tmp_path)
    assert b"SECRETTYPE" not in segment.read_bytes()
    recorder.stop()
    [row] = predlog.read_log(tmp_path / "p").to_pylist()
    assert row["record"] is None and row["text"] is None and row["text_hash"] is not None


def test_a_failed_write_keeps_the_segment_and_a_later_write_takes_it(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("a file where the log folder should be")
    recorder = _recorder(tmp_path)
    recorder.prediction(_record(NOON, ["kept"]))
    recorder.flush()
    assert 'records_total{outcome="failed"} 1.0' in recorder.metrics.render()[0].decode()  # type: ignore[union-attr]
    assert len(_segments(tmp_path)) == 1
    (tmp_path / "p").unlink()
    recorder.stop()
    assert predlog.read_log(tmp_path / "p").column("text").to_pylist() == ["kept"]
    assert _segments(tmp_path) == []


def test_an_unwritable_journal_logs_from_memory_and_answers_on(tmp_path: Path) -> None:
    (tmp_path / "spool").write_text("a file where the spool folder should be")
    recorder = _recorder(tmp_path)
    recorder.prediction(_record(NOON, ["still logged"]))
    recorder.stop()
    assert predlog.read_log(tmp_path / "p").column("text").to_pylist() == ["still logged"]


def test_each_log_root_has_its_own_local_journal_folder(tmp_path: Path) -> None:
    local = journal_folder(tmp_path, tmp_path / "predictions")
    remote = journal_folder(tmp_path, "s3://bucket/predictions")
    assert local.parent == remote.parent == tmp_path.resolve() / "spool"
    assert local != remote == journal_folder(tmp_path, "s3://bucket/predictions")


@pytest.mark.parametrize("tag", ["not-hex", "ABC", ""])
def test_a_log_file_tag_must_be_hex(tmp_path: Path, tag: str) -> None:
    table = predlog.PREDICTION_SCHEMA.empty_table()
    with pytest.raises(ValueError, match="hex"):
        predlog.write_partitioned(tmp_path, table, tag=tag)


def test_journal_lines_carry_every_field() -> None:
    record = LogRecord("id", NOON, "nace", "3", ["a"], [["5610A"]], [[0.123456]], 2.5, "k")
    assert decode(encode(record)) == ([record], 0)
    # a request whose text 0 was answered with an error: its positions travel too
    partial = record._replace(indexes=[1], batch_size=2)
    assert decode(encode(partial)) == ([partial], 0)
    # a text model's columns beside its texts, null values kept
    with_columns = record._replace(columns={"type_": [None], "surface": [2]})
    assert decode(encode(with_columns)) == ([with_columns], 0)


def test_a_line_written_before_the_columns_field_still_reads() -> None:
    fields = ["id", NOON, "nace", "3", ["a"], [["5610A"]], [[0.5]], 2.5, None, None, None,
              False, None, None]  # fmt: skip
    [old], skipped = decode(json.dumps(fields).encode() + b"\n")
    assert skipped == 0 and old.columns is None and old.texts == ["a"]
