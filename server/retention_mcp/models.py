"""Typed results the server returns; their JSON Schemas are exported to schemas/."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["system", "user", "assistant"]
Language = Literal["zh", "en"]


class PromptMessage(BaseModel):
    role: Role = Field(description="Who speaks: system (instructions), user (the user's facts), assistant (example)")
    content: str = Field(description="The message text")


class RenderResult(BaseModel):
    """A rendered template: the messages to send to a model, and the same text as one prompt."""

    template: str = Field(description="Template (tool) name")
    version: str = Field(description="Template version; same version and arguments give the same bytes")
    language: Language = Field(description="Language the prompt was rendered in")
    messages: list[PromptMessage] = Field(description="The prompt as chat messages, in order")
    prompt: str = Field(description="The whole prompt as one text, messages separated by blank lines")


class ParameterInfo(BaseModel):
    name: str
    kind: Literal["string", "number", "integer", "boolean", "array", "object"]
    required: bool
    description: str
    default: Any = None
    enum: list[Any] | None = None


class TemplateSummary(BaseModel):
    name: str = Field(description="Template name; also the name of its tool and prompt")
    title: str
    description: str
    version: str
    languages: list[Language]
    parameters: list[ParameterInfo]


class TemplateList(BaseModel):
    """Every template the server offers."""

    templates: list[TemplateSummary]
