"""Typed plans, one model per template. Their JSON Schemas are exported to schemas/<template>.plan.json.

Stable keys for integrations: budget.total, budget.currency, budget.lines[].item, budget.lines[].amount;
timeline.phases[].name, .start_day, .end_day (days from the plan's start, day 0); kpis[].metric, .baseline,
.target, .deadline_day; offers[].description, .discount_pct.
"""

from __future__ import annotations

import functools
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class BudgetLine(_Part):
    item: str = Field(min_length=1, description="Line item / 预算科目")
    amount: float = Field(ge=0, description="Amount in the budget currency / 金额(预算币种)")
    purpose: str = Field("", description="What it pays for / 用途")


class Budget(_Part):
    total: float | None = Field(
        ge=0, description="Total budget of the plan; null only when it is set as a share of sales / 方案总预算"
    )
    currency: str = Field(min_length=1, description="ISO 4217 code, e.g. CNY, USD / 币种代码,如 CNY、USD")
    period: Literal["month", "quarter", "year", "total"] = Field(
        "total", description="What the total covers: a month, a quarter, a year, or the whole plan / 预算周期"
    )
    share_of_revenue_pct: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Cost as a percentage of sales, when the user capped it that way / 占销售额百分比",
    )
    lines: list[BudgetLine] = Field(default_factory=list, description="Budget lines; they add up to at most the total")


class Phase(_Part):
    name: str = Field(min_length=1, description="Phase name / 阶段名称")
    start_day: int = Field(ge=0, description="First day, counted from the plan's start (day 0) / 开始日(从第0天起算)")
    end_day: int = Field(ge=0, description="Last day, counted from the plan's start / 结束日")
    deliverables: list[str] = Field(default_factory=list, description="What the phase delivers / 交付内容")


class Timeline(_Part):
    phases: list[Phase] = Field(min_length=1, description="Phases in order / 按顺序排列的阶段")


class KPI(_Part):
    metric: str = Field(min_length=1, description="What is measured / 指标")
    baseline: float | None = Field(None, description="Today's value, if known / 当前值(已知时)")
    target: float = Field(description="Target value / 目标值")
    unit: str = Field("", description="Unit: %, pp, points, count, currency… / 单位")
    deadline_day: int | None = Field(None, ge=0, description="Day by which the target is due / 截止日(第几天)")
    goal_id: str | None = Field(None, description="Id of the stated goal this KPI measures, e.g. G1 / 对应目标编号")
    data_ref: str | None = Field(
        None, description="Id of the computed data fact its baseline comes from, e.g. D3 / 基线引用的数据事实编号"
    )


class Segment(_Part):
    name: str = Field(min_length=1, description="Segment name / 客群名称")
    definition: str = Field(min_length=1, description="Observable rule that puts a customer in it / 可观测的划分规则")
    size: int | None = Field(None, ge=0, description="Number of customers, when known / 客户数(已知时)")
    share_pct: float | None = Field(None, ge=0, le=100, description="Share of customers in %, when known / 占比")


class Offer(_Part):
    description: str = Field(min_length=1, description="The offer / 优惠内容")
    discount_pct: float | None = Field(None, ge=0, le=100, description="Discount in %, if any / 折扣幅度(%)")
    segment: str | None = Field(None, description="Who gets it / 适用客群")


class Initiative(_Part):
    name: str = Field(min_length=1, description="Initiative / 举措")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves, e.g. [G1] / 服务的目标编号")
    segment: str | None = Field(None, description="Target segment / 目标客群")
    channels: list[str] = Field(default_factory=list, description="Channels used / 使用的渠道")
    actions: list[str] = Field(default_factory=list, description="Concrete steps / 具体动作")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class ABTest(_Part):
    hypothesis: str = Field(min_length=1, description="Hypothesis / 假设")
    variants: list[str] = Field(min_length=2, description="Control and variants / 对照组与实验组")
    metric: str = Field(min_length=1, description="Primary metric / 主要指标")


class Risk(_Part):
    risk: str = Field(min_length=1, description="Risk / 风险")
    mitigation: str = Field(min_length=1, description="Mitigation / 应对措施")


class PlanBase(_Part):
    """Parts every plan has. Template plans add their own sections."""

    title: str = Field(min_length=1, description="Plan title / 方案标题")
    summary: str = Field(min_length=1, description="Three to five sentences / 三到五句话的概述")
    assumptions: list[str] = Field(default_factory=list, description="Everything not taken from the facts / 假设")
    segments: list[Segment] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    budget: Budget | None = None
    timeline: Timeline
    kpis: list[KPI] = Field(min_length=1)
    ab_tests: list[ABTest] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)
    team_size_needed: int | None = Field(None, ge=0, description="People the plan needs / 所需人数")


# -- per template -----------------------------------------------------------------------------------------------------
class Touchpoint(_Part):
    stage: str = Field(min_length=1, description="Lifecycle stage / 生命周期阶段")
    day: int = Field(ge=0, description="Day it happens / 发生日")
    channel: str = Field(min_length=1, description="Channel / 渠道")
    message: str = Field(min_length=1, description="Message / 信息")
    metric: str | None = Field(None, description="How we know it worked / 效果指标")


class WinBack(_Part):
    churn_reason: str = Field(min_length=1, description="Churn reason / 流失原因")
    target_rule: str = Field(min_length=1, description="Who is targeted / 目标规则")
    offer: str = Field(min_length=1, description="Offer / 优惠")
    channels: list[str] = Field(default_factory=list)
    success_metric: str = Field(min_length=1)


class RetentionStrategyPlan(PlanBase):
    """Customer retention strategy."""

    touchpoints: list[Touchpoint] = Field(default_factory=list)
    win_back: list[WinBack] = Field(default_factory=list)


class Tier(_Part):
    name: str = Field(min_length=1, description="Tier / 等级")
    qualification: str = Field(min_length=1, description="How a member reaches it / 达成条件")
    benefits: list[str] = Field(default_factory=list, description="Benefits / 权益")


class EarningRule(_Part):
    action: str = Field(min_length=1, description="Behaviour rewarded / 奖励的行为")
    reward: str = Field(min_length=1, description="Points or reward / 积分或奖励")
    cost_pct_of_sales: float | None = Field(None, ge=0, le=100, description="Cost as % of sales / 成本占销售额%")


class LoyaltyProgramPlan(PlanBase):
    """Loyalty program."""

    tiers: list[Tier] = Field(default_factory=list)
    earning_rules: list[EarningRule] = Field(default_factory=list)
    redemption: list[str] = Field(default_factory=list, description="How points are spent / 兑换方式")


class CampaignStep(_Part):
    day: int = Field(ge=0, description="Day of the step / 第几天")
    segment: str = Field(min_length=1)
    channel: str = Field(min_length=1)
    message: str = Field(min_length=1)


class RenewalCampaignPlan(PlanBase):
    """Renewal campaign."""

    sequence: list[CampaignStep] = Field(default_factory=list, description="Contact sequence / 触达节奏")


class Finding(_Part):
    statement: str = Field(min_length=1, description="Finding / 发现")
    metric: str | None = Field(None, description="Metric it rests on / 依据的指标")
    value: float | None = Field(None, description="The number / 数值")
    source: Literal["data", "assumption"] = Field(description="From the data, or an assumption / 来自数据或假设")
    data_ref: str | None = Field(
        None, description="Id of the computed data fact it cites, e.g. D3 / 引用的数据事实编号"
    )


class Driver(_Part):
    driver: str = Field(min_length=1)
    evidence: str = Field(min_length=1)
    confidence: Literal["high", "medium", "low"] = "medium"


class ChurnAnalysisPlan(PlanBase):
    """Churn analysis."""

    findings: list[Finding] = Field(default_factory=list)
    drivers: list[Driver] = Field(default_factory=list)
    open_questions: list[str] = Field(
        default_factory=list, description="What the data cannot answer / 数据无法回答的问题"
    )


class Stage(_Part):
    name: str = Field(min_length=1)
    start_day: int = Field(ge=0)
    end_day: int = Field(ge=0)
    signals: list[str] = Field(default_factory=list)
    plays: list[str] = Field(default_factory=list)


class ExpansionPlay(_Part):
    name: str = Field(min_length=1)
    trigger: str = Field(min_length=1)
    offer: str = Field(min_length=1)
    channels: list[str] = Field(default_factory=list)


class SubscriptionPlaybookPlan(PlanBase):
    """Subscription retention and expansion playbook."""

    stages: list[Stage] = Field(default_factory=list)
    expansion_plays: list[ExpansionPlay] = Field(default_factory=list)


class GenericPlan(PlanBase):
    """Plan for a template this project does not ship."""


PLAN_MODELS: dict[str, type[PlanBase]] = {
    "retention_strategy": RetentionStrategyPlan,
    "loyalty_program": LoyaltyProgramPlan,
    "renewal_campaign": RenewalCampaignPlan,
    "churn_analysis": ChurnAnalysisPlan,
    "subscription_playbook": SubscriptionPlaybookPlan,
}

# The argument that holds the goals each KPI must trace to, per template (others: any input ending in "_goals").
GOAL_FIELDS = {
    "retention_strategy": "retention_goals",
    "loyalty_program": "business_goals",
    "renewal_campaign": "campaign_goals",
    "churn_analysis": None,
    "subscription_playbook": None,
}


def plan_model_for(template_name: str) -> type[PlanBase]:
    return PLAN_MODELS.get(template_name, GenericPlan)


@functools.cache
def plan_schema(model: type[PlanBase]) -> dict:
    """The plan's JSON Schema, built once per model (building it costs milliseconds). Treat it as read-only."""
    return model.model_json_schema()


@functools.cache
def plan_schema_text(model: type[PlanBase]) -> str:
    return json.dumps(plan_schema(model), ensure_ascii=False, separators=(",", ":"))
