"""``text-classification``: one text in, ranked labels with probabilities out.

The flagship project (French activity descriptions to NAF rev.2 codes) is this task
with the ``naf-rev2`` nomenclature; any other text labelling is the same task without
one. Its canonical frame is ``text``, ``label`` (and extra columns, kept aside). The
categorical columns a project names beside its text (``data.features``) go to the
model with the text: its input is then a table, ``text`` and those columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlcycle.core.settings import behaviour_cases
from mlcycle.tasks.base import LABEL, BehaviourReport, Evaluation, Task
from mlcycle.tasks.ranked import evaluate_ranked
from mlcycle.tasks.split import stratified_split
from mlcycle.tasks.text import behaviour

if TYPE_CHECKING:
    from mlcycle.core.settings.registry import BehaviourGate

TEXT = "text"
# The generated set's own words, written as people type them: an accent left out, upper
# case, punctuation and digits around a word; the cleaning makes them the same input.
SHOWCASE = ("vendeur d'huitres", "boulanger", "COIFFEUR", "coiffeur, & 98789")


class TextClassification(Task):
    name = "text-classification"
    kind = "classification"
    default_family = "fasttext"
    headline = ("accuracy_top1", "f1_macro")
    # Expected calibration errors (a calibrated model's, on the holdout and in its run).
    lower_is_better = frozenset({"ece", "ece_raw"})

    text_column = TEXT

    @property
    def has_synthetic(self) -> bool:  # type: ignore[override]
        """The generator writes French activity descriptions with NAF rev.2 codes."""
        return self.settings.data.nomenclature == "naf-rev2"

    @property
    def categorical_columns(self) -> list[str]:
        """The columns the model reads beside the text (none by default)."""
        return self.settings.data.categorical_features()

    def columns(self) -> list[str]:
        return [TEXT, *self.categorical_columns, LABEL]

    def showcase(self) -> list[str] | None:
        return list(SHOWCASE) if self.has_synthetic else None

    def synthetic(self, rows: int, seed: int, drift: bool = False) -> pd.DataFrame | None:
        if not self.has_synthetic:
            return None
        from mlcycle.tasks.text.generator import generate
        from mlcycle.tasks.text.nace import codes_at_level

        # The generator's registry columns, when the project reads columns beside the text.
        frame = generate(rows, seed, drift=drift, extra_columns=bool(self.categorical_columns))
        level = self.nomenclature.levels[-1] if self.nomenclature else "subclass"
        if level != "subclass":  # a project coding at a coarser level gets its codes
            frame["nace"] = codes_at_level(frame["nace"].tolist(), level)
        return frame.rename(
            columns={"text": self.settings.data.text_feature(), "nace": self.target}
        )

    def metric_names(self) -> list[str]:
        levels = self.nomenclature.levels if self.nomenclature else ()
        return ["accuracy_top1", "accuracy_top5", "f1_macro", *(f"accuracy_{lv}" for lv in levels)]

    def default_minimums(self, truth: np.ndarray) -> dict[str, float]:
        # Floors that say "learnt something", not the demo's figures: a real project
        # sets its own in the project file.
        return {"accuracy_top1": 0.3, "f1_macro": 0.1}

    def inputs(self, frame: pd.DataFrame) -> list[str] | pd.DataFrame:
        """The texts; with categorical columns, a table of the texts and those columns
        (a column the frame lacks, such as a holdout drawn before it was named, is
        missing: the model reads it as unknown)."""
        texts = frame[TEXT].astype(str).tolist()
        if not self.categorical_columns:
            return texts
        table = pd.DataFrame({TEXT: texts})
        for name in self.categorical_columns:
            table[name] = frame[name].to_numpy() if name in frame.columns else None
        return table

    def split(self, frame: pd.DataFrame, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
        return stratified_split(self.truth(frame), test_size, seed)

    def evaluate(self, truth: np.ndarray, prediction: Any) -> Evaluation:
        return evaluate_ranked(truth, prediction.codes, self.nomenclature)

    def behaviour(self, model: Any, frame: pd.DataFrame, config: BehaviourGate) -> BehaviourReport:
        texts = frame[TEXT].astype(str).tolist()[: config.invariance_texts]
        return behaviour.check(model, texts, self._cases())

    def curated_inputs(self) -> pd.DataFrame | None:
        texts = list(self._cases())
        return pd.DataFrame({TEXT: texts}) if texts else None

    def _cases(self) -> dict[str, str]:
        """The project's ``text: expected label`` cases (project file or cases file)."""
        cases = behaviour_cases(self.settings)
        return cases if isinstance(cases, dict) else {}
