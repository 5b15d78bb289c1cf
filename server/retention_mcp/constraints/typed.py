"""The typed constraints and goals every template tool accepts besides its free-text fields.

A client's model reads "EUR 25k for the quarter, two ops staff, the coming half-year" far better than any pattern,
so it fills these; the server checks them (and reads the free text only for what is left). They are the same model
for tools, MCP prompts (as JSON strings), the command line (`--arg constraints='{...}'`) and schemas/.
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from retention_mcp.vocabulary import CHANNEL_KINDS, ISO_4217, channel_kind

CONSTRAINTS_FIELD = "constraints"
GOALS_FIELD = "goals"
MAX_GOALS = 20
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
_Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


def not_boolean(value: Any) -> Any:
    """JSON's true and false are not numbers (Python would take them as 1 and 0: a 1-day horizon, a 1% cap); a
    negative zero is zero."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false / 必须是数字,不能是 true 或 false")
    if isinstance(value, float) and value == 0:
        return 0.0  # -0.0 is zero: never "-0% off"
    return value


# Keys whose 0 means "not stated": a strict client (every key present, no null) sends 0 where the user said nothing,
# and none of these has a meaning at 0 (a plan of 0 days, a team of 0, a cost cap of 0% of revenue, a goal due on
# day 0, the bottom 0 of a range). Everywhere else 0 is a value: a budget or a per-customer cap of 0 (nothing to
# spend or give), a discount cap of 0 (no discount), 0 free periods, a baseline or target of 0.
ZERO_NOT_STATED = frozenset({"horizon_days", "team_size", "cost_cap_pct_of_revenue", "deadline_day", "min"})


def stated(data: Any, zero_not_stated: frozenset[str] = ZERO_NOT_STATED) -> Any:
    """An object's keys without those that state nothing: null, a blank string, an empty list, and 0 where 0 means
    nothing (`zero_not_stated`)."""
    if not isinstance(data, dict):
        return data
    return {
        key: value
        for key, value in data.items()
        if not (
            value is None
            or (isinstance(value, str) and not value.strip())
            or (isinstance(value, list) and not value)
            or (key in zero_not_stated and not isinstance(value, bool) and value == 0)
        )
    }


class _Typed(BaseModel):
    """A typed object: unknown keys are refused; null, blank and (where it means nothing) 0 read as not stated."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _not_stated(cls, data: Any) -> Any:
        return stated(data)


class BudgetInput(_Typed):
    amount: float = Field(ge=0, le=1e15, description="Budget per period (upper end of a range) / 每期预算(区间上限)")
    currency: str | None = Field(None, description="ISO 4217 code: CNY, USD, EUR… / 币种代码")
    period: Literal["total", "day", "week", "month", "quarter", "year"] = Field(
        "total",
        description="What the amount covers: the whole plan, or each day, week, month, quarter or year / 预算周期",
    )
    min: float | None = Field(None, ge=0, description="Lower end, for a range / 区间下限")

    _numbers = field_validator("amount", "min", mode="before")(not_boolean)

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = unicodedata.normalize("NFKC", value).strip().upper()  # 'ｃｎｙ' from a Chinese input method
        if code not in ISO_4217:
            raise ValueError(
                "must be an ISO 4217 currency code such as CNY, USD or EUR / 必须是 ISO 4217 币种代码,如 CNY、USD、EUR"
            )
        return code

    @model_validator(mode="after")
    def _range_in_order(self) -> BudgetInput:
        if self.min is not None and self.min > self.amount:
            raise ValueError("budget.min must not exceed budget.amount / budget.min 不能大于 budget.amount")
        return self


class CustomerCapInput(_Typed):
    """The most one customer may get from the plan's incentives (credits, cash back, gifts), in money."""

    amount: float = Field(ge=0, le=1e12, description="Most value per customer / 每位客户上限金额")
    currency: str | None = Field(None, description="ISO 4217 code / 币种代码")
    period: Literal["total", "day", "week", "month", "quarter", "year"] = Field(
        "total", description="Per customer and per this period; total: over the whole plan / 周期"
    )

    _numbers = field_validator("amount", mode="before")(not_boolean)
    _iso_code = field_validator("currency")(BudgetInput._iso_code.__func__)  # type: ignore[attr-defined]


class FreeCapInput(_Typed):
    """The most free periods (free months, weeks or days) one customer may get."""

    count: int = Field(ge=0, le=1000, description="Most free periods per customer / 每位客户免费期数上限")
    unit: Literal["day", "week", "month"] = Field("month", description="day, week or month / 单位")

    _numbers = field_validator("count", mode="before")(not_boolean)


def _kinds(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    kinds: list[str] = []
    for value in values:
        kind = channel_kind(value) if isinstance(value, str) else None
        if kind is None:
            listed = ", ".join(CHANNEL_KINDS)
            raise ValueError(f"must name channel kinds: {listed} / 必须是以下渠道类型:{listed.replace(', ', '、')}")
        if kind not in kinds:
            kinds.append(kind)
    return kinds


class ConstraintsInput(_Typed):
    """Hard limits the plan must respect. Typed values win over what the free text says."""

    budget: BudgetInput | None = None
    horizon_days: int | None = Field(None, ge=1, le=3650, description="Plan horizon in days / 计划周期(天)")
    discount_cap_pct: float | None = Field(
        None, ge=0, le=100, description="Deepest discount, as percent off (7折 = 30) / 最大优惠幅度(7折填30)"
    )
    cost_cap_pct_of_revenue: float | None = Field(
        None, ge=0, le=100, description="Cost cap as % of revenue (sales, GMV, paid amount) / 成本占收入上限%"
    )
    team_size: int | None = Field(None, ge=1, le=100_000, description="People available / 可用人数")
    channels_allowed: list[_Short] | None = Field(
        None, max_length=len(CHANNEL_KINDS), description="Only these channel kinds / 仅可用的渠道类型"
    )
    channels_excluded: list[_Short] | None = Field(
        None, max_length=len(CHANNEL_KINDS), description="Channel kinds ruled out / 禁用的渠道类型"
    )

    per_customer_cap: CustomerCapInput | None = Field(None, description="Most one customer may get / 每位客户优惠上限")
    free_periods_cap: FreeCapInput | None = Field(None, description="Most free periods per customer / 免费期上限")
    start_date: datetime.date | None = Field(
        None, description="Plan start date, YYYY-MM-DD: turns 'through Q4' into a horizon / 计划开始日期"
    )

    _channel_kinds = field_validator("channels_allowed", "channels_excluded")(_kinds)
    _numbers = field_validator(
        "horizon_days", "discount_cap_pct", "cost_cap_pct_of_revenue", "team_size", mode="before"
    )(not_boolean)

    @model_validator(mode="after")
    def _not_allowed_and_excluded(self) -> ConstraintsInput:
        both = [k for k in self.channels_allowed or () if k in (self.channels_excluded or ())]
        if both:
            listed = ", ".join(both)
            raise ValueError(
                f"channels_allowed and channels_excluded both name {listed}: a channel kind is allowed or ruled out, "
                f"not both / channels_allowed 与 channels_excluded 同时包含 {listed.replace(', ', '、')}:"
                "同一渠道类型不能既允许又禁用"
            )
        return self


class GoalInput(_Typed):
    text: _Text = Field(description="The goal in the user's words / 目标原文")
    metric: _Short | None = Field(None, description="Metric, e.g. monthly churn / 指标")
    baseline: float | None = Field(None, allow_inf_nan=False)
    target: float | None = Field(None, allow_inf_nan=False)
    unit: _Short | None = Field(None, description="%, pp, count, CNY… / 单位")
    deadline_day: int | None = Field(None, ge=0, le=3650, description="Due by day N of the plan / 截止日(第几天)")

    _numbers = field_validator("baseline", "target", "deadline_day", mode="before")(not_boolean)


CONSTRAINTS_DESCRIPTION = (
    "Typed limits the plan is checked against; they win over the free text. Channel kinds: "
    + ", ".join(CHANNEL_KINDS)
    + " / 类型化约束,优先于文字描述;渠道类型见左"
)
GOALS_DESCRIPTION = "Goals, one per item (each gets its own KPI) / 目标,每项一个(各自对应 KPI)"
# What the lean tool surface says (one language, few words: every tools/list costs every conversation its context),
# by path: a top-level parameter, or PARAMETER.KEY for a key of its objects (of its list's items, for goals).
LEAN_DESCRIPTIONS = {
    CONSTRAINTS_FIELD: "Checked limits; win over the text. Channel kinds: "
    + ", ".join(CHANNEL_KINDS)
    + " / 检查用的约束,优先于文字。渠道类型:"
    + "、".join(CHANNEL_KINDS),
    "constraints.budget": "Money for the plan / 预算",
    "constraints.budget.amount": "Per period; top of a range / 每期金额;区间上限",
    "constraints.budget.currency": "ISO 4217: CNY, USD… / 币种",
    "constraints.budget.period": "Per day, week, month, quarter, year, or total (default) / 周期,默认 total",
    "constraints.budget.min": "Bottom of a range / 区间下限",
    "constraints.horizon_days": "Plan length / 计划天数",
    "constraints.discount_cap_pct": "Most % off (30 = pay 70%); 0: no discount / 最大优惠幅度(7折填30);0 为不打折",
    "constraints.cost_cap_pct_of_revenue": "Most cost, % of revenue / 成本占收入上限%",
    "constraints.team_size": "People / 可用人数",
    "constraints.channels_allowed": "Only these kinds / 仅可用渠道",
    "constraints.channels_excluded": "Kinds ruled out / 禁用渠道",
    "constraints.per_customer_cap": "Most value one customer gets / 每位客户优惠上限",
    "constraints.per_customer_cap.amount": "Money / 金额",
    "constraints.per_customer_cap.currency": "ISO 4217 / 币种",
    "constraints.per_customer_cap.period": "As budget.period / 同 budget.period",
    "constraints.free_periods_cap": "Most free periods per customer / 免费期上限",
    "constraints.free_periods_cap.count": "Periods / 期数",
    "constraints.free_periods_cap.unit": "Default month / 默认 month",
    "constraints.start_date": "Plan start / 开始日期",
    GOALS_FIELD: "One per goal, each with its KPI / 每项一个目标,各对应 KPI",
    "goals.text": "User's words / 原文",
    "goals.metric": "e.g. monthly churn / 指标",
    "goals.baseline": "Now / 现值",
    "goals.target": "Goal value / 目标值",
    "goals.unit": "%, pp, count, CNY… / 单位",
    "goals.deadline_day": "Due by day N / 第几天截止",
}


def keys_in_words() -> str:
    """The keys of the typed constraints in one line, for where they travel as JSON text (an MCP prompt's argument):
    `budget {amount*, currency, period: total|day|…, min}, horizon_days, …` (* = required)."""

    def field(name: str, info: Any) -> str:
        inner = info.annotation
        if get_origin(inner) in (Union, UnionType):  # X | None
            inner = next(a for a in get_args(inner) if a is not type(None))
        star = "*" if info.is_required() else ""
        if get_origin(inner) is Literal:
            return f"{name}{star}: " + "|".join(get_args(inner))
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return f"{name} {{" + ", ".join(field(k, v) for k, v in inner.model_fields.items()) + "}"
        return name + star

    return ", ".join(field(k, v) for k, v in ConstraintsInput.model_fields.items())


SHIPPED_SCHEMAS = "typed_constraints.json"  # in schemas/, kept equal to `build_typed_json_schemas()` by a test


@functools.cache
def typed_json_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schemas of the `constraints` and `goals` parameters, shared by every template's parameter model
    (definitions inlined). Read from the shipped schemas/ so that start-up does not build them; built when the
    file is missing."""
    import json

    from retention_mcp.paths import shipped_dir

    try:
        shipped = json.loads((shipped_dir("schemas") / SHIPPED_SCHEMAS).read_text(encoding="utf-8"))
        return shipped["constraints"], shipped["goals"]
    except (OSError, ValueError, KeyError):
        built = build_typed_json_schemas()
        return built["constraints"], built["goals"]


def build_typed_json_schemas() -> dict[str, dict[str, Any]]:
    from retention_mcp.schema_forms import inline_definitions

    constraints = inline_definitions(ConstraintsInput.model_json_schema())
    goals = {"type": "array", "items": inline_definitions(GoalInput.model_json_schema()), "maxItems": MAX_GOALS}
    return {
        "constraints": {
            "anyOf": [constraints, {"type": "null"}],
            "default": None,
            "description": CONSTRAINTS_DESCRIPTION,
        },
        "goals": {"anyOf": [goals, {"type": "null"}], "default": None, "description": GOALS_DESCRIPTION},
    }
