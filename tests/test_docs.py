"""The documentation matches the code: its example templates load, its tables list the real tools."""

from __future__ import annotations

import re

import pytest

from retention_mcp.registry import Registry
from retention_mcp.template import parse_template
from tests.conftest import ROOT, TEMPLATE_NAMES

READMES = [ROOT / "README.md", ROOT / "README.zh-CN.md"]


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_example_template_in_readme_is_valid(readme, tmp_path):
    blocks = re.findall(r"```yaml\n(---\n.*?)```", readme.read_text("utf-8"), flags=re.S)
    assert len(blocks) == 1
    file = parse_template(blocks[0], readme.name)
    (tmp_path / "example.prompty").write_text(blocks[0], encoding="utf-8")
    template = Registry.load([tmp_path], shipped=False).get(file.name)
    result = template.render({"product": "Meal kits"})
    assert "<product>\nMeal kits\n</product>" in result.prompt


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_readme_tool_table_lists_every_parameter(readme, registry):
    text = readme.read_text("utf-8")
    for name in TEMPLATE_NAMES:
        template = registry.get(name)
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |") and "language" in line)
        params = [p.strip().replace("\\*", "*") for p in row.split("|")[2].split(",")]
        expected = [s.name + ("*" if s.required else "") for s in template.inputs] + ["language", "mode"]
        assert params == expected, name


@pytest.mark.anyio
@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
async def test_readme_lists_every_tool_and_its_parameters(readme, server):
    from mcp import Client

    text = readme.read_text("utf-8")
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        rows = [line.split("|")[2] for line in text.splitlines() if line.startswith(f"| `{tool.name}` |")]
        assert rows, f"{tool.name} is missing from the tool table of {readme.name}"
        params = list(tool.input_schema.get("properties", {}))
        assert any(all(p in row for p in params) for row in rows), f"{tool.name}: {params} not all in {readme.name}"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_readme_documents_every_environment_variable(readme):
    from retention_mcp import settings

    text = readme.read_text("utf-8")
    names = [value for key, value in vars(settings).items() if key.startswith("ENV_")]
    assert len(names) >= 13
    for name in names:
        assert f"| `{name}` |" in text, f"{name} is missing from the configuration table of {readme.name}"
