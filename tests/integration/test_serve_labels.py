"""A registered NACE model served from the registry: every code it knows comes back with
its NAF rev.2 label and parents, and a bad text of a batch with its own error."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mlcycle.core.settings import get_settings
from mlcycle.serve.app import create_app
from mlcycle.tasks.text import nace
from mlcycle.train.pipeline import TrainResult


def test_every_code_of_a_registered_model_has_its_label_and_parents(
    registered: TrainResult,
) -> None:
    settings = get_settings()
    serve = settings.serve.model_copy(update={"model": "nace@production", "max_k": 1000})
    settings = settings.model_copy(update={"serve": serve})
    app = create_app(settings=settings)
    with TestClient(app) as client:
        app.state.holder.loading.join()
        codes = client.get("/").json()["labels"]
        body = {"texts": ["restaurant traditionnel", "  "], "k": codes}
        answer = client.post("/predict", json=body).json()
    ranked, blank = answer["predictions"]
    assert blank is None and [e["index"] for e in answer["errors"]] == [1]
    assert len(ranked) == codes > 100  # the generated set covers most of the nomenclature
    for candidate in ranked:
        code = candidate["code"]
        assert candidate["label"] == nace.label(code) is not None, code
        parents = candidate["parents"]
        assert list(parents) == ["section", "division", "group", "class"], code
        assert parents["class"]["code"] == code[:4]
        assert parents["division"] == {"code": code[:2], "label": nace.label(code[:2])}
