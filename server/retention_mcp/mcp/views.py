"""Interactive views (MCP Apps, extension io.modelcontextprotocol/ui): a plan view for every plan result and an
analysis view for analyze_churn. Each is one self-contained HTML document under views/, read when a host asks for it
(never at start-up), with the shared bridge and style of views/common.html inlined. A tool links to its view through
`_meta.ui.resourceUri`, as the stable specification (2026-01-26) has it; the deprecated flat `_meta["ui/resourceUri"]`
is left out, so the default tool list grows by one short link per tool."""

from __future__ import annotations

import functools
from typing import Any

from mcp.server.apps import APP_MIME_TYPE, Apps, client_supports_apps
from mcp.server.mcpserver.resources import FunctionResource

from retention_mcp.paths import PACKAGE_DIR

VIEWS_DIR = PACKAGE_DIR / "views"
PLAN_VIEW = "ui://retention/plan"
ANALYSIS_VIEW = "ui://retention/analysis"
VIEWS = {
    PLAN_VIEW: ("plan.html", "Plan view · 方案视图", "Checks, constraints, budget, timeline and KPIs of a plan"),
    ANALYSIS_VIEW: ("analysis.html", "Churn analysis view · 流失分析视图", "Survival, cohorts, MRR and drivers"),
}
COMMON_MARK = "<!-- common -->"
PLAN_TOOLS = ("render_template", "generate_plan", "check_plan")  # beside every template tool


@functools.cache
def view_document(file: str) -> str:
    """The whole HTML document of a view, with the shared part inlined."""
    page = (VIEWS_DIR / file).read_text(encoding="utf-8")
    return page.replace(COMMON_MARK, (VIEWS_DIR / "common.html").read_text(encoding="utf-8"), 1)


def view_extension() -> Apps:
    """The MCP Apps extension serving both views; their HTML is read on the first resources/read."""
    apps = Apps()
    for uri, (file, title, description) in VIEWS.items():
        apps.add_resource(
            FunctionResource(
                uri=uri,
                name=file.removesuffix(".html") + "-view",
                title=title,
                description=description,
                mime_type=APP_MIME_TYPE,
                meta={"ui": {"prefersBorder": True}},
                fn=functools.partial(view_document, file),
            )
        )
    return apps


def view_of(tool: str, template_tools: list[str]) -> str | None:
    if tool == "analyze_churn":
        return ANALYSIS_VIEW
    if tool in PLAN_TOOLS or tool in template_tools:
        return PLAN_VIEW
    return None


def view_meta(tool: str, template_tools: list[str]) -> dict[str, Any] | None:
    """The `_meta` linking a tool to its view, or None for a tool without one."""
    uri = view_of(tool, template_tools)
    return {"ui": {"resourceUri": uri}} if uri else None


def shows_views(ctx: Any) -> bool:
    """Whether the client renders views (it advertised the extension with the HTML profile)."""
    if ctx is None:
        return False
    try:
        return client_supports_apps(ctx)
    except Exception:  # no request in flight (a direct call): the plain result
        return False
