"""Batch outputs appear whole or not at all, locally and behind an fsspec URL."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.serve.batch_io import Output, output_format

BATCH = pa.RecordBatch.from_pydict({"row": [0, 1], "code_1": ["5610A", "4711D"]})


@pytest.mark.parametrize(
    ("name", "chosen", "fmt"),
    [("a.parquet", None, "parquet"), ("out/A.CSV", None, "csv"), ("s3://b/x.parquet", None,
     "parquet"), ("scores", "csv", "csv")],
)  # fmt: skip
def test_the_format_comes_from_the_option_else_the_suffix(name, chosen, fmt) -> None:
    assert output_format(name, chosen) == fmt


@pytest.mark.parametrize("name", ["scores", "scores.xlsx", "dir.parquet/out"])
def test_an_output_named_neither_way_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"Name the output \.parquet or \.csv"):
        output_format(name, None)


def test_a_local_output_is_renamed_into_place_once_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.parquet"
    out = Output(str(target), "parquet", overwrite=False)
    out.write(BATCH, {"mlcycle.model": "nace/3"})
    assert not target.exists() and len(list(target.parent.iterdir())) == 1  # the partial
    out.commit()
    assert [p.name for p in target.parent.iterdir()] == ["out.parquet"]
    table = pq.read_table(target)
    assert table.num_rows == 2 and table.schema.metadata[b"mlcycle.model"] == b"nace/3"


def test_a_discarded_output_leaves_nothing_and_an_existing_one_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("before\n")
    with pytest.raises(InvalidInput, match="exists; pass --overwrite"):
        Output(str(target), "csv", overwrite=False)
    out = Output(str(target), "csv", overwrite=True)
    out.write(BATCH, {})
    out.discard()
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert target.read_text() == "before\n"


def test_an_fsspec_output_is_uploaded_then_moved_onto_its_name() -> None:
    fs = fsspec.filesystem("memory")  # one per process: a bucket of this test's own
    bucket = f"/bucket-{uuid.uuid4().hex}"
    out = Output(f"memory://{bucket}/scores.parquet", "parquet", overwrite=False)
    out.write(BATCH, {})
    assert not fs.exists(f"{bucket}/scores.parquet")
    out.commit()
    assert fs.ls(bucket, detail=False) == [f"{bucket}/scores.parquet"]
    assert pq.read_table(io.BytesIO(fs.cat(f"{bucket}/scores.parquet"))).num_rows == 2
    with pytest.raises(InvalidInput, match="exists; pass --overwrite"):
        Output(f"memory://{bucket}/scores.parquet", "parquet", overwrite=False)
    fs.rm(bucket, recursive=True)


def test_a_chunk_is_scored_a_slice_at_a_time_and_joined_in_order() -> None:
    import numpy as np

    from mlcycle.core.predictions import Prediction
    from mlcycle.serve.batch import SLICE_ROWS, predict_chunk

    class Echo:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def predict(self, texts, k):
            self.calls.append(len(texts))
            codes = np.array([[t, t] for t in texts])
            return Prediction(codes, np.zeros((len(texts), 2)), np.array([not t for t in texts]))

    texts = [str(i) for i in range(2 * SLICE_ROWS + 5)]
    model = Echo()
    got = predict_chunk(model, texts, 2)
    assert model.calls == [SLICE_ROWS, SLICE_ROWS, 5]
    assert got.codes[:, 0].tolist() == texts and got.empty.shape == (len(texts),)
    assert got.raw is None
