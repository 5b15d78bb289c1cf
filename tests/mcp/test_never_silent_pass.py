"""A plan is `passed` only when what was stated was checked: a declined, cancelled or failed form, or a failed
extraction, leaves the plan unverified with what to fill in. Through the in-memory MCP client, elicitation and the
stand-in model."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ElicitResult

from tests.mcp.test_plan_generation import fixture_plan, plan_server, scenario
from tests.standin_model import plan, status

pytestmark = pytest.mark.anyio

BARE = scenario("subscription-playbook-en")  # states no budget, horizon or discount cap
# one stated rule the plan keeps, so that the plan is compared with something the user said
RULED_OUT = {**BARE["arguments"], "constraints": {"channels_excluded": ["outbound_calls"]}}


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "plans.sqlite3"


async def call(client):
    result = await client.call_tool(BARE["tool"], {**RULED_OUT, "mode": "plan"})
    assert not result.is_error, result.content[0].text
    return result.structured_content


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_or_cancelled_form_is_unverified_with_what_to_fill(registry, standin, store, action):
    async def answer(context, params):
        return ElicitResult(action=action)

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        data = await call(client)
    report = data["validation"]
    assert data["constraint_fill"]["outcome"] == ("declined" if action == "decline" else "cancelled")
    assert {c["name"]: c["status"] for c in report["checks"]}["excluded_channels"] == "passed"
    assert report["status"] == "unverified" and report["passed"] is False
    assert all(c["status"] != "failed" for c in report["checks"])
    asked = [line for line in report["to_fill"] if "asked for and not given" in line]
    assert [line.split(":")[0] for line in asked] == [
        "constraints.budget",
        "constraints.horizon_days",
        "constraints.discount_cap_pct",
    ]
    assert "Validation: unverified" in data["markdown"] and "constraints.budget" in data["markdown"]


async def test_a_form_the_client_fails_to_answer_is_unverified(registry, standin, store):
    async def answer(context, params):
        raise RuntimeError("the client crashed")

    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    async with Client(plan_server(registry, standin, store), elicitation_callback=answer, mode="legacy") as client:
        data = await call(client)
    assert data["constraint_fill"]["outcome"] == "failed"
    assert data["validation"]["status"] == "unverified" and data["validation"]["to_fill"]


async def test_a_failed_extraction_is_unverified_not_passed(registry, standin, store):
    standin.extraction_replies.append(status(400, "bad request"))
    standin.default = lambda received: plan(fixture_plan(BARE["id"]))
    async with Client(plan_server(registry, standin, store)) as client:
        data = await call(client)
    assert data["constraint_fill"]["method"] == "extraction" and data["constraint_fill"]["outcome"] == "failed"
    assert data["validation"]["status"] == "unverified"
    assert any("constraints.horizon_days" in line for line in data["validation"]["to_fill"])


async def test_a_stated_constraint_no_check_reads_leaves_the_plan_unverified(registry, standin, store, monkeypatch):
    """A kind the checks do not read (here: the team check switched off) is never passed over in silence."""
    import dataclasses

    from retention_mcp.constraints import kinds

    saas = scenario("saas-collaboration-en")  # states a team of 3; the example plan passes every check
    standin.default = lambda received: plan(fixture_plan(saas["id"]))
    without = tuple(dataclasses.replace(k, check=None) if k.field == "team_size" else k for k in kinds.KINDS)
    monkeypatch.setattr(kinds, "KINDS", without)
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool(saas["tool"], {**saas["arguments"], "mode": "plan"})
    report = result.structured_content["validation"]
    (unchecked,) = [c for c in report["checks"] if c["name"] == "stated_not_checked"]
    assert unchecked["status"] == "unverified" and "constraints.team_size" in unchecked["detail"]
    assert report["status"] == "unverified" and report["passed"] is False


async def test_the_briefs_own_figures_cited_as_data_are_no_constraint_to_pass_on(registry, standin, store):
    """A brief with nothing to check stays unverified, even when the plan cites the brief's figures as data."""
    data = fixture_plan(BARE["id"])
    data["kpis"][0].update(baseline=29, data_ref="D1")  # Basic $29/mo: a figure of the brief, not a constraint
    standin.default = lambda received: plan(data)
    async with Client(plan_server(registry, standin, store)) as client:
        result = await client.call_tool(BARE["tool"], {**BARE["arguments"], "mode": "plan"})
    report = result.structured_content["validation"]
    assert {c["name"]: c["status"] for c in report["checks"]}["data_figures_match"] == "passed"
    assert report["status"] == "unverified" and report["to_fill"]
