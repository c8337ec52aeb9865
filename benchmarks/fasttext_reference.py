"""Measure the reference fastText on one train/test split, for bench_engine.py.

Runs inside the isolated venv made by setup_fasttext.sh (numpy<2 + fastText 0.9.2), so it
must not import mlcycle. Both files are in fastText's format, one example a line:
``__label__CODE cleaned text``. The texts are already cleaned by the caller, so every
prediction timing here excludes cleaning.

Usage:
    python fasttext_reference.py TRAIN TEST PARAMS_JSON OUT_JSON [--train-repeats N]
        [--latency-texts N] [--batch-repeats N] [--quantize QUANTIZE_JSON]

PARAMS_JSON is a JSON object of ``fasttext.train_supervised`` keyword arguments (inline
text or a path to a file). OUT_JSON receives the measurements. With ``--quantize`` (a
JSON object of ``model.quantize`` arguments), the trained model is then quantized on
TRAIN and measured again, under the key ``quantized``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import fasttext
import numpy as np

LABEL = "__label__"


def read_split(path: Path) -> tuple[list[str], list[str]]:
    """Labels (without the prefix) and texts of a fastText-format file."""
    labels: list[str] = []
    texts: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            head, _, text = line.partition(" ")
            if not head.startswith(LABEL):
                raise ValueError(f"{path}: line without a label: {line[:80]!r}")
            labels.append(head[len(LABEL) :])
            texts.append(text)
    return labels, texts


def load_params(spec: str) -> dict:
    candidate = Path(spec)
    if not spec.lstrip().startswith("{") and candidate.is_file():
        spec = candidate.read_text(encoding="utf-8")
    params = json.loads(spec)
    if not isinstance(params, dict):
        raise ValueError("params must be a JSON object")
    return params


def accuracy(model, labels: list[str], texts: list[str]) -> dict[str, float]:
    predicted, _ = model.predict(texts, k=5)
    top1 = top5 = 0
    for truth, guesses in zip(labels, predicted, strict=True):
        codes = [guess[len(LABEL) :] for guess in guesses]
        if codes and codes[0] == truth:
            top1 += 1
        if truth in codes:
            top5 += 1
    n = len(labels)
    return {"top1": top1 / n, "top5": top5 / n}


def batch_throughput(model, texts: list[str], repeats: int) -> dict[str, float]:
    """Texts per second of one ``predict(list, k=5)`` call over the whole list."""
    model.predict(texts[: min(len(texts), 1000)], k=5)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(texts, k=5)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {
        "batch_seconds_runs": seconds,
        "batch_seconds": median,
        "batch_texts_per_s": len(texts) / median,
    }


def single_latency(model, texts: list[str], count: int) -> dict[str, float]:
    """Median and p95 microseconds of ``predict(text, k=5)`` on one text at a time."""
    sample = texts[:count]
    for text in sample[:200]:  # warm-up
        model.predict(text, k=5)
    timings = []
    clock = time.perf_counter_ns
    for text in sample:
        start = clock()
        model.predict(text, k=5)
        timings.append((clock() - start) / 1000.0)
    timings.sort()
    return {
        "single_us_median": statistics.median(timings),
        "single_us_p95": timings[min(len(timings) - 1, int(0.95 * len(timings)))],
        "single_count": len(timings),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("params", help="JSON object of train_supervised arguments, or a file")
    parser.add_argument("out", type=Path)
    parser.add_argument("--train-repeats", type=int, default=1)
    parser.add_argument("--batch-repeats", type=int, default=3)
    parser.add_argument("--latency-texts", type=int, default=2000)
    parser.add_argument("--quantize", help="JSON object of quantize() arguments")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    params["verbose"] = 0
    labels, texts = read_split(args.test)

    train_runs = []
    model = None
    for _ in range(max(1, args.train_repeats)):
        model = None
        start = time.perf_counter()
        model = fasttext.train_supervised(input=str(args.train), **params)
        train_runs.append(time.perf_counter() - start)

    result: dict = {
        "engine": "fasttext",
        "version": metadata.version("fasttext-wheel")
        if _installed("fasttext-wheel")
        else metadata.version("fasttext"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "params": params,
        "n_test": len(texts),
        "n_labels": len(model.get_labels()),
        "n_words": len(model.get_words()),
        "train_seconds_runs": train_runs,
        "train_seconds": statistics.median(train_runs),
    }
    cores = os.sched_getaffinity(0)
    result.update(measure(model, labels, texts, args, "model.bin"))
    if args.quantize:
        os.sched_setaffinity(0, cores)  # quantize (and retrain) on every core, as training
        start = time.perf_counter()
        model.quantize(input=str(args.train), verbose=0, **load_params(args.quantize))
        seconds = time.perf_counter() - start
        result["quantized"] = {
            "quantize_seconds": seconds,
            **measure(model, labels, texts, args, "model.ftz"),
        }

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


def measure(model, labels: list[str], texts: list[str], args, file_name: str) -> dict:
    """Accuracy, speed on one core and size on disk of ``model`` as it is now."""
    # Prediction on one core: training's threads are gone, pin this (only) thread.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    result: dict = {"cpu_affinity": sorted(os.sched_getaffinity(0))}
    result.update(accuracy(model, labels, texts))
    result.update(batch_throughput(model, texts, args.batch_repeats))
    result.update(single_latency(model, texts, args.latency_texts))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, file_name)
        model.save_model(path)
        result["model_bytes"] = os.path.getsize(path)
    return result


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
