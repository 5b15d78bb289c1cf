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


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_every_example_states_its_constraints_in_one_block(scenario):
    """The effective constraints reach the prompt in a <stated_constraints> block, in the prompt's language, and
    the structured result carries them; nothing in a public example is left unread."""
    golden = json.loads((GOLDEN / f"{scenario['id']}.json").read_text(encoding="utf-8"))
    prompt, constraints = golden["prompt"], golden["constraints"]
    assert prompt.count("\n<stated_constraints>\n") == 1 and prompt.count("</stated_constraints>") == 1
    block = prompt[prompt.index("\n<stated_constraints>\n") : prompt.index("</stated_constraints>")]
    zh = golden["language"] == "zh"
    if scenario["tool"] == "churn_analysis":  # an analysis asks for no budget or discount cap nobody stated
        assert ("- 预算:" if zh else "- Budget: ") not in block and ("折扣上限" if zh else "Discount cap") not in block
    else:
        assert ("- 预算:" if zh else "- Budget: ") in block and ("- 折扣上限:" if zh else "- Discount cap: ") in block
    assert constraints.get("unread", []) == []
    facts = scenario.get("facts_a_good_plan_respects", {})
    if "discount_cap_pct" in facts:
        assert constraints["discount_cap_pct"] == facts["discount_cap_pct"]
        assert f"{facts['discount_cap_pct']:g}%" in block
    if "horizon_days" in facts:
        assert constraints["horizon_days"] == facts["horizon_days"] and str(facts["horizon_days"]) in block
    for goal in constraints.get("goals", []):
        assert f"{goal['id']}: {goal['text']}" in block
