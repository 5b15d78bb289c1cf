"""Rewrite tests/golden/ after an intended template change: `make golden`, then review the diff."""

from __future__ import annotations

import json

from retention_mcp.registry import Registry
from retention_mcp.settings import Limits
from tests.conftest import GOLDEN, SCENARIOS


def golden_text(result) -> str:
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    registry = Registry.load(limits=Limits())
    GOLDEN.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        result = registry.get(scenario["tool"]).render(scenario["arguments"])
        path = GOLDEN / f"{scenario['id']}.json"
        path.write_text(golden_text(result), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
