"""The tool surface a chat model pays for in every conversation, the SDK's public API only, and user errors that
reach the client as errors it can show (never -32603)."""

from __future__ import annotations

import json
import re

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from retention_mcp.app import RetentionApp
from retention_mcp.mcp.surface import OUTLINE_DEPTH, outline
from retention_mcp.paths import PACKAGE_DIR
from retention_mcp.registry import Registry
from retention_mcp.server import build_server
from retention_mcp.settings import Settings
from tests.conftest import TEMPLATE_NAMES, example_arguments

pytestmark = pytest.mark.anyio
# Every template tool declares the typed constraints and goals in full (each key with its type, values and a short
# description, each optional value nullable): about 2,800 characters in each of five tools, since 24,000. The rest
# is check_plan (about 700) and the other tools.
LIMIT = 25_000


def visible_size(tools) -> int:
    """What a model reads of tools/list: names, titles, descriptions and input schemas (compact JSON)."""
    return sum(
        len(t.name)
        + len(t.title or "")
        + len(t.description or "")
        + len(json.dumps(t.input_schema, ensure_ascii=False, separators=(",", ":")))
        for t in tools
    )


def enum_of(prop):
    """The values of a property, also of a nullable one (`anyOf` the values and null)."""
    return prop.get("enum") or next((b["enum"] for b in prop.get("anyOf", []) if "enum" in b), None)


async def listed(server):
    async with Client(server) as client:
        return (await client.list_tools()).tools


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_default_surface_fits_the_budget(registry, language):
    tools = await listed(build_server(registry, language=language))
    assert [t.name for t in tools] == [*TEMPLATE_NAMES, "check_plan", "list_plans", "analyze_churn"]
    size = visible_size(tools)
    assert size <= LIMIT, f"the default tools/list shows {size} characters to a model; the budget is {LIMIT}"
    text = json.dumps(
        [[t.name, t.title, t.description, t.input_schema] for t in tools], ensure_ascii=False, separators=(",", ":")
    )
    if language == "en":
        assert not re.search("[\u4e00-\u9fff]", text.replace("\u00b7", ""))  # one language
    else:
        strategy = next(t for t in tools if t.name == "retention_strategy")
        assert re.search("[\u4e00-\u9fff]", strategy.description) and "The business" not in text


async def test_default_surface_keeps_each_template_typed(registry):
    tools = {t.name: t for t in await listed(build_server(registry))}
    full = {t.name: t for t in await listed(build_server(registry, "all"))}
    for name in TEMPLATE_NAMES:
        lean, rich = tools[name].input_schema, full[name].input_schema
        assert list(lean["properties"]) == list(rich["properties"])  # the same parameters, in the same order
        assert lean["required"] == rich["required"]
        for field, prop in lean["properties"].items():
            assert enum_of(prop) == enum_of(rich["properties"][field]), field
            assert "title" not in prop and "examples" not in prop
        assert tools[name].output_schema == outline(full[name].output_schema, OUTLINE_DEPTH)
        assert " / " in rich["properties"][rich["required"][0]]["description"]  # full detail stays in `all`


async def test_annotations_hold_for_every_call(registry):
    tools = {t.name: t.annotations for t in await listed(build_server(registry, "all"))}
    for name in [*TEMPLATE_NAMES, "render_template"]:  # a render reads; mode='plan' calls a model and saves
        assert tools[name].read_only_hint is False and tools[name].open_world_hint is True
        assert tools[name].destructive_hint is False
    assert tools["generate_plan"].read_only_hint is False and tools["generate_plan"].idempotent_hint is False
    for name in ("list_templates", "list_plans"):
        assert tools[name].read_only_hint is True and tools[name].open_world_hint is False
    # charts_dir writes PNG files (replacing ones of the same name) inside a data directory
    assert tools["analyze_churn"].read_only_hint is False and tools["analyze_churn"].open_world_hint is False


async def test_language_setting_from_the_environment():
    settings = Settings.from_env({"RETENTION_MCP_LANGUAGE": "zh", "RETENTION_MCP_PLAN_STORE": "off"})
    assert settings.language == "zh" and settings.tools == "full"
    tools = await listed(build_server(RetentionApp(settings)))
    assert tools[0].title == "客户流失分析"
    with pytest.raises(ValueError, match="RETENTION_MCP_LANGUAGE must be en or zh"):
        Settings.from_env({"RETENTION_MCP_LANGUAGE": "fr"})


async def test_unknown_plan_is_invalid_params_and_the_next_call_works(registry, tmp_path):
    server = build_server(registry, plan_store=tmp_path / "plans.sqlite3")
    async with Client(server) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("plan://no-such-id")
        assert caught.value.error.code == -32602
        assert "No plan with id 'no-such-id'" in caught.value.error.message and "没有编号" in caught.value.error.message
        listing = await client.call_tool("list_plans", {})
        again = await client.call_tool("churn_analysis", example_arguments(registry, "churn_analysis"))
    assert not listing.is_error and not again.is_error


async def test_plans_not_kept_is_a_clear_error_everywhere(registry):
    server = build_server(registry, plan_store=None)
    async with Client(server) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("plan://abc")
        listing = await client.call_tool("list_plans", {})
        again = await client.read_resource("template://index")
    assert caught.value.error.code == -32602 and "RETENTION_MCP_PLAN_STORE=off" in caught.value.error.message
    assert listing.is_error and "本服务未保存方案" in listing.content[0].text
    assert json.loads(again.contents[0].text)["templates"]


async def test_prompt_and_tool_errors_are_bilingual_not_internal(registry):
    async with Client(build_server(registry)) as client:
        with pytest.raises(MCPError) as prompt_error:
            await client.get_prompt("churn_analysis", {"business_context": "x", "data_summary": "y", "language": "fr"})
        tool = await client.call_tool("churn_analysis", {"data_summary": "y", "mode": "draft", "colour": "red"})
    assert prompt_error.value.error.code == -32602 and "language: must be one of" in prompt_error.value.error.message
    text = tool.content[0].text
    assert tool.is_error and "colour: is not a parameter" in text and "business_context: is required" in text
    assert "mode: must be one of 'prompt' or 'plan'" in text and "为必填项" in text


async def test_run_keeps_the_sdk_signature(registry):
    import inspect

    from mcp.server import MCPServer

    server = build_server(registry)
    assert "run" not in type(server).__dict__  # build_server(...).run("stdio") is the SDK's own run
    assert inspect.signature(type(server).run) == inspect.signature(MCPServer.run)


# attributes of SDK objects (not our own `self._x`), and imports from the SDK's private modules
PRIVATE_MCP_NAMES = re.compile(
    r"(?<!self)\.(_tool_manager|_prompt_manager|_resource_manager|_lowlevel_server|_subscriptions|_connection"
    r"|_mcp_server|_request_context|_handle_\w+|create_initialization_options)\b|\bfn_metadata\b"
    r"|from mcp[\w.]*\._|import mcp[\w.]*\._"
)


def test_no_private_sdk_names_outside_the_shim():
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.name == "sdk_shim.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRIVATE_MCP_NAMES.search(line):
                offenders.append(f"{path.relative_to(PACKAGE_DIR)}:{number}: {line.strip()}")
    assert offenders == []
    shim = (PACKAGE_DIR / "sdk_shim.py").read_text(encoding="utf-8")
    assert "Checked against mcp 2.3.0" in shim


def test_registry_swaps_as_one_object(tmp_path):
    app = RetentionApp(Settings(template_dirs=[tmp_path], plan_store=None))
    before = app.registry
    assert isinstance(before, Registry) and app.reload() is app.registry and app.registry is not before


async def test_object_values_keep_their_size_limit_through_the_tool(tmp_path):
    from tests.conftest import write_template

    write_template(
        tmp_path,
        "facts.en.prompty",
        """
        ---
        name: facts
        description: A test template.
        metadata:
          version: 1.0.0
          locale: en
        inputs:
          - name: table
            kind: object
            required: true
            description: Some facts.
        ---
        system:
        You write short notes.

        user:
        {{ table }}
        """,
    )
    server = build_server(RetentionApp(Settings(template_dirs=[tmp_path], plan_store=None)))
    async with Client(server) as client:
        too_big = await client.call_tool("facts", {"table": {"k": "x" * 9000}})
        fine = await client.call_tool("facts", {"table": {"k": "v"}})
    assert (
        too_big.is_error
        and "table: is 9" in too_big.content[0].text
        and "characters as JSON" in too_big.content[0].text
    )
    assert not fine.is_error


async def test_analyze_tool_and_command_share_one_parameter_model(registry):
    from retention_mcp.analytics.params import CLI_FLAGS, CLI_POSITIONAL, AnalyzeParams
    from tests.unit.test_cli import run

    tools = {t.name: t for t in await listed(build_server(registry))}
    published = [name for name in AnalyzeParams.model_fields if name != "columns"]  # read as sent, never shown
    assert list(tools["analyze_churn"].input_schema["properties"]) == published
    help_text = run("analyze", "--help").stdout
    for name in AnalyzeParams.model_fields:
        if name not in CLI_POSITIONAL:
            flag = CLI_FLAGS.get(name, ("--" + name.replace("_", "-"), ""))[0]
            assert flag in help_text, name


@pytest.mark.process
def test_start_up_imports_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, anyio\n"
        "from retention_mcp.cli import build_parser\n"
        "from retention_mcp.server import build_server\n"
        "build_parser()\n"
        "server = build_server()\n"
        "anyio.run(server.list_tools)\n"
        "heavy = ('duckdb', 'numpy', 'scipy', 'matplotlib', 'pandas', 'retention_mcp.generation.backends',\n"
        "         'retention_mcp.analytics.engine', 'jinja2', 'ibis', 'sqlglot', 'pyarrow')\n"
        "print([m for m in heavy if m in sys.modules], [t.name for t in server.registry if 'parameters' in vars(t)])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[] []"  # nor did it build a parameter model: the shipped schemas/ have them


@pytest.mark.process
def test_serving_over_stdio_imports_only_what_tools_list_needs():
    """The command an MCP client launches, to the end of its input: the template engine, the other commands' flags
    (the analysis limits among them), the result models and plan generation wait for their first use."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "retention_mcp", "serve"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "retention_mcp.server" in imported and "retention_mcp.template" in imported  # it did build the server
    deferred = {
        "jinja2",
        "retention_mcp.analytics.limits",
        "retention_mcp.models",
        "retention_mcp.generation",
        "duckdb",
        "numpy",
    }
    assert sorted(deferred & imported) == []


async def test_shipped_templates_list_from_shipped_schemas_and_a_folder_of_ones_own_from_its_models(tmp_path):
    """The shipped templates' tools are listed without building their parameter models; a template of the same name
    in a folder of one's own is listed from its own model (and a call builds the model it validates with)."""
    from retention_mcp.paths import shipped_dir

    for path in shipped_dir("templates").glob("churn_analysis.*.prompty"):
        text = path.read_text(encoding="utf-8").replace("The questions to answer", "The questions a team must answer")
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    registry = Registry.load([tmp_path])
    tools = {t.name: t for t in await listed(build_server(registry))}
    assert sorted(t.name for t in registry if "parameters" in vars(t)) == ["churn_analysis"]
    described = tools["churn_analysis"].input_schema["properties"]["analysis_goals"]["description"]
    assert described.startswith("The questions a team must answer")
    shipped = {t.name: t for t in await listed(build_server(Registry.load()))}
    assert tools["retention_strategy"].input_schema == shipped["retention_strategy"].input_schema
    async with Client(build_server(registry)) as client:
        result = await client.call_tool("retention_strategy", example_arguments(registry, "retention_strategy"))
    assert not result.is_error and "parameters" in vars(registry.get("retention_strategy"))


async def test_lean_surfaces_publish_output_outlines_that_every_result_still_fits(registry, tmp_path):
    """The default surface's output schemas describe a result's fields and their fields; deeper values keep their
    type. Every result fits both the outline and the whole schema (the `all` mode, schema:// resources)."""
    import jsonschema

    from tests.conftest import SCENARIOS

    lean_tools = {t.name: t for t in await listed(build_server(registry))}
    full_tools = {t.name: t for t in await listed(build_server(registry, "all"))}
    outlined = lean_tools["retention_strategy"].output_schema
    constraints = outlined["properties"]["constraints"]
    assert constraints["properties"]["goals"] == {k: v for k, v in constraints["properties"]["goals"].items()
                                                  if k in ("type", "description", "title")}  # fmt: skip
    assert "properties" in full_tools["retention_strategy"].output_schema["properties"]["constraints"]
    for name in ("retention_strategy", "check_plan", "list_plans", "analyze_churn"):
        assert len(json.dumps(lean_tools[name].output_schema)) < len(json.dumps(full_tools[name].output_schema))
    async with Client(build_server(registry, plan_store=tmp_path / "plans.sqlite3")) as client:
        for scenario in SCENARIOS:
            result = await client.call_tool(scenario["tool"], scenario["arguments"])
            assert not result.is_error
            jsonschema.validate(result.structured_content, lean_tools[scenario["tool"]].output_schema)
            jsonschema.validate(result.structured_content, full_tools[scenario["tool"]].output_schema)
