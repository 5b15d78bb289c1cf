"""Golden files pin the rendered output of every bundled example, as a client receives it over MCP."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from tests.conftest import GOLDEN, SCENARIOS

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
async def test_example_renders_exactly_as_pinned(server, scenario):
    golden = json.loads((GOLDEN / f"{scenario['id']}.json").read_text(encoding="utf-8"))
    async with Client(server) as client:
        result = await client.call_tool(scenario["tool"], scenario["arguments"])
    assert not result.is_error, result.content[0].text
    assert result.structured_content == golden
    assert result.content[0].text == golden["prompt"]
    assert golden["language"] == scenario["language"]


def test_every_golden_file_has_a_scenario():
    ids = {s["id"] for s in SCENARIOS}
    assert {p.stem for p in GOLDEN.glob("*.json")} == ids


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_prompt_carries_every_stated_fact(scenario):
    """Each fact reaches the prompt unchanged; every prompt demands marked assumptions, plans a constraint check."""
    golden = json.loads((GOLDEN / f"{scenario['id']}.json").read_text(encoding="utf-8"))
    for name, value in scenario["arguments"].items():
        assert f"<{name}>\n{value}\n</{name}>" in golden["prompt"]
    assumption, constraint_check = {"zh": ("【假设】", "约束核对"), "en": ("[Assumption]", "constraint check")}[
        golden["language"]
    ]
    assert assumption in golden["prompt"]
    if scenario["tool"] != "churn_analysis":
        assert constraint_check in golden["prompt"].lower()
