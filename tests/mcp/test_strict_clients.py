"""What strict clients send and what some clients add: null for an optional value, blank text and 0 for "not stated",
names a client adds to every call; and the result they check and hand to their model, with the prompt once."""

from __future__ import annotations

import logging

import pytest
from mcp import Client

from retention_mcp.server import build_server

pytestmark = pytest.mark.anyio

BRIEF = {
    "service_type": "B2B collaboration SaaS, per-seat monthly plans",
    "target_customers": "Ops leads of small teams",
    "retention_goals": "Keep more teams past their first renewal",
    "language": "en",
}


async def constraints_of(client, typed: dict, **more) -> dict:
    result = await client.call_tool("retention_strategy", {**BRIEF, "constraints": typed, **more})
    assert not result.is_error, result.content[0].text
    return result.structured_content["constraints"]


async def test_null_and_blank_nested_values_are_not_stated(registry):
    budget = {"amount": 30000, "currency": "", "period": None, "min": None}
    async with Client(build_server(registry)) as client:
        read = await constraints_of(client, {"budget": budget, "start_date": "", "channels_allowed": []})
        cap = await constraints_of(client, {"per_customer_cap": {"amount": 50, "currency": " ", "period": None}})
    assert read["budget"]["period"] == "total" and "currency" not in read["budget"] and "min" not in read["budget"]
    assert "start_date" not in read and read["channels_allowed"] == []
    assert cap["per_customer_cap"] == {"amount": 50, "period": "total"}


async def test_zero_is_not_stated_where_it_means_nothing_and_a_limit_elsewhere(registry):
    zeros = {
        "team_size": 0,
        "cost_cap_pct_of_revenue": 0,
        "horizon_days": 0,
        "discount_cap_pct": 0,
        "budget": {"amount": 0, "min": 0},
        "free_periods_cap": {"count": 0},
    }
    goals = [{"text": "NPS 50", "deadline_day": 0, "baseline": 0}, {"text": "", "metric": ""}]
    async with Client(build_server(registry)) as client:
        read = await constraints_of(client, zeros, goals=goals)
    for key in ("team_size", "cost_cap_pct_of_revenue", "horizon_days"):
        assert key not in read, key  # a team of 0, a cost cap of 0%, a plan of 0 days: not stated
    assert read["discount_cap_pct"] == 0  # no discount at all
    assert read["budget"]["amount"] == 0 and "min" not in read["budget"]  # nothing to spend; no bottom of a range
    assert read["free_periods_cap"]["count"] == 0  # no free periods
    (goal,) = read["goals"]  # a goal without words is no goal
    assert goal["text"] == "NPS 50" and goal["baseline"] == 0 and "deadline_day" not in goal


async def test_blank_top_level_values_are_not_stated(registry, tmp_path):
    async with Client(build_server(registry, plan_store=tmp_path / "plans.sqlite3")) as client:
        blank = await client.call_tool("retention_strategy", {**BRIEF, "competitor_programs": "", "mode": ""})
        none = await client.call_tool("retention_strategy", {**BRIEF, "competitor_programs": None, "mode": None})
        plans = await client.call_tool("list_plans", {"template": "", "limit": 0})
    assert not blank.is_error and blank.structured_content == none.structured_content
    assert not plans.is_error


@pytest.mark.parametrize(("name", "value"), [("wait_for_previous", True), ("toolCallId", "call_0B")])
async def test_names_clients_add_are_ignored_with_a_log_line(registry, caplog, name, value):
    caplog.set_level(logging.INFO, logger="retention_mcp")
    async with Client(build_server(registry)) as client:
        result = await client.call_tool("retention_strategy", {**BRIEF, name: value})
        typo = await client.call_tool("retention_strategy", {**BRIEF, name: value, "colour": "red"})
    assert not result.is_error
    assert name in caplog.text and "ignored" in caplog.text
    assert typo.is_error and "colour: is not a parameter" in typo.content[0].text
    assert name not in typo.content[0].text


async def test_the_result_carries_the_prompt_once(registry):
    arguments = {**BRIEF, "budget_constraints": "Quarterly budget 120,000 CNY; team of 3"}
    async with Client(build_server(registry)) as client:
        result = await client.call_tool("retention_strategy", arguments)
    data = result.structured_content
    assert "messages" not in data and result.content[0].text == data["prompt"]  # the text content stays whole
    assert data["constraints"]["budget"]["amount"] == 120000 and data["constraints"]["sources"]["budget"] == "text"
    assert "Quarterly budget 120,000 CNY" in data["prompt"]


async def test_analyze_churn_takes_one_field_per_column_role(registry):
    base = {"csv": "cust,signup_date,cancel_date\nA,2024-01-01,\nB,2024-01-01,2024-03-01\n", "charts": False}
    async with Client(build_server(registry)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        named = await client.call_tool("analyze_churn", {**base, "customer_id_column": "cust", "path": ""})
        older = await client.call_tool("analyze_churn", {**base, "columns": {"customer_id": "cust"}})
    props = tools["analyze_churn"].input_schema["properties"]
    assert "columns" not in props and props["end_date_column"]["type"] == ["string", "null"]
    assert not named.is_error, named.content[0].text
    assert named.structured_content["columns"]["customer_id"] == "cust"
    assert not older.is_error and older.structured_content["columns"]["customer_id"] == "cust"
