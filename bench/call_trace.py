"""Which of the server's modules one template call with constraints passes through, traced with sys.setprofile.

A call is made through the in-memory MCP client (a bundled brief, prompt mode) after a warm-up call; every Python
call and return inside retention_mcp is recorded by the module it runs in. Printed: the modules entered, the stops
(each change from one module to another), and how often the call goes back to a module it has already entered. Run it before and after a change to the call path:

    python bench/call_trace.py [--template retention_strategy]
"""

from __future__ import annotations

import argparse
import json
import sys

import anyio
from mcp import Client

from retention_mcp.paths import EXAMPLES_FILE
from retention_mcp.registry import Registry
from retention_mcp.server import build_server

PACKAGE = "retention_mcp"


def trace_call(tool: str, arguments: dict) -> list[str]:
    """The module of every call and return inside the package, in order, for one tool call."""
    server = build_server(Registry.load())
    path: list[str] = []

    def profile(frame, event, _arg):
        if event in ("call", "return"):
            module = frame.f_globals.get("__name__", "")
            if module.startswith(PACKAGE + ".") and (not path or path[-1] != module):
                path.append(module)

    async def main() -> None:
        async with Client(server) as client:
            await client.call_tool(tool, arguments)  # warm: compiled patterns and imports are not the call's
            sys.setprofile(profile)
            try:
                result = await client.call_tool(tool, arguments)
            finally:
                sys.setprofile(None)
            assert not result.is_error, result

    anyio.run(main)
    return path


def main(template: str) -> None:
    scenarios = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))["scenarios"]
    scenario = next(s for s in scenarios if s["tool"] == template)
    path = trace_call(scenario["tool"], scenario["arguments"])
    short = [m.removeprefix(PACKAGE + ".") for m in path]
    seen: dict[str, int] = {}
    for module in short:
        seen[module] = seen.get(module, 0) + 1
    back = {m: n - 1 for m, n in seen.items() if n > 1}
    print(f"{scenario['id']} ({template}, prompt mode, with constraints)")
    print(f"modules entered: {len(seen)}")
    print(f"stops (changes of module): {len(short)}")
    print(f"returns to a module already entered: {sum(back.values())}")
    print("modules, in the order first entered: " + ", ".join(seen))
    busiest = sorted(back.items(), key=lambda kv: -kv[1])[:8]
    print("most returned to: " + ", ".join(f"{m} {n}" for m, n in busiest))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="retention_strategy")
    main(parser.parse_args().template)
