"""Plan fields a model can fill without inventing anything: a KPI target in words for a goal with no number, a
touchpoint set off by an event (trigger and offset) instead of a made-up day, and a budget section in the
subscription playbook, so that a stated budget is checked. Through generate_plan on the in-memory MCP client, with
the stand-in model server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from tests.mcp.test_plan_generation import fixture_plan, plan_server, scenario
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

PLAYBOOK = scenario("subscription-playbook-en")
SAAS = {"en": scenario("saas-collaboration-en"), "zh": scenario("saas-collaboration-zh")}
WORDS_GOAL = "Become the tool admins recommend to their peers"


@pytest.fixture
def store(tmp_path):
    return tmp_path / "plans.sqlite3"


async def generate(registry, standin, store, example: dict, written: dict, **arguments) -> dict:
    standin.queue(plan(written))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool(
            "generate_plan", {"name": example["tool"], "arguments": {**example["arguments"], **arguments}}
        )
        assert not result.is_error, result.content[0].text
        data = result.structured_content
        stored = json.loads((await client.read_resource(data["plan_uri"])).contents[0].text)
    return {**data, "stored": stored}


async def test_a_kpi_target_in_words_is_kept_without_a_repair(registry, standin, store):
    written = fixture_plan(PLAYBOOK["id"])
    written["goals"].append({"id": "G3", "text": WORDS_GOAL})
    written["kpis"].append({"metric": "Admin referrals", "target": WORDS_GOAL, "deadline_day": 180, "goal_id": "G3"})
    data = await generate(registry, standin, store, PLAYBOOK, written)
    assert data["repaired"] is False and len(standin.received) == 1
    assert (
        data["plan"]["kpis"][-1]["target"] == WORDS_GOAL and data["stored"]["plan"]["kpis"][-1]["target"] == WORDS_GOAL
    )
    assert f"| Admin referrals | — | {WORDS_GOAL} |" in data["markdown"]
    assert data["plan"]["kpis"][0]["target"] == 105  # a number stays a number


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "1 day after payment_failed"), ("zh", "payment_failed 后第 1 天")],
)
async def test_a_touchpoint_on_an_event_needs_no_invented_day(registry, standin, store, language, shown):
    example = SAAS[language]
    written = fixture_plan(example["id"])
    written["touchpoints"].append(
        {
            "stage": "Billing",
            "trigger": "payment_failed",
            "offset_days": 1,
            "channel": "email",
            "message": "Update card",
        }
    )
    data = await generate(registry, standin, store, example, written)
    assert data["repaired"] is False and len(standin.received) == 1
    touchpoint = data["plan"]["touchpoints"][-1]
    assert (
        touchpoint["trigger"] == "payment_failed" and touchpoint["offset_days"] == 1 and touchpoint.get("day") is None
    )
    row = next(line for line in data["markdown"].splitlines() if "Update card" in line)
    assert row.startswith(f"| Billing | {shown} |")
    assert data["validation"]["status"] == "passed"  # the plan, old touchpoints and all, still checks out


async def test_a_touchpoint_with_neither_day_nor_trigger_goes_to_the_repair_round(registry, standin, store):
    example = SAAS["en"]
    broken = fixture_plan(example["id"])
    broken["touchpoints"].append({"stage": "Billing", "channel": "email", "message": "Update card"})
    standin.queue(plan(broken), plan(fixture_plan(example["id"])))
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool("generate_plan", {"name": example["tool"], "arguments": example["arguments"]})
    assert not result.is_error, result.content[0].text
    assert result.structured_content["repaired"] is True
    assert "a touchpoint needs a day, or a trigger with offset_days" in standin.received[1].prompt_text()


BUDGET = {"budget": {"amount": 10000, "currency": "USD"}}


@pytest.mark.parametrize(("spent", "passed"), [(8000, True), (12000, False)])
async def test_the_playbook_budget_is_checked_against_the_stated_budget(registry, standin, store, spent, passed):
    written = fixture_plan(PLAYBOOK["id"])
    written["budget"] = {
        "total": spent,
        "currency": "USD",
        "lines": [
            {"item": "Dunning tool", "amount": spent / 2, "purpose": "Card updater"},
            {"item": "Save offers", "amount": spent / 2, "purpose": "One-month pause credits"},
        ],
    }
    standin.default = lambda received: plan(written)  # the plan, and the repair round when it fails
    data = await generate(registry, standin, store, PLAYBOOK, written, constraints=BUDGET)
    checks = {c["name"]: c for c in data["validation"]["checks"]}
    assert checks["budget_within_stated"]["passed"] is passed
    assert "budget" not in data["plan"].get("extras", {})
    assert "## Budget\n" in data["markdown"] and "Dunning tool" in data["markdown"]


@pytest.mark.parametrize("period", ["week", "day"])
async def test_a_weekly_or_daily_budget_without_a_horizon_leaves_the_total_unverified(registry, standin, store, period):
    """Without a horizon the total a budget per week or day allows is unknown: the plan's whole spend is not held to
    one week's or one day's amount (which would fail every plan), and the horizon is asked for."""
    written = fixture_plan(PLAYBOOK["id"])
    written["budget"] = {
        "total": 12000,
        "currency": "USD",
        "lines": [{"item": "Dunning tool", "amount": 12000, "purpose": "Card updater"}],
    }
    standin.default = lambda received: plan(written)
    budget = {"budget": {"amount": 1000, "currency": "USD", "period": period}}
    data = await generate(registry, standin, store, PLAYBOOK, written, constraints=budget)
    checks = {c["name"]: c for c in data["validation"]["checks"]}
    assert checks["budget_within_stated"]["status"] == "unverified", checks["budget_within_stated"]
    assert data["validation"]["status"] == "unverified"
    assert any(line.startswith("constraints.horizon_days") for line in data["validation"]["to_fill"])
