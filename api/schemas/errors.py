"""The error envelope every refusal is sent in (``api.errors``), for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    """One invalid part of the request."""

    path: str = Field(
        description="Where: a body field (`fees.0.cnt`), or `path.`, `query.` or `header.` and "
        "the parameter's name",
        examples=["fees.0.det_item_fee_sumamt"],
    )
    message: str
    type: str = Field(description="What is wrong, as a stable word", examples=["amount_mismatch"])


class ErrorBody(BaseModel):
    """``code`` is stable; each call's responses list the codes it can answer with."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["validation_error"])
    message: str = Field(description="For people; may change, never parse it")
    fields: list[FieldError] | None = Field(
        default=None, description="422: every invalid part of the request"
    )


class ErrorEnvelope(BaseModel):
    """The body of every error answer; details of some codes sit next to `code` and `message`
    (e.g. `available` and `requested` of `insufficient_credit`)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody
