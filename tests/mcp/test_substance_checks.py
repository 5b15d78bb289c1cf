"""Checks on what a plan says, through the MCP client and the stand-in model: the cost share its own points economics
give, tier thresholds, one point value, every segment reached, shares of a whole, figures attributed to data that was
never given, and a discount scan that reads offers only and takes the brief's own prices as list prices."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from mcp import Client

from retention_mcp.constraints.discount import list_price_offs
from retention_mcp.constraints.money import earn_rate, point_value
from retention_mcp.generation.substance_checks import text_mix_total, tier_threshold
from tests.mcp.test_plan_generation import fixture_plan, plan_server, scenario
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

SALAD = scenario("salad-chain-loyalty-zh")  # cost cap 4.5% of sales
SAAS_EN = scenario("saas-collaboration-en")  # discounts at most 15%
SAAS_ZH = scenario("saas-collaboration-zh")


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "plans.sqlite3"


async def validation(registry, standin, store, example, data, arguments=None):
    standin.default = lambda received: plan(data)  # the plan, and the same plan as its repair
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool(example["tool"], {**(arguments or example["arguments"]), "mode": "plan"})
    assert not result.is_error, result.content[0].text
    report = result.structured_content["validation"]
    return report, {c["name"]: c for c in report["checks"]}


def salad(**changes):
    data = copy.deepcopy(fixture_plan(SALAD["id"]))
    for key, value in changes.items():
        data[key] = value
    return data


async def test_a_points_cost_of_5_2_pct_fails_a_4_5_pct_cap_though_the_plan_declares_3_6(registry, standin, store):
    economics = {**fixture_plan(SALAD["id"])["economics"], "point_value": "1分约合0.0866元", "cost_pct_of_sales": 3.6}
    bad = salad(economics=economics, budget={**fixture_plan(SALAD["id"])["budget"], "share_of_revenue_pct": 3.6})
    report, checks = await validation(registry, standin, store, SALAD, bad)
    assert report["status"] == "failed"
    assert checks["budget_share_of_revenue"]["status"] == "failed"
    assert "5.2%" in checks["budget_share_of_revenue"]["detail"]
    assert checks["cost_share_computed"]["status"] == "failed"
    report, checks = await validation(registry, standin, store, SALAD, salad())
    assert checks["cost_share_computed"]["status"] == "passed" and report["status"] == "passed", report


async def test_a_points_plan_without_a_budget_section_is_held_to_the_cap_by_its_economics(registry, standin, store):
    economics = {**fixture_plan(SALAD["id"])["economics"], "point_value": "1分约合0.0866元", "cost_pct_of_sales": 3.6}
    data = salad(economics=economics)
    del data["budget"]
    report, checks = await validation(registry, standin, store, SALAD, data)
    assert checks["budget_share_of_revenue"]["status"] == "failed" and "budget_present" not in checks
    data = salad()
    del data["budget"]
    report, checks = await validation(registry, standin, store, SALAD, data)
    assert checks["budget_share_of_revenue"]["status"] == "passed" and report["status"] == "passed", report


async def test_tier_thresholds_must_rise_with_the_tier_order(registry, standin, store):
    tiers = [
        {"name": "绿卡", "qualification": "年消费满500元"},
        {"name": "金卡", "qualification": "年消费满3000元"},
        {"name": "黑卡", "qualification": "年消费满2000元"},
    ]
    report, checks = await validation(registry, standin, store, SALAD, salad(tiers=tiers))
    assert report["status"] == "failed" and checks["tier_thresholds_rise"]["status"] == "failed"
    assert "黑卡" in checks["tier_thresholds_rise"]["detail"]
    tiers[2]["qualification"] = "近12个月消费满1万元"
    _, checks = await validation(registry, standin, store, SALAD, salad(tiers=tiers))
    assert checks["tier_thresholds_rise"]["status"] == "passed"


async def test_one_point_value_across_the_plan(registry, standin, store):
    redemption = [{"reward": "10元代金券", "points_cost": 100}]  # 0.1 per point, the economics say 0.02
    report, checks = await validation(registry, standin, store, SALAD, salad(redemption=redemption))
    assert report["status"] == "failed" and checks["point_value_consistent"]["status"] == "failed"
    redemption = [{"reward": "2元代金券", "points_cost": 100}]
    _, checks = await validation(registry, standin, store, SALAD, salad(redemption=redemption))
    assert checks["point_value_consistent"]["status"] == "passed"


async def test_every_segment_needs_an_offer_and_a_channel(registry, standin, store):
    segments = [*fixture_plan(SALAD["id"])["segments"], {"name": "夜宵人群", "definition": "21点后下单占比超过50%"}]
    report, checks = await validation(registry, standin, store, SALAD, salad(segments=segments))
    assert report["status"] == "failed" and checks["segment_coverage"]["status"] == "failed"
    assert "夜宵人群" in checks["segment_coverage"]["detail"]
    triggers = [
        *fixture_plan(SALAD["id"])["personalisation"],
        {"moment": "21点后", "segment": "夜宵人群", "offer": "夜宵双倍积分", "channel": "wechat"},
    ]
    report, checks = await validation(
        registry, standin, store, SALAD, salad(segments=segments, personalisation=triggers)
    )
    assert checks["segment_coverage"]["status"] == "passed" and report["status"] == "passed"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("segments", [{"name": "A", "definition": "a", "share_pct": 70}, {"name": "B", "definition": "b", "share_pct": 45}]),
        ("migration", ["渠道占比:企业微信60%、小程序35%、短信20%"]),
    ],
)  # fmt: skip
async def test_shares_of_a_whole_over_100_pct_fail(registry, standin, store, where, value):
    data = salad(**{where: value})
    if where == "segments":
        data["personalisation"] += [
            {"moment": "m", "segment": s["name"], "offer": "o", "channel": "wechat"} for s in value
        ]
    report, checks = await validation(registry, standin, store, SALAD, data)
    assert report["status"] == "failed" and checks["shares_within_whole"]["status"] == "failed"
    value = [{**value[0], "share_pct": 55}, value[1]] if where == "segments" else ["渠道占比:企业微信60%、小程序40%"]
    data = salad(**{where: value})
    if where == "segments":
        data["personalisation"] += [
            {"moment": "m", "segment": s["name"], "offer": "o", "channel": "wechat"} for s in value
        ]
    report, checks = await validation(registry, standin, store, SALAD, data)
    assert checks["shares_within_whole"]["status"] == "passed" and report["status"] == "passed"


async def test_figures_attributed_to_data_fail_when_no_dataset_was_given(registry, standin, store):
    data = copy.deepcopy(fixture_plan(SAAS_EN["id"]))
    data["kpis"][0].update(baseline=5.6, data_ref="D1")  # no dataset, and the brief says 4.8%: nothing backs it
    report, checks = await validation(registry, standin, store, SAAS_EN, data)
    assert report["status"] == "failed" and checks["data_figures_match"]["status"] == "failed"
    assert "No dataset was given" in checks["data_figures_match"]["detail"]
    assert "Monthly churn = 5.6 (D1)" in checks["data_figures_match"]["detail"]
    data["kpis"][0]["baseline"] = 4.8  # the user's own figure, stated in the brief
    report, checks = await validation(registry, standin, store, SAAS_EN, data)
    assert checks["data_figures_match"]["status"] == "passed" and report["status"] == "passed"


def with_offer(example: dict, description: str, summary: str | None = None) -> dict:
    data = json.loads(json.dumps(fixture_plan(example["id"]), ensure_ascii=False).replace("立减15%", "立减10%"))
    data["offers"] = [{**data["offers"][0], "description": description, "discount_pct": None}]
    if summary is not None:
        data["summary"] = summary
    return data


async def test_save_versus_monthly_restating_the_list_price_is_not_a_discount(registry, standin, store):
    arguments = {**SAAS_EN["arguments"]}
    arguments["service_type"] += "; Pro is $20/month per seat, or $132/year per seat"
    restated = with_offer(SAAS_EN, "Annual plan at list price: save 45% versus monthly")
    report, checks = await validation(registry, standin, store, SAAS_EN, restated, arguments)
    assert checks["discount_cap"]["status"] == "passed" and report["status"] == "passed", report
    deeper = with_offer(SAAS_EN, "Annual plan: an extra 45% off for teams that renew")
    report, checks = await validation(registry, standin, store, SAAS_EN, deeper, arguments)
    assert checks["discount_cap"]["status"] == "failed" and report["status"] == "failed"


async def test_the_briefs_own_annual_8_5_zhe_under_a_10_pct_cap_is_a_list_price(registry, standin, store):
    arguments = {**SAAS_ZH["arguments"]}
    arguments["service_type"] += ";年付8.5折"
    arguments["budget_constraints"] = arguments["budget_constraints"].replace("折扣不超过15%", "折扣不超过10%")
    restated = with_offer(SAAS_ZH, "引导月付团队转年付(年付8.5折为标价)")
    for idea in restated["loyalty_ideas"]:
        idea["discount_pct"] = None  # typed discounts are held to the cap as before
    report, checks = await validation(registry, standin, store, SAAS_ZH, restated, arguments)
    assert checks["discount_cap"]["status"] == "passed", checks["discount_cap"]
    deeper = with_offer(SAAS_ZH, "续费团队首年7折")
    report, checks = await validation(registry, standin, store, SAAS_ZH, deeper, arguments)
    assert checks["discount_cap"]["status"] == "failed" and report["status"] == "failed"


async def test_text_that_describes_prices_or_competitors_is_not_scanned(registry, standin, store):
    described = with_offer(SAAS_EN, "Onboarding credits", summary="Competitors give 40% off annual plans; we do not.")
    report, checks = await validation(registry, standin, store, SAAS_EN, described)
    assert checks["discount_cap"]["status"] == "passed" and report["status"] == "passed", report


# -- the readings the checks rest on, as tables --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1分约合0.02元", 0.02),
        ("100积分=1元", 0.01),
        ("每积分0.01元", 0.01),
        ("1 point = $0.01", 0.01),
        ("100 points = $1", 0.01),
        ("one point is worth 1 cent: 1 point = 1 cent", 0.01),
    ],
)
def test_point_values_read(text, value):
    assert point_value(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("消费1元积1分", 1), ("每消费10元得1积分", 0.1), ("10 points per $1", 10), ("1 point per dollar spent", 1)],
)
def test_earn_rates_read(text, rate):
    assert earn_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize(
    ("text", "threshold"),
    [
        ("近30天消费4次", ("count", 4)),
        ("年消费满1万元", ("money", 10000)),
        ("spend $500 in the last 12 months", ("money", 500)),
        ("in the last 12 months, 20 orders", ("count", 20)),
        ("累计5000积分", ("points", 5000)),
        ("注册即入会", None),
    ],
)
def test_tier_thresholds_read(text, threshold):
    assert tier_threshold(text) == threshold


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("Channel mix: email 50%, SMS 30%, push 30%", 110),
        ("预算分配:激励60%、内容25%、工具15%", 100),
        ("渠道占比:企业微信60%、小程序35%、短信20%", 115),
        ("Monthly churn from 4.8% to 3.2%", None),  # not a mix
        ("Budget split: 20-30% to incentives, the rest to content", None),  # a range is not a share
        ("Channel mix: email first, 20% off for SMS signups", None),  # one figure, and a discount
    ],
)
def test_shares_of_a_mix_read(text, total):
    assert text_mix_total(text) == total


@pytest.mark.parametrize(
    ("brief", "offs"),
    [
        ("Pro is $20/month per seat, or $132/year per seat", {45.0}),
        ("Basic $29/mo, Team $99/mo; annual billing saves 2 months", {16.67}),
        ("年付8.5折;折扣不超过10%", {15.0}),
        ("discounts at most 15%", set()),
        ("折扣上限8折", set()),
    ],
)
def test_the_briefs_own_prices_read_as_list_prices(brief, offs):
    assert list_price_offs(brief) == offs
