"""The form for missing constraints over a real stateless streamable-HTTP server on 127.0.0.1 (a subprocess), plan mode
with the stand-in model: a 2026-07-28 client receives the form and its answer fills the constraints; a handshake-era
client on the same stateless server (no channel for a request in the middle of a call) gets the model's extraction."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import ElicitResult

from tests.mcp.test_constraint_fill import BARE, block
from tests.mcp.test_plan_generation import KEY, fixture_plan
from tests.process.test_transports import ENV, http_server
from tests.standin_model import plan

pytestmark = pytest.mark.anyio


async def test_a_stateless_http_client_on_2026_07_28_receives_the_form_and_its_answer_fills_the_constraints(
    standin, tmp_path
):
    env = {
        **ENV,
        "RETENTION_MCP_LLM_PROVIDER": "openai",
        "RETENTION_MCP_LLM_BASE_URL": standin.url("openai"),
        "RETENTION_MCP_LLM_MODEL": "stand-in-1",
        "RETENTION_MCP_LLM_API_KEY": KEY,
        "RETENTION_MCP_PLAN_STORE": str(tmp_path / "plans.sqlite3"),
    }
    asked = []

    async def answer(context, params):
        asked.append(params)
        return ElicitResult(action="accept", content={"budget_amount": 9000, "budget_currency": "USD"})

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    standin.extraction_replies.append(plan({"horizon_days": {"value": 182, "quote": "the pilot lasts 26 weeks"}}))
    arguments = {**BARE["arguments"], "team_resources": "Two CSMs; the pilot lasts 26 weeks", "mode": "plan"}
    with http_server("--stateless", env=env) as base:
        async with Client(f"{base}/mcp", elicitation_callback=answer, mode="2026-07-28") as client:
            modern = await client.call_tool(BARE["tool"], arguments)
        async with Client(f"{base}/mcp", elicitation_callback=answer, mode="legacy") as client:
            legacy = await client.call_tool(BARE["tool"], arguments)
    assert not modern.is_error, modern.content[0].text
    (form,) = asked  # the 2026-07-28 client only
    assert {"budget_amount", "horizon_days", "discount_cap_pct"} <= set(form.requested_schema["properties"])
    data = modern.structured_content
    assert data["constraint_fill"] == {"method": "elicitation", "outcome": "filled", "fields": ["budget"]}
    assert data["constraints"]["budget"]["amount"] == 9000 and data["constraints"]["sources"]["budget"] == "typed"
    assert data["store_status"] == "saved" and "at most 9,000 USD in total" in block(standin.received[0].prompt_text())
    assert not legacy.is_error, legacy.content[0].text
    old = legacy.structured_content
    assert old["constraint_fill"] == {"method": "extraction", "outcome": "filled", "fields": ["horizon_days"]}
    assert len(standin.extractions) == 1
