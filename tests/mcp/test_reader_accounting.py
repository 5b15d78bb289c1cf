"""Every constraint sentence of a brief ends in one place: read into a value of its kind and scope, or listed as
unread with the field that would hold it. Through the in-memory MCP client (prompt mode) and, for the caps a plan
can break, through generate-plan mode against the stand-in model."""

from __future__ import annotations

import copy

import pytest
from mcp import Client

from tests.mcp.test_plan_generation import fixture_plan, plan_server, scenario
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

BASE = {
    "service_type": "B2B project-collaboration SaaS, per-seat monthly plans",
    "target_customers": "Ops leads of small teams",
    "retention_goals": "monthly churn from 4.8% to 3.2%",
}
BUDGET = "constraints.budget"
# brief sentence -> (values the constraints hold, unread entries as (kind, scope, fill))
PHRASINGS: list[tuple[str, dict, list[tuple[str, str | None, list[str]]]]] = [
    # amounts in words
    ("Budget: fifty thousand dollars for the quarter.", {"budget": (50000, "USD", "quarter")}, []),
    ("We have two hundred grand to spend this year.", {"budget": (200000, None, "year")}, []),
    ("Budget of twenty-five thousand euros in total.", {"budget": (25000, "EUR", "total")}, []),
    ("Budget 5 lakh rupees.", {"budget": (500000, "INR", "total")}, []),
    ("Marketing budget is 2 crore for the year.", {"budget": (20000000, "INR", "year")}, []),
    ("A budget of three thousand pounds a month.", {"budget": (3000, "GBP", "month")}, []),
    ("每人最多返现20元。", {"per_customer_cap": (20, "CNY", "total")}, []),
    # head-counts in words, summed over roles
    ("Team: a dozen agents.", {"team_size": 12}, []),
    ("Team: half a dozen CSMs plus one marketer.", {"team_size": 7}, []),
    ("团队:三名客服外加两位运营。", {"team_size": 5}, []),
    ("我们有半打客服加一名运营。", {"team_size": 7}, []),
    ("人手:一打客服。", {"team_size": 12}, []),
    ("We have a couple of CSMs and one analyst.", {"team_size": 3}, []),
    # discount caps in words
    ("Discounts: at most half price.", {"discount_cap_pct": 50}, []),
    ("优惠最多半价。", {"discount_cap_pct": 50}, []),
    ("No discounts at all.", {"discount_cap_pct": 0}, []),
    ("本次活动不打折。", {"discount_cap_pct": 0}, []),
    ("We never discount the annual plan.", {"discount_cap_pct": 0}, []),
    (
        "新客首单半价。",
        {},
        [("percent", None, ["constraints.discount_cap_pct", "constraints.cost_cap_pct_of_revenue"])],
    ),
    # caps per customer and on free periods
    ("At most one free month per customer.", {"free_periods_cap": (1, "month")}, []),
    ("No more than 2 free weeks for each member.", {"free_periods_cap": (2, "week")}, []),
    ("每位用户最多赠送1个月。", {"free_periods_cap": (1, "month")}, []),
    ("Credits capped at $50 per customer.", {"per_customer_cap": (50, "USD", "total")}, []),
    (
        "预算5万元,每人补贴不超过50元。",
        {"budget": (50000, "CNY", "total"), "per_customer_cap": (50, "CNY", "total")},
        [],
    ),
    ("Rewards up to EUR 20 per member per month.", {"per_customer_cap": (20, "EUR", "month")}, []),
    # deadlines tied to the calendar: unread, never a day count
    (
        "The campaign runs through Q4.",
        {"horizon_days": None},
        [("deadline", "Q4", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    (
        "Finish by the end of Q3.",
        {"horizon_days": None},
        [("deadline", "Q3", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    (
        "到年底完成。",
        {"horizon_days": None},
        [("deadline", "year", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    (
        "Everything must ship before Black Friday.",
        {"horizon_days": None},
        [("deadline", "black friday", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    (
        "第三季度末前上线。",
        {"horizon_days": None},
        [("deadline", "Q3", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    (
        "Run until the end of November.",
        {"horizon_days": None},
        [("deadline", "M11", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    (
        "双十一前完成。",
        {"horizon_days": None},
        [("deadline", "双十一", ["constraints.start_date", "constraints.horizon_days"])],
    ),
    # allow-lists without "only"
    ("We can use email and in-app.", {"channels_allowed": ["email", "in_app"]}, []),
    ("渠道可用短信和企业微信。", {"channels_allowed": ["sms", "im"]}, []),
    ("Available channels: email, push.", {"channels_allowed": ["email", "push"]}, []),
    ("可用渠道为邮件、社群。", {"channels_allowed": ["email", "community"]}, []),
    ("We may use WhatsApp and Discord.", {"channels_allowed": ["im", "community"]}, []),
    ("只用群聊和企微。", {"channels_allowed": ["im", "community"]}, []),
    # weekly and daily amounts: their own scope
    (
        "Budget 30k USD per quarter; at most 5k USD per week.",
        {"budget": (30000, "USD", "quarter")},
        [("amount", "week", [f"{BUDGET} (period: week)"])],
    ),
    ("每天预算500元。", {"budget": (500, "CNY", "day")}, []),
    ("Spend at most $5k per week.", {"budget": (5000, "USD", "week")}, []),
    # sentences that state a constraint the reader cannot place are listed, not dropped
    ("The budget must stay under one salary.", {}, [("amount", None, [BUDGET])]),
    (
        "Discount depth must stay modest, a third at the very most.",
        {},
        [("percent", None, ["constraints.discount_cap_pct", "constraints.cost_cap_pct_of_revenue"])],
    ),
    (
        "Channels must follow the approval policy of the push team.",
        {},
        [("channels", None, ["constraints.channels_allowed", "constraints.channels_excluded"])],
    ),
    # misreads that must not happen
    (
        "Budget: fifty thousand dollars for the quarter; the team is two ops and a designer.",
        {"budget": (50000, "USD", "quarter"), "team_size": 3, "horizon_days": None},
        [],
    ),
]


def _unread(c: dict) -> list[tuple[str, str | None, list[str]]]:
    return [(u["kind"], u.get("scope"), u["fill"]) for u in c["unread"]]


@pytest.mark.parametrize(("brief", "values", "unread"), PHRASINGS, ids=[p[0][:40] for p in PHRASINGS])
async def test_a_constraint_sentence_is_read_or_listed_never_dropped(server, brief, values, unread):
    async with Client(server) as client:
        result = await client.call_tool("retention_strategy", {**BASE, "budget_constraints": brief})
    assert not result.is_error, result.content[0].text
    c = result.structured_content["constraints"]
    for name, expected in values.items():
        got = c.get(name)
        if name in ("budget", "per_customer_cap") and expected is not None:
            got = (got["amount"], got.get("currency"), got["period"])
        elif name == "free_periods_cap":
            got = (got["count"], got["unit"])
        assert got == expected, (brief, name, c)
    assert _unread(c) == unread, (brief, c)


@pytest.mark.parametrize(
    ("words", "value"),
    [("fifty thousand", 50000), ("two hundred grand", 200000), ("half a dozen", 6), ("a dozen", 12),
     ("5 lakh", 500000), ("3 crore", 30000000), ("twenty-five thousand", 25000), ("a hundred and fifty thousand", 150000)],
)  # fmt: skip
def test_number_words(words, value):
    from retention_mcp.constraints.lexicon import words_to_number

    assert words_to_number(words) == value


async def test_a_quarterly_budget_does_not_settle_a_weekly_cap(server):
    arguments = {**BASE, "budget_constraints": "At most 5k USD per week on ads.",
                 "constraints": {"budget": {"amount": 60000, "currency": "USD", "period": "quarter"}}}  # fmt: skip
    async with Client(server) as client:
        c = (await client.call_tool("retention_strategy", arguments)).structured_content["constraints"]
        weekly = {**arguments, "constraints": {"budget": {"amount": 5000, "currency": "USD", "period": "week"}}}
        settled = (await client.call_tool("retention_strategy", weekly)).structured_content["constraints"]
    assert _unread(c) == [("amount", "week", [f"{BUDGET} (period: week)"])]
    assert settled["unread"] == [] and settled["budget"]["period"] == "week"


async def test_a_typed_budget_does_not_settle_a_per_member_cap(server):
    arguments = {**BASE, "budget_constraints": "Each member gets rewards worth at most 50 bucks a year.",
                 "constraints": {"budget": {"amount": 60000, "currency": "USD"}}}  # fmt: skip
    async with Client(server) as client:
        c = (await client.call_tool("retention_strategy", arguments)).structured_content["constraints"]
    assert c["per_customer_cap"] == {"amount": 50.0, "currency": "USD", "period": "year"}


async def test_a_typed_start_date_turns_a_calendar_deadline_into_a_horizon(server):
    arguments = {**BASE, "budget_constraints": "Run it through Q4.", "constraints": {"start_date": "2026-07-01"}}
    async with Client(server) as client:
        c = (await client.call_tool("retention_strategy", arguments)).structured_content["constraints"]
    assert c["horizon_days"] == 183 and c["start_date"] == "2026-07-01" and c["unread"] == []


async def test_the_plan_length_comes_from_the_goals_never_from_what_happened_before(server):
    """'within 3 months' in the history is a past event; 'logo churn' holds no data word (log); the goal's
    'within 6 months' is the plan's length, and a quarterly budget then covers two quarters."""
    arguments = {
        "service_type": "B2B SaaS analytics",
        "target_customers": "SMB teams on monthly plans",
        "retention_goals": "Cut monthly logo churn from 4.1% to 3.0% within 6 months; lift NRR to 105%",
        "retention_history": "Last year we ran a discount campaign; most redeemers churned again within 3 months.",
        "budget_constraints": "USD 20,000 per quarter; discounts at most 20%; email and in-app only",
    }
    async with Client(server) as client:
        c = (await client.call_tool("retention_strategy", arguments)).structured_content["constraints"]
        history_only = {**arguments, "retention_goals": "Cut monthly logo churn from 4.1% to 3.0%"}
        past = (await client.call_tool("retention_strategy", history_only)).structured_content["constraints"]
    assert c["horizon_days"] == 182 and c["read_from"]["horizon_days"]["input"] == "retention_goals"
    assert c["budget"]["total"] == 40000
    assert past.get("horizon_days") is None  # the history's window never becomes the plan's length


async def test_the_block_names_typed_replacements_and_never_asks_to_propose_a_stated_kind(server):
    arguments = {**BASE, "budget_constraints": "Three CSMs. The campaign runs through Q4; budget about a few salaries, 3 of them.",
                 "constraints": {"team_size": 2}}  # fmt: skip
    zh = {**BASE, "budget_constraints": "团队3人。", "constraints": {"team_size": 2}, "language": "zh"}
    async with Client(server) as client:
        prompt = (await client.call_tool("retention_strategy", arguments)).structured_content["prompt"]
        prompt_zh = (await client.call_tool("retention_strategy", zh)).structured_content["prompt"]
    block = prompt[prompt.index("<stated_constraints>") : prompt.index("</stated_constraints>")]
    assert "- Typed: team 2 — replaces the brief's '3'" in block
    assert "Horizon: none stated" not in block and "Horizon: stated in the text listed below as unread" in block
    assert "Budget: none stated" not in block
    block_zh = prompt_zh[prompt_zh.index("<stated_constraints>") : prompt_zh.index("</stated_constraints>")]
    assert "类型化值优先:团队 2——取代资料中的「3」" in block_zh


async def test_the_churn_analysis_block_asks_for_no_budget_or_discount_cap(server):
    arguments = {"business_context": "Subscription box, 40k members", "analysis_goal": "find why members churn"}
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        required = tools["churn_analysis"].input_schema.get("required", [])
        arguments = {k: v for k, v in arguments.items() if k in tools["churn_analysis"].input_schema["properties"]}
        for name in required:
            arguments.setdefault(name, "Subscription box, 40k members, monthly churn 6%")
        prompt = (await client.call_tool("churn_analysis", arguments)).structured_content["prompt"]
    block = prompt[prompt.index("<stated_constraints>") : prompt.index("</stated_constraints>")]
    lines = [line for line in block.splitlines() if line.startswith("- ")]
    assert not any("none stated" in line or line.startswith(("- Budget", "- Discount cap")) for line in lines), lines


# -- plans that break a cap are failed, through generate-plan mode -----------------------------------------------------
SAAS = scenario("saas-collaboration-en")


async def _plan(registry, standin, store, plan_body: dict, extra: str = "", constraints: dict | None = None) -> dict:
    arguments = dict(SAAS["arguments"])
    if extra:
        arguments["budget_constraints"] = arguments.get("budget_constraints", "") + "; " + extra
    if constraints:
        arguments["constraints"] = constraints
    standin.default = lambda received: plan(plan_body)
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool(SAAS["tool"], {**arguments, "mode": "plan"})
    assert not result.is_error, result.content[0].text
    return result.structured_content


@pytest.fixture
def store(tmp_path):
    return tmp_path / "plans.sqlite3"


def _checks(data: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in data["validation"]["checks"]}


async def test_a_plan_spending_9k_in_one_week_against_a_5k_weekly_cap_fails(registry, standin, store):
    body = copy.deepcopy(fixture_plan(SAAS["id"]))
    body["timeline"]["phases"].insert(0, {"name": "Launch week", "start_day": 0, "end_day": 6, "deliverables": ["x"]})
    body["budget"]["lines"].append({"item": "Launch ads", "amount": 9000, "phase": "Launch week", "purpose": "ads"})
    budget = {"amount": 5000, "currency": body["budget"]["currency"], "period": "week"}
    data = await _plan(registry, standin, store, body, constraints={"budget": budget, "horizon_days": 90})
    assert _checks(data)["budget_per_week"] == "failed"
    assert data["validation"]["status"] == "failed"


async def test_a_plan_giving_60_per_member_against_a_50_cap_read_from_the_text_fails(registry, standin, store):
    body = copy.deepcopy(fixture_plan(SAAS["id"]))
    currency = body["budget"]["currency"]
    body["offers"].append({"description": f"{currency} 60 account credit per member", "value_per_customer": 60})
    data = await _plan(registry, standin, store, body, extra=f"rewards at most {currency} 50 per member")
    assert data["constraints"]["per_customer_cap"]["amount"] == 50
    assert _checks(data)["per_customer_cap"] == "failed"
    assert data["validation"]["status"] == "failed"


async def test_a_plan_giving_two_free_months_against_a_one_month_cap_fails(registry, standin, store):
    body = copy.deepcopy(fixture_plan(SAAS["id"]))
    body["offers"].append({"description": "2 free months for every renewing team"})
    data = await _plan(registry, standin, store, body, constraints={"free_periods_cap": {"count": 1, "unit": "month"}})
    assert _checks(data)["free_periods_cap"] == "failed"
    assert data["validation"]["status"] == "failed"


async def test_a_value_read_by_a_model_is_marked_as_model_read_in_the_block(registry, standin, store):
    bare = scenario("subscription-playbook-en")
    arguments = {
        **bare["arguments"],
        "team_resources": "Two CSMs and one ops analyst; EUR 25k per quarter; the pilot lasts twenty-six weeks",
    }
    standin.extraction_replies.append(
        plan({"horizon_days": {"value": 182, "quote": "the pilot lasts twenty-six weeks"}})
    )
    standin.default = lambda received: plan(fixture_plan(bare["id"]))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool(bare["tool"], {**arguments, "mode": "plan"})
    assert result.structured_content["constraints"]["sources"]["horizon_days"] == "model"
    prompt = standin.received[0].prompt_text()
    block = prompt[prompt.index("<stated_constraints>") : prompt.index("</stated_constraints>")]
    assert (
        "every phase and KPI deadline falls within it (read by a model from the brief, not the user's words)" in block
    )
    assert "25,000 EUR per quarter (read by a model" not in block  # the user's own words are not marked


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("Raise NPS by Q3", (None, None)),  # no target: "Q3" is a deadline, not 3.0
        ("Reduce churn to 3% by Q3", ("churn", 3.0)),
        ("rating to 4.8/5 by Q4", ("rating", 4.8)),  # "/5" is the scale, "Q4" the deadline
        ("NPS 45 by end of Q3", ("NPS", 45.0)),
        ("留存用户提升到2万", ("留存用户", 20000.0)),
        ("月活提升至1.5万人", ("月活", 15000.0)),
    ],
)
async def test_goal_targets_are_not_read_from_deadlines_or_scales_and_keep_wan(server, goal, expected):
    async with Client(server) as client:
        result = await client.call_tool("retention_strategy", {**BASE, "retention_goals": goal})
    (g,) = result.structured_content["constraints"]["goals"]
    assert (g.get("metric"), g.get("target")) == expected, g


async def test_a_plan_over_a_weekly_budget_read_from_the_text_fails(registry, standin, store):
    body = copy.deepcopy(fixture_plan(SAAS["id"]))
    currency = body["budget"]["currency"]
    body["timeline"]["phases"].insert(0, {"name": "Launch week", "start_day": 0, "end_day": 6, "deliverables": ["x"]})
    body["budget"]["lines"].append({"item": "Launch ads", "amount": 9000, "phase": "Launch week", "purpose": "ads"})
    arguments = {**SAAS["arguments"], "budget_constraints": f"Spend at most {currency} 5000 per week; 90 days"}
    standin.default = lambda received: plan(body)
    async with Client(plan_server(registry, standin, store)) as client:
        data = (await client.call_tool(SAAS["tool"], {**arguments, "mode": "plan"})).structured_content
    assert data["constraints"]["budget"]["period"] == "week" and data["constraints"]["budget"]["amount"] == 5000
    assert _checks(data)["budget_per_week"] == "failed" and data["validation"]["status"] == "failed"


@pytest.mark.parametrize(
    ("goal", "metric"),
    [
        ("未来 90 天内把续费率从 52% 提高到 62%", "续费率"),
        ("6个月内将月度流失率从4.8%降至3.2%", "月度流失率"),
        ("Within 6 months, cut monthly churn from 4.8% to 3.2%", "monthly churn"),
    ],
)
async def test_a_goals_metric_is_named_without_its_time_phrase(server, goal, metric):
    arguments = {**BASE, "retention_goals": goal}
    async with Client(server) as client:
        c = (await client.call_tool("retention_strategy", arguments)).structured_content["constraints"]
    (read,) = c["goals"]
    assert read["metric"] == metric and read["target"] is not None
