"""Scoring jobs in the prediction log: a job is one request, each of its rows one row.

A job gets a request id when it is queued (``POST /jobs`` answers it), so feedback on
a job's row names ``(request_id, row number)`` as for any answer. Its worker logs each
chunk as it scores it, before the chunk's result part is written, in a file tagged with
the job and the chunk: a job resumed after its worker died scores that chunk again and
replaces the file, so no row is logged twice. Rows are logged as online answers are:
the text (or its HMAC when ``serve.prediction_log.log_text`` is false), the categorical
columns a text model reads, a tabular model's record as JSON, the version that scored
them, the name of the API key that queued the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from mlcycle.core.errors import Unavailable
from mlcycle.core.predictions import Values
from mlcycle.data.predlog import Root, log_roots, request_id_ms, write_partitioned
from mlcycle.serve.logrecords import LogRecord, prediction_table
from mlcycle.serve.text_columns import TEXT_COLUMN

if TYPE_CHECKING:
    from mlcycle.core.predictions import Prediction
    from mlcycle.core.settings import Settings
    from mlcycle.models.protocol import ServedModel


@dataclass(frozen=True)
class Chunk:
    """One chunk of a job: its input rows, and once scored the model's inputs and answer."""

    index: int  # its number in the job, from 0
    first: int  # its first row's number in the file, from 0
    batch: pa.RecordBatch  # the columns read from the file
    inputs: Any = None  # what the model was given (texts, a table of them, staged records)
    answer: Prediction | Values | None = None
    seconds: float = 0.0  # how long scoring it took


@dataclass(frozen=True)
class JobLog:
    """Where a worker logs the rows it scores."""

    root: Root
    salt: bytes | None  # set when texts are logged as their HMAC only

    @classmethod
    def from_settings(cls, settings: Settings) -> JobLog | None:
        config = settings.serve.prediction_log
        if not config.enabled:
            return None
        return cls(log_roots(settings)[0], None if config.log_text else config.salt.encode())

    def write(self, job: dict[str, str], served: ServedModel, chunk: Chunk, rows: int | None,
              features: list[str]) -> None:  # fmt: skip
        """Log ``chunk`` of ``job`` (a file of ``rows`` rows when known)."""
        record = chunk_record(job, served, chunk, rows, features)
        tag = f"{record.request_id.replace('-', '')}{chunk.index:08x}"
        try:
            write_partitioned(self.root, prediction_table([record], self.salt), tag=tag)
        except OSError as exc:
            raise Unavailable(
                f"The prediction log at {self.root} could not be written "
                f"({exc.strerror or exc}); free space or fix its permissions, then queue "
                "the job again."
            ) from None


def chunk_record(job: dict[str, str], served: ServedModel, chunk: Chunk, rows: int | None,
                 features: list[str]) -> LogRecord:  # fmt: skip
    """The log record of one chunk: the job's request, the chunk's rows at their place.

    ``rows`` is the file's size, the request's batch size; a CSV's is unknown until it
    is read to its end, and the chunk's own size stands in for it."""
    request_id = job["request_id"]
    n = chunk.batch.num_rows
    texts, columns, tabular = _logged_inputs(chunk, features)
    answer = chunk.answer
    assert answer is not None, "a chunk is logged once scored"
    if isinstance(answer, Values):
        codes: list[list[str]] = [[] for _ in range(n)]
        probs: list[list[float]] = [[] for _ in range(n)]
        values: list[float] | None = answer.values.tolist()
    else:
        codes, probs, values = answer.codes.tolist(), answer.probs.tolist(), None
    return LogRecord(
        request_id, request_id_ms(request_id) or 0, served.name, str(served.version), texts,
        codes, probs, chunk.seconds * 1000.0, job.get("api_key") or None, None, values,
        tabular, list(range(chunk.first, chunk.first + n)), rows or None, columns,
    )  # fmt: skip


def _logged_inputs(
    chunk: Chunk, features: list[str]
) -> tuple[list[str], dict[str, list[Any]] | None, bool]:
    """The chunk's texts (or records as JSON), a text model's other columns, and whether
    they are records."""
    inputs = chunk.inputs
    if isinstance(inputs, list):
        return inputs, None, False
    if hasattr(inputs, "columns"):  # texts beside the categorical columns the model reads
        others = [c for c in inputs.columns if c != TEXT_COLUMN]
        return inputs[TEXT_COLUMN].tolist(), {c: inputs[c].tolist() for c in others}, False
    records = chunk.batch.select(features).to_pylist()
    return [orjson.dumps(r, default=str).decode() for r in records], None, True
