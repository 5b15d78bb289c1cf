"""A template tool call as a ratio to an empty tool call, both through the in-memory MCP client.

The empty call goes to a bare MCPServer tool that returns a constant; the template call renders
retention_strategy with a public example (validation, the effective constraints, sandboxed rendering, structured
result). Both are timed in the same process, interleaved in rounds. Target: ratio at most 1.5.

Two template calls are timed: the same brief again (its constraint reading is kept for the last briefs read) and a
new brief every call (one word changes, so the free text is read from scratch). The client checks every result
against the tool's output schema; that share of the call is printed too, and the size of the structured result
against the text (clients that hand the structured result to their model pay for it).

    python bench/call_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import anyio
from mcp import Client
from mcp.server import MCPServer

from retention_mcp.paths import EXAMPLES_FILE
from retention_mcp.registry import Registry
from retention_mcp.server import build_server

TARGET = 1.5


def empty_server() -> MCPServer:
    """The baseline: `empty` as most tools are written (a plain function, which the SDK runs on a worker thread, so
    its time swings with how fast the machine wakes that thread), and `empty_async` for the SDK's own floor."""
    server = MCPServer("empty", log_level="WARNING")

    @server.tool()
    def empty() -> str:
        """Do nothing."""
        return "ok"

    @server.tool()
    async def empty_async() -> str:
        """Do nothing, on the event loop."""
        return "ok"

    return server


async def per_call(client: Client, name: str, args: dict, calls: int, fresh: bool = False) -> float:
    started = time.perf_counter()
    for n in range(calls):
        if fresh:  # a new brief: the reading kept for the last one does not apply
            args = {**args, "service_type": f"{args['service_type']} {_word(n)}"}
        result = await client.call_tool(name, args)
        assert not result.is_error
    return (time.perf_counter() - started) / calls


def _word(n: int) -> str:
    """A different word for every n (letters only: no number for the reader to look at)."""
    letters = ""
    while True:
        letters += "abcdefghijklmnopqrstuvwxyz"[n % 26]
        n //= 26
        if not n:
            return letters


async def schema_check_seconds(client: Client, name: str, args: dict, times: int = 200) -> float:
    """What the client's check of one result against the output schema costs (the SDK does it on every call)."""
    import jsonschema

    schema = next(t for t in (await client.list_tools()).tools if t.name == name).output_schema
    content = (await client.call_tool(name, args)).structured_content
    validator = jsonschema.Draft202012Validator(schema)
    started = time.perf_counter()
    for _ in range(times):
        assert not list(validator.iter_errors(content))
    return (time.perf_counter() - started) / times


async def result_sizes(client: Client, name: str, args: dict) -> tuple[int, int]:
    """Characters of the structured result (compact JSON) and of the text content: what a client pays that hands
    the structured result to its model, against what one that shows the text pays."""
    result = await client.call_tool(name, args)
    structured = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return len(structured), sum(len(getattr(c, "text", "")) for c in result.content)


async def main(calls: int, rounds: int) -> None:
    scenario = next(
        s for s in json.loads(EXAMPLES_FILE.read_text("utf-8"))["scenarios"] if s["id"] == "saas-collaboration-zh"
    )
    async with Client(empty_server()) as base, Client(build_server(Registry.load())) as ours:
        await per_call(base, "empty", {}, 50)  # warm-up
        await per_call(base, "empty_async", {}, 50)
        await per_call(ours, scenario["tool"], scenario["arguments"], 50)
        empty_times, async_times, template_times, fresh_times = [], [], [], []
        for _ in range(rounds):
            empty_times.append(await per_call(base, "empty", {}, calls))
            async_times.append(await per_call(base, "empty_async", {}, calls))
            template_times.append(await per_call(ours, scenario["tool"], scenario["arguments"], calls))
            fresh_times.append(await per_call(ours, scenario["tool"], scenario["arguments"], calls, fresh=True))
        check = await schema_check_seconds(ours, scenario["tool"], scenario["arguments"])
        structured, text = await result_sizes(ours, scenario["tool"], scenario["arguments"])
    empty_med, template_med = statistics.median(empty_times), statistics.median(template_times)
    async_med, fresh_med = statistics.median(async_times), statistics.median(fresh_times)
    ratio = template_med / empty_med
    print(f"tool call through the in-memory MCP client, median of {rounds} rounds x {calls} calls")
    print(f"  empty tool (bare MCPServer):         {empty_med * 1e6:8.1f} us/call")
    print(f"  empty async tool (for reference):    {async_med * 1e6:8.1f} us/call ({template_med / async_med:.2f}x)")
    print(f"  retention_strategy (zh example):     {template_med * 1e6:8.1f} us/call")
    print(f"    of which the client's output-schema check: {check * 1e6:.1f} us")
    print(f"  the same with a new brief every call: {fresh_med * 1e6:8.1f} us/call ({fresh_med / empty_med:.2f}x)")
    print(f"  structured result {structured:,} characters, text {text:,} ({structured / text:.2f}x)")
    print(f"  ratio: {ratio:.3f}x (target <= {TARGET}x) {'OK' if ratio <= TARGET else 'OVER TARGET'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    anyio.run(main, options.calls, options.rounds)
