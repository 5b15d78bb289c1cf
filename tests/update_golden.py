"""Rewrite tests/golden/ after an intended template change: `make golden`, then review the diff."""

from __future__ import annotations

import json

from retention_mcp.app import RetentionApp
from retention_mcp.registry import Registry
from retention_mcp.settings import Limits, Settings
from tests.conftest import GOLDEN, SCENARIOS


def golden_text(result) -> str:
    """The result as a client receives it: structured content without empty values."""
    return json.dumps(result.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    """Render each scenario as a tool call does: the effective constraints and their block included."""
    app = RetentionApp(Settings(), registry=Registry.load(limits=Limits()))
    GOLDEN.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        result = app.render_blocking(app.template(scenario["tool"]), scenario["arguments"])
        path = GOLDEN / f"{scenario['id']}.json"
        path.write_text(golden_text(result), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
