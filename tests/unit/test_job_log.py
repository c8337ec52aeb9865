"""A scoring job's chunks as prediction-log records (mlcycle.serve.job_log)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa

from mlcycle.core.predictions import Prediction, Values
from mlcycle.data.predlog import new_request_id, read_log
from mlcycle.serve.job_log import Chunk, JobLog, chunk_record
from mlcycle.serve.logrecords import prediction_table

JOB = {"request_id": new_request_id(1_764_000_000_000), "api_key": "batch-team"}
SERVED = SimpleNamespace(name="quality", version="3")


def test_a_tabular_chunk_logs_its_records_as_json_at_their_rows() -> None:
    batch = pa.RecordBatch.from_pydict({"age": [41, None], "city": ["Lyon", "Brest"], "id": [7, 8]})
    answer = Values(np.array([1.5, 2.5]))
    chunk = Chunk(4, 100, batch, object(), answer, 0.25)
    record = chunk_record(JOB, SERVED, chunk, 1000, ["age", "city"])
    table = prediction_table([record]).to_pandas()
    assert table["index"].tolist() == [100, 101] and set(table["batch_size"]) == {1000}
    assert table["record"].tolist() == ['{"age":41,"city":"Lyon"}', '{"age":null,"city":"Brest"}']
    assert table["value"].tolist() == [1.5, 2.5] and set(table["model_version"]) == {"3"}
    assert set(table["api_key"]) == {"batch-team"} and table["latency_ms"].tolist() == [250, 250]


def test_a_text_chunk_scored_again_replaces_its_rows_and_hashes_when_asked(tmp_path) -> None:
    batch = pa.RecordBatch.from_pydict({"text": ["boulangerie", "coiffeur"]})
    frame = pd.DataFrame({"text": ["boulangerie", "coiffeur"], "type_": ["X", None]})
    codes, probs = np.array([["1071C"], ["9602A"]]), np.array([[0.9], [0.8]], np.float32)
    chunk = Chunk(0, 0, batch, frame, Prediction(codes, probs), 0.01)
    log = JobLog(tmp_path / "predictions", salt=b"pepper")
    for _ in range(2):  # a resumed job scores the chunk again
        log.write(JOB, SERVED, chunk, None, ["text"])
    rows = read_log(tmp_path / "predictions").to_pandas()
    assert len(rows) == 2 and rows["text"].isna().all() and rows["text_hash"].notna().all()
    assert [c[0] for c in rows["codes"]] == ["1071C", "9602A"]
    assert set(rows["batch_size"]) == {2}  # a CSV's size is unknown: the chunk's
