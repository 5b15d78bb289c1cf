"""Typed results the server returns; their JSON Schemas are exported to schemas/."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

Role = Literal["system", "user", "assistant"]
Language = Literal["zh", "en"]


class PromptMessage(BaseModel):
    role: Role = Field(description="Who speaks: system (instructions), user (the user's facts), assistant (example)")
    content: str = Field(description="The message text")


class RenderResult(BaseModel):
    """A rendered template: the prompt to send to a model, once (its chat messages are `messages`, in Python only,
    and the MCP prompt of the same name)."""

    template: str = Field(description="Template (tool) name")
    version: str = Field(description="Template version; same version and arguments give the same bytes")
    language: Language = Field(description="Language the prompt was rendered in")
    prompt: str = Field(description="The whole prompt as one text, messages separated by blank lines")
    constraints: EffectiveConstraints | None = Field(
        None, description="The effective constraints the prompt states and a plan is checked against / 生效的约束"
    )
    _messages: list[PromptMessage] = PrivateAttr(default_factory=list)

    def __init__(self, messages: list[PromptMessage] | None = None, **data: Any) -> None:
        super().__init__(**data)
        self._messages = list(messages or ())

    @property
    def messages(self) -> list[PromptMessage]:
        """The prompt as chat messages, in order (system, then user)."""
        return self._messages


CheckStatus = Literal["passed", "failed", "unverified"]
Source = Literal["typed", "text", "model"]


class Check(BaseModel):
    name: str = Field(description="Check id, e.g. budget_lines_sum, discount_cap / 检查项")
    passed: bool = Field(description="True only when status is passed")
    status: CheckStatus = Field(
        "passed", description="passed, failed, or unverified (could not be checked: see detail) / 检查结果"
    )
    detail: str = Field(description="What was compared, in the plan's language / 比较内容")

    @model_validator(mode="before")
    @classmethod
    def _status_from_passed(cls, data: Any) -> Any:
        """A check recorded before checks had a status (a stored plan) reads as passed or failed, never as passed
        when it failed."""
        if isinstance(data, dict) and "status" not in data and "passed" in data:
            return {**data, "status": "passed" if data["passed"] else "failed"}
        return data


class ValidationReport(BaseModel):
    """The plan checked against the effective constraints and against its own arithmetic."""

    status: CheckStatus = Field(
        "passed",
        description="passed: every check passed and nothing stated was left unread; failed: a check failed; "
        "unverified: something could not be checked (see to_fill) / passed 全部通过;failed 有检查未通过;"
        "unverified 有内容无法核验(见 to_fill)",
    )
    passed: bool = Field(description="True only when status is passed / 仅当 status 为 passed 时为 true")
    checks: list[Check]
    to_fill: list[str] = Field(
        default_factory=list,
        description="What to fill in (typed constraints) so that everything can be checked / 需补充的约束",
    )

    @model_validator(mode="before")
    @classmethod
    def _status_from_checks(cls, data: Any) -> Any:
        """A report recorded before reports had a status: passed when it passed, else failed when a check failed,
        else unverified."""
        if isinstance(data, dict) and "status" not in data and "passed" in data:
            checks = data.get("checks") or []
            failed = any(isinstance(c, dict) and not c.get("passed", True) for c in checks)
            status = "passed" if data["passed"] else "failed" if failed else "unverified"
            return {**data, "status": status}
        return data


Period = Literal["total", "day", "week", "month", "quarter", "year"]


class EffectiveBudget(BaseModel):
    amount: float = Field(description="Budget per period (upper end of a range) / 每期预算")
    currency: str | None = None
    period: Period = "total"
    min: float | None = Field(None, description="Lower end of a range / 区间下限")
    total: float | None = Field(
        None, description="What the plan may spend over its horizon: amount times the periods in it / 计划期内总额"
    )
    source: Source


class EffectiveGoal(BaseModel):
    """A goal of the call, however it was given: read from the goal text, typed, or extracted by a model."""

    id: str = Field(description="G1, G2, ... as KPIs cite them in goal_id")
    text: str
    metric: str | None = None
    baseline: float | None = None
    target: float | None = None
    unit: str | None = None
    deadline_day: int | None = None
    source: Source = "text"


class EffectiveCustomerCap(BaseModel):
    amount: float = Field(description="Most value one customer may get / 每位客户上限金额")
    currency: str | None = None
    period: Period = "total"


class EffectiveFreeCap(BaseModel):
    count: int = Field(description="Most free periods per customer / 每位客户免费期数上限")
    unit: Literal["day", "week", "month"] = "month"


class ReadFrom(BaseModel):
    input: str = Field(description="The free-text field it was read from / 来源字段")
    text: str = Field(description="The words it stands on / 依据的原文")


class UnreadSpan(BaseModel):
    input: str = Field(description="Free-text field / 字段")
    text: str = Field(description="The words holding a number that was not turned into a constraint / 未识别的原文")
    kind: Literal[
        "amount", "percent", "duration", "headcount", "goal", "channels", "deadline", "per_customer", "free_periods"
    ] = Field(
        description="What the words state: an amount, a percentage, a duration, a head-count, goals past the 20 a "
        "call numbers, a channel rule, a calendar deadline, a cap per customer, a cap on free periods / 原文内容的类型"
    )
    scope: str | None = Field(
        None,
        description="What a value must cover to settle it: week or day for an amount, the calendar end of a deadline "
        "(Q3, year, M12) / 可结清此项的值的范围",
    )
    fill: list[str] = Field(description="Typed constraints that would settle it / 可填写的类型化约束")


class ConstraintConflict(BaseModel):
    field: str
    typed: str = Field(description="The typed value, which is used / 类型化值(采用)")
    text: str = Field(description="What the free text says / 文字中的值")


class EffectiveConstraints(BaseModel):
    """The constraints of this call: typed values first, then what the free text says; each with its source."""

    budget: EffectiveBudget | None = None
    horizon_days: int | None = None
    discount_cap_pct: float | None = Field(None, description="Deepest discount allowed, percent off / 折扣上限")
    cost_cap_pct_of_revenue: float | None = Field(None, description="Cost cap as % of revenue / 成本占收入上限")
    team_size: int | None = None
    channels_allowed: list[str] = Field(default_factory=list, description="Allow-list of channel kinds / 仅可用渠道")
    channels_excluded: list[str] = Field(default_factory=list, description="Channel kinds ruled out / 禁用渠道")
    goals: list[EffectiveGoal] = Field(default_factory=list)
    per_customer_cap: EffectiveCustomerCap | None = Field(
        None, description="Most one customer may get, per period / 每位客户优惠上限"
    )
    free_periods_cap: EffectiveFreeCap | None = Field(
        None, description="Most free periods one customer may get / 每位客户免费期上限"
    )
    start_date: str | None = Field(None, description="Plan start date (ISO), typed / 计划开始日期")
    sources: dict[str, Source] = Field(default_factory=dict, description="Where each value came from / 来源")
    read_from: dict[str, ReadFrom] = Field(
        default_factory=dict, description="For values read from the text: where / 从文字读出的值的出处"
    )
    unread: list[UnreadSpan] = Field(
        default_factory=list, description="Numbers in the constraint text the server could not place / 未能识别的数字"
    )
    conflicts: list[ConstraintConflict] = Field(
        default_factory=list, description="Typed values that disagree with the text / 与文字不一致的类型化值"
    )


class ConstraintFill(BaseModel):
    """How constraints missing from the brief were filled in before the plan was written."""

    method: Literal["elicitation", "extraction"] = Field(
        description="elicitation: the user answered a form; extraction: the model read them from the brief / 填补方式"
    )
    outcome: Literal["filled", "nothing_found", "declined", "cancelled", "failed"]
    fields: list[str] = Field(default_factory=list, description="Constraints filled / 已填补的约束")
    detail: str | None = Field(None, description="Why it failed, when it did / 失败原因")


class PlanRevision(BaseModel):
    """One revision of a plan: a plan submitted again with the plan_id of an earlier one keeps its lineage."""

    id: str
    uri: str = Field(description="plan://ID")
    revision: int = Field(description="1 for the first submission, then 2, 3… / 修订号")
    status: Literal["passed", "failed", "unverified"] = Field(description="Its checks' verdict / 校验结果")
    created_at: str = Field(description="UTC time, ISO 8601")


class PlanResult(RenderResult):
    """A template tool's result. In prompt mode only the rendered prompt; in plan mode also the generated plan."""

    mode: Literal["prompt", "plan"] = Field("prompt", description="prompt: rendered prompt only; plan: full plan")
    model: str | None = Field(None, description="Plan mode: the model that wrote the plan")
    plan: dict[str, Any] | None = Field(
        None, description="Plan mode: the typed plan; its JSON Schema is schema://NAME/plan / 方案(结构化)"
    )
    validation: ValidationReport | None = Field(None, description="Plan mode: constraint checks / 约束检查结果")
    markdown: str | None = Field(None, description="Plan mode: the plan as Markdown, in its language")
    plan_id: str | None = Field(None, description="Plan mode: id in the plan store, when plans are kept")
    plan_uri: str | None = Field(None, description="Plan mode: plan://ID resource, when plans are kept")
    repaired: bool | None = Field(None, description="Plan mode: whether a repair round was needed")
    constraint_fill: ConstraintFill | None = Field(
        None, description="Plan mode: how missing constraints were filled in, when they were / 缺失约束的填补"
    )
    store_status: Literal["saved", "not_saved", "off"] | None = Field(
        None,
        description="Plan mode: saved (see plan_id), not_saved (the store failed: keep this result, it is the only "
        "copy; store_error says why) or off (this server keeps no plans) / 方案是否已保存",
    )
    store_error: str | None = Field(None, description="Plan mode: why the plan was not saved / 未保存的原因")
    revision: int | None = Field(None, description="Which revision of the plan this is (check_plan) / 修订号")
    history: list[PlanRevision] | None = Field(
        None, description="Every revision of this plan, oldest first (check_plan with plan_id) / 全部修订"
    )


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
