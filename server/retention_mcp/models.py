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


class Check(BaseModel):
    name: str = Field(description="Check id, e.g. budget_lines_sum, discount_cap / 检查项")
    passed: bool
    detail: str = Field(description="What was compared, in the plan's language / 比较内容")


class ValidationReport(BaseModel):
    """The plan checked against the constraints the user stated and against its own arithmetic."""

    passed: bool = Field(description="True when every check passed / 全部检查通过时为 true")
    checks: list[Check]


class StatedGoal(BaseModel):
    id: str = Field(description="G1, G2, ... as KPIs cite them in goal_id")
    text: str


class StatedConstraints(BaseModel):
    """The hard constraints read from the user's facts; the plan was checked against these."""

    budget_total: float | None = Field(None, description="Stated budget (upper end of a range)")
    currency: str | None = None
    budget_period: Literal["month", "quarter", "year"] | None = None
    budget_cap: float | None = Field(None, description="What the plan may spend over its horizon")
    revenue_share_cap_pct: float | None = Field(None, description="Cost cap as % of sales")
    discount_cap_pct: float | None = None
    horizon_days: int | None = None
    team_size: int | None = None
    excluded_channels: list[str] = Field(default_factory=list)
    goals: list[StatedGoal] = Field(default_factory=list)


class PlanResult(RenderResult):
    """A template tool's result. In prompt mode only the rendered prompt; in plan mode also the generated plan."""

    mode: Literal["prompt", "plan"] = Field("prompt", description="prompt: rendered prompt only; plan: full plan")
    model: str | None = Field(None, description="Plan mode: the model that wrote the plan")
    plan: dict[str, Any] | None = Field(
        None, description="Plan mode: the typed plan; its JSON Schema is schema://NAME/plan / 方案(结构化)"
    )
    validation: ValidationReport | None = Field(None, description="Plan mode: constraint checks / 约束检查结果")
    constraints: StatedConstraints | None = Field(None, description="Plan mode: constraints read from the facts")
    markdown: str | None = Field(None, description="Plan mode: the plan as Markdown, in its language")
    plan_id: str | None = Field(None, description="Plan mode: id in the plan store, when plans are kept")
    plan_uri: str | None = Field(None, description="Plan mode: plan://ID resource, when plans are kept")
    repaired: bool | None = Field(None, description="Plan mode: whether a repair round was needed")
    store_status: Literal["saved", "not_saved", "off"] | None = Field(
        None,
        description="Plan mode: saved (see plan_id), not_saved (the store failed: keep this result, it is the only "
        "copy; store_error says why) or off (this server keeps no plans) / 方案是否已保存",
    )
    store_error: str | None = Field(None, description="Plan mode: why the plan was not saved / 未保存的原因")


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


class PlanListResult(BaseModel):
    """Saved plans, newest first."""

    plans: list[dict[str, Any]] = Field(
        description="id, uri, created_at, template, version, language, model, passed, title / 方案摘要"
    )
