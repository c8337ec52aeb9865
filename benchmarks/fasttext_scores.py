"""fastText's own top-1 scores on labelled files, for bench_calibration.py.

Runs inside the isolated venv made by setup_fasttext.sh (numpy<2 + fastText 0.9.2), so it
must not import mlcycle. Files are in fastText's format, one example a line:
``__label__CODE cleaned text``.

Usage:
    python fasttext_scores.py TRAIN PARAMS_JSON OUT_JSON FILE [FILE ...]

Trains ``fasttext.train_supervised`` on TRAIN with PARAMS_JSON (inline JSON or a file),
then writes to OUT_JSON, per FILE (by its stem), each row's true label, top-1 label and
top-1 probability as fastText reports it (with ``loss: ova``, a sigmoid per label).
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import fasttext

LABEL = "__label__"


def read(path: Path) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            head, _, text = line.rstrip("\n").partition(" ")
            labels.append(head[len(LABEL) :])
            texts.append(text)
    return labels, texts


def top1(model, path: Path) -> dict[str, list]:
    truth, texts = read(path)
    predicted, probs = model.predict(texts, k=1)
    return {
        "truth": truth,
        "top1": [p[0][len(LABEL) :] for p in predicted],
        "probability": [min(1.0, float(p[0])) for p in probs],
    }


def main(argv: list[str]) -> int:
    train, spec, out, *files = argv
    params = json.loads(Path(spec).read_text() if Path(spec).is_file() else spec)
    model = fasttext.train_supervised(input=train, verbose=0, **params)
    result = {
        "version": _version(),
        "params": params,
        "files": {Path(f).stem: top1(model, Path(f)) for f in files},
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    return 0


def _version() -> str:
    for name in ("fasttext-wheel", "fasttext"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
