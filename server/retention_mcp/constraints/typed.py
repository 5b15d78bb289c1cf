"""The typed constraints and goals every template tool accepts besides its free-text fields.

A client's model reads "EUR 25k for the quarter, two ops staff, the coming half-year" far better than any pattern,
so it fills these; the server checks them (and reads the free text only for what is left). They are the same model
for tools, MCP prompts (as JSON strings), the command line (`--arg constraints='{...}'`) and schemas/.
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from typing import Annotated, Any, Literal

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


class _Typed(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
# What the lean tool surface says instead (its nested fields carry no descriptions: every tools/list costs context).
LEAN_DESCRIPTIONS = {
    CONSTRAINTS_FIELD: "Wins over the text. budget, per_customer_cap {amount (required), currency, period: total|day|"
    "week|month|quarter|year}; free_periods_cap {count (required), unit}; discount_cap_pct = % off (30 = pay 70%) / "
    "优先于文字。budget、per_customer_cap {amount(必填), currency, period};free_periods_cap {count(必填), unit};"
    "discount_cap_pct 为优惠幅度(7折填30)",
    GOALS_FIELD: "One per goal (own KPI); also metric, baseline, target, unit, deadline_day / 每项一个目标(各对应 KPI);"
    "另有 metric、baseline、target、unit、deadline_day",
}
# Nested models the lean surface shows with their required keys only (the description names the optional ones).
LEAN_REQUIRED_ONLY = frozenset({"GoalInput"})
# Nested models the lean surface shows as a bare object: the description of `constraints` names their keys.
LEAN_KEYS_IN_DESCRIPTION = frozenset({"BudgetInput", "CustomerCapInput", "FreeCapInput"})


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
