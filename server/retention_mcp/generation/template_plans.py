"""The plan model of each shipped template, and the generic plan of any other: one typed place for every section its
prompt asks for (generation/sections.py maps the prompt's headings to these fields). What every plan shares, and the
parts several templates use, are in plan_parts.py; plans.py finds the model for a template name."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from retention_mcp.generation.plan_parts import (
    CHANNEL_HELP,
    DISCOUNT_HELP,
    ABTest,
    Budget,
    ChannelKind,
    ChannelKinds,
    ContactPolicy,
    Coverage,
    DayStep,
    Initiative,
    Offer,
    Part,
    PlanBase,
    Risk,
    Role,
    Segment,
)


# -- retention_strategy ------------------------------------------------------------------------------------------------
class Signal(Part):
    signal: str = Field(min_length=1, description="Behaviour observed / 行为信号")
    threshold: str = Field(min_length=1, description="Threshold that fires it / 阈值")
    predicts: str = Field(min_length=1, description="What it predicts / 预示什么")
    response: str = Field(min_length=1, description="Automated response / 自动化响应")


class Touchpoint(Part):
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


class LoyaltyIdea(Part):
    name: str = Field(min_length=1, description="Name customers see / 对客户的名称")
    behaviour: str = Field(min_length=1, description="Behaviour it rewards / 奖励的行为")
    earning: str = Field(min_length=1, description="How it is earned / 获取方式")
    redemption: str = Field(min_length=1, description="What it is spent on / 兑换或使用方式")
    recognition: str | None = Field(None, description="Badges, status, visible recognition / 徽章、身份等荣誉")
    cost_logic: str = Field(min_length=1, description="What it costs and why it pays / 成本逻辑")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    versus_competitors: str | None = Field(None, description="How it answers what competitors offer / 与竞品做法的对比")


class WinBack(Part):
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
class EarningRule(Part):
    action: str = Field(min_length=1, description="Behaviour rewarded / 奖励的行为")
    reward: str = Field(min_length=1, description="Points or reward / 积分或奖励")
    limit: str | None = Field(None, description="Cap per customer and period / 每人每周期上限")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves / 服务的目标编号")
    cost_pct_of_sales: float | None = Field(None, ge=0, le=100, description="Cost as % of sales / 成本占销售额%")


class Tier(Part):
    name: str = Field(min_length=1, description="Tier / 等级")
    qualification: str = Field(min_length=1, description="How a member reaches it / 达成条件")
    benefits: list[str] = Field(default_factory=list, description="Benefits / 权益")
    retention_rule: str | None = Field(
        None, description="What keeps the tier next period, and the downgrade / 保级规则"
    )
    discount_pct: float | None = Field(None, ge=0, le=100, description="Member price discount. " + DISCOUNT_HELP)


class Redemption(Part):
    reward: str = Field(min_length=1, description="Reward / 兑换内容")
    points_cost: float | None = Field(None, ge=0, description="Points it costs / 所需积分")
    effective_discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    expiry: str | None = Field(None, description="Expiry rule / 有效期规则")


class PointsEconomics(Part):
    point_value: str = Field(min_length=1, description="What one point is worth, in the currency / 每积分价值")
    earn_rate: str | None = Field(None, description="Points per unit spent / 积分获取比例")
    redemption_rate_pct: float | None = Field(None, ge=0, le=100, description="Share of points redeemed / 兑换率%")
    breakage_pct: float | None = Field(None, ge=0, le=100, description="Share never redeemed / 沉淀率%")
    cost_pct_of_sales: float | None = Field(None, ge=0, le=100, description="Incentive cost as % of sales / 激励成本%")
    fixed_costs: str | None = Field(None, description="Fixed costs: system, staff, content / 固定成本")
    variable_costs: str | None = Field(None, description="Variable costs: rewards, partner fees / 变动成本")
    liability: str | None = Field(None, description="Outstanding points liability and how it is booked / 积分负债")
    arithmetic: str = Field(min_length=1, description="The calculation, compared with the cap / 算式及与上限对比")


class Trigger(Part):
    moment: str = Field(min_length=1, description="Moment or trigger / 关键时刻或触发条件")
    segment: str | None = Field(None, description="Who / 客群")
    offer: str = Field(min_length=1, description="What they get / 权益或内容")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    channel: ChannelKind | None = Field(None, description=CHANNEL_HELP)
    data_needed: str | None = Field(None, description="Data needed, and from which system / 所需数据及来源系统")


class Activity(Part):
    name: str = Field(min_length=1, description="Activity / 活动")
    description: str = Field(min_length=1, description="How it works and the habit it builds / 玩法及培养的习惯")
    goal_ids: list[str] = Field(default_factory=list, description="Goals it serves / 服务的目标编号")


class Partnership(Part):
    partner: str = Field(min_length=1, description="Partner type / 合作方类型")
    we_give: str = Field(min_length=1, description="What we give / 我方投入")
    we_get: str = Field(min_length=1, description="What we get / 我方收益")
    member_value: str | None = Field(None, description="What members get / 会员得到什么")


class ProgramRules(Part):
    terms: list[str] = Field(default_factory=list, description="Key terms: expiry, changes, closure / 关键条款")
    anti_fraud: list[str] = Field(default_factory=list, description="Anti-fraud rules / 防刷与反作弊规则")
    consent: list[str] = Field(
        default_factory=list,
        description="Consent and data rules (PIPL, GDPR) to check / 个人信息授权(PIPL、GDPR)核查项",
    )


class Guardrail(Part):
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
class RenewalBasis(Part):
    basis: Literal["logo", "dollar", "both"] = Field(
        description="logo: share of members or accounts renewed; dollar: share of renewable revenue / 按客户数或按金额"
    )
    definition: str = Field(min_length=1, description="Exact formula and period / 口径与统计周期")


class Messaging(Part):
    segment: str = Field(min_length=1, description="Segment / 客群")
    channels: ChannelKinds = Field(default_factory=list, description="In order. " + CHANNEL_HELP)
    key_message: str = Field(min_length=1, description="Key message / 核心信息")
    sample: str | None = Field(None, description="Sample: subject line and first sentence / 示例:标题与首句")
    call_to_action: str | None = Field(None, description="Call to action / 行动号召")


class CampaignStep(Part):
    day: int = Field(
        description="Day relative to the renewal date: T-30 = -30, renewal day 0 / 相对到期日:到期前30天 = -30"
    )
    segment: str = Field(min_length=1, description="Segment / 客群")
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    message: str = Field(min_length=1, description="Action and message / 动作与信息")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class ForecastLine(Part):
    category: str = Field(min_length=1, description="Forecast category: commit, likely, at risk… / 预测分类")
    rule: str = Field(min_length=1, description="What puts an account or member in it / 归类规则")
    count: int | None = Field(None, ge=0, description="Accounts or members / 客户数")
    value: float | None = Field(None, ge=0, description="Renewable revenue in the budget currency / 可续金额")


class NoticeCheck(Part):
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
class DataSource(Part):
    source: str = Field(min_length=1, description="Source / 数据来源")
    contents: str = Field(min_length=1, description="What it contains / 包含内容")
    period: str | None = Field(None, description="Period covered / 时间段")
    limits: str | None = Field(None, description="Limits: size, missing fields, definitions / 局限")


class AnalysisStep(Part):
    question: str = Field(min_length=1, description="Question it answers / 回答的问题")
    fields: list[str] = Field(default_factory=list, description="Fields it needs / 所需字段")
    method: str = Field(min_length=1, description="Calculation or test / 计算或检验方法")
    output: str | None = Field(None, description="Table or figure it produces / 产出")


class Finding(Part):
    statement: str = Field(min_length=1, description="Finding / 发现")
    metric: str | None = Field(None, description="Metric it rests on / 依据的指标")
    value: float | None = Field(None, description="The number / 数值")
    source: Literal["data", "assumption"] = Field(description="From the data, or an assumption / 来自数据或假设")
    data_ref: str | None = Field(
        None, description="Id of the computed data fact it cites, e.g. D3 / 引用的数据事实编号"
    )


class Driver(Part):
    driver: str = Field(min_length=1, description="Driver / 驱动因素")
    evidence: str = Field(min_length=1, description="Rate in the group vs base, lift / 证据:群体流失率与整体对比")
    share_of_churn_pct: float | None = Field(
        None, ge=0, le=100, description="Share of all churn; shares overlap and do not add up / 占全部流失比例(可重叠)"
    )
    confidence: Literal["high", "medium", "low"] = "medium"
    why: str | None = Field(None, description="Why this confidence / 可信度理由")


class RiskGroup(Part):
    group: str = Field(min_length=1, description="Observable rule / 客群规则")
    size: int | None = Field(None, ge=0, description="Customers, from the data / 客户数")
    share_pct: float | None = Field(None, ge=0, le=100, description="Share of the base / 占比")
    churn_rate_pct: float | None = Field(None, ge=0, le=100, description="Churn rate of the group / 该群体流失率")
    expected_losses: float | None = Field(None, ge=0, description="Expected losses in the horizon / 预测期内预期流失")
    arithmetic: str | None = Field(None, description="How expected losses were computed / 算式")
    earliest_signal: str | None = Field(None, description="Earliest signal a customer enters it / 最早识别信号")
    data_ref: str | None = Field(None, description="Computed fact it cites, e.g. D5 / 引用的数据事实编号")


class RetentionAction(Part):
    action: str = Field(min_length=1, description="Action / 行动")
    target: str | None = Field(None, description="Group or driver it addresses / 针对的客群或驱动因素")
    steps: list[str] = Field(default_factory=list, description="Steps with timing / 步骤与时间")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")
    metric: str | None = Field(None, description="Metric it moves / 影响的指标")
    expected_effect: str | None = Field(None, description="Expected effect as a range / 预期效果(区间)")
    discount_pct: float | None = Field(None, ge=0, le=100, description="Incentive it offers, if any. " + DISCOUNT_HELP)
    measurement: str | None = Field(None, description="Holdout or A/B design / 对照组或 A/B 设计")


class ProjectionLine(Part):
    scenario: str = Field(min_length=1, description="Scenario: no change, with the actions… / 情景")
    value: float | None = Field(None, description="Projected value / 预测值")
    unit: str = Field("", description="Unit / 单位")
    arithmetic: str = Field(min_length=1, description="Inputs and calculation / 输入与算式")


class OpenQuestion(Part):
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
class Stage(Part):
    name: str = Field(min_length=1, description="Stage / 阶段")
    start_day: int = Field(ge=0, description="First day, from the start of the subscription / 开始日(从订阅开始起算)")
    end_day: int = Field(ge=0, description="Last day / 结束日")
    goal: str | None = Field(None, description="Goal of the stage / 阶段目标")
    milestone: str | None = Field(None, description="Milestone that moves a customer on / 进入下一阶段的里程碑")
    metric: str | None = Field(None, description="Metric / 衡量指标")
    signals: list[str] = Field(default_factory=list, description="Signals to watch / 关注的信号")
    plays: list[str] = Field(default_factory=list, description="Plays / 动作")


class WarningSignal(Part):
    signal: str = Field(min_length=1, description="Signal / 信号")
    kind: Literal["usage", "engagement", "billing", "support", "relationship"] = Field(description="Kind / 类别")
    threshold: str = Field(min_length=1, description="Threshold / 阈值")
    source: str | None = Field(None, description="Data source / 数据来源")
    severity: Literal["high", "medium", "low"] = "medium"
    automated_action: str | None = Field(None, description="Automated action / 自动化动作")
    human_action: str | None = Field(None, description="Human action / 人工动作")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class HealthComponent(Part):
    name: str = Field(min_length=1, description="Component / 维度")
    weight_pct: float = Field(ge=0, le=100, description="Weight in %; weights add up to 100 / 权重%,合计100")
    measure: str = Field(min_length=1, description="How it is measured and scored / 计量与打分方式")


class HealthScore(Part):
    components: list[HealthComponent] = Field(min_length=1, description="Weighted components / 加权维度")
    bands: str = Field(min_length=1, description="Score bands and what each triggers / 分档及对应动作")
    validation: str | None = Field(None, description="How the score is checked against real churn / 如何用实际流失校验")


class CadenceStep(Part):
    day: int = Field(description="Day relative to the renewal date: T-30 = -30, renewal day 0 / 相对续费日的天数")
    term: Literal["monthly", "annual", "all"] = Field("all", description="Billing term / 计费周期")
    audience: str = Field(min_length=1, description="Audience rule / 人群规则")
    channel: ChannelKind = Field(description=CHANNEL_HELP)
    purpose: str = Field(min_length=1, description="Purpose of the message / 沟通目的")
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")


class SaveStep(Part):
    step: str = Field(min_length=1, description="Step of the cancel flow / 取消流程中的步骤")
    offer: str | None = Field(None, description="Save offer: pause, downgrade, discount… / 挽留方案")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    condition: str | None = Field(None, description="Who sees it / 适用条件")


class CancelFlow(Part):
    steps: list[SaveStep] = Field(default_factory=list, description="Cancel flow, in order / 取消流程(按顺序)")
    pause: str | None = Field(None, description="Pause option: length, limits / 暂停选项")
    downgrade: str | None = Field(None, description="Downgrade path / 降级路径")
    exit_survey: list[str] = Field(default_factory=list, description="Exit survey questions / 退订问卷问题")


class Dunning(Part):
    steps: list[DayStep] = Field(
        default_factory=list, description="Steps, days after the failed payment / 扣款失败后第几天"
    )
    grace_days: int | None = Field(None, ge=0, description="Days of access kept while retrying / 宽限天数")
    recovery_target: str | None = Field(None, description="Recovery target / 挽回目标")


class ExpansionPlay(Part):
    name: str = Field(min_length=1, description="Path / 路径")
    trigger: str = Field(min_length=1, description="Trigger that shows readiness / 触发信号")
    offer: str = Field(min_length=1, description="Offer / 权益")
    price_effect_per_month: str | None = Field(None, description="Price effect per month / 每月价格变化")
    discount_pct: float | None = Field(None, ge=0, le=100, description=DISCOUNT_HELP)
    owner: str | None = Field(None, description="Owner (role) / 负责人(角色)")
    channels: ChannelKinds = Field(default_factory=list, description=CHANNEL_HELP)


class MetricDefinition(Part):
    metric: str = Field(min_length=1, description="Metric / 指标")
    formula: str = Field(min_length=1, description="Exact formula / 精确公式")
    data_needed: str | None = Field(None, description="Data needed / 所需数据")


class Review(Part):
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
