"""The form for missing constraints reaches the client on every protocol version (the SDK's resolver: a request in the
middle of the call on handshake-era sessions, an input-required round trip on 2026-07-28 sessions), and every answer
that plan mode cannot go on says why and what to do. Through the in-memory MCP client on both protocol versions, with
the stand-in model on 127.0.0.1."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import ElicitResult

from retention_mcp.server import build_server
from tests.mcp.test_constraint_fill import BARE, block, call_plan
from tests.mcp.test_plan_generation import fixture_plan, plan_server
from tests.standin_model import plan

pytestmark = pytest.mark.anyio

PROTOCOLS = ["legacy", "2026-07-28"]
FORM_FIELDS = {"budget_amount", "budget_currency", "budget_period", "horizon_days", "discount_cap_pct"}


@pytest.fixture
def store(tmp_path):
    return tmp_path / "plans.sqlite3"


async def test_the_form_reaches_the_client_on_both_protocol_versions_and_fills_the_constraints(
    registry, standin, store
):
    asked: list = []

    async def answer(context, params):
        asked.append(params)
        content = {"budget_amount": 40000, "budget_currency": "EUR", "budget_period": "month", "horizon_days": 120}
        return ElicitResult(action="accept", content=content)

    for mode in PROTOCOLS:
        asked.clear()
        standin.reset()
        standin.default = lambda received: plan(fixture_plan(BARE["id"]))
        async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode=mode) as client:
            assert (client.protocol_version == "2026-07-28") == (mode != "legacy")
            data = await call_plan(client)
        (form,) = asked  # asked once, though a 2026-07-28 call runs twice
        assert set(form.requested_schema["properties"]) == FORM_FIELDS
        assert "the budget" in form.message and "the discount cap" in form.message
        c = data["constraints"]
        assert c["budget"]["amount"] == 40000 and c["budget"]["currency"] == "EUR" and c["budget"]["period"] == "month"
        assert c["horizon_days"] == 120 and c["sources"]["horizon_days"] == "typed"
        fill = {"method": "elicitation", "outcome": "filled", "fields": ["budget", "horizon_days"]}
        assert data["constraint_fill"] == fill, mode
        assert not standin.extractions  # the user answered: no extraction call
        stated = block(standin.received[0].prompt_text())
        assert "at most 40,000 EUR per month" in stated and "Horizon: 120 days" in stated


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_form_declined_on_a_2026_07_28_session_leaves_the_plan_unverified(registry, standin, store, action):
    async def answer(context, params):
        return ElicitResult(action=action)

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="2026-07-28") as client:
        data = await call_plan(client)
    assert data["constraint_fill"]["outcome"] == ("declined" if action == "decline" else "cancelled")
    assert data["validation"]["status"] == "unverified" and not standin.extractions


async def test_the_compact_tools_ask_too(registry, standin, store):
    asked = []

    async def answer(context, params):
        asked.append(params)
        return ElicitResult(action="accept", content={"discount_cap_pct": 15})

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="2026-07-28") as client:
        generated = await client.call_tool("generate_plan", {"name": BARE["tool"], "arguments": BARE["arguments"]})
        prompt = await client.call_tool("render_template", {"name": BARE["tool"], "arguments": BARE["arguments"]})
    assert not generated.is_error and generated.structured_content["constraints"]["discount_cap_pct"] == 15
    assert len(asked) == 1 and not prompt.is_error  # prompt mode asks nothing


async def test_without_a_model_nothing_is_asked_and_the_answer_says_why_and_what_to_do(registry, store):
    async def answer(context, params):
        raise AssertionError("asked for constraints that no model will use")

    async def sampling(context, params):  # declared, but a 2026-07-28 connection cannot carry the request
        raise AssertionError("not reachable")

    server = build_server(registry, plan_store=store)
    async with Client(server, elicitation_callback=answer, sampling_callback=sampling, mode="2026-07-28") as client:
        result = await call_plan_raw(client)
    message, prompt, note = (b.text for b in result.content)
    assert result.is_error and "offers sampling, but this connection cannot carry it" in message
    assert "2026-07-28" in message and "legacy" in message and "check_plan" in message
    assert "RETENTION_MCP_LLM_PROVIDER" in message and "声明支持 sampling" in message
    assert "<stated_constraints>" in prompt and "check_plan" in note and "budget: object" in note


async def test_a_client_without_sampling_is_told_so(registry, store):
    async with Client(build_server(registry, plan_store=store), mode="2026-07-28") as client:
        result = await call_plan_raw(client)
    message = result.content[0].text
    assert result.is_error and "does not offer sampling" in message and "check_plan" in message
    assert "cannot carry" not in message


async def call_plan_raw(client):
    return await client.call_tool(BARE["tool"], {**BARE["arguments"], "mode": "plan"})


async def test_an_answer_that_does_not_fit_the_form_is_reported_and_the_plan_still_comes(registry, standin, store):
    answers = [  # (the answer, the field its detail names); a horizon of 0 reads as not stated
        ({"horizon_days": 0, "discount_cap_pct": 250}, "discount_cap_pct"),  # out of bounds
        ({"horizon_days": True, "budget_amount": 100}, "horizon_days"),  # a boolean for a number
    ]
    for mode in PROTOCOLS:
        for content, named in answers:

            async def answer(context, params, content=content):
                return ElicitResult(action="accept", content=content)

            standin.reset()
            standin.default = lambda received: plan(fixture_plan(BARE["id"]))
            async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode=mode) as client:
                data = await call_plan(client)
            fill = data["constraint_fill"]
            assert fill["method"] == "elicitation" and fill["outcome"] == "failed", (mode, content)
            assert named in fill["detail"] and "True" not in fill["detail"] and "250" not in fill["detail"]
            assert data["validation"]["status"] == "unverified" and data["constraints"].get("horizon_days") is None
