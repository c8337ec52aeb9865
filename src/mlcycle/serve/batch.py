"""Score a whole file with a registered model: ``mlcycle predict``.

The model is loaded once, verified like a served one, then worker processes forked
from this one (the model already in memory) score chunks while this process reads
the next and writes the last, in input order. At most two chunks per worker are in
flight, so memory stays flat whatever the file's size. Text models take the text
column (and the categorical columns they were trained with); tabular models their
feature columns, checked value by value as the API checks records. Every output row
carries the input row's id (``--id-col``) or its number, the top-k codes with their
probabilities (or the predicted value), and, for a text, whether it held no word the
model reads (``empty_text``). The Parquet output names the model version it came from.
"""

from __future__ import annotations

import gc
import multiprocessing
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.errors import InvalidInput
from mlcycle.core.predictions import Prediction, Values
from mlcycle.core.processes import serving_process
from mlcycle.models.protocol import ServedModel
from mlcycle.serve.batch_io import Input, Output, read_chunks
from mlcycle.serve.records import RecordRules
from mlcycle.serve.tabular import RowModel
from mlcycle.serve.text_columns import TEXT_COLUMN, model_columns

CHUNK_ROWS = 50_000
SLICE_ROWS = 4096
_RECORD = re.compile(r"^Record (\d+)")
_READER: ChunkReader | None = None  # a forked worker's reader (the parent's, inherited)

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class BatchResult:
    """What a batch run wrote."""

    model: str  # name/version
    rows: int
    output: str
    format: str
    seconds: float
    workers: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "rows_per_second": round(self.rows / max(self.seconds, 1e-9))}


@dataclass(frozen=True)
class Job:
    """What to score and how."""

    k: int = 5
    id_col: str | None = None
    text_col: str = TEXT_COLUMN
    workers: int = 1
    chunk_rows: int = CHUNK_ROWS


def score_file(
    served: ServedModel, source: Input, output: Output, job: Job, progress: Progress | None = None
) -> BatchResult:
    """Score every row of ``source`` into ``output``; the output appears only when whole."""
    reader = ChunkReader(served, source, job)
    metadata = {"mlcycle.model": f"{served.name}/{served.version}", "mlcycle.model_uri":
                served.model_uri, "mlcycle.source": source.shown}  # fmt: skip
    start, done = time.perf_counter(), 0
    try:
        for answer in _answers(reader, job):
            output.write(answer, metadata)
            done += answer.num_rows
            if progress is not None:
                progress(done, source.rows)
        if done == 0:
            raise InvalidInput(f"{source.shown} has no rows to score.")
        output.commit()
    except BaseException:
        output.discard()
        raise
    model = f"{served.name}/{served.version}"
    seconds = time.perf_counter() - start
    return BatchResult(model, done, output.target, output.format, seconds, job.workers)


def _answers(reader: ChunkReader, job: Job) -> Iterator[pa.RecordBatch]:
    """The output rows of every chunk in input order, scored here or by forked workers.

    Workers get the chunk's columns as read and send back its output rows: turning
    them into the model's inputs and the answers into columns is theirs to do, so this
    process, which reads and writes for all of them, does no more than that."""
    chunks = numbered(read_chunks(reader.source, reader.columns, job.chunk_rows))
    if job.workers <= 1:
        for first, batch in chunks:
            yield reader.score(batch, first, job)
        return
    global _READER
    _READER = reader  # the workers inherit it, model included: no second load
    # Objects made so far (MLflow's modules, the model) are left out of the workers'
    # garbage collections, which would otherwise write into, and so copy, their pages.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(job.workers, context, serving_process) as pool:
            pending: deque[Future] = deque()
            for first, batch in chunks:
                pending.append(pool.submit(_work, batch, first, job))
                if len(pending) >= 2 * job.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        gc.unfreeze()


def numbered(chunks: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Each chunk with the number of rows before it."""
    first = 0
    for batch in chunks:
        yield first, batch
        first += batch.num_rows


def _work(batch: pa.RecordBatch, first: int, job: Job) -> pa.RecordBatch:
    assert _READER is not None, "only for workers forked by _answers"
    return _READER.score(batch, first, job)


def predict_chunk(model: Any, inputs: Any, k: int) -> Prediction | Values:
    """The model's answer for a chunk, scored ``SLICE_ROWS`` texts at a time: a call
    holds a score per text and label (50,000 texts x 732 codes: 146 MB of floats)."""
    if isinstance(inputs, _Staged):
        return RowModel(model).predict(inputs.rows, k)
    if len(inputs) <= SLICE_ROWS:
        return model.predict(inputs, k)
    rows = inputs.iloc if hasattr(inputs, "iloc") else inputs
    parts = [model.predict(rows[i : i + SLICE_ROWS], k) for i in range(0, len(inputs), SLICE_ROWS)]
    return type(parts[0])(*(_joined([getattr(p, f) for p in parts]) for f in parts[0]._fields))


def _joined(arrays: list[Any]) -> Any:
    return None if arrays[0] is None else np.concatenate(arrays)


@dataclass(frozen=True)
class _Staged:
    """Tabular rows prepared for the model (mlcycle.serve.tabular.RowModel): what a
    worker is sent, its own copy of the model does the rest."""

    rows: Any


class ChunkReader:
    """Which columns of the file the model reads, and its inputs from a chunk of them."""

    def __init__(self, served: ServedModel, source: Input, job: Job) -> None:
        self.source = source
        self.model = served.model
        self.text = served.task == "text-classification"
        if self.text:
            self.features = [job.text_col, *model_columns(served.model)]
            self.rules = None
        else:
            self.rules = RecordRules(getattr(served.model, "types", None), max_chars=1 << 20)
            self.features = self.rules.columns
            self.rows = RowModel(served.model)
        wanted = [*self.features, *([job.id_col] if job.id_col else [])]
        _check_columns(source, wanted, job)
        self.columns = list(dict.fromkeys(wanted))

    def score(self, batch: pa.RecordBatch, first: int, job: Job) -> pa.RecordBatch:
        """The output rows of ``batch``, whose first row is row ``first`` (0-based)."""
        return self.answer(batch, self.predicted(batch, first, job)[1], first, job)

    def predicted(self, batch: pa.RecordBatch, first: int, job: Job) -> tuple[Any, Any]:
        """The model's inputs for ``batch`` and its answer to them."""
        inputs = self.inputs(batch, first, job)
        return inputs, predict_chunk(self.model, inputs, job.k)

    def inputs(self, batch: pa.RecordBatch, first: int, job: Job) -> Any:
        """The model's inputs for ``batch``, whose first row is row ``first`` (0-based)."""
        if self.text:
            return self._texts(batch, job)
        records = batch.select(self.features).to_pylist()
        try:
            assert self.rules is not None
            self.rules.check(records)
        except InvalidInput as exc:
            raise InvalidInput(_row_message(exc.message, first, self.source.shown)) from None
        return _Staged(self.rows.prepare(records))

    def _texts(self, batch: pa.RecordBatch, job: Job) -> Any:
        column = batch.column(job.text_col)
        texts = pc.fill_null(pc.cast(column, pa.string()), "").to_pylist()
        extra = self.features[1:]
        if not extra:
            return texts
        frame = batch.select(extra).to_pandas()
        frame.insert(0, TEXT_COLUMN, texts)
        return frame

    def answer(self, batch: pa.RecordBatch, result: Any, first: int, job: Job) -> pa.RecordBatch:
        """The output rows of one chunk: id (or row number), then the prediction."""
        n = batch.num_rows
        key = job.id_col or "row"
        ids = batch.column(job.id_col) if job.id_col else pa.array(range(first, first + n))
        columns: dict[str, Any] = {key: ids}
        if isinstance(result, Values):
            columns["value"] = pa.array(result.values, pa.float64())
        else:
            for j in range(result.codes.shape[1]):
                columns[f"code_{j + 1}"] = pa.array(result.codes[:, j], pa.string())
                columns[f"probability_{j + 1}"] = pa.array(result.probs[:, j], pa.float64())
            if self.text and result.empty is not None:
                columns["empty_text"] = pa.array(result.empty, pa.bool_())
        return pa.RecordBatch.from_pydict(columns)


def _check_columns(source: Input, wanted: list[str], job: Job) -> None:
    missing = [name for name in wanted if name not in source.columns]
    if not missing:
        return
    has = ", ".join(source.columns) or "none"
    hint = (
        "name the texts' column with --text-col" if missing[0] == job.text_col
        else "name the id column with --id-col" if missing[0] == job.id_col
        else "give every feature the model was trained with, empty where unknown"
    )  # fmt: skip
    raise InvalidInput(f"{source.shown} has no column {missing[0]!r} (it has: {has}); {hint}.")


def _row_message(message: str, first: int, shown: str) -> str:
    """A record check's message naming the file's data row (1-based) instead."""
    found = _RECORD.match(message)
    if found is None:
        return f"{shown}: {message}"
    return f"{shown}, data row {first + int(found[1]) + 1}{message[found.end() :]}"
