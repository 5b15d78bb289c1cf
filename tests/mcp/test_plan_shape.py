"""Prompt mode ends with the plan's JSON shape and how to submit the plan to check_plan: within 4,000 characters per
template and language, in the call's language, and faithful to the plan model (a plan written from the shape alone
validates; every key of the bundled example plans is in it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from mcp import Client

from retention_mcp.generation.plans import plan_model_for
from retention_mcp.plan_shape import MAX_SHAPE_CHARS, submit_note
from tests.conftest import SCENARIOS, fixture_plan, plan_file

pytestmark = pytest.mark.anyio

TEMPLATES = ("retention_strategy", "loyalty_program", "renewal_campaign", "churn_analysis", "subscription_playbook")
FIXTURE_TEMPLATE = {s["id"]: s["tool"] for s in SCENARIOS if plan_file(s["id"])}  # every example plan
LINE = re.compile(r"^(?P<indent>(?:  )*)(?P<name>\w+)(?P<required>\*?): (?P<kind>.+?)(?: — .*)?$")


def parse(shape: str) -> dict[str, Any]:
    """The outline read back as a tree: name -> (required, kind, children)."""
    root: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [root]
    for line in shape.splitlines():
        match = LINE.match(line)
        assert match, line
        depth = len(match["indent"]) // 2
        del stack[depth + 1 :]
        children: dict[str, Any] = {}
        stack[depth][match["name"]] = (bool(match["required"]), match["kind"], children)
        stack.append(children)
    return root


def outline_of(note: str) -> str:
    lines = note.splitlines()
    return "\n".join(lines[1:-1])  # between the lead line and the submit instruction


def choices_of(path: str, root: dict[str, Any]) -> str:
    """The choices written out for the key at `path` (a later key says `one of PATH`)."""
    *parents, last = path.split(".")
    node = root
    for name in parents:
        node = node[name][2]
    kind = node[last][1]
    return kind.removeprefix("list of ")


def value_for(kind: str, children: dict[str, Any], everything: bool, root: dict[str, Any]) -> Any:
    least = re.search(r" \(≥(\d+)\)$", kind)
    kind = kind[: least.start()] if least else kind
    if kind.startswith("list of "):
        one = value_for(kind[len("list of ") :], children, everything, root)
        return [one] * (int(least[1]) if least else 1)
    if kind == "object":
        return skeleton(children, everything, root)
    if kind.startswith("one of "):
        kind = choices_of(kind[len("one of ") :], root)
    first = kind.split("|")[0]
    return {"str": "x", "int": 1, "num": 1, "bool": True}.get(first, first)


def skeleton(tree: dict[str, Any], everything: bool, root: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plan written from the shape alone: the required keys (or every key) with a value of the stated type."""
    return {
        name: value_for(kind, children, everything, root or tree)
        for name, (required, kind, children) in tree.items()
        if required or everything
    }


def missing_keys(data: Any, tree: dict[str, Any], path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, list):
        for item in data:
            found += missing_keys(item, tree, path)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key not in tree:
                found.append(path + key)
            else:
                found += missing_keys(value, tree[key][2], f"{path}{key}.")
    return found


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_a_plan_written_from_the_shape_alone_validates_against_the_plan_model(template, language):
    note = submit_note(template, language)
    assert len(note) <= MAX_SHAPE_CHARS
    tree = parse(outline_of(note))
    model = plan_model_for(template)
    for everything in (False, True):
        model.model_validate(skeleton(tree, everything))  # raises when the shape misstates a key or a type
    declared = set(model.model_fields) - {"extras"}
    assert set(tree) == declared


@pytest.mark.parametrize("fixture", sorted(FIXTURE_TEMPLATE))
def test_every_key_of_the_example_plans_is_in_the_shape(fixture):
    template = FIXTURE_TEMPLATE[fixture]
    plan = fixture_plan(fixture)
    language = "zh" if fixture.endswith("-zh") else "en"
    assert missing_keys(plan, parse(outline_of(submit_note(template, language)))) == []


async def test_prompt_mode_ends_with_the_shape_and_the_check_plan_instruction_in_the_calls_language(server):
    briefs = {
        "en": {
            "service_type": "Team chat SaaS",
            "target_customers": "Small teams",
            "retention_goals": "Churn 5% to 3%",
        },
        "zh": {"service_type": "团队协作软件", "target_customers": "中小团队", "retention_goals": "流失率从5%降到3%"},
    }
    async with Client(server) as client:
        for language, brief in briefs.items():
            result = await client.call_tool("retention_strategy", {**brief, "language": language})
            assert not result.is_error
            prompt, note = (block.text for block in result.content)  # type: ignore[union-attr]
            assert prompt == result.structured_content["prompt"]
            assert len(note) <= MAX_SHAPE_CHARS and "budget: object" in note and "  currency*: str" in note
            assert "check_plan" in note and "plan_id" in note and "schema://retention_strategy/plan" in note
            lead = "JSON object of this shape" if language == "en" else "写成一个 JSON 对象"
            assert lead in note and ("修正每一项未通过的检查" in note) == (language == "zh")
            assert ("Fix every check that fails" in note) == (language == "en")
        # prompts/get is for clients that may not call tools: the prompt alone
        got = await client.get_prompt("retention_strategy", briefs["en"])
        assert not any("check_plan" in m.content.text for m in got.messages)  # type: ignore[union-attr]


async def test_a_compact_render_ends_with_the_shape_of_the_named_template(registry):
    from retention_mcp.server import build_server

    server = build_server(registry, tools="compact")
    async with Client(server) as client:
        result = await client.call_tool(
            "render_template",
            {
                "name": "churn_analysis",
                "arguments": {"business_context": "订阅制健身房,会员 2,000 人", "data_summary": "月流失率 6%"},
            },
        )
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    note = result.content[-1].text  # type: ignore[union-attr]
    assert (
        note.startswith("如需检查并保存方案") and "churn_definition" in note and 'template 填 "churn_analysis"' in note
    )
