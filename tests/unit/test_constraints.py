"""The constraint reader, as tables in both languages: what a user writes, and what the checker will hold them to."""

from __future__ import annotations

import pytest

from retention_mcp.constraints.budget import read_budget
from retention_mcp.constraints.channels import read_allowed_channels, read_excluded_channels
from retention_mcp.constraints.cost_share import read_revenue_share_cap
from retention_mcp.constraints.discount import read_discount_cap
from retention_mcp.constraints.goals import read_goals
from retention_mcp.constraints.horizon import read_horizon
from retention_mcp.constraints.money import parse_amount
from retention_mcp.constraints.reader import read_constraints
from retention_mcp.constraints.team import read_team_size
from tests.conftest import SCENARIOS


@pytest.mark.parametrize(
    ("text", "amount", "currency", "low"),
    [
        ("12万元", 120_000, "CNY", None),
        ("¥8.5万", 85_000, "CNY", None),
        ("1.2亿人民币", 120_000_000, "CNY", None),
        ("$50k", 50_000, "USD", None),
        ("USD 1.5M", 1_500_000, "USD", None),
        ("120,000 CNY", 120_000, "CNY", None),
        ("€3 million", 3_000_000, "EUR", None),
        ("10-12万元", 120_000, "CNY", 100_000),
        ("5万到8万元", 80_000, "CNY", 50_000),
        ("$40k–$50k", 50_000, "USD", 40_000),
        ("30 thousand dollars", 30_000, "USD", None),
    ],
)
def test_amounts_with_units_and_ranges(text, amount, currency, low):
    money = parse_amount(text)
    assert money is not None
    assert (money.amount, money.currency, money.low) == (amount, currency, low)


@pytest.mark.parametrize(
    ("text", "amount", "currency", "period"),
    [
        ("季度预算12万元", 120_000, "CNY", "quarter"),
        ("预算:每月3万元", 30_000, "CNY", "month"),
        ("年度营销预算 200 万", 2_000_000, None, "year"),
        ("营销预算:5万到8万元/月", 80_000, "CNY", "month"),
        ("预算10-12万元", 120_000, "CNY", None),
        ("Quarterly budget 120,000 CNY; team of 3", 120_000, "CNY", "quarter"),
        ("Budget: USD 40k–50k per quarter", 50_000, "USD", "quarter"),
        ("$50k per quarter", 50_000, "USD", "quarter"),
        ("a $1.2M annual budget", 1_200_000, "USD", "year"),
        ("We can spend a budget of $80,000 over the campaign", 80_000, "USD", None),
        ("季度预算十二万元", 120_000, "CNY", "quarter"),
        ("活动预算两万五千元", 25_000, "CNY", None),
    ],
)
def test_budget(text, amount, currency, period):
    money, found_period = read_budget(text)
    assert money is not None, text
    assert (money.amount, money.currency, found_period) == (amount, currency, period)


@pytest.mark.parametrize(
    "text",
    [
        "Basic $29/mo, Team $99/mo, Business $299/mo",  # prices, not a budget
        "付费客户2400家,客单价599元",
        "Monthly churn 4.8%; NPS 45",
    ],
)
def test_no_budget_where_none_is_stated(text):
    assert read_budget(text) == (None, None)


@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("折扣不超过15%", 15),
        ("折扣不超10%", 10),
        ("折扣≤15%", 15),
        ("优惠力度最多20%", 20),
        ("折扣控制在12%以内", 12),
        ("折扣上限为15%", 15),
        ("最低八五折", 15),
        ("不低于8.5折", 15),
        ("最低9折", 10),
        ("discounts at most 15%", 15),
        ("Discounts no more than 20%", 20),
        ("discount capped at 10%", 10),
        ("max 25% off", 25),
        ("a 15% max discount", 15),
        ("discount cap of 30%", 30),
    ],
)
def test_discount_caps(text, cap):
    assert read_discount_cap(text) == cap


@pytest.mark.parametrize(
    "text", ["Monthly churn 4.8%", "年付节省2个月", "usage down more than 50% over 2 weeks", "毛利率60%"]
)
def test_no_discount_cap_where_none_is_stated(text):
    assert read_discount_cap(text) is None


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("90天内:月度流失率从4.8%降至3.2%", 90),
        ("未来6个月", 182),
        ("12个月内复购率提升", 365),
        ("两个季度内完成", 182),
        ("为期8周", 56),
        ("半年内", 182),
        ("Within 90 days: monthly churn from 4.8% to 3.2%", 90),
        ("within two quarters", 182),
        ("in the next 6 weeks", 42),
        ("a 60-day campaign", 60),
        ("over the next year", 365),
        ("size the at-risk base for the next two quarters", 182),
        ("预测下个季度", 91),
    ],
)
def test_horizons(text, days):
    assert read_horizon(text) == days


@pytest.mark.parametrize(
    "text",
    ["14天线上试用", "no login for 14 days", "30/60/90天复购率提升", "usage down more than 50% over 2 weeks"],
)
def test_durations_that_are_not_horizons(text):
    assert read_horizon(text) is None


def test_bare_duration_in_a_timeline_field():
    assert read_horizon("90天", bare=True) == 90
    assert read_constraints({"timeline": "90天"}).horizon_days == 90
    assert read_constraints({"timeline": "Q1, about 3 months"}).horizon_days == 91


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("增长团队3人(产品运营1、客户成功2)", 3),
        ("团队共三人", 3),
        ("可由3人运营团队执行", 3),
        ("客服小组十二人", 12),
        ("growth team of 3", 3),
        ("a customer success team of four", 4),
        ("a 5-person team", 5),
        ("2 FTEs", 2),
    ],
)
def test_team_size(text, size):
    assert read_team_size(text) == size


@pytest.mark.parametrize(
    ("text", "channels"),
    [
        ("不新增外呼与线下成本", ["outbound_calls", "offline_events"]),
        ("禁止短信营销", ["sms"]),
        ("不投放付费广告", ["paid_ads"]),
        ("no outbound calls", ["outbound_calls"]),
        ("without SMS or push notifications", ["sms", "push"]),
        ("no paid ads; email is fine", ["paid_ads"]),
        ("email and in-app only", []),
    ],
)
def test_excluded_channels(text, channels):
    assert read_excluded_channels(text) == channels


def test_only_makes_an_allow_list_and_excludes_nothing_else():
    # the checker reads the allow-list itself: other channels are not expanded into channels_excluded
    constraints = read_constraints({"budget_constraints": "email, in-app banners, webhooks and live training only"})
    assert constraints.channels_allowed == ["email", "in_app", "live_training", "webhooks"]
    assert constraints.channels_excluded == []
    listed, exclusive = read_allowed_channels("渠道:邮件、应用内Banner、Webhook、直播培训")
    assert listed == ["email", "in_app", "live_training", "webhooks"] and exclusive is False


def test_channels_are_read_from_constraint_fields_only():
    # "no email opens" is a churn signal, not a rule about channels
    constraints = read_constraints({"customer_lifecycle_data": "churn signal: no email opens in 30 days"})
    assert constraints.channels_excluded == []


@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("年度激励成本控制在销售额的3%-4.5%", 4.5),
        ("incentive cost at most 4.5% of sales", 4.5),
        ("毛利率为销售额的40%", None),
    ],
)
def test_cost_as_a_share_of_sales(text, cap):
    assert read_revenue_share_cap(text) == cap


def test_goals_are_numbered_and_stripped_of_their_deadline():
    goals = read_goals("90天内:月度流失率从4.8%降至3.2%;NPS提升至45;年付转化率提升至22%")
    assert [(g.id, g.text) for g in goals] == [
        ("G1", "月度流失率从4.8%降至3.2%"),
        ("G2", "NPS提升至45"),
        ("G3", "年付转化率提升至22%"),
    ]
    english = read_goals("Within 90 days: monthly churn from 4.8% to 3.2%; NPS 45\n1. annual-plan conversion 22%")
    assert [g.text for g in english] == ["monthly churn from 4.8% to 3.2%", "NPS 45", "annual-plan conversion 22%"]


GOAL_FIELDS = {"retention_strategy": "retention_goals", "loyalty_program": "business_goals"}


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if "facts_a_good_plan_respects" in s], ids=lambda s: s["id"])
def test_public_scenarios_read_as_their_facts_say(scenario):
    """The facts a good plan must respect, as published with each scenario, are what the reader finds."""
    facts = scenario["facts_a_good_plan_respects"]
    c = read_constraints(scenario["arguments"], GOAL_FIELDS.get(scenario["tool"]))
    if "budget_total" in facts:  # the scenario file's name for the stated budget
        assert c.budget is not None and c.budget.amount == facts["budget_total"]
        assert c.budget.currency == facts["currency"]
    if "horizon_days" in facts:
        assert c.horizon_days == facts["horizon_days"]
    if "horizon_months" in facts:
        assert c.horizon_days == round(facts["horizon_months"] * 365 / 12)
    if "discount_cap_pct" in facts:
        assert c.discount_cap_pct == facts["discount_cap_pct"]
    if "team_size" in facts:
        assert c.team_size == facts["team_size"]
    if "incentive_cost_cap_pct_of_sales" in facts:
        assert c.cost_cap_pct_of_revenue == facts["incentive_cost_cap_pct_of_sales"]
    if "forbidden_channels" in facts:
        assert {"outbound_calls", "offline_events"} <= set(c.channels_excluded)
    if "kpis" in facts:
        assert len(c.goals) == len(facts["kpis"])
