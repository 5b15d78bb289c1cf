"""The check_plan flow on the real transports, with no model configured: render a brief, submit a plan that fails a
stated cap, submit its fix as a revision, read it as plan://, list both revisions. Through the Python SDK over stdio
and stateless streamable HTTP, and through the official TypeScript SDK (a second, independent client) over both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from retention_mcp.paths import EXAMPLES_FILE
from tests.conftest import ROOT, SCENARIOS
from tests.packaging_deps import unavailable
from tests.process.test_transports import http_server

pytestmark = pytest.mark.anyio
ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
SCENARIO = next(s for s in SCENARIOS if s["id"] == "saas-collaboration-en")
PLANS = EXAMPLES_FILE.parent / "plans"
DRAFT = (PLANS / "saas-collaboration-en.draft.json").read_text(encoding="utf-8")
FIXED = (PLANS / "saas-collaboration-en.json").read_text(encoding="utf-8")
TS_SDK = ROOT / ".tools" / "ts-client" / "node_modules"
TS_FLOW = Path(__file__).parent / "clients" / "check_flow.mjs"


async def python_flow(client: Client) -> dict:
    """The same steps as clients/check_flow.mjs, through the Python SDK."""
    out: dict = {"tools": [t.name for t in (await client.list_tools()).tools]}
    rendered = await client.call_tool(SCENARIO["tool"], SCENARIO["arguments"])
    out["rendered"] = {
        "isError": rendered.is_error,
        "prompt": rendered.structured_content["prompt"],
        "text": "\n".join(block.text for block in rendered.content if block.type == "text"),
    }
    first = await client.call_tool(
        "check_plan",
        {"template": SCENARIO["tool"], "plan": DRAFT, "arguments": json.dumps(SCENARIO["arguments"])},
    )
    out["first"] = {"isError": first.is_error, "text": first.content[0].text, "result": first.structured_content}
    plan_id = first.structured_content["plan_id"]
    second = await client.call_tool("check_plan", {"template": SCENARIO["tool"], "plan": FIXED, "plan_id": plan_id})
    out["second"] = {"isError": second.is_error, "text": second.content[0].text, "result": second.structured_content}
    read = await client.read_resource(second.structured_content["plan_uri"])
    out["read"] = json.loads(read.contents[0].text)
    out["listed"] = (await client.call_tool("list_plans", {})).structured_content
    return out


def assert_flow(out: dict) -> None:
    assert "check_plan" in out["tools"]
    rendered = out["rendered"]
    assert not rendered["isError"] and "<user_facts>" in rendered["prompt"]
    # the prompt ends with the plan's shape and how to submit the plan: what the flow below does
    assert (
        rendered["text"].startswith(rendered["prompt"]) and "check_plan" in rendered["text"][len(rendered["prompt"]) :]
    )
    first, second = out["first"], out["second"]
    assert not first["isError"] and first["result"]["validation"]["status"] == "failed"
    assert first["text"].startswith(f"Check ({first['result']['plan_id']} r1): FAILED\n- discount_cap: ")
    assert not second["isError"] and second["result"]["validation"]["status"] == "passed"
    assert second["result"]["revision"] == 2 and second["result"]["store_status"] == "saved"
    history = [(h["revision"], h["status"]) for h in second["result"]["history"]]
    assert history == [(1, "failed"), (2, "passed")]
    assert out["read"]["id"] == second["result"]["plan_id"] and out["read"]["validation"]["status"] == "passed"
    assert [(h["revision"], h["status"]) for h in out["read"]["history"]] == history
    (latest,) = out["listed"]["plans"]
    assert latest["id"] == second["result"]["plan_id"] and len(latest["history"]) == 2


async def test_python_client_over_stdio(tmp_path):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "retention_mcp", "serve", "--plan-store", str(tmp_path / "plans.sqlite3")],
        env=ENV,
    )
    async with Client(params) as client:
        assert_flow(await python_flow(client))


async def test_python_client_over_stateless_http(tmp_path):
    with http_server("--stateless", "--plan-store", str(tmp_path / "plans.sqlite3")) as base:
        async with Client(f"{base}/mcp") as client:
            assert_flow(await python_flow(client))


def typescript_flow(tmp_path: Path, *target: str) -> dict:
    node = shutil.which("node")
    if node is None or not TS_SDK.exists():
        unavailable("the TypeScript MCP SDK is not installed; run 'make packaging-deps' (it needs npm)")
    script = tmp_path / "check_flow.mjs"  # beside node_modules, where Node looks for the SDK
    shutil.copy(TS_FLOW, script)
    (tmp_path / "node_modules").symlink_to(TS_SDK, target_is_directory=True)
    proc = subprocess.run(
        [node, str(script), *target],
        input=json.dumps({"scenario": SCENARIO, "draft": DRAFT, "fixed": FIXED}),
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_typescript_client_over_stdio(tmp_path):
    store = tmp_path / "plans.sqlite3"
    assert_flow(
        typescript_flow(tmp_path, "stdio", sys.executable, "-m", "retention_mcp", "serve", "--plan-store", str(store))
    )


def test_typescript_client_over_stateless_http(tmp_path):
    with http_server("--stateless", "--plan-store", str(tmp_path / "plans.sqlite3")) as base:
        assert_flow(typescript_flow(tmp_path, "http", f"{base}/mcp"))
