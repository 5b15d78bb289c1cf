"""Typed plans, one model per template. Their JSON Schemas are exported to schemas/<template>.plan.json.

One structure per template: every section its prompt asks for has a typed place in its plan model, and the
mapping is data (SECTIONS below, keyed by template, with the headings as the prompt writes them). A test fails when
a prompt section has no place in the plan, or a plan field belongs to no section; the plan Markdown is laid out by
the same table.

Nothing the model writes is dropped: a key the schema does not know is kept. At the top level it goes under
`extras` (key -> what the model wrote); inside a part (a KPI, an offer...) it stays next to the typed fields.
`unknown_keys(plan)` lists both, so the repair round can name them and the Markdown prints them.

Days: `timeline.phases[]`, `stages[]` and KPI deadlines count from the plan's start (day 0). Contact steps before a
renewal count from the renewal date: T-30 is -30, the renewal day 0, a week after +7 (`sequence[].day`,
`cadence[].day`, touchpoints with relative_to = renewal). Win-back and dunning steps count from the churn or the
failed payment. A touchpoint tied to an event has `trigger` and `offset_days` (days after it) instead of a day. A KPI
target is a number, or the goal in words when the goal states no number.

Budget lines say where they are spent: `period` (1-based, in the budget's period: quarter 1, 2...) or `phase` (a
timeline phase, placed by its start_day), so spending can be checked per period. Channel fields hold a channel kind
(vocabulary.CHANNEL_KINDS; `product` for an in-product feature that sends no message), never a free name. Every part
that can hold an incentive has `discount_pct`, the percent off (7折 = 30).

Stable keys for integrations: budget.total, budget.currency, budget.lines[].item, budget.lines[].amount,
budget.lines[].period, budget.lines[].phase;
timeline.phases[].name, .start_day, .end_day; kpis[].metric, .baseline, .target, .deadline_day, .goal_id;
offers[].description, .discount_pct (percent off the list price: 7折 = 30); goals[].id.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from retention_mcp.vocabulary import CHANNEL_KINDS, OTHER, PRODUCT, channel_kind, channels_in

EXTRAS = "extras"
DISCOUNT_HELP = (
    "Percent off the list price (20% off = 20; 7折 = 30), never the share paid / 优惠幅度:减免的百分比(7折填30)"
)


# Channel fields hold a channel KIND (sms, email, push, product...), not a free name: the checker compares kinds, never
# words in names. A name that stands for exactly one kind ('短信', 'App push', 'WeChat service account') is stored as
# that kind; anything else is rejected with the list of kinds, so the repair round can fix it.
CHANNEL_HELP = (
    "Channel kind: " + ", ".join(CHANNEL_KINDS) + "; product = a feature inside the product that sends no message "
    "(badge, community challenge, pause button) / 渠道类型(见左);product 为不发消息的产品内功能"
)
_KIND_ALIASES = {
    "in_product": PRODUCT, "product_feature": PRODUCT, "in_product_feature": PRODUCT, "产品内": PRODUCT,
    "产品内功能": PRODUCT, "产品功能": PRODUCT, "other_channel": OTHER, "其他": OTHER, "其他渠道": OTHER,
}  # fmt: skip


def _kind_error(value: object, found: list[str]) -> ValueError:
    kinds = ", ".join(CHANNEL_KINDS)
    why = f"names several kinds ({', '.join(found)}): give one" if found else "names no channel kind"
    return ValueError(
        f"{str(value)[:60]!r} {why}; a channel is one of: {kinds} (product = in-product feature, no message) / "
        f"渠道必须是以下类型之一:{kinds.replace(', ', '、')}(product 为产品内功能)"
    )


def to_channel_kind(value: object) -> object:
    """A channel field's value as its kind id; a name that maps to no kind, or to several, is an error."""
    if not isinstance(value, str):
        return value
    token = value.strip().lower().replace("-", "_").replace(" ", "_")
    kind = _KIND_ALIASES.get(token) or channel_kind(value)
    if kind is None:
        raise _kind_error(value, channels_in(value))
    return kind


def to_channel_kinds(value: object) -> object:
    """A channel list as kind ids, in order, each once; an item naming several kinds stands for each of them."""
    if not isinstance(value, list):
        return value
    kinds: list[object] = []
    for item in value:
        if isinstance(item, str) and not _KIND_ALIASES.get(item.strip().lower()) and channel_kind(item) is None:
            found = channels_in(item)
            if not found:
                raise _kind_error(item, [])
            kinds += [k for k in found if k not in kinds]
            continue
        kind = to_channel_kind(item)
        if kind not in kinds:
            kinds.append(kind)
    return kinds


_KIND_SCHEMA = {"type": "string", "enum": list(CHANNEL_KINDS)}
ChannelKind = Annotated[str, BeforeValidator(to_channel_kind), WithJsonSchema(_KIND_SCHEMA)]
ChannelKinds = Annotated[
    list[str], BeforeValidator(to_channel_kinds), WithJsonSchema({"type": "array", "items": _KIND_SCHEMA})
]


class _Part(BaseModel):
    """A part of a plan. Keys the schema does not know are kept next to the typed fields, never dropped."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


# -- parts shared by several templates ----------------------------------------------------------------------------------
class Goal(_Part):
    id: str = Field(min_length=1, description="Goal id as in <stated_goals>, e.g. G1 / 目标编号,如 G1")
    text: str = Field(min_length=1, description="The goal as a number with a deadline / 目标(数字与期限)")


class BudgetLine(_Part):
    item: str = Field(min_length=1, description="Line item / 预算科目")
    amount: float = Field(ge=0, description="Amount in the budget currency / 金额(预算币种)")
    purpose: str = Field("", description="What it pays for / 用途")
    period: int | None = Field(
        None,
        ge=1,
        description="Budget period it is spent in, counted from the plan's start in the budget's period (quarter 1, "
        "2…; month 1, 2…) / 支出所属预算期(从方案开始起算的第几个月/季度/年)",
    )
    phase: str | None = Field(
        None, description="Timeline phase it is spent in (its start_day places it in a period) / 支出所属阶段名称"
    )
    channel: ChannelKind | None = Field(None, description="Channel kind it pays for, if any / 对应的渠道类型")


class RoiLine(_Part):
    incremental_value: float | None = Field(
        None, description="Incremental revenue or margin expected, in the budget currency / 预期增量收入或毛利"
    )
    cost: float | None = Field(None, ge=0, description="Cost it is set against / 对应成本")
    ratio: float | None = Field(None, description="incremental_value / cost / 投入产出比")
    cost_per_incremental: float | None = Field(
        None, ge=0, description="Cost per incremental renewal, order or saved customer / 每个增量续费(订单、挽回)的成本"
    )
    arithmetic: str = Field("", description="The calculation in one line, inputs named / 一行算式,写明输入")


class Budget(_Part):
    total: float | None = Field(
        ge=0,
        description="Total spend over the whole plan (every period); null only when it is set as a share of sales / "
        "整个方案的总支出(全部周期合计)",
    )
    currency: str = Field(min_length=1, description="ISO 4217 code, e.g. CNY, USD / 币种代码,如 CNY、USD")
    period: Literal["month", "quarter", "year", "total"] = Field(
        "total",
        description="The user's budget period, in which lines count their period: month, quarter, year, or total "
        "(one budget for the whole plan) / 用户预算的周期,预算科目的 period 按此计",
    )
    share_of_revenue_pct: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Cost as a percentage of sales, when the user capped it that way / 占销售额百分比",
    )
    lines: list[BudgetLine] = Field(
        default_factory=list,
        description="Budget lines; they add up to at most the total, and each period's lines to at most the budget "
        "per period / 预算明细:合计不超过总额,每期合计不超过每期预算",
    )
    roi: RoiLine | None = Field(None, description="Expected return on the budget / 投入产出估算")


class Phase(_Part):
    name: str = Field(min_length=1, description="Phase name / 阶段名称")
    start_day: int = Field(ge=0, description="First day, counted from the plan's start (day 0) / 开始日(从第0天起算)")
    end_day: int = Field(ge=0, description="Last day, counted from the plan's start / 结束日")
    deliverables: list[str] = Field(default_factory=list, description="What the phase delivers / 交付内容")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")
    gate: str | None = Field(None, description="Go/no-go check before the next phase / 进入下一阶段前的评估标准")


class Timeline(_Part):
    phases: list[Phase] = Field(min_length=1, description="Phases in order / 按顺序排列的阶段")


KpiText = Annotated[str, Field(min_length=1, max_length=300)]


class KPI(_Part):
    metric: str = Field(min_length=1, description="What is measured / 指标")
    definition: str | None = Field(None, description="Exact definition / 口径")
    baseline: float | None = Field(None, description="Today's value, if known / 当前值(已知时)")
    target: float | KpiText = Field(
        description="Target: a number, or, for a goal that states no number, the goal in words (never an invented "
        "number) / 目标值:数字;目标本身没有数字时写文字,不要编造数字"
    )
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
    main_risk: str | None = Field(None, description="Main risk, or main reason for not renewing / 主要风险或不续费原因")
    key_action: str | None = Field(
        None, description="The single most important action or objective / 最关键的动作或目标"
    )


class Offer(_Part):
    description: str = Field(min_length=1, description="The offer / 优惠内容")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    segment: str | None = Field(None, description="Who gets it / 适用客群")
    condition: str | None = Field(None, description="Condition to qualify / 领取条件")
    cost_logic: str | None = Field(None, description="What it costs and why it pays / 成本逻辑")
    term_months: int | None = Field(
        None, ge=1, description="Term it applies to, for term-length offers / 适用合同期(月)"
    )


class Initiative(_Part):
    name: str = Field(min_length=1, description="Initiative / 举措")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves, e.g. [G1] / 服务的目标编号")
    segment: str | None = Field(None, description="Target segment / 目标客群")
    channels: ChannelKinds = Field(default_factory=list, description=CHANNEL_HELP)
    actions: list[str] = Field(default_factory=list, description="Concrete steps / 具体动作")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class ABTest(_Part):
    hypothesis: str = Field(min_length=1, description="What the test should show / 实验假设")
    variants: list[str] = Field(min_length=2, description="Control and variants / 对照组与实验组")
    metric: str = Field(min_length=1, description="Primary metric / 主要指标")
    sample_size_per_variant: int | None = Field(
        None, ge=1, description="Customers per variant for the effect to be detectable / 每组所需样本量"
    )
    minimum_detectable_effect: str | None = Field(
        None, description="Smallest effect worth detecting, with baseline, alpha and power / 最小可检测效果"
    )
    run_days: int | None = Field(None, ge=1, description="Minimum run time in days / 最短运行天数")


class Risk(_Part):
    risk: str = Field(min_length=1, description="Risk / 风险")
    early_sign: str | None = Field(None, description="Early sign that it is happening / 早期征兆")
    mitigation: str = Field(min_length=1, description="Mitigation / 应对措施")


class Role(_Part):
    role: str = Field(min_length=1, description="Role / 角色")
    headcount: float | None = Field(None, ge=0, description="People (fractions allowed) / 人数(可为小数)")
    responsibilities: list[str] = Field(default_factory=list, description="What the role owns / 负责内容")


class ContactPolicy(_Part):
    frequency_cap: str = Field(
        min_length=1, description="Most contacts per customer per period, across channels / 每位客户每周期最多触达次数"
    )
    quiet_hours: str | None = Field(None, description="When never to send / 免打扰时段")
    consent: str = Field(min_length=1, description="Consent basis per channel, how it is recorded / 各渠道的授权依据")
    opt_out: str = Field(min_length=1, description="How customers opt out and how fast it applies / 退订方式与生效时间")


class ConstraintRow(_Part):
    constraint: str = Field(min_length=1, description="Constraint the user stated / 约束")
    value: str = Field(min_length=1, description="Its value as stated / 约束值")
    how_respected: str = Field(min_length=1, description="How the plan respects it, with the figures / 方案如何满足")


class DayStep(_Part):
    day: int = Field(description="Day of the step, counted as the section says / 第几天(按所在部分的基准)")
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    message: str = Field(min_length=1, description="Message or action / 信息或动作")


class Coverage(_Part):
    segment: str = Field(min_length=1, description="Accounts or members covered / 覆盖的客户")
    owner: str = Field(min_length=1, description="Who covers them (role), or automated / 负责人(角色)或自动化")
    accounts_per_owner: int | None = Field(None, ge=0, description="Accounts one owner carries / 每人负责客户数")
    motions: list[str] = Field(
        default_factory=list, description="Contacts: business reviews, executive sponsor… / 动作:业务复盘、高层对接等"
    )


class PlanBase(_Part):
    """Parts every plan has. Template plans add their own sections."""

    title: str = Field(min_length=1, description="Plan title / 方案标题")
    summary: str = Field(min_length=1, description="Three to five sentences / 三到五句话的概述")
    goals: list[Goal] = Field(
        default_factory=list, description="The stated goals with their ids, as numbers with deadlines / 目标及编号"
    )
    timeline: Timeline
    kpis: list[KPI] = Field(min_length=1)
    constraint_check: list[ConstraintRow] = Field(
        default_factory=list, description="Each stated constraint and how the plan respects it / 约束核对"
    )
    assumptions: list[str] = Field(
        default_factory=list, description="Everything not taken from the facts / 前提假设(不是来自资料的内容)"
    )
    extras: dict[str, Any] = Field(
        default_factory=dict,
        description="Server-kept: top-level keys this schema does not know, as written. Leave empty / 服务器保留未知字段",
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_unknown_keys(cls, data: Any) -> Any:
        """Top-level keys the schema does not know go under `extras` instead of being dropped."""
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields)
        unknown = {k: v for k, v in data.items() if k not in known}
        if not unknown:
            return data
        kept = {k: v for k, v in data.items() if k in known}
        extras = dict(kept.get(EXTRAS) or {}) if isinstance(kept.get(EXTRAS), dict) else {}
        kept[EXTRAS] = {**extras, **unknown}
        return kept


# -- retention_strategy ------------------------------------------------------------------------------------------------
class Signal(_Part):
    signal: str = Field(min_length=1, description="Behaviour observed / 行为信号")
    threshold: str = Field(min_length=1, description="Threshold that fires it / 阈值")
    predicts: str = Field(min_length=1, description="What it predicts / 预示什么")
    response: str = Field(min_length=1, description="Automated response / 自动化响应")


class Touchpoint(_Part):
    """A contact on a day of the lifecycle, or on an event (a failed payment, a drop in usage) with an offset."""

    stage: str = Field(min_length=1, description="Lifecycle stage / 生命周期阶段")
    day: int | None = Field(
        None,
        description="Day of the touchpoint: from sign-up (day 0), or from the renewal date when relative_to is "
        "renewal (T-30 = -30); leave it out for a touchpoint on an event / 发生日:从注册起算,或相对到期日(到期前30天 = "
        "-30);由事件触发的触点不填",
    )
    relative_to: Literal["signup", "renewal"] = Field("signup", description="What day counts from / 天数的基准")
    trigger: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        description="Event that sets it off, instead of a day: payment_failed, usage_drop, plan_downgraded… / "
        "触发事件(代替固定日期),如 payment_failed",
    )
    offset_days: int | None = Field(
        None,
        ge=-365,
        le=365,
        description="Days after the trigger (0 = when it fires, negative = before) / 触发后第几天(0 为当时)",
    )
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    message: str = Field(min_length=1, description="Message / 信息")
    metric: str | None = Field(None, description="How we know it worked / 效果指标")

    @model_validator(mode="after")
    def _day_or_trigger(self) -> Touchpoint:
        if self.day is None and self.trigger is None:
            raise ValueError(
                "a touchpoint needs a day, or a trigger with offset_days / 触点须写明 day,或 trigger 与 offset_days"
            )
        if self.offset_days is not None and self.trigger is None:
            raise ValueError(
                "offset_days counts from a trigger: give trigger / offset_days 从触发事件起算:请写明 trigger"
            )
        return self


class LoyaltyIdea(_Part):
    name: str = Field(min_length=1, description="Name customers see / 对客户的名称")
    behaviour: str = Field(min_length=1, description="Behaviour it rewards / 奖励的行为")
    earning: str = Field(min_length=1, description="How it is earned / 获取方式")
    redemption: str = Field(min_length=1, description="What it is spent on / 兑换或使用方式")
    recognition: str | None = Field(None, description="Badges, status, visible recognition / 徽章、身份等荣誉")
    cost_logic: str = Field(min_length=1, description="What it costs and why it pays / 成本逻辑")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    versus_competitors: str | None = Field(None, description="How it answers what competitors offer / 与竞品做法的对比")


class WinBack(_Part):
    churn_reason: str = Field(min_length=1, description="Churn reason / 流失原因")
    cohort: str | None = Field(None, description="Cohort by time since churn, e.g. 0-30 days / 按流失时长划分的批次")
    target_rule: str = Field(min_length=1, description="Who is targeted / 目标规则")
    offer: str = Field(min_length=1, description="Offer / 优惠")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    steps: list[DayStep] = Field(default_factory=list, description="Steps, days after churn / 流失后第几天的步骤")
    success_metric: str = Field(min_length=1, description="Success metric / 成功指标")


class RetentionStrategyPlan(PlanBase):
    """Customer retention strategy."""

    segments: list[Segment] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list, description="Behavioural signals / 行为信号")
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    contact_policy: ContactPolicy | None = Field(None, description="Contact caps and consent / 触达频次与授权")
    loyalty_ideas: list[LoyaltyIdea] = Field(default_factory=list)
    win_back: list[WinBack] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list, description="Every incentive in the plan / 方案中的全部优惠")
    budget: Budget | None = None
    team: list[Role] = Field(default_factory=list, description="Roles and who owns what / 团队分工")
    team_size_needed: int | None = Field(None, ge=0, description="People the plan needs / 所需人数")
    ab_tests: list[ABTest] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)


# -- loyalty_program ---------------------------------------------------------------------------------------------------
class EarningRule(_Part):
    action: str = Field(min_length=1, description="Behaviour rewarded / 奖励的行为")
    reward: str = Field(min_length=1, description="Points or reward / 积分或奖励")
    limit: str | None = Field(None, description="Cap per customer and period / 每人每周期上限")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves / 服务的目标编号")
    cost_pct_of_sales: float | None = Field(None, ge=0, le=100, description="Cost as % of sales / 成本占销售额%")


class Tier(_Part):
    name: str = Field(min_length=1, description="Tier / 等级")
    qualification: str = Field(min_length=1, description="How a member reaches it / 达成条件")
    benefits: list[str] = Field(default_factory=list, description="Benefits / 权益")
    retention_rule: str | None = Field(
        None, description="What keeps the tier next period, and the downgrade / 保级规则"
    )
    discount_pct: float | None = Field(None, ge=0, le=100, description="Member price discount. " + DISCOUNT_HELP)


class Redemption(_Part):
    reward: str = Field(min_length=1, description="Reward / 兑换内容")
    points_cost: float | None = Field(None, ge=0, description="Points it costs / 所需积分")
    effective_discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    expiry: str | None = Field(None, description="Expiry rule / 有效期规则")


class PointsEconomics(_Part):
    point_value: str = Field(min_length=1, description="What one point is worth, in the currency / 每积分价值")
    earn_rate: str | None = Field(None, description="Points per unit spent / 积分获取比例")
    redemption_rate_pct: float | None = Field(None, ge=0, le=100, description="Share of points redeemed / 兑换率%")
    breakage_pct: float | None = Field(None, ge=0, le=100, description="Share never redeemed / 沉淀率%")
    cost_pct_of_sales: float | None = Field(None, ge=0, le=100, description="Incentive cost as % of sales / 激励成本%")
    fixed_costs: str | None = Field(None, description="Fixed costs: system, staff, content / 固定成本")
    variable_costs: str | None = Field(None, description="Variable costs: rewards, partner fees / 变动成本")
    liability: str | None = Field(None, description="Outstanding points liability and how it is booked / 积分负债")
    arithmetic: str = Field(min_length=1, description="The calculation, compared with the cap / 算式及与上限对比")


class Trigger(_Part):
    moment: str = Field(min_length=1, description="Moment or trigger / 关键时刻或触发条件")
    segment: str | None = Field(None, description="Who / 客群")
    offer: str = Field(min_length=1, description="What they get / 权益或内容")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    channel: ChannelKind | None = Field(None, description=CHANNEL_HELP)
    data_needed: str | None = Field(None, description="Data needed, and from which system / 所需数据及来源系统")


class Activity(_Part):
    name: str = Field(min_length=1, description="Activity / 活动")
    description: str = Field(min_length=1, description="How it works and the habit it builds / 玩法及培养的习惯")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves / 服务的目标编号")


class Partnership(_Part):
    partner: str = Field(min_length=1, description="Partner type / 合作方类型")
    we_give: str = Field(min_length=1, description="What we give / 我方投入")
    we_get: str = Field(min_length=1, description="What we get / 我方收益")
    member_value: str | None = Field(None, description="What members get / 会员得到什么")


class ProgramRules(_Part):
    terms: list[str] = Field(default_factory=list, description="Key terms: expiry, changes, closure / 关键条款")
    anti_fraud: list[str] = Field(default_factory=list, description="Anti-fraud rules / 防刷与反作弊规则")
    consent: list[str] = Field(
        default_factory=list,
        description="Consent and data rules (PIPL, GDPR) to check / 个人信息授权(PIPL、GDPR)核查项",
    )


class Guardrail(_Part):
    rule: str = Field(min_length=1, description="Rule / 规则")
    trigger: str | None = Field(None, description="What fires it / 触发条件")
    action: str = Field(min_length=1, description="What happens / 动作")


class LoyaltyProgramPlan(PlanBase):
    """Loyalty program."""

    program_name: str | None = Field(None, description="Program name / 计划名称")
    member_promise: str | None = Field(None, description="One-line promise to members / 一句话会员承诺")
    earning_rules: list[EarningRule] = Field(default_factory=list)
    tiers: list[Tier] = Field(default_factory=list)
    redemption: list[Redemption] = Field(default_factory=list, description="How points are spent / 兑换方式")
    economics: PointsEconomics | None = Field(None, description="Points economics / 积分经济模型")
    segments: list[Segment] = Field(default_factory=list)
    personalisation: list[Trigger] = Field(default_factory=list)
    engagement: list[Activity] = Field(default_factory=list, description="Engagement and community / 互动与社群")
    partnerships: list[Partnership] = Field(default_factory=list)
    program_rules: ProgramRules | None = Field(None, description="Terms, anti-fraud, consent / 条款、风控与授权")
    migration: list[str] = Field(
        default_factory=list, description="Steps from an existing scheme, or why none is needed / 旧体系迁移步骤"
    )
    ab_tests: list[ABTest] = Field(default_factory=list)
    team_size_needed: int | None = Field(None, ge=0, description="People the plan needs / 所需人数")
    guardrails: list[Guardrail] = Field(default_factory=list, description="Cost guardrails / 成本护栏")
    budget: Budget | None = None


# -- renewal_campaign --------------------------------------------------------------------------------------------------
class RenewalBasis(_Part):
    basis: Literal["logo", "dollar", "both"] = Field(
        description="logo: share of members or accounts renewed; dollar: share of renewable revenue / 按客户数或按金额"
    )
    definition: str = Field(min_length=1, description="Exact formula and period / 口径与统计周期")


class Messaging(_Part):
    segment: str = Field(min_length=1, description="Segment / 客群")
    channels: ChannelKinds = Field(default_factory=list, description="In order. " + CHANNEL_HELP)
    key_message: str = Field(min_length=1, description="Key message / 核心信息")
    sample: str | None = Field(None, description="Sample: subject line and first sentence / 示例:标题与首句")
    call_to_action: str | None = Field(None, description="Call to action / 行动号召")


class CampaignStep(_Part):
    day: int = Field(
        description="Day relative to the renewal date: T-30 = -30, renewal day 0 / 相对到期日:到期前30天 = -30"
    )
    segment: str = Field(min_length=1, description="Segment / 客群")
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    message: str = Field(min_length=1, description="Action and message / 动作与信息")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class ForecastLine(_Part):
    category: str = Field(min_length=1, description="Forecast category: commit, likely, at risk… / 预测分类")
    rule: str = Field(min_length=1, description="What puts an account or member in it / 归类规则")
    count: int | None = Field(None, ge=0, description="Accounts or members / 客户数")
    value: float | None = Field(None, ge=0, description="Renewable revenue in the budget currency / 可续金额")


class NoticeCheck(_Part):
    rule: str = Field(min_length=1, description="Rule to check, e.g. notice before automatic renewal / 需核查的规则")
    applies_to: str = Field(min_length=1, description="Where and to whom it applies / 适用地区与对象")
    action: str = Field(min_length=1, description="What the campaign does about it / 活动中的对应动作")
    day: int | None = Field(None, description="Day relative to the renewal date / 相对到期日的天数")


class RenewalCampaignPlan(PlanBase):
    """Renewal campaign."""

    renewal_basis: RenewalBasis | None = Field(None, description="Logo or dollar renewal / 续费率口径")
    segments: list[Segment] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    messaging: list[Messaging] = Field(default_factory=list)
    contact_policy: ContactPolicy | None = Field(None, description="Contact caps and consent / 触达频次与授权")
    sequence: list[CampaignStep] = Field(default_factory=list, description="Contact sequence / 触达节奏")
    coverage: list[Coverage] = Field(default_factory=list, description="Coverage model / 覆盖模型")
    team_size_needed: int | None = Field(None, ge=0, description="People the plan needs / 所需人数")
    forecast: list[ForecastLine] = Field(default_factory=list, description="Renewal forecast / 续费预测")
    notice_checks: list[NoticeCheck] = Field(
        default_factory=list, description="Auto-renewal and notice rules to check / 自动续费与提醒规则核查"
    )
    budget: Budget | None = None
    ab_tests: list[ABTest] = Field(default_factory=list)
    optimisation_rules: list[str] = Field(
        default_factory=list, description="Weekly review and rules for moving budget / 周复盘与预算调整规则"
    )


# -- churn_analysis ----------------------------------------------------------------------------------------------------
class DataSource(_Part):
    source: str = Field(min_length=1, description="Source / 数据来源")
    contents: str = Field(min_length=1, description="What it contains / 包含内容")
    period: str | None = Field(None, description="Period covered / 时间段")
    limits: str | None = Field(None, description="Limits: size, missing fields, definitions / 局限")


class AnalysisStep(_Part):
    question: str = Field(min_length=1, description="Question it answers / 回答的问题")
    fields: list[str] = Field(default_factory=list, description="Fields it needs / 所需字段")
    method: str = Field(min_length=1, description="Calculation or test / 计算或检验方法")
    output: str | None = Field(None, description="Table or figure it produces / 产出")


class Finding(_Part):
    statement: str = Field(min_length=1, description="Finding / 发现")
    metric: str | None = Field(None, description="Metric it rests on / 依据的指标")
    value: float | None = Field(None, description="The number / 数值")
    source: Literal["data", "assumption"] = Field(description="From the data, or an assumption / 来自数据或假设")
    data_ref: str | None = Field(
        None, description="Id of the computed data fact it cites, e.g. D3 / 引用的数据事实编号"
    )


class Driver(_Part):
    driver: str = Field(min_length=1, description="Driver / 驱动因素")
    evidence: str = Field(min_length=1, description="Rate in the group vs base, lift / 证据:群体流失率与整体对比")
    share_of_churn_pct: float | None = Field(
        None, ge=0, le=100, description="Share of all churn; shares overlap and do not add up / 占全部流失比例(可重叠)"
    )
    confidence: Literal["high", "medium", "low"] = "medium"
    why: str | None = Field(None, description="Why this confidence / 可信度理由")


class RiskGroup(_Part):
    group: str = Field(min_length=1, description="Observable rule / 客群规则")
    size: int | None = Field(None, ge=0, description="Customers, from the data / 客户数")
    share_pct: float | None = Field(None, ge=0, le=100, description="Share of the base / 占比")
    churn_rate_pct: float | None = Field(None, ge=0, le=100, description="Churn rate of the group / 该群体流失率")
    expected_losses: float | None = Field(None, ge=0, description="Expected losses in the horizon / 预测期内预期流失")
    arithmetic: str | None = Field(None, description="How expected losses were computed / 算式")
    earliest_signal: str | None = Field(None, description="Earliest signal a customer enters it / 最早识别信号")
    data_ref: str | None = Field(None, description="Computed fact it cites, e.g. D5 / 引用的数据事实编号")


class RetentionAction(_Part):
    action: str = Field(min_length=1, description="Action / 行动")
    target: str | None = Field(None, description="Group or driver it addresses / 针对的客群或驱动因素")
    steps: list[str] = Field(default_factory=list, description="Steps with timing / 步骤与时间")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")
    metric: str | None = Field(None, description="Metric it moves / 影响的指标")
    expected_effect: str | None = Field(None, description="Expected effect as a range / 预期效果(区间)")
    discount_pct: float | None = Field(None, ge=0, le=100, description="Incentive it offers, if any. " + DISCOUNT_HELP)
    measurement: str | None = Field(None, description="Holdout or A/B design / 对照组或 A/B 设计")


class ProjectionLine(_Part):
    scenario: str = Field(min_length=1, description="Scenario: no change, with the actions… / 情景")
    value: float | None = Field(None, description="Projected value / 预测值")
    unit: str = Field("", description="Unit / 单位")
    arithmetic: str = Field(min_length=1, description="Inputs and calculation / 输入与算式")


class OpenQuestion(_Part):
    question: str = Field(min_length=1, description="What the data cannot answer / 数据无法回答的问题")
    data_to_collect: str | None = Field(None, description="Data that would answer it / 需要补充的数据")


class ChurnAnalysisPlan(PlanBase):
    """Churn analysis."""

    data_sources: list[DataSource] = Field(default_factory=list)
    churn_definition: str | None = Field(None, description="Churn definition and period / 流失定义与统计周期")
    analysis_plan: list[AnalysisStep] = Field(default_factory=list, description="Analysis to run / 分析计划")
    findings: list[Finding] = Field(default_factory=list)
    drivers: list[Driver] = Field(default_factory=list)
    risk_groups: list[RiskGroup] = Field(default_factory=list, description="High-risk groups / 高风险客群")
    actions: list[RetentionAction] = Field(default_factory=list, description="Retention actions / 留存行动")
    team_size_needed: int | None = Field(None, ge=0, description="People the actions need / 所需人数")
    ab_tests: list[ABTest] = Field(default_factory=list)
    projection: list[ProjectionLine] = Field(default_factory=list, description="Projected outcome / 结果预测")
    open_questions: list[OpenQuestion] = Field(default_factory=list)


# -- subscription_playbook ---------------------------------------------------------------------------------------------
class Stage(_Part):
    name: str = Field(min_length=1, description="Stage / 阶段")
    start_day: int = Field(ge=0, description="First day, from the start of the subscription / 开始日(从订阅开始起算)")
    end_day: int = Field(ge=0, description="Last day / 结束日")
    goal: str | None = Field(None, description="Goal of the stage / 阶段目标")
    milestone: str | None = Field(None, description="Milestone that moves a customer on / 进入下一阶段的里程碑")
    metric: str | None = Field(None, description="Metric / 衡量指标")
    signals: list[str] = Field(default_factory=list, description="Signals to watch / 关注的信号")
    plays: list[str] = Field(default_factory=list, description="Plays / 动作")


class WarningSignal(_Part):
    signal: str = Field(min_length=1, description="Signal / 信号")
    kind: Literal["usage", "engagement", "billing", "support", "relationship"] = Field(description="Kind / 类别")
    threshold: str = Field(min_length=1, description="Threshold / 阈值")
    source: str | None = Field(None, description="Data source / 数据来源")
    severity: Literal["high", "medium", "low"] = "medium"
    automated_action: str | None = Field(None, description="Automated action / 自动化动作")
    human_action: str | None = Field(None, description="Human action / 人工动作")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class HealthComponent(_Part):
    name: str = Field(min_length=1, description="Component / 维度")
    weight_pct: float = Field(ge=0, le=100, description="Weight in %; weights add up to 100 / 权重%,合计100")
    measure: str = Field(min_length=1, description="How it is measured and scored / 计量与打分方式")


class HealthScore(_Part):
    components: list[HealthComponent] = Field(min_length=1, description="Weighted components / 加权维度")
    bands: str = Field(min_length=1, description="Score bands and what each triggers / 分档及对应动作")
    validation: str | None = Field(None, description="How the score is checked against real churn / 如何用实际流失校验")


class CadenceStep(_Part):
    day: int = Field(description="Day relative to the renewal date: T-30 = -30, renewal day 0 / 相对续费日的天数")
    term: Literal["monthly", "annual", "all"] = Field("all", description="Billing term / 计费周期")
    audience: str = Field(min_length=1, description="Audience rule / 人群规则")
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    purpose: str = Field(min_length=1, description="Purpose of the message / 沟通目的")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class SaveStep(_Part):
    step: str = Field(min_length=1, description="Step of the cancel flow / 取消流程中的步骤")
    offer: str | None = Field(None, description="Save offer: pause, downgrade, discount… / 挽留方案")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    condition: str | None = Field(None, description="Who sees it / 适用条件")


class CancelFlow(_Part):
    steps: list[SaveStep] = Field(default_factory=list, description="Cancel flow, in order / 取消流程(按顺序)")
    pause: str | None = Field(None, description="Pause option: length, limits / 暂停选项")
    downgrade: str | None = Field(None, description="Downgrade path / 降级路径")
    exit_survey: list[str] = Field(default_factory=list, description="Exit survey questions / 退订问卷问题")


class Dunning(_Part):
    steps: list[DayStep] = Field(
        default_factory=list, description="Steps, days after the failed payment / 扣款失败后第几天"
    )
    grace_days: int | None = Field(None, ge=0, description="Days of access kept while retrying / 宽限天数")
    recovery_target: str | None = Field(None, description="Recovery target / 挽回目标")


class ExpansionPlay(_Part):
    name: str = Field(min_length=1, description="Path / 路径")
    trigger: str = Field(min_length=1, description="Trigger that shows readiness / 触发信号")
    offer: str = Field(min_length=1, description="Offer / 权益")
    price_effect_per_month: str | None = Field(None, description="Price effect per month / 每月价格变化")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")
    channels: ChannelKinds = Field(default_factory=list, description=CHANNEL_HELP)


class MetricDefinition(_Part):
    metric: str = Field(min_length=1, description="Metric / 指标")
    formula: str = Field(min_length=1, description="Exact formula / 精确公式")
    data_needed: str | None = Field(None, description="Data needed / 所需数据")


class Review(_Part):
    cadence: str = Field(min_length=1, description="Weekly, monthly… / 频率")
    attendees: str | None = Field(None, description="Who attends / 参与人")
    dashboard: str | None = Field(None, description="Dashboard they read / 查看的看板")
    decisions: str | None = Field(None, description="Decisions it makes / 决定事项")


class SubscriptionPlaybookPlan(PlanBase):
    """Subscription retention and expansion playbook."""

    stages: list[Stage] = Field(default_factory=list)
    signals: list[WarningSignal] = Field(default_factory=list, description="Early-warning signals / 预警信号")
    health_score: HealthScore | None = Field(None, description="Health score / 健康分")
    coverage: list[Coverage] = Field(default_factory=list, description="Coverage model / 覆盖模型")
    cadence: list[CadenceStep] = Field(default_factory=list, description="Outreach cadence / 续费触达节奏")
    contact_policy: ContactPolicy | None = Field(None, description="Contact caps and consent / 触达频次与授权")
    cancel_flow: CancelFlow | None = Field(None, description="Save offers and cancel flow / 挽留与取消流程")
    dunning: Dunning | None = Field(None, description="Failed-payment recovery / 扣款失败挽回")
    expansion_plays: list[ExpansionPlay] = Field(default_factory=list)
    expansion_guardrails: list[str] = Field(default_factory=list, description="Guardrails / 增购护栏")
    metrics: list[MetricDefinition] = Field(default_factory=list, description="Metric definitions / 指标口径")
    worked_example: str | None = Field(None, description="One worked example with the given prices / 计算示例")
    ab_tests: list[ABTest] = Field(default_factory=list)
    budget: Budget | None = None
    team: list[Role] = Field(default_factory=list, description="Owners / 负责人")
    team_size_needed: int | None = Field(None, ge=0, description="People the playbook needs / 所需人数")
    operating_rhythm: list[Review] = Field(default_factory=list, description="Reviews / 运营节奏")


class GenericPlan(PlanBase):
    """Plan for a template this project does not ship."""

    segments: list[Segment] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    budget: Budget | None = None
    team_size_needed: int | None = Field(None, ge=0, description="People the plan needs / 所需人数")
    ab_tests: list[ABTest] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)


PLAN_MODELS: dict[str, type[PlanBase]] = {
    "retention_strategy": RetentionStrategyPlan,
    "loyalty_program": LoyaltyProgramPlan,
    "renewal_campaign": RenewalCampaignPlan,
    "churn_analysis": ChurnAnalysisPlan,
    "subscription_playbook": SubscriptionPlaybookPlan,
}


# -- the structure each template shares with its prompt ----------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    """A section of a template's output structure: its heading as the prompt writes it, and the plan fields that
    hold it. A section with parts has its own sub-items (`- **Label**:` lines in the prompt)."""

    en: str
    zh: str
    fields: tuple[str, ...] = ()
    parts: tuple[Section, ...] = ()

    def heading(self, language: str) -> str:
        return self.zh if language == "zh" else self.en

    def all_fields(self) -> tuple[str, ...]:
        return self.fields + tuple(f for p in self.parts for f in p.all_fields())


S = Section
SECTIONS: dict[str, tuple[Section, ...]] = {
    "retention_strategy": (
        S("Service and customer overview", "业务与客户概况", ("summary", "goals")),
        S(
            "Personalised engagement",
            "个性化运营",
            parts=(
                S("Segments", "客户分层", ("segments",)),
                S("Behavioural signals", "行为信号", ("signals",)),
                S("Lifecycle touchpoints", "生命周期触点", ("touchpoints",)),
                S("Initiatives", "重点举措", ("initiatives",)),
                S("Contact rules", "触达规则", ("contact_policy",)),
            ),
        ),
        S("Loyalty program ideas", "忠诚度计划思路", ("loyalty_ideas",)),
        S("Win-back campaigns by churn reason", "按流失原因的召回活动", ("win_back",)),
        S(
            "Execution plan",
            "执行方案",
            parts=(
                S("Phased timeline", "分阶段时间表", ("timeline",)),
                S("Offers", "优惠清单", ("offers",)),
                S("Budget", "预算", ("budget",)),
                S("Team and roles", "团队与分工", ("team", "team_size_needed")),
                S("KPIs", "KPI", ("kpis",)),
                S("A/B tests", "A/B 测试", ("ab_tests",)),
                S("Risks", "风险", ("risks",)),
            ),
        ),
        S("Constraint check", "约束核对", ("constraint_check", "assumptions")),
    ),
    "loyalty_program": (
        S("Program name and overview", "计划名称与概述", ("program_name", "member_promise", "summary", "goals")),
        S(
            "Reward system",
            "奖励体系",
            parts=(
                S("Earning rules", "积分获取规则", ("earning_rules",)),
                S("Tiers", "会员等级", ("tiers",)),
                S("Redemption", "兑换", ("redemption",)),
                S("Points economics", "积分经济模型", ("economics",)),
            ),
        ),
        S("Personalisation", "个性化", ("segments", "personalisation")),
        S("Engagement and community", "互动与社群", ("engagement",)),
        S("Partnerships", "异业合作", ("partnerships",)),
        S("Rules, fraud and consent", "规则、风控与授权", ("program_rules",)),
        S("Migration from an existing scheme", "旧体系迁移", ("migration",)),
        S(
            "KPIs and tests",
            "KPI 与测试",
            parts=(S("KPIs", "KPI", ("kpis",)), S("A/B tests", "A/B 测试", ("ab_tests",))),
        ),
        S("Rollout plan by month", "按月上线计划", ("timeline", "team_size_needed")),
        S("Cost guardrails", "成本护栏", ("guardrails", "budget")),
        S("Constraint check", "约束核对", ("constraint_check", "assumptions")),
    ),
    "renewal_campaign": (
        S("Background and goals", "背景与目标", ("summary", "goals", "renewal_basis")),
        S("Audience segments", "目标客群", ("segments",)),
        S("Offers and benefits per segment", "分客群的优惠与权益", ("offers",)),
        S("Channels and messaging", "渠道与沟通话术", ("messaging", "contact_policy")),
        S("Schedule", "活动排期", ("timeline", "sequence")),
        S("Coverage and capacity", "覆盖模型与人力", ("coverage", "team_size_needed")),
        S("Renewal forecast", "续费预测", ("forecast",)),
        S("Auto-renewal and notice rules", "自动续费与提醒规则", ("notice_checks",)),
        S("Budget", "预算", ("budget",)),
        S(
            "Measurement and optimisation",
            "效果衡量与优化",
            parts=(
                S("KPIs", "KPI", ("kpis",)),
                S("A/B tests", "A/B 测试", ("ab_tests",)),
                S("Review rules", "复盘规则", ("optimisation_rules",)),
            ),
        ),
        S("Constraint check", "约束核对", ("constraint_check", "assumptions")),
    ),
    "churn_analysis": (
        S("Summary and questions", "概述与待回答的问题", ("summary", "goals")),
        S("Data sources used", "所用数据来源", ("data_sources", "churn_definition")),
        S("Analysis plan", "分析计划", ("analysis_plan",)),
        S("Findings", "主要发现", ("findings",)),
        S("Churn drivers with quantified impact", "流失驱动因素及量化影响", ("drivers",)),
        S("High-risk customer groups", "高风险客群", ("risk_groups",)),
        S("Retention actions", "留存行动", ("actions", "timeline", "team_size_needed", "kpis", "ab_tests")),
        S("Projected outcome", "结果预测", ("projection", "open_questions")),
        S("Assumptions and constraint check", "假设与约束核对", ("constraint_check", "assumptions")),
    ),
    "subscription_playbook": (
        S("Summary and goals", "概述与目标", ("summary", "goals")),
        S("Lifecycle stages and goals", "生命周期阶段与目标", ("stages",)),
        S(
            "Early-warning signals and health score",
            "预警信号与健康分",
            parts=(
                S("Signals", "预警信号", ("signals",)),
                S("Health score", "健康分", ("health_score",)),
                S("Coverage model", "覆盖模型", ("coverage",)),
            ),
        ),
        S("Outreach cadence before renewal", "续费前的触达节奏", ("cadence", "contact_policy")),
        S("Save offers and cancel flow", "挽留方案与取消流程", ("cancel_flow",)),
        S("Failed payments", "扣款失败挽回", ("dunning",)),
        S("Upgrade and expansion paths", "升级与增购路径", ("expansion_plays", "expansion_guardrails")),
        S("Metrics and definitions", "指标与口径", ("metrics", "worked_example", "kpis", "ab_tests")),
        S(
            "Owners and operating rhythm",
            "负责人与运营节奏",
            ("team", "team_size_needed", "timeline", "operating_rhythm"),
        ),
        S("Budget", "预算", ("budget",)),
        S("Constraint check", "约束核对", ("constraint_check", "assumptions")),
    ),
}
del S


def plan_model_for(template_name: str) -> type[PlanBase]:
    return PLAN_MODELS.get(template_name, GenericPlan)


def sections_for(template_name: str) -> tuple[Section, ...]:
    """The template's sections; () for a template this project does not ship (its plan is laid out by field)."""
    return SECTIONS.get(template_name, ())


def unknown_keys(plan: BaseModel, path: str = "") -> list[str]:
    """Dotted paths of every key the model wrote that the schema does not know (kept, not dropped)."""
    found: list[str] = []
    if isinstance(plan, PlanBase):
        found += [f"{k}" for k in plan.extras]
    found += [f"{path}{k}" for k in (plan.__pydantic_extra__ or {})]
    for name in type(plan).model_fields:
        value = getattr(plan, name)
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, BaseModel):
                where = f"{path}{name}.{index}." if isinstance(value, list) else f"{path}{name}."
                found += unknown_keys(item, where)
    return found


@functools.cache
def plan_schema(model: type[PlanBase]) -> dict:
    """The plan's JSON Schema, built once per model (building it costs milliseconds). Treat it as read-only."""
    return model.model_json_schema()


@functools.cache
def plan_schema_text(model: type[PlanBase]) -> str:
    return json.dumps(plan_schema(model), ensure_ascii=False, separators=(",", ":"))
