"""The compiled writer of ranked predictions says what the dict-built answer said."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import orjson
import pytest

from mlcycle.core.predictions import Prediction
from mlcycle.serve.answers import LabelFacts
from mlcycle.serve.ranked_json import RankedJson

LABELS = ["4723Z", "0111Z", "5610A", 'X\u00e9"\\']


class Book:
    """Names with quotes, accents and backslashes; parents for some codes only."""

    def label_name(self, label: str) -> str | None:
        return {"4723Z": 'Commerce "de détail" de poissons', "5610A": "Restauration"}.get(label)

    def label_parents(self, label: str) -> Mapping[str, tuple[str, str]]:
        if label == "4723Z":
            return {"section": ("G", "Commerce"), "division": ("47", "Détail")}
        return {}


def expected(codes: np.ndarray, probs: np.ndarray) -> list:
    """What ``Predictor.render`` built before the writer: dicts, probabilities rounded."""
    facts = LabelFacts.of(LABELS, Book())
    rounded = np.round(np.asarray(probs, np.float64), 6).tolist()
    return [
        [
            {"code": c, "probability": p, "label": facts.names[c],
             "parents": orjson.loads(orjson.dumps(facts.parents[c]))}
            for c, p in zip(row_codes, row_probs, strict=True)
        ]
        for row_codes, row_probs in zip(codes.tolist(), rounded, strict=True)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def writer() -> RankedJson:
    return RankedJson(LABELS, LabelFacts.of(LABELS, Book()))


def test_random_batches_parse_to_the_dict_built_answer(writer: RankedJson) -> None:
    rng = np.random.default_rng(7)
    rows = rng.integers(0, len(LABELS), size=(500, 3))
    codes = np.asarray(LABELS)[rows]
    probs = rng.random((500, 3)).astype(np.float32)
    for given_rows in (rows, None):  # from the model's rows, or looked up from the codes
        body = writer.array(Prediction(codes, probs, rows=given_rows))
        assert body is not None
        assert orjson.loads(body) == expected(codes, probs)


def test_edge_probabilities_are_the_same_numbers(writer: RankedJson) -> None:
    values = [0.0, 1.0, 1e-7, 4.9e-7, 5.1e-7, 0.9999995, 0.1234565, 0.93, 0.5, 1e-6]
    probs = np.asarray([values], np.float32)
    codes = np.asarray([["4723Z"] * len(values)])
    body = writer.array(Prediction(codes, probs))
    assert body is not None
    assert orjson.loads(body) == expected(codes, probs)
    assert b'"probability":1.0,' in body and b'"probability":0.93,' in body


def test_a_value_that_is_no_probability_is_null(writer: RankedJson) -> None:
    probs = np.asarray([[np.nan, -0.5, 12.0]], np.float32)
    body = writer.array(Prediction(np.asarray([["4723Z", "0111Z", "5610A"]]), probs))
    assert body is not None
    assert [p["probability"] for p in orjson.loads(body)[0]] == [None, None, None]


def test_rows_are_each_texts_own_array(writer: RankedJson) -> None:
    codes = np.asarray([["4723Z", "0111Z"], ["5610A", "4723Z"]])
    probs = np.asarray([[0.7, 0.2], [0.6, 0.1]], np.float32)
    rows = writer.rows(Prediction(codes, probs))
    assert rows is not None
    assert [orjson.loads(row) for row in rows] == expected(codes, probs)
    assert writer.rows(Prediction(np.empty((0, 0), str), np.empty((0, 0), np.float32))) == []


def test_a_code_outside_the_labels_is_left_to_the_caller(writer: RankedJson) -> None:
    codes = np.asarray([["4723Z", "9999Z"]])
    probs = np.asarray([[0.7, 0.2]], np.float32)
    assert writer.array(Prediction(codes, probs)) is None
    assert writer.rows(Prediction(codes, probs)) is None
