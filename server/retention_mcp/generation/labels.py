"""Labels and values of the plan Markdown: each plan field's heading in English and Chinese, Chinese for enum values,
and how one value reads inline (numbers, days, channel kinds, lists) or in a table cell."""

from __future__ import annotations

from typing import Any

from retention_mcp.vocabulary import CHANNEL_KINDS, channel_label

LABELS: dict[str, tuple[str, str]] = {
    # sections and fields
    "summary": ("Summary", "概述"),
    "goals": ("Goals", "目标"),
    "assumptions": ("Assumptions", "前提假设"),
    "constraint_check": ("How the plan respects the constraints", "方案如何满足约束"),
    "segments": ("Segments", "客群"),
    "signals": ("Signals", "信号"),
    "touchpoints": ("Lifecycle touchpoints", "生命周期触点"),
    "initiatives": ("Initiatives", "重点举措"),
    "contact_policy": ("Contact rules", "触达规则"),
    "loyalty_ideas": ("Loyalty ideas", "忠诚度思路"),
    "win_back": ("Win-back campaigns", "召回活动"),
    "offers": ("Offers", "优惠"),
    "budget": ("Budget", "预算"),
    "timeline": ("Timeline", "时间表"),
    "team": ("Roles", "角色分工"),
    "team_size_needed": ("People needed", "所需人数"),
    "kpis": ("KPIs", "KPI"),
    "ab_tests": ("A/B tests", "A/B 测试"),
    "risks": ("Risks", "风险"),
    "program_name": ("Program name", "计划名称"),
    "member_promise": ("Member promise", "会员承诺"),
    "earning_rules": ("Earning rules", "积分获取规则"),
    "tiers": ("Tiers", "会员等级"),
    "redemption": ("Redemption", "兑换"),
    "economics": ("Points economics", "积分经济模型"),
    "personalisation": ("Triggers", "触发与权益"),
    "engagement": ("Activities", "活动"),
    "partnerships": ("Partnerships", "合作"),
    "program_rules": ("Rules", "规则"),
    "migration": ("Migration steps", "迁移步骤"),
    "guardrails": ("Guardrails", "护栏"),
    "renewal_basis": ("Renewal basis", "续费率口径"),
    "messaging": ("Messaging", "沟通话术"),
    "sequence": ("Contact sequence", "触达节奏"),
    "coverage": ("Coverage model", "覆盖模型"),
    "forecast": ("Forecast", "预测"),
    "notice_checks": ("Rules to check", "需核查的规则"),
    "optimisation_rules": ("Review and budget rules", "复盘与预算调整规则"),
    "data_sources": ("Data sources", "数据来源"),
    "churn_definition": ("Churn definition", "流失定义"),
    "analysis_plan": ("Analysis plan", "分析计划"),
    "findings": ("Findings", "发现"),
    "drivers": ("Drivers", "驱动因素"),
    "risk_groups": ("High-risk groups", "高风险客群"),
    "actions": ("Actions", "行动"),
    "projection": ("Projection", "预测"),
    "open_questions": ("Open questions", "待回答的问题"),
    "stages": ("Stages", "阶段"),
    "health_score": ("Health score", "健康分"),
    "cadence": ("Cadence", "触达节奏"),
    "cancel_flow": ("Cancel flow", "取消流程"),
    "dunning": ("Failed-payment recovery", "扣款失败挽回"),
    "expansion_plays": ("Expansion paths", "增购路径"),
    "expansion_guardrails": ("Guardrails", "护栏"),
    "metrics": ("Metric definitions", "指标口径"),
    "worked_example": ("Worked example", "计算示例"),
    "operating_rhythm": ("Operating rhythm", "运营节奏"),
    "extras": ("Other content from the model", "模型补充的其他内容"),
    # columns and block lines
    "accounts_per_owner": ("Accounts per owner", "每人负责客户数"),
    "action": ("Action", "动作"),
    "amount": ("Amount", "金额"),
    "anti_fraud": ("Anti-fraud", "防刷与风控"),
    "applies_to": ("Applies to", "适用范围"),
    "arithmetic": ("Arithmetic", "算式"),
    "attendees": ("Attendees", "参与人"),
    "audience": ("Audience", "人群"),
    "automated_action": ("Automated action", "自动化动作"),
    "bands": ("Bands", "分档"),
    "baseline": ("Baseline", "基线"),
    "basis": ("Basis", "口径"),
    "behaviour": ("Behaviour rewarded", "奖励的行为"),
    "benefits": ("Benefits", "权益"),
    "breakage_pct": ("Breakage %", "沉淀率%"),
    "call_to_action": ("Call to action", "行动号召"),
    "category": ("Category", "分类"),
    "channel": ("Channel", "渠道"),
    "channels": ("Channels", "渠道"),
    "churn_rate_pct": ("Churn rate %", "流失率%"),
    "churn_reason": ("Churn reason", "流失原因"),
    "cohort": ("Cohort", "批次"),
    "components": ("Components", "维度"),
    "condition": ("Condition", "条件"),
    "confidence": ("Confidence", "可信度"),
    "consent": ("Consent", "授权"),
    "constraint": ("Constraint", "约束"),
    "contents": ("Contents", "内容"),
    "cost": ("Cost", "成本"),
    "cost_logic": ("Cost logic", "成本逻辑"),
    "cost_pct_of_sales": ("Cost % of sales", "成本占销售额%"),
    "cost_per_incremental": ("Cost per incremental result", "单个增量成本"),
    "count": ("Count", "数量"),
    "currency": ("Currency", "币种"),
    "dashboard": ("Dashboard", "看板"),
    "data_needed": ("Data needed", "所需数据"),
    "data_ref": ("Data fact", "数据事实"),
    "data_to_collect": ("Data to collect", "需补充的数据"),
    "day": ("Day", "天"),
    "deadline_day": ("Due day", "截止日"),
    "decisions": ("Decisions", "决定事项"),
    "definition": ("Definition", "定义"),
    "deliverables": ("Deliverables", "交付内容"),
    "description": ("Description", "说明"),
    "discount_pct": ("Discount %", "优惠幅度%"),
    "downgrade": ("Downgrade", "降级"),
    "driver": ("Driver", "驱动因素"),
    "earliest_signal": ("Earliest signal", "最早信号"),
    "early_sign": ("Early sign", "早期征兆"),
    "earn_rate": ("Earn rate", "获取比例"),
    "earning": ("Earning", "获取方式"),
    "effective_discount_pct": ("Effective discount %", "实际优惠幅度%"),
    "end_day": ("End day", "结束日"),
    "evidence": ("Evidence", "证据"),
    "exit_survey": ("Exit survey", "退订问卷"),
    "expected_effect": ("Expected effect", "预期效果"),
    "expected_losses": ("Expected losses", "预期流失"),
    "expiry": ("Expiry", "有效期"),
    "fields": ("Fields", "字段"),
    "fixed_costs": ("Fixed costs", "固定成本"),
    "formula": ("Formula", "公式"),
    "frequency_cap": ("Frequency cap", "频次上限"),
    "gate": ("Go/no-go", "评估标准"),
    "goal": ("Goal", "目标"),
    "goal_id": ("Goal", "对应目标"),
    "goal_ids": ("Goals", "目标"),
    "grace_days": ("Grace days", "宽限天数"),
    "group": ("Group", "客群"),
    "headcount": ("Headcount", "人数"),
    "how_respected": ("How the plan respects it", "方案如何满足"),
    "human_action": ("Human action", "人工动作"),
    "hypothesis": ("Hypothesis", "实验假设"),
    "incremental_value": ("Incremental value", "增量价值"),
    "item": ("Item", "科目"),
    "key_action": ("Key action", "关键动作"),
    "key_message": ("Key message", "核心信息"),
    "kind": ("Kind", "类别"),
    "liability": ("Points liability", "积分负债"),
    "limit": ("Limit", "上限"),
    "limits": ("Limits", "局限"),
    "main_risk": ("Main risk", "主要风险"),
    "measure": ("Measure", "计量方式"),
    "measurement": ("Measurement", "效果衡量"),
    "member_value": ("Member value", "会员价值"),
    "message": ("Message", "信息"),
    "method": ("Method", "方法"),
    "metric": ("Metric", "指标"),
    "milestone": ("Milestone", "里程碑"),
    "minimum_detectable_effect": ("Minimum detectable effect", "最小可检测效果"),
    "mitigation": ("Mitigation", "应对"),
    "moment": ("Moment", "时刻"),
    "motions": ("Motions", "动作"),
    "name": ("Name", "名称"),
    "offer": ("Offer", "权益"),
    "opt_out": ("Opt-out", "退订"),
    "output": ("Output", "产出"),
    "owner": ("Owner", "负责人"),
    "partner": ("Partner", "合作方"),
    "pause": ("Pause", "暂停"),
    "period": ("Period", "周期"),
    "phase": ("Phase", "阶段"),
    "plays": ("Plays", "动作"),
    "point_value": ("Point value", "积分价值"),
    "points_cost": ("Points", "所需积分"),
    "predicts": ("Predicts", "预示"),
    "price_effect_per_month": ("Price effect per month", "每月价格变化"),
    "purpose": ("Purpose", "用途"),
    "qualification": ("Qualification", "达成条件"),
    "question": ("Question", "问题"),
    "quiet_hours": ("Quiet hours", "免打扰时段"),
    "ratio": ("Ratio", "投入产出比"),
    "recognition": ("Recognition", "荣誉与身份"),
    "recovery_target": ("Recovery target", "挽回目标"),
    "redemption_rate_pct": ("Redemption rate %", "兑换率%"),
    "response": ("Response", "响应"),
    "responsibilities": ("Responsibilities", "职责"),
    "retention_rule": ("Retention rule", "保级规则"),
    "reward": ("Reward", "奖励"),
    "risk": ("Risk", "风险"),
    "role": ("Role", "角色"),
    "rule": ("Rule", "规则"),
    "run_days": ("Run days", "运行天数"),
    "sample": ("Sample", "示例"),
    "sample_size_per_variant": ("Sample per variant", "每组样本量"),
    "scenario": ("Scenario", "情景"),
    "segment": ("Segment", "客群"),
    "severity": ("Severity", "严重程度"),
    "share_of_churn_pct": ("Share of churn % (overlapping)", "占流失比例%(可重叠)"),
    "share_pct": ("Share %", "占比%"),
    "signal": ("Signal", "信号"),
    "size": ("Size", "规模"),
    "source": ("Source", "来源"),
    "stage": ("Stage", "阶段"),
    "start_day": ("Start day", "开始日"),
    "statement": ("Finding", "发现"),
    "step": ("Step", "步骤"),
    "steps": ("Steps", "步骤"),
    "success_metric": ("Success metric", "成功指标"),
    "target": ("Target", "目标值"),
    "target_rule": ("Target rule", "目标规则"),
    "term": ("Term", "计费周期"),
    "term_months": ("Term (months)", "合同期(月)"),
    "terms": ("Terms", "条款"),
    "threshold": ("Threshold", "阈值"),
    "trigger": ("Trigger", "触发条件"),
    "unit": ("Unit", "单位"),
    "validation": ("Validation", "校验"),
    "value": ("Value", "数值"),
    "variable_costs": ("Variable costs", "变动成本"),
    "variants": ("Variants", "实验组"),
    "versus_competitors": ("Versus competitors", "与竞品对比"),
    "we_get": ("We get", "我方收益"),
    "we_give": ("We give", "我方投入"),
    "weight_pct": ("Weight %", "权重%"),
    "why": ("Why", "理由"),
}


# Literal values shown in Chinese plans (English plans show them as written).
ENUM_ZH = {
    "high": "高", "medium": "中", "low": "低", "data": "数据", "assumption": "假设", "usage": "使用", "engagement": "活跃",
    "billing": "账单", "support": "客服", "relationship": "关系", "monthly": "月付", "annual": "年付", "all": "全部",
    "logo": "按客户数", "dollar": "按金额", "both": "客户数与金额",
}  # fmt: skip


CHANNEL_KEYS = {"channel", "channels"}


ENUM_FIELDS = {"confidence", "source", "severity", "kind", "term", "basis"}


def label_of(key: str, zh: bool) -> str:
    en, cn = LABELS.get(key, (key.replace("_", " ").capitalize(), key))
    return cn if zh else en


def format_number(value: float | int) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        number = int(value)
        return f"{number:,}" if abs(number) >= 1000 else str(number)
    return f"{value:g}"


def format_day(day: int, mode: str, zh: bool) -> str:
    if mode == "renewal":
        return "T" if day == 0 else f"T{day:+d}"
    if mode == "after":
        return f"第 {day} 天" if zh else f"day {day}"
    return f"第 {day} 天" if zh else f"day {day}"


def inline(value: Any, zh: bool, key: str = "") -> str:
    """One value as inline text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list):
        return ("、" if zh else ", ").join(inline(v, zh, key) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{label_of(k, zh)}: {inline(v, zh, k)}" for k, v in value.items() if not is_empty(v))
    text = str(value)
    if key in CHANNEL_KEYS and text in CHANNEL_KINDS:  # a channel kind reads as its name, in the plan's language
        return channel_label(text, "zh" if zh else "en")
    if zh and key in ENUM_FIELDS:
        text = ENUM_ZH.get(text, text)
    return text.replace("\n", " ")


def cell(value: Any, zh: bool, key: str = "") -> str:
    return inline(value, zh, key).replace("|", "\\|")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
