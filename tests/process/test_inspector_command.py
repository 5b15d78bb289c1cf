"""The README's MCP Inspector commands work as written, from the checkout after the Quickstart: the server part of
each command line is started the way the Inspector starts it (the command looked up as a shell would, from the
checkout, with a PATH that has no virtual environment on it) and sent the method the line names, over stdio. The
Inspector itself comes from npm and is not run here."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.mcp.test_docs import READMES, page_id, sh_commands
from tests.packaging_deps import unavailable

INSPECTOR = "@modelcontextprotocol/inspector"
OPTIONS_WITH_VALUE = {"--method", "--tool-name", "--tool-arg", "-e", "--cwd", "--header", "--transport", "--uri"}


def inspector_lines(page: Path) -> list[list[str]]:
    return [words for _, words in sh_commands(page) if words[:2] == ["npx", INSPECTOR]]


def parse(words: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(the server's command line, the Inspector's options) of `npx @modelcontextprotocol/inspector --cli ...`."""
    assert words[2] == "--cli", words
    server: list[str] = []
    options: dict[str, list[str]] = {}
    rest = iter(words[3:])
    for word in rest:
        if word in OPTIONS_WITH_VALUE:
            options.setdefault(word, []).append(next(rest))
        else:
            assert not options, f"the server's arguments come before the Inspector's options: {words}"
            server.append(word)
    return server, options


def fresh_shell_path() -> str:
    """PATH without any virtual environment's bin folder: a new terminal after the Quickstart."""
    venvs = {Path(sys.prefix) / "bin", ROOT / ".venv" / "bin"}
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) not in venvs)


def resolve(command: str, path: str) -> str | None:
    """What a shell (and the Inspector's spawn) runs for `command` started in the checkout."""
    if "/" in command:
        return str(ROOT / command) if (ROOT / command).exists() else None
    return shutil.which(command, path=path)


def test_the_readmes_show_inspector_commands():
    for readme in READMES:
        methods = [parse(words)[1]["--method"] for words in inspector_lines(readme)]
        assert methods == [["tools/list"], ["tools/call"]], page_id(readme)


@pytest.mark.anyio
@pytest.mark.parametrize("readme", READMES, ids=page_id)
async def test_inspector_command_lines_run_as_written(readme):
    from mcp import Client, StdioServerParameters

    path = fresh_shell_path()
    for words in inspector_lines(readme):
        server, options = parse(words)
        executable = resolve(server[0], path)
        if executable is None and server[0].startswith(".venv/") and not (ROOT / ".venv").exists():
            unavailable(f"{server[0]} is made by the Quickstart (make demo), which has not run in this checkout")
        assert executable, f"{page_id(readme)}: `{server[0]}` is not found from the checkout (spawn ENOENT)"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")} | {"PATH": path}
        params = StdioServerParameters(command=executable, args=server[1:], env=env, cwd=str(ROOT))
        async with Client(params) as client:
            (method,) = options["--method"]
            if method == "tools/list":
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert {"analyze_churn", "retention_strategy"} <= names
            else:
                assert method == "tools/call"
                (tool,) = options["--tool-name"]
                arguments = dict(arg.split("=", 1) for arg in options.get("--tool-arg", []))
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, result.content[0].text
                assert "churn" in result.content[0].text.lower()
