"""Plan generation through the real processes: `retention-mcp generate`, `retention-mcp plans`, and plan mode on a
stdio subprocess and on an HTTP server, all talking to the stand-in model server on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.mcp.test_plan_generation import KEY, SAAS_ZH, fixture_plan, scenario
from tests.process.test_transports import http_server
from tests.standin_model import plan
from tests.unit.test_cli import ENV, run


def model_env(standin, store: Path, provider: str = "openai", **extra: str) -> dict:
    return {
        **ENV,
        "RETENTION_MCP_LLM_PROVIDER": provider,
        "RETENTION_MCP_LLM_BASE_URL": standin.url(provider),
        "RETENTION_MCP_LLM_MODEL": "stand-in-1",
        "RETENTION_MCP_LLM_API_KEY": KEY,
        "RETENTION_MCP_PLAN_STORE": str(store),
        **extra,
    }


def args_file(tmp_path: Path, example: dict) -> str:
    path = tmp_path / "args.json"
    path.write_text(json.dumps(example, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_generate_then_list_show_and_export(standin, tmp_path):
    store = tmp_path / "plans.sqlite3"
    env = model_env(standin, store, "anthropic")
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    proc = run("generate", "retention_strategy", "--args-file", args_file(tmp_path, SAAS_ZH), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# 协作SaaS 90天留存提升方案") and "> **校验结果:通过**" in proc.stdout
    assert "[1/5] 已读取资料中的约束" in proc.stderr and "[5/5] 方案已生成" in proc.stderr
    assert KEY not in proc.stdout + proc.stderr
    plan_id = proc.stderr.split("plans show ")[1].split(")")[0]

    listed = run("plans", "list", "--json", env=env)
    (summary,) = json.loads(listed.stdout)
    assert summary["id"] == plan_id and summary["passed"] is True and summary["template"] == "retention_strategy"
    shown = run("plans", "show", plan_id, "--format", "json", env=env)
    record = json.loads(shown.stdout)
    assert record["arguments"]["budget_constraints"].startswith("季度预算12万元")
    assert record["validation"]["passed"] is True and record["model"] == "stand-in-1"
    out = tmp_path / "plan.md"
    exported = run("plans", "export", plan_id, "--format", "md", "--out", str(out), env=env)
    assert exported.returncode == 0 and out.read_text(encoding="utf-8") == record["markdown"]
    missing = run("plans", "show", "nope", env=env)
    assert missing.returncode == 2 and "No plan with id 'nope'" in missing.stderr


def test_generate_json_and_failed_checks_exit_code(standin, tmp_path):
    env = model_env(standin, tmp_path / "plans.sqlite3")
    bad = fixture_plan("saas-collaboration-en")
    bad["offers"][0]["discount_pct"] = 40
    standin.queue(plan(bad), plan(bad))
    example = scenario("saas-collaboration-en")
    proc = run("generate", "retention_strategy", "--args-file", args_file(tmp_path, example), "--json", env=env)
    assert proc.returncode == 3
    data = json.loads(proc.stdout)
    assert data["validation"]["passed"] is False and data["repaired"] is True
    assert "still fails these checks: discount_cap" in proc.stderr
    failed = run("plans", "list", "--failed", env=env)
    assert data["plan_id"] in failed.stdout and "FAILED" in failed.stdout


def test_generate_without_a_model_says_what_to_set(tmp_path):
    proc = run("generate", "retention_strategy", "--args-file", args_file(tmp_path, SAAS_ZH))
    assert proc.returncode == 2
    assert "RETENTION_MCP_LLM_PROVIDER" in proc.stderr and "retention-mcp render retention_strategy" in proc.stderr
    bad_provider = run("generate", "retention_strategy", env={**ENV, "RETENTION_MCP_LLM_PROVIDER": "gemini"})
    assert bad_provider.returncode == 2 and "must be openai or anthropic" in bad_provider.stderr


def test_cli_flags_override_the_environment(standin, tmp_path):
    env = {**ENV, "RETENTION_MCP_LLM_PROVIDER": "anthropic", "RETENTION_MCP_LLM_BASE_URL": "http://127.0.0.1:9"}
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    proc = run(
        "generate",
        "retention_strategy",
        "--args-file",
        args_file(tmp_path, SAAS_ZH),
        "--llm-provider",
        "openai",
        "--llm-base-url",
        standin.openai_url,
        "--llm-model",
        "flag-model",
        "--plan-store",
        "off",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert standin.received[0].body["model"] == "flag-model" and "saved as" not in proc.stderr


@pytest.mark.anyio
@pytest.mark.process
async def test_plan_mode_over_stdio(standin, tmp_path):
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    env = model_env(standin, tmp_path / "plans.sqlite3")
    params = StdioServerParameters(command=sys.executable, args=["-m", "retention_mcp", "serve"], env=env)
    async with Client(params) as client:
        result = await client.call_tool("retention_strategy", {**SAAS_ZH["arguments"], "mode": "plan"})
        listing = await client.call_tool("list_plans", {})
        stored = await client.read_resource(result.structured_content["plan_uri"])
    assert result.structured_content["validation"]["passed"] is True
    assert listing.structured_content["plans"][0]["id"] == result.structured_content["plan_id"]
    assert json.loads(stored.contents[0].text)["markdown"] == result.structured_content["markdown"]


@pytest.mark.process  # a server process on 127.0.0.1
@pytest.mark.anyio
async def test_plan_mode_on_a_stateless_http_server(standin, tmp_path):
    example = scenario("subscription-playbook-en")
    standin.queue(plan(fixture_plan(example["id"])))
    env = model_env(standin, tmp_path / "plans.sqlite3")
    with http_server("--stateless", "--tools", "all", env=env) as base:
        async with Client(f"{base}/mcp") as client:
            result = await client.call_tool(
                "generate_plan", {"name": example["tool"], "arguments": example["arguments"]}
            )
    assert not result.is_error, result.content
    assert result.structured_content["plan"]["expansion_plays"][0]["name"] == "Seat add-on"


@pytest.mark.process  # the demo starts the server as a stdio subprocess
def test_demo_generates_a_checked_plan_when_a_model_is_configured(standin, tmp_path):
    standin.default = lambda received: plan(fixture_plan("saas-collaboration-zh"))
    proc = run("demo", env=model_env(standin, tmp_path / "plans.sqlite3"))
    assert proc.returncode == 0, proc.stderr
    assert "Plan mode: saas-collaboration-zh -> retention_strategy (model: stand-in-1)" in proc.stdout
    assert "ok  budget_within_stated" in proc.stdout and "FAIL" not in proc.stdout
    assert "saved as plan://" in proc.stdout
