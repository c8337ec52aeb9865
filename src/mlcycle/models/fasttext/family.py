"""The ``fasttext`` family: our fastText-style text classifier, logged as a pyfunc."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from mlcycle.models.families import ModelFamily
from mlcycle.models.fasttext.categories import names
from mlcycle.models.fasttext.classifier import FastTextClassifier
from mlcycle.models.fasttext.params import FastTextParams

# Wide enough to matter, narrow enough that one trial stays within seconds to a minute
# on the synthetic set: the seed's "accuracy against dim" exercise is the dim axis.
DEFAULT_SPACE: dict[str, Any] = {
    "dim": {"low": 25, "high": 200, "step": 25},
    "lr": {"low": 0.05, "high": 1.0, "log": True},
    "epoch": {"low": 5, "high": 40, "step": 5},
    "wordNgrams": {"low": 1, "high": 3},
    "minn": {"low": 2, "high": 4},
    "maxn": {"low": 3, "high": 6},
    "minCount": {"low": 1, "high": 5},
    "bucket": [50_000, 100_000, 200_000],
    "loss": ["ova", "softmax", "hs"],
}


class FastTextFamily(ModelFamily):
    name = "fasttext"
    tasks = frozenset({"text-classification"})
    thread_param = "thread"
    preload = ("mlcycle.models.fasttext.kernels",)

    def build(
        self, params: Mapping[str, Any], task: str, types: Mapping[str, str] | None = None
    ) -> FastTextClassifier:
        return FastTextClassifier(**FastTextParams.from_mapping(dict(params)).as_dict())

    def log_model(self, model: FastTextClassifier, name: str, example: Any, workdir: Path) -> Any:
        from mlcycle.models import pyfunc

        model.save(workdir / pyfunc.ARTIFACT_KEY)
        columns = names(model.categories)
        example = _example(example, columns)
        return pyfunc.log_model(workdir / pyfunc.ARTIFACT_KEY, name, example, workdir, columns)

    def load(self, path: Path) -> FastTextClassifier:
        # The weights are read as data: loading runs none of the stored model's code.
        from mlcycle.models import pyfunc

        return FastTextClassifier.load(path / "artifacts" / pyfunc.ARTIFACT_KEY)

    def params_of(self, model: FastTextClassifier) -> dict[str, Any]:
        return {**model.params.as_dict(), "thread_used": model.params.threads()}

    def default_space(self, params: Mapping[str, Any], task: str) -> dict[str, Any]:
        return dict(DEFAULT_SPACE)

    def reconcile(self, params: dict[str, Any]) -> dict[str, Any]:
        """Keep ``minn`` inside ``1..maxn`` when both are searched independently.

        TPE samples each parameter on its own, so ``minn=4, maxn=3`` can come up; the
        trial then trains (and records) ``minn=3`` rather than failing.
        """
        out = dict(params)
        minn, maxn = out.get("minn"), out.get("maxn")
        if _whole(minn) and _whole(maxn) and maxn > 0:  # else the parameters' own check speaks
            out["minn"] = min(max(int(minn), 1), int(maxn))
        return out


def _example(example: Any, columns: Sequence[str]) -> Any:
    """A few texts for a model of texts; a table of them and the categorical columns
    (missing where the example has none) for a model with columns."""
    import pandas as pd

    table = example if hasattr(example, "columns") else pd.DataFrame({"text": list(example)})
    if not columns:
        return table["text"].astype(str).tolist()
    table = table.reindex(columns=["text", *columns]).astype(object)
    return table.where(table.notna(), None)


def _whole(value: Any) -> TypeGuard[int | float]:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and float(value).is_integer()
    )
