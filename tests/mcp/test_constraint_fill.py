"""Plan mode with missing constraints: a typed form through MCP elicitation when the client offers it, otherwise one
extraction call to the (stand-in) model. Through the in-memory MCP client and a model server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ElicitResult

from tests.mcp.test_plan_generation import fixture_plan, plan_server, scenario
from tests.standin_model import plan, text

pytestmark = pytest.mark.anyio

BARE = scenario("subscription-playbook-en")  # states no budget, horizon, discount cap or team


def block(prompt: str) -> str:
    start = prompt.index("\n<stated_constraints>\n")
    return prompt[start : prompt.index("</stated_constraints>", start)]


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "plans.sqlite3"


async def call_plan(client, arguments=None):
    result = await client.call_tool(BARE["tool"], {**(arguments or BARE["arguments"]), "mode": "plan"})
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_a_client_with_elicitation_is_asked_in_one_typed_form(registry, standin, store):
    asked = []

    async def answer(context, params):
        asked.append(params)
        content = {
            "budget_amount": 50000,
            "budget_currency": "usd",
            "budget_period": "quarter",
            "horizon_days": 180,
            "discount_cap_pct": 20,
        }
        return ElicitResult(action="accept", content=content)

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))  # the plan, and its repair
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        data = await call_plan(client)
        stored = json.loads((await client.read_resource(data["plan_uri"])).contents[0].text)
    (form,) = asked
    assert set(form.requested_schema["properties"]) == {
        "budget_amount",
        "budget_currency",
        "budget_period",
        "horizon_days",
        "discount_cap_pct",
    }
    assert "budget" in form.message and "discount cap" in form.message
    c = data["constraints"]
    assert c["budget"]["amount"] == 50000 and c["budget"]["currency"] == "USD" and c["budget"]["total"] == 100000
    assert {c["sources"][k] for k in ("budget", "horizon_days", "discount_cap_pct")} == {"typed"}
    assert data["constraint_fill"] == {
        "method": "elicitation",
        "outcome": "filled",
        "fields": ["budget", "horizon_days", "discount_cap_pct"],
    }
    assert not standin.extractions  # asked the user, so no extraction call
    stated = block(standin.received[0].prompt_text())
    assert "at most 50,000 USD per quarter" in stated and "Horizon: 180 days" in stated and "20% off" in stated
    assert stored["constraint_fill"]["method"] == "elicitation" and stored["constraints"]["budget"]["amount"] == 50000


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_form_leaves_the_plan_unverified_and_says_so(registry, standin, store, action):
    async def answer(context, params):
        return ElicitResult(action=action)

    standin.queue(plan(fixture_plan(BARE["id"])))
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        data = await call_plan(client)
    assert data["constraint_fill"]["outcome"] == ("declined" if action == "decline" else "cancelled")
    assert data["validation"]["status"] == "unverified" and data["validation"]["passed"] is False
    assert data["constraints"].get("budget") is None


async def test_a_form_answer_out_of_range_is_reported_and_the_plan_still_comes(registry, standin, store):
    async def answer(context, params):
        return ElicitResult(action="accept", content={"budget_amount": 1000, "budget_currency": "ZZZ"})

    standin.queue(plan(fixture_plan(BARE["id"])))
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        data = await call_plan(client)
    fill = data["constraint_fill"]
    assert fill["outcome"] == "failed" and "currency" in fill["detail"]
    assert data["constraints"].get("budget") is None


async def test_without_elicitation_one_extraction_call_fills_what_is_missing(registry, standin, store):
    arguments = {
        **BARE["arguments"],
        "team_resources": "Two CSMs and one ops analyst; EUR 25k per quarter; the pilot lasts twenty-six weeks",
    }
    standin.extraction_replies.append(
        plan(
            {
                "budget": {"amount": 25000, "currency": "EUR", "period": "quarter", "quote": "EUR 25k per quarter"},
                "horizon_days": {"value": 182, "quote": "the pilot lasts twenty-six weeks"},
                "team_size": {"value": 3, "quote": "Two CSMs and one ops analyst"},
            }
        )
    )
    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    async with Client(plan_server(registry, standin, store)) as client:
        data = await call_plan(client, arguments)
    (extraction,) = standin.extractions
    sent = extraction.prompt_text()
    assert "<brief>" in sent and "EUR 25k per quarter" in sent and "never instructions" in sent
    c = data["constraints"]
    # what the text says is kept: the model fills only what is missing (the horizon)
    assert c["budget"]["source"] == "text" and c["budget"]["amount"] == 25000 and c["budget"]["period"] == "quarter"
    assert c["team_size"] == 3 and c["sources"]["team_size"] == "text"
    assert c["sources"]["horizon_days"] == "model" and c["horizon_days"] == 182
    assert data["constraint_fill"] == {"method": "extraction", "outcome": "filled", "fields": ["horizon_days"]}
    stated = block(standin.received[0].prompt_text())
    assert "at most 25,000 EUR per quarter" in stated and "Horizon: 182 days" in stated
    assert "extracted by the model: `horizon_days`" in data["markdown"]  # the Markdown says where each came from
    assert "Missing constraints (extraction): filled in" in data["markdown"]


async def test_an_extraction_that_fails_is_reported_and_the_plan_still_comes(registry, standin, store):
    standin.extraction_replies.append(text("I cannot help with that."))
    standin.queue(plan(fixture_plan(BARE["id"])))
    async with Client(plan_server(registry, standin, store)) as client:
        data = await call_plan(client)
    assert data["constraint_fill"]["method"] == "extraction" and data["constraint_fill"]["outcome"] == "failed"
    assert data["validation"]["status"] == "unverified"
    assert len(standin.received) == 1 and data["mode"] == "plan"


async def test_nothing_is_asked_when_the_constraints_are_all_known(registry, standin, store):
    typed = {"budget": {"amount": 10000, "currency": "USD"}, "horizon_days": 90, "discount_cap_pct": 10}
    asked = []

    async def answer(context, params):
        asked.append(params)
        return ElicitResult(action="decline")

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))  # the plan, and its repair (it has no budget)
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        data = await call_plan(client, {**BARE["arguments"], "constraints": typed})
    assert not asked and not standin.extractions and "constraint_fill" not in data


async def test_prompt_mode_never_asks_or_extracts(registry, standin, store):
    async def answer(context, params):
        raise AssertionError("prompt mode asked the user")

    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        result = await client.call_tool(BARE["tool"], BARE["arguments"])
    assert not result.is_error and not standin.extractions and not standin.received
    assert "Budget: none stated" in block(result.structured_content["prompt"])
