"""The free-text reader on what briefs really say, field by field, in Chinese and English.

Each phrasing is read the way a render reads it: as one input of a template's arguments. A phrasing the reader turns
into a constraint must also leave nothing of itself unread; one it cannot place must show up in `unread`.
"""

from __future__ import annotations

import pytest
from mcp import Client

from retention_mcp.constraints.reader import read_constraints
from retention_mcp.constraints.record import Constraints, Evidence, Unread
from retention_mcp.prompting import GOAL_FIELDS
from tests.conftest import SCENARIOS

BUDGET_FIELD = "budget_constraints"  # constraint-bearing: its unread numbers are listed


def read(text: str, name: str = BUDGET_FIELD) -> Constraints:
    return read_constraints({name: text})


# -- budget -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "amount", "currency", "period", "low"),
    [
        # a currency and no budget word
        ("EUR 25k for the quarter", 25_000, "EUR", "quarter", None),
        ("¥30万, two ops staff", 300_000, "CNY", None, None),
        ("30万元/季", 300_000, "CNY", "quarter", None),
        ("$50k per quarter", 50_000, "USD", "quarter", None),
        ("USD 8,000 a month", 8_000, "USD", "month", None),
        ("£120k a year", 120_000, "GBP", "year", None),
        ("we have €40,000 quarterly", 40_000, "EUR", "quarter", None),
        ("RMB 2.5 million annually", 2_500_000, "CNY", "year", None),
        ("SGD 60k in total", 60_000, "SGD", None, None),
        ("每季度15万元", 150_000, "CNY", "quarter", None),
        ("每月3万块", 30_000, "CNY", "month", None),
        ("人民币50万元,全年", 500_000, "CNY", "year", None),
        ("五十万元", 500_000, "CNY", None, None),
        ("两万五千元/月", 25_000, "CNY", "month", None),
        ("1.2亿元", 120_000_000, "CNY", None, None),
        ("3千万人民币/年", 30_000_000, "CNY", "year", None),
        ("CAD 90k over the campaign", 90_000, "CAD", None, None),
        ("JPY 5M per month", 5_000_000, "JPY", "month", None),
        ("HK$300k, quarterly", 300_000, "HKD", "quarter", None),
        ("CHF 75,000 per annum", 75_000, "CHF", "year", None),
        # with a budget word
        ("季度预算12万元", 120_000, "CNY", "quarter", None),
        ("年度预算200万", 2_000_000, None, "year", None),
        ("预算:每月3万元", 30_000, "CNY", "month", None),
        ("月预算 8k 美元", 8_000, "USD", "month", None),
        ("营销预算30-50万元", 500_000, "CNY", None, 300_000),
        ("预算5万到8万元/月", 80_000, "CNY", "month", 50_000),
        ("预算总计60万元", 600_000, "CNY", None, None),
        ("经费十二万元每季度", 120_000, "CNY", "quarter", None),
        ("Budget: USD 40k–50k per quarter", 50_000, "USD", "quarter", 40_000),
        ("annual budget $200k", 200_000, "USD", "year", None),
        ("a $1.2M annual budget", 1_200_000, "USD", "year", None),
        ("Budget is 30k EUR per month", 30_000, "EUR", "month", None),
        ("budget of 500,000 CNY in total", 500_000, "CNY", None, None),
        ("We can spend up to $80,000 over the campaign", 80_000, "USD", None, None),
        ("spend cap $25k/mo", 25_000, "USD", "month", None),
        ("budget 1.5mn dollars, yearly", 1_500_000, "USD", "year", None),
        ("quarterly budget of $30-40k", 40_000, "USD", "quarter", 30_000),
        ("总预算50万元,分两个季度使用", 500_000, "CNY", None, None),
        ("投入30w/季度", 300_000, None, "quarter", None),
        ("We have roughly $60k to spend this quarter", 60_000, "USD", "quarter", None),
        ("Budget: 20k/month for 6 months", 20_000, None, "month", None),
        ("预算每月5万元,为期3个月,共15万元", 50_000, "CNY", "month", None),
        ("季度预算不超过20万元", 200_000, "CNY", "quarter", None),
        ("Spend ≤ ¥50万/年", 500_000, "CNY", "year", None),
        ("预算100万以内", 1_000_000, None, None, None),
        ("$30,000 total", 30_000, "USD", None, None),
        ("预算五十万到八十万", 800_000, "CNY", None, 500_000),
        ("预算三十万至五十万元/季", 500_000, "CNY", "quarter", 300_000),
    ],
)
def test_budgets(text, amount, currency, period, low):
    c = read(text)
    assert c.budget is not None, text
    assert (c.budget.amount, c.budget.currency, c.budget_period, c.budget.low) == (amount, currency, period, low)
    assert c.sources["budget"] == "text" and c.evidence["budget"].input == BUDGET_FIELD
    assert not [u for u in c.unread if u.kind == "amount"], c.unread


@pytest.mark.parametrize(
    ("text", "amount", "period"),
    [
        # a restated equivalent of the same budget is the same budget, not a second amount
        ("Budget $15,000 per month ($45k for the quarter)", 15_000, "month"),
        ("每月预算2万(季度合计6万)", 20_000, "month"),
        ("$50k per quarter, $100k in total over two quarters", 50_000, "quarter"),
        ("年度预算120万元,即每月10万元", 1_200_000, "year"),
        ("budget $10k a month, so $120k a year", 10_000, "month"),
    ],
)
def test_a_restated_budget_is_not_unread(text, amount, period):
    c = read(text)
    assert c.budget is not None and (c.budget.amount, c.budget_period) == (amount, period)
    assert c.unread == []


def test_the_period_comes_from_the_budget_s_own_field_not_the_previous_one():
    c = read_constraints(
        {
            "retention_goals": "Grow net revenue retention; quarterly expansion +15%",
            "budget_constraints": "annual budget $200k",
        },
        "retention_goals",
    )
    assert c.budget is not None and (c.budget.amount, c.budget_period) == (200_000, "year")
    c = read_constraints(
        {"retention_goals": "季度续费率提升10%", "budget_constraints": "预算30万元"}, "retention_goals"
    )
    assert c.budget is not None and (c.budget.amount, c.budget_period) == (300_000, None)
    # a period word in another clause of the same field does not apply either
    c = read("预算30万元;季度复盘一次")
    assert c.budget is not None and c.budget_period is None


@pytest.mark.parametrize(
    "text",
    [
        "Basic $29/mo, Team $99/mo, Business $299/mo",  # prices, not a budget
        "客单价599元,付费客户2400家",
        "ARPU $45 a month",
        "seats at $12 per user per month",
        "ARR $2M, growing 20% a year",
        "Monthly churn 4.8%; NPS 45",
        "会员约1.2万人,月活3万",
        "10k users, 3k paying",
    ],
)
def test_no_budget_where_none_is_stated(text):
    c = read(text)
    assert c.budget is None, text
    assert c.unread == [], c.unread  # prices and metrics are not constraints waiting to be read


@pytest.mark.parametrize(
    ("text", "period"),
    [("$5k per week", None), ("每周预算5000元", "week"), ("daily budget $300", "day"), ("每天500元", None)],
)
def test_a_budget_per_week_or_day_is_never_taken_for_the_whole_plan(text, period):
    c = read(text)
    if period is None:  # no budget or cap word: unread, with the period a budget must have to settle it
        assert c.budget is None and [(u.kind, u.scope) for u in c.unread] == [("amount", _scope(text))]
    else:
        assert c.budget_period == period and c.unread == []


def _scope(text: str) -> str:
    return "week" if "week" in text or "周" in text else "day"


def test_an_amount_the_reader_cannot_place_is_unread():
    c = read("Budget $50k; $5k reserved for a pilot agency")
    assert c.budget is not None and c.budget.amount == 50_000
    assert c.unread == [Unread(BUDGET_FIELD, "$5k reserved for a pilot agency", "amount")]
    c = read("预算30万;另有5万元机动")
    assert c.unread == [Unread(BUDGET_FIELD, "另有5万元机动", "amount")]
    c = read("about 200 dollars for gifts")  # too small to be the plan's budget without a budget word
    assert c.budget is None and [u.kind for u in c.unread] == ["amount"]


# -- cost cap against revenue -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("incentive cost ≤ 4% of GMV", 4),
        ("incentive cost at most 4.5% of sales", 4.5),
        ("reward costs no more than 2% of net sales", 2),
        ("keep incentive spend below 3% of revenue", 3),
        ("loyalty costs within 3-4.5% of turnover", 4.5),
        ("cost of perks under 5% of paid amount", 5),
        ("total incentive budget capped at 1.5% of gross sales", 1.5),
        ("points cost up to 2.5% of annual revenue", 2.5),
        ("rewards budget: 3% of GMV", 3),
        ("激励成本不超过实收的3%", 3),
        ("年度激励成本控制在销售额的3%-4.5%", 4.5),
        ("营销费用控制在营收的5%以内", 5),
        ("激励成本≤GMV的2%", 2),
        ("补贴不超过成交额的1.5%", 1.5),
        ("积分成本占销售额比例不超过4%", 4),
        ("营销投入不高于收入的8%", 8),
        ("奖励成本占流水的2%以内", 2),
        ("让利不超过营业额的3%", 3),
        ("会员激励费用为实付金额的1%-2%", 2),
        ("cap spend at 4 percent of GMV", 4),
        ("激励预算占营收的3%", 3),
    ],
)
def test_cost_caps_against_any_revenue_word(text, cap):
    c = read(text)
    assert c.cost_cap_pct_of_revenue == cap, text
    assert c.unread == [], c.unread


@pytest.mark.parametrize("text", ["毛利率为销售额的40%", "GMV grew 12% last year", "gross margin 60% of revenue"])
def test_a_share_of_revenue_that_is_no_cost_is_no_cap(text):
    assert read(text, "business_profile").cost_cap_pct_of_revenue is None


# -- discount cap -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("max 20% discount", 20),
        ("discounts capped at 15%", 15),
        ("no discount deeper than 10%", 10),
        ("no discounts above 25%", 25),
        ("discounts at most 15%", 15),
        ("Discounts no more than 20%", 20),
        ("discounts must not exceed 12%", 12),
        ("discount ≤ 10%", 10),
        ("max 25% off", 25),
        ("up to 30% off", 30),
        ("20% off at most", 20),
        ("a 15% max discount", 15),
        ("discount cap of 30%", 30),
        ("maximum discount 18%", 18),
        ("never discount more than 10%", 10),
        ("promotions limited to 10%", 10),
        ("price never lower than 85% of list price", 15),
        ("优惠不超过15%", 15),
        ("折扣不超过15%", 15),
        ("折扣≤15%", 15),
        ("优惠力度最多20%", 20),
        ("折扣控制在12%以内", 12),
        ("折扣上限为15%", 15),
        ("最大折扣15%", 15),
        ("让利不超过10%", 10),
        ("不低于8折", 20),
        ("不低于8.5折", 15),
        ("最多打9折", 10),
        ("最多打10折", 0),  # 10折 is the full price: the reader and the plan checker read 折 alike
        ("折扣不低于八点五折", 15),
        ("最低八五折", 15),
        ("折扣最低7折", 30),
        ("最低到7折", 30),
        ("8折封顶", 20),
        ("折扣不低于85折", 15),
        ("售价不低于原价的80%", 20),
        ("最低九五折", 5),
        ("折扣不超过两成", 20),
        ("折扣力度控制在八折以内", 20),
        ("discounts at most 15 percent", 15),
    ],
)
def test_discount_caps_are_percent_off(text, cap):
    c = read(text)
    assert c.discount_cap_pct == cap, text
    assert c.evidence["discount_cap_pct"].input == BUDGET_FIELD
    assert c.unread == [], c.unread


def test_a_competitor_s_discounts_are_not_a_cap():
    c = read_constraints({"competitor_programs": "竞品年付最低7折, rivals give up to 40% off"})
    assert c.discount_cap_pct is None


def test_a_discount_that_is_no_cap_is_unread():
    c = read("5折 win-back offer for lapsed members")
    assert c.discount_cap_pct is None
    assert c.unread == [Unread(BUDGET_FIELD, "5折 win-back offer for lapsed members", "percent")]


# -- channels ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "allowed", "excluded"),
    [
        ("only SMS and app push", ["sms", "push"], []),
        ("SMS and app push only", ["sms", "push"], []),
        ("email and in-app only; no outbound calls", ["email", "in_app"], ["outbound_calls"]),
        ("email-only", ["email"], []),
        ("channels limited to email and WeChat", ["email", "wechat"], []),
        ("仅限短信和App推送", ["sms", "push"], []),
        ("只用企微", ["im"], []),  # WeCom is instant messaging, not WeChat
        ("只通过邮件和站内信触达", ["email", "in_app"], []),
        ("仅使用短信渠道,不做外呼", ["sms"], ["outbound_calls"]),
        ("no X is fine; no paid ads", [], ["paid_ads"]),
        ("不做外呼", [], ["outbound_calls"]),
        ("不新增外呼与线下成本", [], ["outbound_calls", "offline_events"]),
        ("禁止短信营销", [], ["sms"]),
        ("excluding cold calls", [], ["outbound_calls"]),
        ("no outbound calls or offline events", [], ["outbound_calls", "offline_events"]),
        ("without SMS or push notifications", [], ["sms", "push"]),
        ("paid ads are not allowed", [], ["paid_ads"]),
        ("外呼禁止", [], ["outbound_calls"]),
        ("渠道:邮件、应用内Banner、Webhook", [], []),  # a list of channels used, not an allow-list
        ("Can't use SMS. Email and push only.", ["email", "push"], ["sms"]),  # a full stop ends the clause
        ("only in-app messages, nothing else", ["in_app"], []),
        ("SMS and app push only, email for receipts", ["sms", "push"], []),
        ("不打电话; 不发短信", [], ["outbound_calls", "sms"]),
    ],
)
def test_channel_allow_lists_and_exclusions(text, allowed, excluded):
    c = read(text)
    assert (c.channels_allowed, c.channels_excluded) == (allowed, excluded), text
    if allowed:
        assert c.sources["channels_allowed"] == "text"
    if excluded:
        assert c.sources["channels_excluded"] == "text"


def test_an_allow_list_does_not_rule_out_every_other_channel():
    # the checker reads the allow-list; a product feature ("community challenge") is not excluded by it
    c = read("only SMS and app push; team of 2")
    assert c.channels_allowed == ["sms", "push"] and c.channels_excluded == []


def test_channels_are_read_from_constraint_bearing_inputs_only():
    c = read_constraints({"customer_lifecycle_data": "churn signal: no email opens in 30 days; only SMS replies"})
    assert (c.channels_allowed, c.channels_excluded) == ([], [])


# -- team size --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("two ops staff", 2),
        ("3 CSMs", 3),
        ("1名运营+2名客服", 3),
        ("team of 4", 4),
        ("团队3人", 3),
        ("one marketer and two engineers", 3),
        ("a single CSM", 1),
        ("2 CSMs and 1 analyst", 3),
        ("three customer success managers", 3),
        ("5 people", 5),
        ("a 3-person team", 3),
        ("growth team of 3", 3),
        ("2 FTEs", 2),
        ("headcount 6", 6),
        ("four support agents plus one data analyst", 5),
        ("增长团队3人(产品运营1、客户成功2)", 3),
        ("团队共三人", 3),
        ("客服小组十二人", 12),
        ("运营2人、客服1人", 3),
        ("两名运营", 2),
        ("3名客户成功经理", 3),
        ("两位客服和一位设计师", 3),
        ("可由3人运营团队执行", 3),
        ("1名运营+2名客服,共3人", 3),
        ("人手:4人", 4),
        ("two people (one CSM, one marketer)", 2),
        ("2 CSMs + 1 analyst", 3),
        ("Our team is 5 people", 5),
        ("团队2名运营", 2),
    ],
)
def test_head_counts_of_any_role(text, size):
    c = read(text)
    assert c.team_size == size, text
    assert c.unread == [], c.unread


@pytest.mark.parametrize(
    "text", ["companies of 50-200 people", "会员约1.2万人", "reach 5,000 customers", "每月触达3000人"]
)
def test_people_who_are_customers_are_no_team(text):
    c = read(text, "target_customers")
    assert c.team_size is None


def test_a_team_stated_outside_a_constraint_field_needs_a_team_word():
    c = read_constraints({"analysis_goals": "choose three actions for a customer success team of four"})
    assert c.team_size == 4
    c = read_constraints({"target_customers": "ops leads of 3 people teams"})
    assert c.team_size is None


# -- horizon ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("the coming half-year", 182),
        ("next two quarters", 182),
        ("over 6 months", 182),
        ("within 90 days", 90),
        ("in the next 6 weeks", 42),
        ("a 60-day campaign", 60),
        ("a six-month program", 182),
        ("over the next year", 365),
        ("for the next two quarters", 182),
        ("next quarter", 91),
        ("this quarter", 91),
        ("Q3-Q4", 182),
        ("Q3–Q4 2026", 182),
        ("Q2 through Q4", 274),
        ("horizon: 12 weeks", 84),
        ("timeline of 4 months", 122),
        ("the next 90 days", 90),
        ("second half of the year", 182),
        ("未来半年", 182),
        ("下个季度", 91),
        ("两个季度内", 182),
        ("未来6个月", 182),
        ("未来90天", 90),
        ("90天内", 90),
        ("为期8周", 56),
        ("半年内", 182),
        ("一年内", 365),
        ("12个月内", 365),
        ("接下来三个月", 91),
        ("下半年", 182),
        ("第三至第四季度", 182),
        ("三、四季度", 182),
        ("本季度", 91),
        ("周期为60天", 60),
        ("分两个季度执行", 182),
        ("Budget: 20k/month for 6 months", 182),
        ("£10k per month, max 3 months", 91),
        ("launch within 4 weeks", 28),
        ("为期3个月", 91),
        ("计划Q4执行", 91),
        ("8-week sprint", 56),
        ("2026年7月至12月执行", 182),
        ("run the campaign from July to December", 182),
        ("data covers Jan–Jun 2024; the plan runs Jul–Dec", 182),  # the data's months are not the plan's
    ],
)
def test_relative_horizons(text, days):
    c = read(text)
    assert c.horizon_days == days, text
    assert c.sources["horizon_days"] == "text"
    assert c.unread == [], c.unread


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("90天", 90),
        ("6 weeks", 42),
        ("Q1, about 3 months", 91),
        ("半年", 182),
        ("two quarters", 182),
        ("Q4 2026", 91),
        ("2026年Q3", 91),
        ("3-6个月", 182),
        ("starting in July, 6 months", 182),
        ("90 days, reviewed every 2 weeks", 90),
        ("July–December 2026", 182),
        ("2026年7月至12月", 182),
    ],
)
def test_a_bare_duration_in_a_timeline_field_is_the_horizon(text, days):
    assert read(text, "timeline").horizon_days == days


@pytest.mark.parametrize(
    "text",
    [
        "14天线上试用",
        "no login for 14 days",
        "30/60/90天复购率提升",
        "usage down more than 50% over 2 weeks",
        "90-day retention of new payers",
        "开卡后前14天上课少于2节的会员,90天内流失率是整体的2.1倍",
        "activate users within 7 days of signup",
    ],
)
def test_durations_that_are_no_horizon(text):
    assert read_constraints({"data_summary": text}).horizon_days is None


def test_a_range_of_months_in_a_data_window_input_is_the_data_s():
    for name in ("time_window", "data_summary"):
        assert read_constraints({name: "2025年7-12月"}).horizon_days is None
        assert read_constraints({name: "Jul–Dec 2025"}).horizon_days is None
    assert read_constraints({"timeline": "2025年7-12月"}).horizon_days == 182  # the plan's own timeline


def test_by_end_of_year_is_unread_not_guessed():
    c = read("Budget $40k; deliver by end of year")
    assert c.horizon_days is None
    assert c.unread == [Unread(BUDGET_FIELD, "deliver by end of year", "deadline", "year")]
    c = read("年底前完成")
    assert c.horizon_days is None and [(u.kind, u.scope) for u in c.unread] == [("deadline", "year")]


# -- data windows -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("orders from 2023-03 to 2024-02", None),
        ("data covers Jan–Jun 2024", None),
        ("数据时间范围 2023年3月至2024年2月", None),
        ("last 12 months of data", None),
        ("过去12个月的订单", None),
        ("Data covers Q1-Q2 2025", None),
        ("数据为2025年7-12月", None),
        ("the past 6 months of usage", None),
        ("orders from 2023-03 to 2024-02; project the next 90 days", 90),
        ("数据时间范围 2023年3月至2024年2月;预测未来3个月", 91),
        ("Data covers Jan-Dec 2025; project Q1-Q2 2026", 182),
        ("数据为2025年7-12月;预测2026年第一季度", 91),
        ("last 12 months of data, forecast the next two quarters", 182),
    ],
)
def test_a_data_window_is_never_a_plan_horizon(text, days):
    for name in ("time_window", "data_summary", "timeline"):
        c = read_constraints({name: text})
        assert c.horizon_days == days, (name, text)
        assert [u for u in c.unread if u.kind == "duration"] == []


# -- goals ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("流失率降至3%、NPS提升至45、复购率提升10%", ["流失率降至3%", "NPS提升至45", "复购率提升10%"]),
        ("提升续费率,降低流失率,提高NPS", ["提升续费率", "降低流失率", "提高NPS"]),
        ("reduce churn to 3% and lift NPS to 45", ["reduce churn to 3%", "lift NPS to 45"]),
        (
            "monthly churn from 4.8% to 3.2%, NPS 45, 1,200 annual upgrades",
            ["monthly churn from 4.8% to 3.2%", "NPS 45", "1,200 annual upgrades"],
        ),
        (
            "1. cut churn to 3%\n2. NPS 45\n3. 22% annual-plan conversion",
            ["cut churn to 3%", "NPS 45", "22% annual-plan conversion"],
        ),
        ("1) churn below 3% 2) NPS above 40", ["churn below 3%", "NPS above 40"]),
        ("①流失率降至3% ②NPS提升至45", ["流失率降至3%", "NPS提升至45"]),
        ("目标一:续费率提升5个百分点;目标二:客诉下降20%", ["目标一:续费率提升5个百分点", "目标二:客诉下降20%"]),
        ("提升邮件、短信打开率", ["提升邮件、短信打开率"]),  # 、 inside one goal's object
        ("grow seats and revenue by 10%", ["grow seats and revenue by 10%"]),
        ("keep churn between 2% and 3%", ["keep churn between 2% and 3%"]),
        (
            "Increase retention by 10pp; reduce tickets by 20%; and double referrals",
            ["Increase retention by 10pp", "reduce tickets by 20%", "double referrals"],
        ),
        (
            "increase renewals, reduce discounts, and improve onboarding",
            ["increase renewals", "reduce discounts", "improve onboarding"],
        ),
        ("会员数达到10万、活跃率达到60%、复购率提升15%", ["会员数达到10万", "活跃率达到60%", "复购率提升15%"]),
        ("- churn under 3%\n- NPS 45\n- 500 upgrades", ["churn under 3%", "NPS 45", "500 upgrades"]),
        ("短期续费率环比提升,中长期进入行业前三", ["续费率环比提升", "进入行业前三"]),
        ("NPS 45. Annual conversion 22%", ["NPS 45", "Annual conversion 22%"]),
        ("Goals: 1) churn 3% 2) NPS 45", ["churn 3%", "NPS 45"]),
        ("目标:流失率降至3%;NPS 45", ["流失率降至3%", "NPS 45"]),
        ("(1)流失率降至3%(2)NPS提升至45", ["流失率降至3%", "NPS提升至45"]),
        ("a) churn 3% b) NPS 45", ["churn 3%", "NPS 45"]),
        ("90天内:月度流失率从4.8%降至3.2%;NPS提升至45", ["月度流失率从4.8%降至3.2%", "NPS提升至45"]),
        ("Within 90 days: churn from 4.8% to 3.2%; NPS 45", ["churn from 4.8% to 3.2%", "NPS 45"]),
    ],
)
def test_goals_are_split_into_one_per_kpi(text, goals):
    c = read_constraints({"retention_goals": text}, "retention_goals")
    assert [g.text for g in c.goals] == goals
    assert [g.id for g in c.goals] == [f"G{i}" for i in range(1, len(goals) + 1)]
    assert c.unread == []  # goal fields are not constraint-bearing: their numbers are goals


@pytest.mark.parametrize(
    ("text", "metric", "baseline", "target", "unit"),
    [
        ("Reduce monthly churn from 4.8% to 3.2%", "monthly churn", 4.8, 3.2, "%"),
        ("lift NPS to 45", "NPS", None, 45, None),
        ("降低月流失率至3%", "月流失率", None, 3, "%"),
        ("续费率提升至75%", "续费率", None, 75, "%"),
        ("NPS≥40", "NPS", None, 40, None),
        ("30天留存率从40%提升到55%", "30天留存率", 40, 55, "%"),
        ("Grow MRR from $1,200,000 to $1,500,000", "MRR", 1_200_000, 1_500_000, None),
        # a change is no target
        ("投诉率下降20%", None, None, None, None),
        ("reduce support tickets by 20%", None, None, None, None),
        ("新付费用户90日留存+10个百分点", None, None, None, None),
        ("客单价+8-12%", None, None, None, None),
    ],
)
def test_a_goal_s_metric_and_target_when_plainly_stated(text, metric, baseline, target, unit):
    (goal,) = read_constraints({"retention_goals": text}, "retention_goals").goals
    assert (goal.metric, goal.baseline, goal.target, goal.unit) == (metric, baseline, target, unit)


def test_goal_baselines_targets_and_deadlines_when_plainly_stated():
    c = read_constraints(
        {"retention_goals": "Within 90 days: monthly churn from 4.8% to 3.2%; NPS to 45; 人均月订单数从2.4提升至3.0"},
        "retention_goals",
    )
    first, second, third = c.goals
    assert (first.metric, first.baseline, first.target, first.unit, first.deadline_day) == (
        "monthly churn", 4.8, 3.2, "%", 90
    )  # fmt: skip
    assert (second.metric, second.target, second.unit) == ("NPS", 45, None)
    assert (third.metric, third.baseline, third.target) == ("人均月订单数", 2.4, 3.0)


# -- evidence and unread ----------------------------------------------------------------------------------------------
def test_every_value_read_says_where_it_stands():
    c = read_constraints(
        {
            "budget_constraints": "EUR 25k for the quarter, two ops staff; only SMS and app push; no cold calls; "
            "discounts capped at 15%; incentive cost ≤ 4% of GMV",
            "timeline": "the coming half-year",
            "campaign_goals": "renewal rate +5pp, NPS 45",
        },
        "campaign_goals",
    )
    assert c.evidence == {
        "budget": Evidence("budget_constraints", "EUR 25k for the quarter"),
        "team_size": Evidence("budget_constraints", "two ops staff"),
        "channels_allowed": Evidence("budget_constraints", "only SMS and app push"),
        "channels_excluded": Evidence("budget_constraints", "no cold calls"),
        "discount_cap_pct": Evidence("budget_constraints", "discounts capped at 15%"),
        "cost_cap_pct_of_revenue": Evidence("budget_constraints", "4% of GMV"),
        "horizon_days": Evidence("timeline", "the coming half-year"),
        "goals": Evidence("campaign_goals", "renewal rate +5pp, NPS 45"),
    }
    assert set(c.sources) == set(c.evidence) and set(c.sources.values()) == {"text"}
    assert c.unread == []


@pytest.mark.parametrize(
    ("arguments", "unread"),
    [
        ({"budget_constraints": "营销费用占比不超过8%"}, [("营销费用占比不超过8%", "percent")]),
        ({"team_resources": "plus 2 agency writers on call"}, []),  # read as the team
        (
            {"budget_constraints": "budget $50k; 2 months of agency support"},
            [("2 months of agency support", "duration")],
        ),
        ({"budget_constraints": "外包客服5人,预算10万元;另请3名兼职"}, []),  # roles add up to the team
        ({"timeline": "kick-off in 2 weeks, then 90 days"}, []),  # both read as horizons, the longest wins
        ({"budget_resources": "预算30万元;其中20%用于奖品"}, [("其中20%用于奖品", "percent")]),
        ({"budget_constraints": "churn is 4.8%, NPS 45, ARPU $45/mo, 14-day trial"}, []),  # metrics, not limits
        ({"budget_constraints": "流失率4.8%,复购率30%,客单价599元,留存率60%"}, []),
        ({"budget_resources": "现有会员20万,客服团队10人,日均处理500单;小程序月活3万"}, []),  # counts, not money
        ({"team_resources": "1 PM, 2 engineers at 50% capacity"}, []),  # a capacity, not a cap
        ({"budget_constraints": "Budget $80k/yr; 40% of customers are on annual plans"}, []),  # a share of the base
        ({"budget_resources": "奖品库存价值约5万元"}, [("奖品库存价值约5万元", "amount")]),  # worth, not a budget
        ({"budget_resources": "每位会员每年积分成本不超过50元,另有30元"}, [("另有30元", "amount")]),
        ({"budget_resources": "预算三十万元,另有两万元机动"}, [("另有两万元机动", "amount")]),
        ({"budget_constraints": "Quarterly budget 50k USD; annual cap 180k USD"}, [("annual cap 180k USD", "amount")]),
    ],
)
def test_unread_spans(arguments, unread):
    c = read_constraints(arguments)
    assert [(u.text, u.kind) for u in c.unread] == unread
    assert all(len(u.text) <= 80 for u in c.unread)


def test_an_unread_span_is_a_short_clause_never_the_whole_field():
    long_field = (
        "We run a lean programme with a budget of $40k for the quarter, and on top of that the regional office "
        "may add another $15k if the pilot goes well, which it usually does in our experience of these launches"
    )
    c = read(long_field)
    assert c.budget is not None and c.budget.amount == 40_000
    (span,) = c.unread
    assert span.kind == "amount" and "$15k" in span.text and len(span.text) <= 80 and span.text != long_field


def test_goal_and_context_fields_are_not_listed_as_unread():
    c = read_constraints(
        {"retention_goals": "churn to 3% within 90 days", "service_type": "$29/mo per seat, 30万用户"},
        "retention_goals",
    )
    assert c.unread == []


# -- the public scenarios ---------------------------------------------------------------------------------------------
EXPECTED = {  # what each public scenario states, read back
    "saas-collaboration-zh": dict(budget=(120_000, "CNY", "quarter"), horizon=90, discount=15, cap=None, team=3,
                                  allowed=[], excluded=["outbound_calls", "offline_events"], goals=5),
    "salad-chain-loyalty-zh": dict(budget=None, horizon=365, discount=None, cap=4.5, team=None, allowed=[],
                                   excluded=[], goals=4),
    "saas-collaboration-en": dict(budget=(120_000, "CNY", "quarter"), horizon=90, discount=15, cap=None, team=3,
                                  allowed=["email", "in_app", "live_training", "webhooks"],
                                  excluded=["outbound_calls"], goals=4),
    "renewal-campaign-membership-zh": dict(budget=None, horizon=None, discount=None, cap=None, team=None,
                                           allowed=[], excluded=[], goals=4),
    "subscription-playbook-en": dict(budget=None, horizon=None, discount=None, cap=None, team=None, allowed=[],
                                     excluded=[], goals=0),
    "churn-analysis-saas-en": dict(budget=None, horizon=182, discount=None, cap=None, team=4, allowed=[],
                                   excluded=[], goals=0),
    "churn-analysis-membership-zh": dict(budget=None, horizon=91, discount=None, cap=None, team=3, allowed=[],
                                         excluded=[], goals=0),
}  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s["id"])
def test_public_scenarios_read_completely_and_leave_nothing_unread(scenario):
    expected = EXPECTED[scenario["id"]]
    c = read_constraints(scenario["arguments"], GOAL_FIELDS.get(scenario["tool"]))
    budget = (c.budget.amount, c.budget.currency, c.budget_period) if c.budget else None
    assert budget == expected["budget"]
    assert (c.horizon_days, c.discount_cap_pct, c.cost_cap_pct_of_revenue, c.team_size) == (
        expected["horizon"], expected["discount"], expected["cap"], expected["team"]
    )  # fmt: skip
    assert (c.channels_allowed, c.channels_excluded) == (expected["allowed"], expected["excluded"])
    assert len(c.goals) == expected["goals"]
    assert c.unread == []


@pytest.mark.anyio
async def test_a_render_result_carries_where_each_value_was_read_and_what_was_not(server):
    arguments = {
        "service_description": "Annual membership",
        "renewal_status": "renewals down 6 points",
        "campaign_goals": "renewal rate from 61% to 70%, NPS 45",
        "budget_resources": "EUR 25k for the quarter, two ops staff; another €5k if the pilot works",
        "timeline": "the coming half-year",
    }
    async with Client(server) as client:
        result = await client.call_tool("renewal_campaign", arguments)
    stated = result.structured_content["constraints"]
    assert stated["budget"]["amount"] == 25_000 and stated["budget"]["period"] == "quarter"
    assert stated["budget"]["total"] == 50_000  # two quarters in the half-year
    assert (stated["horizon_days"], stated["team_size"]) == (182, 2)
    assert stated["read_from"]["budget"] == {"input": "budget_resources", "text": "EUR 25k for the quarter"}
    assert [g["id"] for g in stated["goals"]] == ["G1", "G2"]
    assert stated["unread"] == [
        {
            "input": "budget_resources",
            "text": "another €5k if the pilot works",
            "kind": "amount",
            "fill": ["constraints.budget"],
        }
    ]
