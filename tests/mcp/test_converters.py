"""The default tool list through the schema converters that clients put between an MCP server and a model: the
OpenAI Agents SDK's strict converter, langchain-core (as langchain-mcp-adapters hands a tool over), google-genai's
MCP converter, and mcp-use's LangChain adapter. Each must keep a nested budget (amount, currency, period, min) and a
goal with their types and values; and the arguments a strict client fills in (every key present, null, "" or 0
for what the user did not state) must reach the server and read as the user meant them."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from mcp import Client

from retention_mcp.server import build_server

pytestmark = pytest.mark.anyio

PERIODS = {"total", "day", "week", "month", "quarter", "year"}


async def default_tools(registry) -> list[Any]:
    async with Client(build_server(registry)) as client:
        return (await client.list_tools()).tools


def template_tools(tools) -> list[Any]:
    return [t for t in tools if "constraints" in t.input_schema["properties"]]


# -- reading a converted JSON Schema --------------------------------------------------------------------------------
def resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """`node` with a reference followed and a nullable union unwrapped to its non-null branch."""
    while True:
        if "$ref" in node:
            target: Any = root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        branches = node.get("anyOf")
        if isinstance(branches, list):
            rest = [b for b in branches if b.get("type") != "null"]
            if len(rest) == 1:
                node = {**rest[0], **{k: v for k, v in node.items() if k != "anyOf"}}
                continue
        return node


def types_of(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    return set(kind) - {"null"} if isinstance(kind, list) else {kind}


def assert_budget_and_goal_survive(schema: dict[str, Any], converter: str) -> None:
    constraints = resolve(schema["properties"]["constraints"], schema)
    assert "object" in types_of(constraints), converter
    budget = resolve(constraints["properties"]["budget"], schema)
    fields = {name: resolve(p, schema) for name, p in budget["properties"].items()}
    assert set(fields) == {"amount", "currency", "period", "min"}, converter
    assert types_of(fields["amount"]) == {"number"} and types_of(fields["min"]) == {"number"}, converter
    assert types_of(fields["currency"]) == {"string"}, converter
    assert types_of(fields["period"]) == {"string"}, converter
    # the values, as an enum; jsonschema-pydantic (mcp-use) reads no enum: then the description names them
    period = fields["period"]
    assert set(period.get("enum") or re.findall(r"\w+", period["description"])) - {None} >= PERIODS, converter
    goal = resolve(resolve(schema["properties"]["goals"], schema)["items"], schema)
    assert {"text", "metric", "baseline", "target", "unit", "deadline_day"} <= set(goal["properties"]), converter
    assert types_of(resolve(goal["properties"]["target"], schema)) == {"number"}, converter


# -- the converters -------------------------------------------------------------------------------------------------
def openai_strict(tool) -> dict[str, Any]:
    from agents.strict_schema import ensure_strict_json_schema

    return ensure_strict_json_schema(copy.deepcopy(tool.input_schema))


def langchain(tool) -> dict[str, Any]:
    """As langchain-mcp-adapters does: a StructuredTool whose args_schema is the tool's input schema, then the
    OpenAI tool format every LangChain chat model binds."""
    from langchain_core.tools import StructuredTool
    from langchain_core.utils.function_calling import convert_to_openai_tool

    async def call(**arguments: Any) -> str:
        return ""

    lc_tool = StructuredTool(
        name=tool.name, description=tool.description or "", args_schema=copy.deepcopy(tool.input_schema), coroutine=call
    )
    return convert_to_openai_tool(lc_tool)["function"]["parameters"]


def gemini(tool) -> dict[str, Any]:
    """google-genai's own MCP converter (what `generate_content(tools=[session])` applies), back as JSON Schema."""
    from google.genai import _mcp_utils

    declaration = _mcp_utils.mcp_to_gemini_tool(tool).function_declarations[0]
    return gemini_to_json_schema(declaration.parameters.model_dump(exclude_none=True, mode="json"))


def gemini_to_json_schema(node: Any) -> Any:
    """Gemini's Schema (OBJECT, nullable, any_of) read as JSON Schema, to check with the same helper."""
    if isinstance(node, list):
        return [gemini_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type":
            out["type"] = value.lower()
        elif key == "any_of":
            out["anyOf"] = gemini_to_json_schema(value)
        elif key == "properties":
            out["properties"] = {k: gemini_to_json_schema(v) for k, v in value.items()}
        elif key != "nullable":
            out[key] = gemini_to_json_schema(value)
    return out


def fix_schema(schema: Any) -> Any:
    """mcp-use's BaseAdapter.fix_schema (mcp-use 1.7.1), which its LangChain adapter applies before building the
    argument model (mcp-use itself needs mcp<2, so it cannot be installed beside this server's mcp 2.x)."""
    if isinstance(schema, dict):
        if "type" in schema and isinstance(schema["type"], list):
            schema["anyOf"] = [{"type": t} for t in schema["type"]]
            del schema["type"]
        if "enum" in schema and "type" not in schema:
            schema["type"] = "string"
        for key, value in schema.items():
            schema[key] = fix_schema(value)
    elif isinstance(schema, list):
        return [fix_schema(item) for item in schema]
    return schema


def mcp_use_model(tool):
    """The argument model mcp-use's LangChain adapter builds for a tool: its fix_schema, then jsonschema-pydantic."""
    from jsonschema_pydantic import jsonschema_to_pydantic

    return jsonschema_to_pydantic(fix_schema(copy.deepcopy(tool.input_schema)))


def mcp_use(tool) -> dict[str, Any]:
    return mcp_use_model(tool).model_json_schema()


CONVERTERS = {
    "openai-agents strict": openai_strict,
    "langchain-core": langchain,
    "google-genai": gemini,
    "mcp-use": mcp_use,
}


@pytest.mark.parametrize("converter", list(CONVERTERS))
async def test_every_default_tool_converts_and_keeps_the_budget_and_goal(registry, converter):
    tools = await default_tools(registry)
    converted = {t.name: CONVERTERS[converter](t) for t in tools}  # none raises, none falls back
    for tool in template_tools(tools):
        assert_budget_and_goal_survive(converted[tool.name], f"{converter}: {tool.name}")


async def test_enums_are_typed_and_no_default_tool_takes_an_open_object(registry):
    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, path)
        elif isinstance(node, dict):
            if "enum" in node:
                assert node.get("type") == "string" and all(isinstance(v, str) for v in node["enum"]), path
            if "object" in types_of(node):
                assert node.get("properties") and "additionalProperties" not in node, path
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    for tool in await default_tools(registry):
        walk(tool.input_schema, tool.name)


async def test_every_argument_is_described_and_every_optional_one_nullable(registry):
    def check(node: dict[str, Any], path: str) -> None:
        required = set(node.get("required", ()))
        for name, prop in node.get("properties", {}).items():
            nullable = "null" in (prop.get("type") or []) or {"type": "null"} in prop.get("anyOf", [])
            assert nullable == (name not in required), f"{path}.{name}"
            assert prop.get("description"), f"{path}.{name}"  # every field says what it is
            inner = resolve(prop, node)
            check(inner, f"{path}.{name}")
            if "items" in inner:
                check(inner["items"], f"{path}.{name}[]")

    for tool in await default_tools(registry):
        check(tool.input_schema, tool.name)


# -- a strict client's arguments ------------------------------------------------------------------------------------
def strict_arguments(schema: dict[str, Any], given: dict[str, Any], blank: str) -> dict[str, Any]:
    """What a strict client sends: every key of the strict schema, the given values where stated, and for the rest
    null (`blank="null"`) or, as models in strict mode do when they may not leave a key out, "" or 0."""
    out: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        node = resolve(prop, schema)
        if name in given:
            value = given[name]
            if isinstance(value, dict) and "properties" in node:
                value = strict_arguments(node, value, blank)
            elif isinstance(value, list) and "properties" in resolve(node.get("items", {}), schema):
                value = [strict_arguments(resolve(node["items"], schema), v, blank) for v in value]
            out[name] = value
        elif blank == "null" or "enum" in node or "object" in types_of(node):
            out[name] = None
        else:
            kind = types_of(node)
            out[name] = "" if "string" in kind else 0 if kind & {"number", "integer"} else []
    return out


STATED = {
    "service_type": "B2B collaboration SaaS, per-seat monthly plans",
    "target_customers": "Team leads at companies of 20-200 people",
    "retention_goals": "Cut monthly churn from 4.8% to 3.2%",
    "constraints": {"budget": {"amount": 50000, "currency": "CNY", "period": "month"}, "horizon_days": 365},
    "goals": [{"text": "Cut monthly churn from 4.8% to 3.2%", "metric": "monthly churn", "target": 3.2, "unit": "%"}],
    "language": "en",
}


def read_back(result) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content["constraints"]


@pytest.mark.parametrize("blank", ["null", "empty"])
async def test_a_strict_clients_arguments_keep_a_monthly_budget_monthly(registry, blank):
    tools = {t.name: t for t in await default_tools(registry)}
    tool = tools["retention_strategy"]
    strict = strict_arguments(openai_strict(tool), STATED, blank)
    assert set(strict) == set(tool.input_schema["properties"])  # every key present
    through_mcp_use = mcp_use_model(tool).model_validate(strict).model_dump()
    async with Client(build_server(registry)) as client:
        for arguments in (strict, through_mcp_use):
            constraints = read_back(await client.call_tool("retention_strategy", arguments))
            budget = constraints["budget"]
            assert (budget["amount"], budget["currency"], budget["period"]) == (50000, "CNY", "month")
            assert budget["total"] == 600000  # twelve months of 50,000, not 50,000 in total
            assert constraints["horizon_days"] == 365 and constraints["goals"][0]["target"] == 3.2
            assert "team_size" not in constraints and "cost_cap_pct_of_revenue" not in constraints


async def test_a_strict_clients_blank_analysis_arguments_mean_not_stated(registry):
    tool = next(t for t in await default_tools(registry) if t.name == "analyze_churn")
    strict = strict_arguments(openai_strict(tool), {"path": "subscriptions.csv", "charts": False}, "empty")
    assert strict["csv"] == "" and strict["header_row"] == 0 and strict["customer_id_column"] == ""
    async with Client(build_server(registry)) as client:
        result = await client.call_tool("analyze_churn", strict)
    assert not result.is_error, result.content[0].text
    assert result.structured_content["customers"] > 0
