"""Categorical columns beside the text: what they add to the engine, on generated data.

Run with the project's environment:

    .venv/bin/python benchmarks/bench_categories.py --rows 30000 \
        --json benchmarks/.work/categories.json

The generator writes the coding API's columns (``type_``, ``nature``, ``surface``,
``event``) beside the texts, with signal on the activity (``generate(...,
extra_columns=True)``; the texts and codes are those of the plain set). One seeded,
stratified 80/20 split; the flagship project's fastText parameters. Three figures:

1. a model of the texts alone (the engine as it was), on the evaluation texts;
2. the same parameters with the four columns, on the evaluation rows with them;
3. that model again, sent the texts alone (every column unknown), as a client that does
   not know the columns would call it.

Training and prediction times are given for both models (the text-only one runs the
kernel it always ran: the columns have a kernel of their own). The gain is measured on
data built to carry signal in its columns: it shows the model uses them, not what real
registry columns are worth.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = ("type_", "nature", "surface", "event")


def seed_params() -> dict[str, Any]:
    """The flagship project's fastText parameters, on every core this process may use."""
    import yaml

    from mlcycle.core.settings import default_project

    params = yaml.safe_load(default_project().read_text(encoding="utf-8"))["model"]["params"]
    return {**params, "thread": len(os.sched_getaffinity(0))}


def accuracy(model: Any, inputs: Any, truth: np.ndarray) -> dict[str, float]:
    """Top-1 and top-5 accuracy, and the prediction time per row (one batch)."""
    model.predict(inputs[:10] if isinstance(inputs, list) else inputs.iloc[:10], k=5)
    start = time.perf_counter()
    codes = model.predict(inputs, k=5).codes
    seconds = time.perf_counter() - start
    return {
        "top1": float(np.mean(codes[:, 0] == truth)),
        "top5": float(np.mean((codes == truth[:, None]).any(axis=1))),
        "predict_us_per_row": seconds / len(truth) * 1e6,
    }


def fit(params: dict[str, Any], inputs: Any, labels: list[str]) -> tuple[Any, float]:
    from mlcycle.models.fasttext import FastTextClassifier

    start = time.perf_counter()
    model = FastTextClassifier(**params).fit(inputs, labels)
    return model, time.perf_counter() - start


def run(rows: int, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    from mlcycle.tasks.split import stratified_split
    from mlcycle.tasks.text.generator import generate

    frame = generate(rows, seed, extra_columns=True)
    train, test = stratified_split(frame["nace"].to_numpy(), 0.2, seed)
    fitted, held = frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)
    params = {**seed_params(), **overrides}
    labels, truth = fitted["nace"].tolist(), held["nace"].to_numpy()
    table = ["text", *COLUMNS]
    text_model, text_seconds = fit(params, fitted["text"].tolist(), labels)
    column_model, column_seconds = fit(params, fitted[table], labels)
    texts = held["text"].tolist()
    return {
        "rows": rows,
        "train_rows": len(train),
        "eval_rows": len(test),
        "classes": int(frame["nace"].nunique()),
        "params": params,
        "missing_share": {c: float(frame[c].isna().mean()) for c in COLUMNS},
        "text_only": {"train_s": text_seconds, **accuracy(text_model, texts, truth)},
        "with_columns": {"train_s": column_seconds, **accuracy(column_model, held[table], truth)},
        "columns_model_texts_alone": accuracy(column_model, texts, truth),
    }


def markdown(result: dict[str, Any]) -> str:
    rows = [
        ("texts alone (the engine as before)", result["text_only"]),
        ("texts and the four columns", result["with_columns"]),
        ("the columns' model, sent texts alone", result["columns_model_texts_alone"]),
    ]
    lines = [
        "| model, input | top-1 | top-5 | train s | predict µs/row |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows:
        train = f"{r['train_s']:.0f}" if "train_s" in r else ""
        lines.append(
            f"| {name} | {r['top1']:.2%} | {r['top5']:.2%} | {train} | "
            f"{r['predict_us_per_row']:.1f} |"
        )
    gain = result["with_columns"]["top1"] - result["text_only"]["top1"]
    lines.append(f"\nTop-1 gain from the columns: {gain * 100:+.2f} points.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epoch", type=int, help="Override the project's epochs.")
    parser.add_argument("--json", type=Path, help="Write the figures here too.")
    args = parser.parse_args(argv)
    overrides = {"epoch": args.epoch} if args.epoch else {}
    result = run(args.rows, args.seed, overrides)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
