"""The configuration entry an MCP client needs to start this installation's server (`retention-mcp config CLIENT`).

Pure functions: they read no environment and write no file, so what they print is exactly what they were given.
The API key is never taken from the environment: the entry carries a placeholder the user fills in (VS Code asks
for it itself, through an input variable, and keeps it out of the file).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from retention_mcp.errors import UserError
from retention_mcp.settings import ENV_LLM_API_KEY, ENV_LLM_BASE_URL, ENV_LLM_MODEL, ENV_LLM_PROVIDER

CLIENTS = ("claude-desktop", "cursor", "vscode", "codex")
PROVIDERS = ("openai", "anthropic")
SERVER_NAME = "retention-mcp"
API_KEY_PLACEHOLDER = "<paste your API key here / 在此粘贴你的 API 密钥>"
VSCODE_KEY_INPUT = "retention-mcp-api-key"

# Where each client reads its MCP servers from, per operating system (checked against each client's documentation).
CONFIG_LOCATIONS: dict[str, dict[str, str]] = {
    "claude-desktop": {
        "macOS": "~/Library/Application Support/Claude/claude_desktop_config.json",
        "Windows": "%APPDATA%\\Claude\\claude_desktop_config.json",
        "Linux": "no official Claude Desktop; community builds read ~/.config/Claude/claude_desktop_config.json",
    },
    "cursor": {
        "macOS": "~/.cursor/mcp.json (all projects) or .cursor/mcp.json in a project",
        "Windows": "%USERPROFILE%\\.cursor\\mcp.json (all projects) or .cursor\\mcp.json in a project",
        "Linux": "~/.cursor/mcp.json (all projects) or .cursor/mcp.json in a project",
    },
    "vscode": {
        "macOS": "~/Library/Application Support/Code/User/mcp.json (your profile) or .vscode/mcp.json in a workspace",
        "Windows": "%APPDATA%\\Code\\User\\mcp.json (your profile) or .vscode\\mcp.json in a workspace",
        "Linux": "~/.config/Code/User/mcp.json (your profile) or .vscode/mcp.json in a workspace",
    },
    "codex": {
        "macOS": "~/.codex/config.toml (or $CODEX_HOME/config.toml)",
        "Windows": "%USERPROFILE%\\.codex\\config.toml (or %CODEX_HOME%\\config.toml)",
        "Linux": "~/.codex/config.toml (or $CODEX_HOME/config.toml)",
    },
}

HOW_TO_ADD = {
    "claude-desktop": "Add the mcpServers entry to claude_desktop_config.json (Settings > Developer > Edit Config "
    "opens it), then quit and restart Claude.",
    "cursor": "Add the mcpServers entry to mcp.json, then enable the server under Settings > MCP.",
    "vscode": "Add the servers entry (and inputs, if printed) to mcp.json, or run 'MCP: Open User Configuration'.",
    "codex": "Add the [mcp_servers.retention-mcp] tables to config.toml, then restart Codex.",
}


def existing_dirs(dirs: Sequence[Path], option: str = "--data-dir") -> list[Path]:
    """Each folder made absolute; a folder that does not exist (or is a file) is an error that names it."""
    found = []
    for directory in dirs:
        path = Path(directory).expanduser()
        if not path.exists():
            raise UserError(f"{option} {directory}: no such folder / 文件夹不存在; create it or pass an existing one")
        if not path.is_dir():
            raise UserError(f"{option} {directory}: is a file, not a folder / 这是文件而不是文件夹")
        found.append(path.resolve())
    return found


def model_env(provider: str | None, base_url: str | None, model: str | None, client: str) -> dict[str, str]:
    """The environment block for plan mode; empty without a provider. The key is a placeholder, never a value."""
    if not provider:
        given = [flag for flag, value in (("--llm-base-url", base_url), ("--llm-model", model)) if value]
        if given:
            raise UserError(
                f"{' and '.join(given)} {'need' if len(given) > 1 else 'needs'} --llm-provider (openai or anthropic) / "
                f"{' 和 '.join(given)} 需要同时指定 --llm-provider(openai 或 anthropic)"
            )
        return {}
    if provider not in PROVIDERS:
        raise UserError(
            f"--llm-provider must be openai or anthropic, not {provider!r} / --llm-provider 只能是 openai 或 anthropic"
        )
    if not model:
        raise UserError(
            f"--llm-provider {provider} needs --llm-model, e.g. --llm-model deepseek-chat / "
            f"--llm-provider {provider} 需要 --llm-model,例如 --llm-model deepseek-chat"
        )
    env = {ENV_LLM_PROVIDER: provider}
    if base_url:
        env[ENV_LLM_BASE_URL] = base_url
    env[ENV_LLM_MODEL] = model
    env[ENV_LLM_API_KEY] = f"${{input:{VSCODE_KEY_INPUT}}}" if client == "vscode" else API_KEY_PLACEHOLDER
    return env


def server_command(
    templates: Sequence[Path],
    tools: str | None,
    data_dirs: Sequence[Path] = (),
    executable: str | None = None,
) -> tuple[str, list[str]]:
    """The absolute command and arguments that start this installation's server over stdio."""
    python = Path(executable or sys.executable)
    script = python.parent / ("retention-mcp.exe" if os.name == "nt" else "retention-mcp")
    extra = [arg for d in templates for arg in ("--templates", str(Path(d).expanduser().resolve()))]
    extra += [arg for d in data_dirs for arg in ("--data-dir", str(d))]
    if tools:
        extra += ["--tools", tools]
    if script.exists():
        return str(script), ["serve", *extra]
    return str(python), ["-m", "retention_mcp", "serve", *extra]


def render_entry(client: str, command: str, args: Sequence[str], env: dict[str, str]) -> str:
    """The entry in the client's own format: JSON for Claude Desktop, Cursor and VS Code, TOML for Codex."""
    if client == "codex":
        lines = [
            f"[mcp_servers.{SERVER_NAME}]",
            f"command = {json.dumps(command)}",
            f"args = [{', '.join(json.dumps(a, ensure_ascii=False) for a in args)}]",
        ]
        if env:
            lines += ["", f"[mcp_servers.{SERVER_NAME}.env]"]
            lines += [f"{name} = {json.dumps(value, ensure_ascii=False)}" for name, value in env.items()]
        return "\n".join(lines)
    entry: dict = {"command": command, "args": list(args)}
    if env:
        entry["env"] = env
    if client == "vscode":
        config: dict = {"servers": {SERVER_NAME: {"type": "stdio", **entry}}}
        if ENV_LLM_API_KEY in env:
            config["inputs"] = [
                {
                    "type": "promptString",
                    "id": VSCODE_KEY_INPUT,
                    "description": "API key for retention-mcp plan mode / 方案模式的 API 密钥",
                    "password": True,
                }
            ]
        return json.dumps(config, indent=2, ensure_ascii=False)
    if client in ("claude-desktop", "cursor"):
        return json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2, ensure_ascii=False)
    raise UserError(f"unknown client {client!r}; choose one of {', '.join(CLIENTS)}")


def where_to_put_it(client: str, env: dict[str, str]) -> str:
    """What to do with the entry, and where the client keeps its configuration file on each system."""
    lines = [HOW_TO_ADD[client], "Configuration file / 配置文件位置:"]
    lines += [f"  {system}: {path}" for system, path in CONFIG_LOCATIONS[client].items()]
    if env.get(ENV_LLM_API_KEY) == API_KEY_PLACEHOLDER:
        lines.append(
            f"Replace the {ENV_LLM_API_KEY} placeholder with your key (remove it for a local model that needs none) / "
            f"把 {ENV_LLM_API_KEY} 的占位符换成你的密钥(本地模型无需密钥时删除该行)."
        )
    elif ENV_LLM_API_KEY in env:
        lines.append("VS Code asks for the API key when the server first starts and keeps it out of the file.")
    return "\n".join(lines)


def client_config(
    client: str,
    *,
    templates: Sequence[Path] = (),
    tools: str | None = None,
    data_dirs: Sequence[Path] = (),
    provider: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    executable: str | None = None,
) -> tuple[str, str]:
    """(the entry to paste, the instructions that go with it) for `client`."""
    if client not in CLIENTS:
        raise UserError(f"unknown client {client!r}; choose one of {', '.join(CLIENTS)}")
    folders = existing_dirs(data_dirs)
    env = model_env(provider, base_url, model, client)
    command, args = server_command(templates, tools, folders, executable)
    return render_entry(client, command, args, env), where_to_put_it(client, env)
