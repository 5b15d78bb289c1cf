"""The plan checker: three outcomes, spending per budget period and in total, every discount anywhere (typed or in
the text), channels by kind, one KPI per goal; the Markdown that shows them in zh and en; and one plan checked and
repaired end to end through the MCP client and the stand-in model."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from mcp import Client
from pydantic import ValidationError

from retention_mcp.constraints.effective import constraints_result
from retention_mcp.constraints.money import Money
from retention_mcp.constraints.record import Constraints, Goal, Unread
from retention_mcp.generation.markdown import plan_markdown
from retention_mcp.generation.plan_parts import DayStep, Initiative
from retention_mcp.generation.plans import (
    ChurnAnalysisPlan,
    LoyaltyProgramPlan,
    RetentionStrategyPlan,
    SubscriptionPlaybookPlan,
)
from retention_mcp.generation.validation import constraint_rules, text_discounts, validate_plan
from retention_mcp.server import build_server
from retention_mcp.settings import ModelSettings
from tests.standin_model import plan as plan_answer


def strategy(**parts: Any) -> dict[str, Any]:
    """A small retention-strategy plan: two phases (days 0-90 and 91-180), one KPI; parts override."""
    data: dict[str, Any] = {
        "title": "Plan",
        "summary": "A plan.",
        "timeline": {
            "phases": [
                {"name": "Launch", "start_day": 0, "end_day": 90},
                {"name": "Scale", "start_day": 91, "end_day": 180},
            ]
        },
        "kpis": [{"metric": "Monthly churn", "baseline": 4.8, "target": 3.2, "unit": "%", "goal_id": "G1"}],
    }
    data.update(parts)
    return data


def budget(*lines: dict[str, Any], total: float | None = None, period: str = "quarter") -> dict[str, Any]:
    spent = sum(line["amount"] for line in lines)
    return {"total": spent if total is None else total, "currency": "CNY", "period": period, "lines": list(lines)}


def check(plan: dict[str, Any], c: Constraints, language: str = "en", model=RetentionStrategyPlan):
    report = validate_plan(model.model_validate(plan), c, language)
    return report, {x.name: x for x in report.checks}


PER_QUARTER = dict(budget=Money(100_000, "CNY"), budget_period="quarter", horizon_days=182)


# -- spending per budget period and in total -----------------------------------------------------------------------------
def test_a_per_quarter_budget_spent_almost_all_in_one_quarter_fails():
    lines = ({"item": "Ads", "amount": 190_000, "period": 1}, {"item": "Events", "amount": 10_000, "period": 2})
    report, checks = check(strategy(budget=budget(*lines)), Constraints(**PER_QUARTER))
    assert checks["budget_within_stated"].status == "passed"  # 200,000 over two quarters is within the total
    per = checks["budget_per_period"]
    assert per.status == "failed" and report.status == "failed" and report.passed is False
    assert "quarter 1 spends 190,000, over the 100,000 CNY per quarter" in per.detail


def test_spending_within_each_quarter_passes_and_a_phase_places_a_line():
    lines = (
        {"item": "Ads", "amount": 95_000, "period": 1},
        {"item": "Training", "amount": 60_000, "phase": "scale"},  # the Scale phase starts on day 91: quarter 2
        {"item": "Tools", "amount": 5_000, "phase": "Launch"},
    )
    report, checks = check(strategy(budget=budget(*lines)), Constraints(**PER_QUARTER))
    assert report.status == "passed" and report.passed is True, report
    assert checks["budget_per_period"].detail.endswith("(2 in the horizon): quarter 1: 100,000; quarter 2: 60,000.")


def test_lines_without_a_period_or_a_known_phase_fail_and_say_which():
    lines = ({"item": "Ads", "amount": 50_000, "period": 1}, {"item": "Swag", "amount": 5_000, "phase": "Party"})
    lines += ({"item": "Reserve", "amount": 5_000},)
    _, checks = check(strategy(budget=budget(*lines)), Constraints(**PER_QUARTER))
    per = checks["budget_per_period"]
    assert per.status == "failed" and per.detail.endswith("timeline phase: Swag; Reserve.")
    _, zh = check(strategy(budget=budget(*lines)), Constraints(**PER_QUARTER), "zh")
    assert "请给以下预算科目填写 period" in zh["budget_per_period"].detail


def test_a_line_past_the_horizon_fails():
    lines = ({"item": "Ads", "amount": 50_000, "period": 1}, {"item": "Late", "amount": 10_000, "period": 3})
    _, checks = check(strategy(budget=budget(*lines)), Constraints(**PER_QUARTER))
    assert checks["budget_per_period"].status == "failed"
    assert "quarter 3 is past the horizon of 2 quarter(s)" in checks["budget_per_period"].detail


def test_one_period_in_the_horizon_needs_no_per_period_check_and_the_total_still_counts():
    c = Constraints(budget=Money(100_000, "CNY"), budget_period="quarter", horizon_days=90)
    report, checks = check(strategy(budget=budget({"item": "Ads", "amount": 100_001})), c)
    assert "budget_per_period" not in checks and checks["budget_within_stated"].status == "failed"
    assert report.status == "failed"


def test_a_range_low_end_is_not_a_cap():
    c = Constraints(budget=Money(100_000, "CNY", low=80_000), horizon_days=180)
    report, checks = check(strategy(budget=budget({"item": "Ads", "amount": 95_000})), c)
    assert checks["budget_within_stated"].status == "passed" and report.status == "passed"
    _, over = check(strategy(budget=budget({"item": "Ads", "amount": 100_500})), c)
    assert over["budget_within_stated"].status == "failed"


def test_a_per_period_budget_without_a_horizon_is_unverified_in_total_and_says_what_to_fill():
    c = Constraints(budget=Money(100_000, "CNY"), budget_period="quarter")
    lines = ({"item": "Ads", "amount": 90_000, "period": 1}, {"item": "More ads", "amount": 90_000, "period": 2})
    report, checks = check(strategy(budget=budget(*lines)), c)
    assert checks["budget_within_stated"].status == "unverified" and checks["budget_per_period"].status == "passed"
    assert report.status == "unverified" and report.passed is False
    assert any(line.startswith("constraints.horizon_days") for line in report.to_fill)


# -- every discount, anywhere -------------------------------------------------------------------------------------------
CAP_10 = Constraints(discount_cap_pct=10)


@pytest.mark.parametrize(
    ("text", "off"),
    [
        ("5折召回", 50),
        ("老客打8折", 20),
        ("八五折续费", 15),
        ("9折", 10),
        ("半价", 50),
        ("50% off the first month", 50),
        ("40%折扣", 40),
        ("half price for a month", 50),
        ("buy one get one free", 50),
        ("立减15%", 15),
        ("up to 30% off", 30),
        ("10-20% off", 20),
        ("25 percent off renewals", 25),
    ],
)
def test_discount_expressions_in_text_read_as_percent_off(text, off):
    assert [pct for _, pct in text_discounts(text)] == [off]


@pytest.mark.parametrize("text", ["折扣不超过15%", "monthly churn from 4.8% to 3.2%", "10折", "折算成本", "第2折页"])
def test_text_that_is_not_a_discount_is_not_read_as_one(text):
    assert text_discounts(text) == []


def test_a_half_price_win_back_written_only_in_text_fails_a_10_pct_cap():
    win_back = [{"churn_reason": "Price", "target_rule": "Churned on price", "offer": "5折回归", "success_metric": "x"}]
    report, checks = check(strategy(win_back=win_back), CAP_10)
    assert report.status == "failed" and "win_back.0.offer: '5折' = 50% off" in checks["discount_cap"].detail
    assert "7折 = 30" in checks["discount_cap"].detail  # the direction, for the repair round


def test_rows_restating_the_cap_are_not_discounts():
    rows = [{"constraint": "Discount cap", "value": "10%", "how_respected": "no 5折, deepest 10% off"}]
    report, checks = check(strategy(constraint_check=rows, assumptions=["competitors run 50% off"]), CAP_10)
    assert report.status == "passed" and checks["discount_cap"].detail.endswith("(no discounts).")


def test_typed_discounts_outside_offers_are_checked():
    playbook = {
        **strategy(),
        "expansion_plays": [{"name": "Annual prepay", "trigger": "Month 3", "offer": "Prepay", "discount_pct": 25}],
        "cancel_flow": {"steps": [{"step": "Save offer", "discount_pct": 10}]},
    }
    _, checks = check(playbook, CAP_10, model=SubscriptionPlaybookPlan)
    assert checks["discount_cap"].status == "failed"
    assert "Annual prepay (expansion_plays.0) = 25% off" in checks["discount_cap"].detail
    assert "Save offer" not in checks["discount_cap"].detail  # 10 is within the cap
    loyalty = {
        **strategy(),
        "tiers": [{"name": "Gold", "qualification": "12 orders", "discount_pct": 12}],
        "personalisation": [{"moment": "Birthday", "offer": "Cake", "discount_pct": 20, "channel": "sms"}],
    }
    _, checks = check(loyalty, CAP_10, model=LoyaltyProgramPlan)
    detail = checks["discount_cap"].detail
    assert "Gold (tiers.0) = 12% off" in detail and "Cake (personalisation.0) = 20% off" in detail


# -- channels by kind ---------------------------------------------------------------------------------------------------
def test_channel_fields_take_kinds_and_names_that_map_to_one_kind():
    assert DayStep(day=1, channel="短信", message="x").channel == "sms"
    assert DayStep(day=1, channel="WeChat service account", message="x").channel == "wechat"
    assert DayStep(day=1, channel="in-app", message="x").channel == "in_app"
    assert Initiative(name="x", channels=["App push", "邮件与短信", "email"]).channels == ["push", "sms", "email"]
    for bad in ("Web dashboard", "企微社群"):  # no kind, or two kinds for one step
        with pytest.raises(ValidationError) as error:
            DayStep(day=1, channel=bad, message="x")
        message = str(error.value)
        assert "a channel is one of: outbound_calls" in message and "product" in message and "渠道必须是" in message


def test_a_product_feature_sharing_a_word_with_an_excluded_channel_passes_under_an_allow_list():
    c = Constraints(channels_allowed=["sms", "push"], channels_excluded=["social"])
    plan = strategy(
        initiatives=[
            {"name": "Community challenge", "channels": ["product"], "actions": ["30-day streak badge"]},
            {"name": "Reminder", "channels": ["短信", "push"]},
        ],
        budget=budget({"item": "Community challenge prizes", "amount": 1000, "channel": "product"}),
    )
    report, checks = check(plan, c)
    assert checks["channels_allowed"].status == "passed" and checks["excluded_channels"].status == "passed"
    assert report.status == "passed", report


def test_an_sms_step_under_no_sms_fails():
    win_back = [
        {
            "churn_reason": "Price",
            "target_rule": "Churned",
            "offer": "Come back",
            "success_metric": "x",
            "steps": [{"day": 3, "channel": "SMS", "message": "We miss you"}],
        }
    ]
    report, checks = check(strategy(win_back=win_back), Constraints(channels_excluded=["sms"]))
    assert report.status == "failed"
    assert "SMS: win_back.0.steps.0.channel (Price)" in checks["excluded_channels"].detail


@pytest.mark.parametrize(("kind", "passed"), [("email", False), ("other", False), ("sms", True), ("product", True)])
def test_an_allow_list_admits_only_its_kinds_and_product(kind, passed):
    plan = strategy(touchpoints=[{"stage": "Onboarding", "day": 1, "channel": kind, "message": "Hi"}])
    _, checks = check(plan, Constraints(channels_allowed=["sms", "push"]))
    assert checks["channels_allowed"].passed is passed


# -- one KPI per goal ---------------------------------------------------------------------------------------------------
def goals(*texts: str) -> list[Goal]:
    return [Goal(id=f"G{i}", text=text) for i, text in enumerate(texts, 1)]


def test_four_goals_and_one_kpi_fail_naming_the_three_uncovered():
    c = Constraints(goals=goals("churn 4.8% to 3.2%", "NPS to 45", "annual mix 22%", "ARPU +8%"))
    kpis = [{"metric": "All of it", "baseline": 4.8, "target": 3.2, "unit": "%"}]  # no goal_id: covers one goal
    _, checks = check(strategy(kpis=kpis), c)
    detail = checks["goals_have_kpis"].detail
    assert checks["goals_have_kpis"].status == "failed" and detail.startswith("1 of 4 stated goals")
    assert detail.endswith("missing: G2 NPS to 45; G3 annual mix 22%; G4 ARPU +8%.")


def test_a_kpi_with_a_goal_id_covers_only_that_goal():
    c = Constraints(goals=goals("churn to 3.2%", "retention +3.2pp"))
    kpis = [{"metric": "Churn", "target": 3.2, "goal_id": "G1"}]  # its numbers match G2 too, but it names G1
    _, checks = check(strategy(kpis=kpis), c)
    assert checks["goals_have_kpis"].detail.endswith("missing: G2 retention +3.2pp.")


def test_kpis_without_goal_ids_are_matched_one_to_one():
    c = Constraints(goals=goals("churn 4.8% to 3.2%", "NPS 45 from 4.8"))
    kpis = [{"metric": "NPS", "baseline": 4.8, "target": 45}, {"metric": "Churn", "baseline": 4.8, "target": 3.2}]
    report, checks = check(strategy(kpis=kpis), c)  # greedy would give the NPS KPI to G1 and leave G2 uncovered
    assert checks["goals_have_kpis"].status == "passed" and report.status == "passed"


# -- three outcomes and what to fill in ---------------------------------------------------------------------------------
def test_unread_constraint_text_makes_a_passing_plan_unverified_with_what_to_fill():
    c = Constraints(horizon_days=180, unread=[Unread("budget_constraints", "EUR 25k for the quarter", "amount")])
    report, _ = check(strategy(), c)
    assert all(x.status == "passed" for x in report.checks)
    assert report.status == "unverified" and report.passed is False
    assert report.to_fill == ["budget_constraints: 'EUR 25k for the quarter' → fill constraints.budget"]
    c.unread.append(Unread("budget_constraints", "最多三成", "percent"))
    zh, _ = check(strategy(), c, "zh")
    assert zh.to_fill[1] == (
        "budget_constraints:「最多三成」→ 请填写 constraints.discount_cap_pct 或 constraints.cost_cap_pct_of_revenue"
    )


def test_no_constraint_at_all_is_unverified_not_passed():
    report, checks = check(strategy(), Constraints())
    assert [x.name for x in report.checks] == ["phase_order"] and checks["phase_order"].status == "passed"
    assert report.status == "unverified" and report.passed is False
    assert report.to_fill and report.to_fill[0].startswith("No constraint was stated or read")


def test_a_check_that_cannot_be_carried_out_is_unverified_and_a_failure_wins():
    report, checks = check(strategy(), Constraints(team_size=3))  # the plan does not say how many people it needs
    assert checks["team_size"].status == "unverified" and checks["team_size"].passed is False
    assert report.status == "unverified"
    report, _ = check(strategy(timeline={"phases": [{"name": "Long", "start_day": 0, "end_day": 400}]}),
                      Constraints(team_size=3, horizon_days=180))  # fmt: skip
    assert report.status == "failed"


def test_a_plan_kind_without_a_budget_section_is_unverified_against_a_budget():
    report, checks = check(strategy(), Constraints(budget=Money(1000, "USD")), model=ChurnAnalysisPlan)
    assert checks["budget_present"].status == "unverified" and report.status == "unverified"


# -- the Markdown -------------------------------------------------------------------------------------------------------
def markdown(plan: dict[str, Any], c: Constraints, language: str) -> str:
    typed = RetentionStrategyPlan.model_validate(plan)
    return plan_markdown(typed, language, validate_plan(typed, c, language), constraints_result(c))


def test_markdown_shows_each_outcome_in_both_languages():
    unread = Constraints(horizon_days=180, unread=[Unread("budget_constraints", "EUR 25k", "amount")])
    en, zh = markdown(strategy(), unread, "en"), markdown(strategy(), unread, "zh")
    assert en.split("\n")[2].startswith("> **Validation: unverified** — no check failed, but not everything")
    assert "1 span(s) of the constraint text could not be read" in en
    assert "### To fill in\n" in en and "- budget_constraints: 'EUR 25k' → fill constraints.budget" in en
    assert zh.split("\n")[2].startswith("> **校验结果:未核验** —— 没有检查未通过")
    assert "### 需补充的约束\n" in zh and "- budget_constraints:「EUR 25k」→ 请填写 constraints.budget" in zh
    team = Constraints(team_size=3)
    assert "| Team | 3 people | ⚠️ unverified |" in markdown(strategy(), team, "en")
    assert "| 团队 | 3 人 | ⚠️ 未核验 |" in markdown(strategy(), team, "zh")
    assert "1 项检查无法完成(`team_size`)" in markdown(strategy(), team, "zh")
    sms = strategy(touchpoints=[{"stage": "Onboarding", "day": 1, "channel": "sms", "message": "Hi"}])
    failed = Constraints(channels_excluded=["sms"])
    assert "> **Validation: failed** — 1 of 2 checks failed: `excluded_channels`." in markdown(sms, failed, "en")
    zh_failed = markdown(sms, failed, "zh")
    assert "> **校验结果:未通过** —— 2 项检查中有 1 项未通过:`excluded_channels`。" in zh_failed
    assert "| 第 1 天 | 短信 | Hi |" in zh_failed  # a channel kind reads as its name in the plan's language
    ok = markdown(sms, Constraints(channels_allowed=["sms"]), "en")
    assert "> **Validation: passed** — all 2 checks passed." in ok and "| day 1 | SMS | Hi |" in ok


# -- what the model is told ---------------------------------------------------------------------------------------------
def test_constraint_rules_state_per_period_lines_channel_kinds_and_the_discount_direction():
    c = Constraints(**PER_QUARTER, discount_cap_pct=30, channels_allowed=["sms"], goals=goals("churn to 3%"))
    en = "\n".join(constraint_rules(c, zh=False))
    assert "at most 100,000 CNY per quarter and at most 200,000 CNY over the plan" in en
    assert "give every budget line its period (quarter number, 1 = the first) or the name of its timeline phase" in en
    assert "percent OFF the list price (7折 = 30, half price = 50), at most 30" in en
    assert "take a channel kind: outbound_calls" in en and "is product" in en and "SMS (sms)" in en
    zh = "\n".join(constraint_rules(c, zh=True))
    assert "每个 budget.lines 条目填写 period" in zh and "7折 = 30" in zh and "不低于 7 折" in zh


# -- end to end: checked, sent back once with what failed, fixed ---------------------------------------------------------
@pytest.mark.anyio
async def test_a_plan_over_a_quarter_and_the_cap_in_text_is_repaired_through_the_mcp_client(registry, standin):
    bad = strategy(
        budget=budget(
            {"item": "SMS credits", "amount": 95_000, "period": 1, "channel": "sms"},
            {"item": "Community challenge prizes", "amount": 60_000, "phase": "Launch", "channel": "product"},
        ),
        initiatives=[{"name": "Community challenge", "channels": ["product"]}, {"name": "Nudges", "channels": ["sms"]}],
        win_back=[{"churn_reason": "Price", "target_rule": "Churned", "offer": "5折回归", "success_metric": "x"}],
        kpis=[{"metric": "Monthly churn", "baseline": 4.8, "target": 3.2, "unit": "%", "goal_id": "G1"}],
    )
    good = copy.deepcopy(bad)
    good["budget"]["lines"][1]["phase"] = "Scale"
    good["win_back"][0]["offer"] = "9折回归"
    standin.queue(plan_answer(bad), plan_answer(good))
    model = ModelSettings(provider="openai", base_url=standin.url("openai"), model="stand-in-1", api_key="sk-test")
    arguments = {
        "service_type": "Meal kits",
        "target_customers": "Busy parents",
        "retention_goals": "Monthly churn from 4.8% to 3.2%",
        "mode": "plan",
        "language": "en",
        "constraints": {
            "budget": {"amount": 100_000, "currency": "CNY", "period": "quarter"},
            "horizon_days": 180,
            "discount_cap_pct": 10,
            "channels_allowed": ["SMS", "app push"],
        },
    }
    async with Client(build_server(registry, model=model)) as client:
        result = await client.call_tool("retention_strategy", arguments)
    assert not result.is_error, result.content[0].text
    first_prompt = standin.received[0].prompt_text()
    assert "<plan_schema>" in first_prompt and '"enum":["outbound_calls"' in first_prompt  # kinds in the schema
    feedback = standin.received[1].body["messages"][-1]["content"]
    assert "budget_per_period" in feedback and "quarter 1 spends 155,000" in feedback
    assert "discount_cap" in feedback and "win_back.0.offer: '5折' = 50% off" in feedback
    assert "channels_allowed" not in feedback  # the product feature and the SMS nudges are within the allow-list
    data = result.structured_content
    assert data["repaired"] is True and data["validation"]["status"] == "passed", data["validation"]
    checks = {c["name"]: c for c in data["validation"]["checks"]}
    assert checks["budget_per_period"]["detail"] == (
        "Spending per quarter is within 100,000 CNY (2 in the horizon): quarter 1: 95,000; quarter 2: 60,000."
    )
    assert checks["channels_allowed"]["status"] == "passed"
    assert data["plan"]["initiatives"][1]["channels"] == ["sms"]
    assert "| Community challenge prizes | 60,000 |" in data["markdown"]


def test_a_report_stored_before_reports_had_a_status_reads_as_it_was():
    from retention_mcp.models import ValidationReport

    failed = ValidationReport.model_validate(
        {"passed": False, "checks": [{"name": "discount_cap", "passed": False, "detail": "40% > 15%"}]}
    )
    assert failed.status == "failed" and failed.checks[0].status == "failed"
    nothing = ValidationReport.model_validate(
        {"passed": False, "checks": [{"name": "phase_order", "passed": True, "detail": "ok"}]}
    )
    assert nothing.status == "unverified" and nothing.checks[0].status == "passed"
    assert ValidationReport.model_validate({"passed": True, "checks": []}).status == "passed"


def test_lines_counted_in_another_period_than_the_users_fail():
    lines = ({"item": "Ads", "amount": 30_000, "period": 1}, {"item": "Ads", "amount": 30_000, "period": 2})
    _, checks = check(strategy(budget=budget(*lines, period="month")), Constraints(**PER_QUARTER))
    assert checks["budget_per_period"].status == "failed"
    assert "set budget.period to quarter" in checks["budget_per_period"].detail
