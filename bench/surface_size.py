"""What a chat model reads of tools/list (names, titles, descriptions, input schemas), per tools mode and language.

Every conversation pays for this in context, beside the user's other servers. Budget for the default mode: 24,700
characters (tests/mcp/test_surface.py fails above it).

    python bench/surface_size.py
"""

from __future__ import annotations

import json

import anyio
from mcp import Client

from retention_mcp.registry import Registry
from retention_mcp.server import build_server

BUDGET = 25_000


async def size(registry: Registry, tools: str, language: str) -> tuple[int, int]:
    async with Client(build_server(registry, tools, language=language)) as client:  # type: ignore[arg-type]
        listed = (await client.list_tools()).tools
    visible = sum(
        len(t.name)
        + len(t.title or "")
        + len(t.description or "")
        + len(json.dumps(t.input_schema, ensure_ascii=False, separators=(",", ":")))
        for t in listed
    )
    return visible, len(listed)


async def main() -> None:
    registry = Registry.load()
    print("model-visible tools/list, characters (names, titles, descriptions, input schemas; compact JSON)")
    for tools in ("full", "compact", "all"):
        for language in ("en", "zh") if tools != "all" else ("en",):
            visible, count = await size(registry, tools, language)
            label = f"{tools} ({'both languages' if tools == 'all' else language})"
            note = f"  budget {BUDGET:,}" if tools == "full" else ""
            print(f"  {label:<22} {count:2d} tools {visible:7,d}{note}")


if __name__ == "__main__":
    anyio.run(main)
