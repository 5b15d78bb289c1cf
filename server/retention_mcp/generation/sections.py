"""The structure each template shares with its prompt: its sections, with the headings as the prompt writes them and
the plan fields that hold each one. A test fails when a prompt section has no place in the plan, or a plan field
belongs to no section; the plan Markdown is laid out by the same table."""

from __future__ import annotations

from dataclasses import dataclass


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


def sections_for(template_name: str) -> tuple[Section, ...]:
    """The template's sections; () for a template this project does not ship (its plan is laid out by field)."""
    return SECTIONS.get(template_name, ())
