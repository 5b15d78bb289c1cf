"""MCP prompts and resources, from the same template objects as the tools."""

from __future__ import annotations

import json
import re

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from retention_mcp.models import PlanResult
from tests.conftest import ROOT, TEMPLATE_NAMES, example_arguments

pytestmark = pytest.mark.anyio


async def test_one_prompt_per_template_with_the_same_arguments(server, registry):
    async with Client(server) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert list(prompts) == TEMPLATE_NAMES
    for name in TEMPLATE_NAMES:
        template = registry.get(name)
        args = prompts[name].arguments
        assert [a.name for a in args] == [s.name for s in template.inputs] + ["constraints", "goals", "language"]
        assert [a.name for a in args if a.required] == [s.name for s in template.inputs if s.required]
        assert all(a.description for a in args)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
async def test_prompt_renders_the_same_text_as_the_tool(server, registry, name):
    args = example_arguments(registry, name, "zh")
    async with Client(server) as client:
        prompt = await client.get_prompt(name, args)
        tool = await client.call_tool(name, args)
    assert [m.role for m in prompt.messages] == ["user", "user"]  # MCP prompts carry no system role
    assert "\n\n".join(m.content.text for m in prompt.messages) == tool.structured_content["prompt"]


async def test_prompt_language_argument_and_errors(server, registry):
    args = example_arguments(registry, "churn_analysis", "zh")
    async with Client(server) as client:
        english = await client.get_prompt("churn_analysis", args | {"language": "en"})
        assert english.messages[0].content.text.startswith("You are a customer analytics lead")
        with pytest.raises(MCPError, match="missing required arguments: data_summary"):
            await client.get_prompt("churn_analysis", {"business_context": "SaaS"})
        with pytest.raises(MCPError, match="language: must be one of"):
            await client.get_prompt("churn_analysis", args | {"language": "fr"})
        with pytest.raises(MCPError, match=re.escape("Unknown template 'nope'. Available: churn_analysis")):
            await client.get_prompt("nope", {})
        again = await client.get_prompt("churn_analysis", args)
    assert len(again.messages) == 2


async def test_resources_list_sources_schemas_and_index(server):
    async with Client(server) as client:
        uris = [str(r.uri) for r in (await client.list_resources()).resources]
    expected = {"template://index", "ui://retention/plan", "ui://retention/analysis"}  # and the two views
    for name in TEMPLATE_NAMES:
        expected |= {
            f"template://{name}/en",
            f"template://{name}/zh",
            f"schema://{name}/input",
            f"schema://{name}/output",
            f"schema://{name}/plan",
        }
    assert set(uris) == expected


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
async def test_template_source_and_schema_resources(server, registry, name):
    async with Client(server) as client:
        for language in ("en", "zh"):
            source = await client.read_resource(f"template://{name}/{language}")
            assert source.contents[0].text == (ROOT / "templates" / f"{name}.{language}.prompty").read_text("utf-8")
        input_schema = await client.read_resource(f"schema://{name}/input")
        output_schema = await client.read_resource(f"schema://{name}/output")
        plan_schema = await client.read_resource(f"schema://{name}/plan")
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert json.loads(input_schema.contents[0].text) == registry.get(name).parameters.model_json_schema()
    assert json.loads(input_schema.contents[0].text) == json.loads(
        (ROOT / "schemas" / f"{name}.input.json").read_text()
    )
    assert json.loads(output_schema.contents[0].text) == PlanResult.model_json_schema()
    assert input_schema.contents[0].mime_type == "application/schema+json"
    # the tool takes the template's arguments plus `mode`
    tool_properties = set(tools[name].input_schema["properties"])
    assert set(json.loads(input_schema.contents[0].text)["properties"]) | {"mode"} == tool_properties
    assert json.loads(plan_schema.contents[0].text) == json.loads((ROOT / "schemas" / f"{name}.plan.json").read_text())


async def test_index_resource_lists_every_template(server):
    async with Client(server) as client:
        index = await client.read_resource("template://index")
        with pytest.raises(MCPError):
            await client.read_resource("template://nope/en")
    data = json.loads(index.contents[0].text)
    assert [t["name"] for t in data["templates"]] == TEMPLATE_NAMES
