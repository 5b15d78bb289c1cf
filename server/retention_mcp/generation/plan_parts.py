"""The parts every typed plan is built from: goals, budget and its lines, timeline, KPIs, segments, offers,
initiatives, tests, risks, roles, contact rules; channel kinds as plans write them; and `PlanBase`, the fields every
plan shares. The template plan models are in `plans`. See `plans` for the conventions (days, budget periods,
channel kinds, discounts).
"""

from __future__ import annotations

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


class Part(BaseModel):
    """A part of a plan. Keys the schema does not know are kept next to the typed fields, never dropped."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, allow_inf_nan=False)


# -- parts shared by several templates ----------------------------------------------------------------------------------
class Goal(Part):
    id: str = Field(min_length=1, description="Goal id as in <stated_goals>, e.g. G1 / 目标编号,如 G1")
    text: str = Field(min_length=1, description="The goal as a number with a deadline / 目标(数字与期限)")


class BudgetLine(Part):
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


class RoiLine(Part):
    incremental_value: float | None = Field(
        None, description="Incremental revenue or margin expected, in the budget currency / 预期增量收入或毛利"
    )
    cost: float | None = Field(None, ge=0, description="Cost it is set against / 对应成本")
    ratio: float | None = Field(None, description="incremental_value / cost / 投入产出比")
    cost_per_incremental: float | None = Field(
        None, ge=0, description="Cost per incremental renewal, order or saved customer / 每个增量续费(订单、挽回)的成本"
    )
    arithmetic: str = Field("", description="The calculation in one line, inputs named / 一行算式,写明输入")


class Budget(Part):
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


class Phase(Part):
    name: str = Field(min_length=1, description="Phase name / 阶段名称")
    start_day: int = Field(ge=0, description="First day, counted from the plan's start (day 0) / 开始日(从第0天起算)")
    end_day: int = Field(ge=0, description="Last day, counted from the plan's start / 结束日")
    deliverables: list[str] = Field(default_factory=list, description="What the phase delivers / 交付内容")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")
    gate: str | None = Field(None, description="Go/no-go check before the next phase / 进入下一阶段前的评估标准")


class Timeline(Part):
    phases: list[Phase] = Field(min_length=1, description="Phases in order / 按顺序排列的阶段")


KpiText = Annotated[str, Field(min_length=1, max_length=300)]


class KPI(Part):
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


class Segment(Part):
    name: str = Field(min_length=1, description="Segment name / 客群名称")
    definition: str = Field(min_length=1, description="Observable rule that puts a customer in it / 可观测的划分规则")
    size: int | None = Field(None, ge=0, description="Number of customers, when known / 客户数(已知时)")
    share_pct: float | None = Field(None, ge=0, le=100, description="Share of customers in %, when known / 占比")
    main_risk: str | None = Field(None, description="Main risk, or main reason for not renewing / 主要风险或不续费原因")
    key_action: str | None = Field(
        None, description="The single most important action or objective / 最关键的动作或目标"
    )


class Offer(Part):
    description: str = Field(min_length=1, description="The offer / 优惠内容")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    segment: str | None = Field(None, description="Who gets it / 适用客群")
    condition: str | None = Field(None, description="Condition to qualify / 领取条件")
    cost_logic: str | None = Field(None, description="What it costs and why it pays / 成本逻辑")
    term_months: int | None = Field(
        None, ge=1, description="Term it applies to, for term-length offers / 适用合同期(月)"
    )


class Initiative(Part):
    name: str = Field(min_length=1, description="Initiative / 举措")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves, e.g. [G1] / 服务的目标编号")
    segment: str | None = Field(None, description="Target segment / 目标客群")
    channels: ChannelKinds = Field(default_factory=list, description=CHANNEL_HELP)
    actions: list[str] = Field(default_factory=list, description="Concrete steps / 具体动作")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class ABTest(Part):
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


class Risk(Part):
    risk: str = Field(min_length=1, description="Risk / 风险")
    early_sign: str | None = Field(None, description="Early sign that it is happening / 早期征兆")
    mitigation: str = Field(min_length=1, description="Mitigation / 应对措施")


class Role(Part):
    role: str = Field(min_length=1, description="Role / 角色")
    headcount: float | None = Field(None, ge=0, description="People (fractions allowed) / 人数(可为小数)")
    responsibilities: list[str] = Field(default_factory=list, description="What the role owns / 负责内容")


class ContactPolicy(Part):
    frequency_cap: str = Field(
        min_length=1, description="Most contacts per customer per period, across channels / 每位客户每周期最多触达次数"
    )
    quiet_hours: str | None = Field(None, description="When never to send / 免打扰时段")
    consent: str = Field(min_length=1, description="Consent basis per channel, how it is recorded / 各渠道的授权依据")
    opt_out: str = Field(min_length=1, description="How customers opt out and how fast it applies / 退订方式与生效时间")


class ConstraintRow(Part):
    constraint: str = Field(min_length=1, description="Constraint the user stated / 约束")
    value: str = Field(min_length=1, description="Its value as stated / 约束值")
    how_respected: str = Field(min_length=1, description="How the plan respects it, with the figures / 方案如何满足")


class DayStep(Part):
    day: int = Field(description="Day of the step, counted as the section says / 第几天(按所在部分的基准)")
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    message: str = Field(min_length=1, description="Message or action / 信息或动作")


class Coverage(Part):
    segment: str = Field(min_length=1, description="Accounts or members covered / 覆盖的客户")
    owner: str = Field(min_length=1, description="Who covers them (role), or automated / 负责人(角色)或自动化")
    accounts_per_owner: int | None = Field(None, ge=0, description="Accounts one owner carries / 每人负责客户数")
    motions: list[str] = Field(
        default_factory=list, description="Contacts: business reviews, executive sponsor… / 动作:业务复盘、高层对接等"
    )


class PlanBase(Part):
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
