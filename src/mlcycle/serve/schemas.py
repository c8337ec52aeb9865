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

    request_id: str = Field(
        description="This answer's id (also in the X-Request-ID header); send it back "
        "with POST /feedback, with the text's index, once the true code is known."
    )
    model: ModelRef
    predictions: list[list[Candidate]]
    empty_after_cleaning: list[int] = Field(
        default_factory=list,
        description="Indexes of the texts with no word left once cleaned (only digits, "
        "punctuation or stop words): their codes say nothing about the text; code them "
        "by hand.",
    )


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


class FeedbackItem(BaseModel):
    """The true code of one text answered before."""

    model_config = {"extra": "forbid"}

    request_id: str = Field(
        description="The request_id of the /predict answer.",
        examples=["01a201e4-8cdd-7b2a-86e3-7adad27870a6"],
    )
    index: int = Field(
        0,
        ge=0,
        description="The text's position in that request's texts; may be left out when "
        "the request had one text.",
    )
    true_code: str = Field(
        description="The right NAF rev.2 subclass code (5610A; 56.10A is accepted).",
        examples=["5610A"],
    )


class FeedbackAnswer(BaseModel):
    """How many feedback items were stored."""

    stored: int


class ReloadAnswer(BaseModel):
    """What a reload did: the versions before and after."""

    previous: str | None
    current: str | None
    swapped: bool
