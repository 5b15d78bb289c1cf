"""The plan and analysis views (MCP Apps): linked from every plan tool and analyze_churn, served as whole
self-contained HTML documents read only when asked for, and a fallback that leaves clients without the extension
exactly where they were."""

from __future__ import annotations

import json
import re

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from retention_mcp.mcp import views
from retention_mcp.server import build_server
from tests.conftest import SCENARIOS, TEMPLATE_NAMES, plan_file

pytestmark = pytest.mark.anyio
PLAN, ANALYSIS = "ui://retention/plan", "ui://retention/analysis"
SAAS_ZH = next(s for s in SCENARIOS if s["id"] == "saas-collaboration-zh")
APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
# what a view may not hold: anything fetched from elsewhere, code built from text, a webfont
FORBIDDEN = [r"<link\b", r"\bsrc\s*=", r"\bhref\s*=", r"@import", r"url\(", r"@font-face", r"\bfetch\(",
             r"XMLHttpRequest", r"WebSocket", r"\beval\(", r"new Function", r"setTimeout\(\s*['\"]", r"https://"]  # fmt: skip


def links(tool) -> str | None:
    meta = tool.meta or {}
    assert set(meta) <= {"ui"}, f"{tool.name}: {sorted(meta)}"  # the stable key only, not the deprecated flat one
    return (meta.get("ui") or {}).get("resourceUri")


async def test_the_default_tool_list_grows_by_at_most_400_characters_on_the_wire(registry):
    """What the views add to tools/list is each tool's link in `_meta`; the rest of the list is as it was."""
    async with Client(build_server(registry)) as client:
        tools = (await client.list_tools()).tools
    added = sum(len(json.dumps({"_meta": t.meta}, separators=(",", ":"))) - 2 for t in tools if t.meta)
    assert 0 < added <= 400, added


@pytest.mark.parametrize("mode", ["full", "compact", "all"])
async def test_every_plan_tool_and_analyze_churn_link_their_view(registry, mode):
    async with Client(build_server(registry, mode)) as client:
        tools = {t.name: links(t) for t in (await client.list_tools()).tools}
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
    plan_tools = [n for n in [*TEMPLATE_NAMES, "render_template", "generate_plan", "check_plan"] if n in tools]
    assert plan_tools and all(tools[n] == PLAN for n in plan_tools)
    assert tools["analyze_churn"] == ANALYSIS
    assert {n for n, uri in tools.items() if uri is None} == {"list_plans", "list_templates"} & set(tools)
    for uri in (PLAN, ANALYSIS):
        assert resources[uri].mime_type == APP_MIME_TYPE


@pytest.mark.parametrize("uri", [PLAN, ANALYSIS])
async def test_each_view_is_one_self_contained_document(registry, uri):
    async with Client(build_server(registry)) as client:
        contents = (await client.read_resource(uri)).contents
    assert len(contents) == 1 and contents[0].mime_type == APP_MIME_TYPE
    html = contents[0].text
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert len(html.encode("utf-8")) <= 200_000
    assert "ui/initialize" in html and "<!-- common -->" not in html  # the shared bridge is inlined
    for pattern in FORBIDDEN:
        assert not re.search(pattern, html), f"{uri} holds {pattern}"


async def test_start_up_reads_no_view(registry):
    views.view_document.cache_clear()
    async with Client(build_server(registry)) as client:
        await client.list_tools()
        await client.list_resources()
        assert views.view_document.cache_info().currsize == 0
        await client.read_resource(PLAN)
        assert views.view_document.cache_info().currsize == 1


async def analyses(server) -> tuple:
    results = []
    for extensions in (None, APPS):
        async with Client(server, extensions=extensions) as client:
            results.append(await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "language": "zh"}))
    return tuple(results)


async def test_analysis_sends_png_only_to_a_client_without_the_view(registry, tmp_path):
    plain, with_view = await analyses(build_server(registry, data_dirs=[tmp_path]))
    assert [c.type for c in plain.content] == ["text", "image", "image"]
    assert all(c.mime_type == "image/png" and len(c.data) > 1000 for c in plain.content[1:])
    assert [c.type for c in with_view.content] == ["text"]
    assert with_view.content[0].text == plain.content[0].text
    assert with_view.structured_content == plain.structured_content


async def test_a_checked_plan_reads_the_same_with_or_without_the_view(registry, tmp_path):
    plan = plan_file(SAAS_ZH["id"]).read_text(encoding="utf-8")
    arguments = {"template": SAAS_ZH["tool"], "plan": plan, "arguments": json.dumps(SAAS_ZH["arguments"])}
    results = []
    for extensions in (None, APPS):
        async with Client(build_server(registry), extensions=extensions) as client:
            results.append(await client.call_tool("check_plan", arguments))
    plain, with_view = results
    assert [c.type for c in plain.content] == ["text"] and plain.content == with_view.content
    assert plain.structured_content["plan"] == with_view.structured_content["plan"]
    assert plain.structured_content["validation"] == with_view.structured_content["validation"]


async def test_charts_asked_for_as_files_are_still_written_for_a_client_with_the_view(registry, tmp_path):
    async with Client(build_server(registry, data_dirs=[tmp_path]), extensions=APPS) as client:
        result = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts_dir": "charts"})
    assert not result.is_error and [c.type for c in result.content] == ["text"]
    written = sorted(p.name for p in (tmp_path / "charts").glob("*.png"))
    assert len(written) == 2 and len(result.structured_content["charts"]) == 2
