"""The demo: start the server as a real stdio subprocess, connect an MCP client, render every bundled example."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from retention_mcp.paths import EXAMPLES_FILE

CHECKED_EXAMPLE = "saas-collaboration-en"  # examples/plans/ holds its draft (over the discount cap) and its fix


def _text(result: Any) -> str:
    """The first text block of a tool result."""
    return next((getattr(block, "text", "") for block in result.content if getattr(block, "text", None)), "")


def load_scenarios(path: Path = EXAMPLES_FILE) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["scenarios"]


async def run_demo(
    scenarios_file: Path = EXAMPLES_FILE,
    out_dir: Path | None = None,
    full: bool = False,
    server_args: list[str] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Returns the number of scenarios that failed to render (0 on success). Writes to `stream` (stdout)."""
    from mcp import StdioServerParameters

    stream = stream or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=stream, flush=True)

    scenarios = load_scenarios(scenarios_file)
    server_args = list(server_args or [])
    env = {k: v for k, v in os.environ.items() if k.startswith(("RETENTION_MCP_", "PYTHON"))}
    scratch = None
    if "RETENTION_MCP_PLAN_STORE" not in env and "--plan-store" not in server_args:
        import tempfile  # the demo's plans go to a store of its own, removed at the end, not to the user's

        scratch = tempfile.TemporaryDirectory(prefix="retention-mcp-demo-")
        server_args += ["--plan-store", str(Path(scratch.name) / "plans.sqlite3")]
        say(
            "Plans made by this demo go to a temporary store, removed at the end (set RETENTION_MCP_PLAN_STORE to keep)."
        )
    params = StdioServerParameters(command=sys.executable, args=["-m", "retention_mcp", "serve", *server_args], env=env)
    try:
        return await _run(params, scenarios, out_dir, full, say)
    finally:
        if scratch is not None:
            scratch.cleanup()


async def _run(params: Any, scenarios: list[dict[str, Any]], out_dir: Path | None, full: bool, say: Any) -> int:
    from mcp import Client

    say(f"Starting the server over stdio: {Path(sys.executable).name} -m retention_mcp serve")
    started = time.perf_counter()
    failures = 0
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        say(f"Connected; {len(tools)} tools listed in {time.perf_counter() - started:.2f} s\n")
        for tool in tools:
            schema = tool.input_schema or {}
            required = set(schema.get("required", []))
            names = [p + ("*" if p in required else "") for p in schema.get("properties", {})]
            say(f"  {tool.name:<22} {tool.title or ''}")
            say(f"  {'':<22} parameters: {', '.join(names)}")
        say("\n(* = required)\n")
        for index, scenario in enumerate(scenarios, 1):
            label = f"[{index}/{len(scenarios)}] {scenario['id']} -> {scenario['tool']}"
            result = await client.call_tool(scenario["tool"], scenario["arguments"])
            if result.is_error:
                failures += 1
                say(f"{label}: FAILED\n{_text(result)}")
                continue
            data = result.structured_content or {}
            say(f"{label}: {data['language']}, v{data['version']}, {len(data['prompt'])} characters")
            if full:
                say("\n" + data["prompt"] + "\n" + "-" * 80)
            else:
                facts = data["prompt"].rsplit("\n\n", 1)[-1]
                preview = "\n".join("    " + line for line in facts.splitlines()[:6])
                say(preview + "\n    ...")
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / f"{scenario['id']}.md").write_text(data["prompt"] + "\n", encoding="utf-8")
        say("\nA call with bad input gets a clear error, and the server keeps serving:")
        bad = await client.call_tool("retention_strategy", {"service_type": "SaaS", "language": "fr"})
        say("  " + _text(bad).replace("\n", "\n  "))
        again = await client.call_tool(scenarios[0]["tool"], scenarios[0]["arguments"])
        say(f"  next call on the same connection: {'ok' if not again.is_error else 'FAILED'}")
        await _analysis(client, say)
        failures += await _check_plan(client, scenarios, say)
        await _plan_mode(client, scenarios[0], say)
    total = len(scenarios)
    say(f"\nRendered {total - failures} of {total} example scenarios in {time.perf_counter() - started:.2f} s.")
    if out_dir is not None:
        say(f"Prompts written to {out_dir}/")
    return failures


async def _check_plan(client: Any, scenarios: list[dict[str, Any]], say: Any) -> int:
    """A plan written elsewhere, checked without any model: a draft over the brief's discount cap, then its fix.
    Returns 1 when the check did not run as it should."""
    scenario = next((s for s in scenarios if s["id"] == CHECKED_EXAMPLE), None)
    if scenario is None:  # a scenarios file of the user's own
        return 0
    folder = EXAMPLES_FILE.parent / "plans"
    say(f"\nChecking a plan your assistant wrote (check_plan, no model key needed): {scenario['id']}")
    plan_id = None
    for label, file in (("draft", f"{CHECKED_EXAMPLE}.draft.json"), ("fixed", f"{CHECKED_EXAMPLE}.json")):
        arguments = {"template": scenario["tool"], "plan": (folder / file).read_text(encoding="utf-8")}
        if plan_id is None:
            arguments["arguments"] = json.dumps(scenario["arguments"], ensure_ascii=False)
        else:
            arguments["plan_id"] = plan_id  # a revision: the same brief, one history
        result = await client.call_tool("check_plan", arguments)
        if result.is_error:
            say("  FAILED: " + _text(result))
            return 1
        data = result.structured_content or {}
        plan_id = data.get("plan_id") or plan_id
        say(f"  {label} ({file}): {data['validation']['status']}, revision {data.get('revision', '-')}")
        for check in data["validation"]["checks"]:
            if check.get("status") != "passed":
                say(f"    {check['name']}: {check['detail']}")
    say(f"  saved as plan://{plan_id}, with both revisions (list_plans); 'retention-mcp check' does the same")
    return 0


async def _plan_mode(client: Any, scenario: dict[str, Any], say: Any) -> None:
    """With a model configured, generate one checked plan; without, say how to turn plan mode on."""
    if not os.environ.get("RETENTION_MCP_LLM_PROVIDER"):
        say(
            "\nPlan mode (mode='plan', generate_plan, 'retention-mcp generate') has a model write the full plan and"
            "\nchecks it against the stated budget, discount cap, horizon, goals and channels. To try it, set"
            "\nRETENTION_MCP_LLM_PROVIDER, RETENTION_MCP_LLM_MODEL and RETENTION_MCP_LLM_API_KEY (see README)."
        )
        return
    say(f"\nPlan mode: {scenario['id']} -> {scenario['tool']} (model: {os.environ.get('RETENTION_MCP_LLM_MODEL')})")
    result = await client.call_tool(scenario["tool"], {**scenario["arguments"], "mode": "plan"})
    if result.is_error:
        say("  " + result.content[0].text.replace("\n", "\n  "))
        return
    data = result.structured_content or {}
    say(f"  validation: {data['validation']['status']}")
    for check in data["validation"]["checks"]:
        mark = {"passed": "ok ", "failed": "FAIL", "unverified": "????"}[check.get("status", "failed")]
        say(f"  {mark} {check['name']}: {check['detail']}")
    for item in data["validation"].get("to_fill", []):
        say(f"  to fill: {item}")
    say(f"  saved as {data.get('plan_uri', '(not kept)')}")


async def _analysis(client: Any, say: Any) -> None:
    """Analyse the bundled synthetic subscription data: the facts a grounded prompt would cite."""
    say("\nChurn analysis of the bundled data set (analyze_churn, path='subscriptions.csv'):")
    result = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts": False})
    if result.is_error:
        say("  FAILED: " + result.content[0].text)
        return
    facts = [line for line in result.content[0].text.splitlines() if line.startswith("- D")]
    for line in facts[:8]:
        say("  " + line[2:])
    say("  (pass dataset='subscriptions.csv' to churn_analysis or retention_strategy to put these facts in the prompt)")
