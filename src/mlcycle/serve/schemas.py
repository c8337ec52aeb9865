"""The shapes of the API's requests and answers, as documented in OpenAPI.

``/predict`` validates its body by hand for speed (see ``mlcycle.serve.validation``);
these models describe the same contract for ``/docs`` and for clients.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class PredictRequest(BaseModel):
    """Texts to classify and how many ranked codes to return for each."""

    texts: list[str] = Field(
        min_length=1,
        description="Activity descriptions, 1 to the batch limit (1,000 by default), "
        "each non-blank and at most the text limit (2,000 characters by default).",
        examples=[["Restaurant traditionnel, cuisine du marché"]],
    )
    k: int = Field(
        1,
        ge=1,
        description="Codes to return per text, best first; from 1 to the k limit "
        "(20 by default), and never more than the model knows.",
        examples=[5],
    )


class Candidate(BaseModel):
    """One ranked answer for one text."""

    code: str = Field(description="The predicted code, e.g. a NAF rev.2 code such as 5610A.")
    probability: float = Field(ge=0.0, le=1.0, description="The model's probability.")
    label: str | None = Field(None, description="The code's official label, null when unknown.")


class ModelRef(BaseModel):
    """Which registered model version answered."""

    name: str
    version: str


class PredictResponse(BaseModel):
    """Ranked codes for each text, in the order of the request's texts."""

    model: ModelRef
    predictions: list[list[Candidate]]


class ModelInfo(BaseModel):
    """The model this server answers with."""

    name: str
    version: str
    labels: int = Field(description="How many codes the model can predict.")
    model_uri: str


class Status(BaseModel):
    """A probe's answer."""

    status: str


class ErrorBody(BaseModel):
    """Every error the API returns: a stable code and one sentence for a person."""

    error: str = Field(examples=["invalid_input"])
    detail: str = Field(examples=["'texts' is empty; send between 1 and 1000 texts."])
