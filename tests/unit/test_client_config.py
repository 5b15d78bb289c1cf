"""`retention-mcp config CLIENT`: the entry each client needs, with the model and data folder, and no secret."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from retention_mcp import client_config as cc
from retention_mcp.cli import main
from retention_mcp.errors import UserError

SECRET = "sk-live-must-never-be-printed"


def parse(client: str, text: str) -> dict:
    """The retention-mcp entry out of the printed configuration, parsed as the client parses it."""
    if client == "codex":
        return tomllib.loads(text)["mcp_servers"]["retention-mcp"]
    config = json.loads(text)
    return (config.get("mcpServers") or config["servers"])["retention-mcp"]


@pytest.mark.parametrize("client", cc.CLIENTS)
def test_model_settings_go_into_the_env_block_with_a_key_placeholder(client, tmp_path):
    entry_text, instructions = cc.client_config(
        client,
        data_dirs=[tmp_path],
        provider="openai",
        base_url="https://api.deepseek.com/v1",
        model="deepseek-chat",
    )
    entry = parse(client, entry_text)
    env = entry["env"]
    assert env["RETENTION_MCP_LLM_PROVIDER"] == "openai"
    assert env["RETENTION_MCP_LLM_BASE_URL"] == "https://api.deepseek.com/v1"
    assert env["RETENTION_MCP_LLM_MODEL"] == "deepseek-chat"
    if client == "vscode":
        # VS Code prompts for the key itself and keeps it out of mcp.json
        assert env["RETENTION_MCP_LLM_API_KEY"] == "${input:retention-mcp-api-key}"
        (key_input,) = json.loads(entry_text)["inputs"]
        assert key_input["id"] == "retention-mcp-api-key" and key_input["password"] is True
        assert entry["type"] == "stdio"
    else:
        assert env["RETENTION_MCP_LLM_API_KEY"] == cc.API_KEY_PLACEHOLDER
        assert "Replace the RETENTION_MCP_LLM_API_KEY placeholder" in instructions
    assert entry["args"][entry["args"].index("--data-dir") + 1] == str(tmp_path.resolve())
    for system in ("macOS", "Windows", "Linux"):
        assert f"  {system}: " in instructions


def test_each_client_names_its_config_file_on_every_system():
    assert "~/Library/Application Support/Claude/claude_desktop_config.json" in cc.where_to_put_it("claude-desktop", {})
    assert "%APPDATA%\\Claude\\claude_desktop_config.json" in cc.where_to_put_it("claude-desktop", {})
    assert "%USERPROFILE%\\.cursor\\mcp.json" in cc.where_to_put_it("cursor", {})
    assert "~/.config/Code/User/mcp.json" in cc.where_to_put_it("vscode", {})
    assert "~/.codex/config.toml" in cc.where_to_put_it("codex", {})


def test_without_a_provider_there_is_no_env_block(tmp_path):
    entry = parse("claude-desktop", cc.client_config("claude-desktop")[0])
    assert "env" not in entry and entry["args"][-1] == "serve"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "qwen-plus"}, "--llm-model needs --llm-provider (openai or anthropic) / "),
        ({"base_url": "http://localhost:11434/v1"}, "--llm-base-url needs --llm-provider"),
        ({"provider": "openai"}, "--llm-provider openai needs --llm-model"),
        ({"provider": "gemini", "model": "x"}, "--llm-provider must be openai or anthropic"),
    ],
)
def test_incomplete_model_settings_are_refused_in_both_languages(options, message):
    with pytest.raises(UserError) as caught:
        cc.client_config("cursor", **options)
    assert message in str(caught.value) and " / " in str(caught.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(caught.value))


def test_data_dir_must_exist_and_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    (tmp_path / "orders.csv").write_text("id\n1\n", encoding="utf-8")
    assert cc.existing_dirs([Path("exports")]) == [tmp_path.resolve() / "exports"]
    with pytest.raises(UserError, match=r"--data-dir missing: no such folder / 文件夹不存在"):
        cc.existing_dirs([Path("missing")])
    with pytest.raises(UserError, match=r"--data-dir orders.csv: is a file, not a folder / 这是文件而不是文件夹"):
        cc.existing_dirs([Path("orders.csv")])


def test_the_command_is_this_installations_server(tmp_path):
    command, args = cc.server_command([tmp_path], "compact", [tmp_path])
    assert Path(command).is_absolute() and Path(command).exists()
    assert args[-2:] == ["--tools", "compact"] and str(tmp_path.resolve()) in args


# -- through the command line, as a user runs it ------------------------------------------------------------------
@pytest.mark.parametrize("client", cc.CLIENTS)
def test_config_command_writes_model_and_folder_and_never_the_key(client, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RETENTION_MCP_LLM_API_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    code = main(["config", client, "--data-dir", "exports", "--llm-provider", "anthropic", "--llm-model", "claude-x"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert SECRET not in out + err
    entry = parse(client, out)
    assert entry["env"]["RETENTION_MCP_LLM_PROVIDER"] == "anthropic"
    assert entry["env"]["RETENTION_MCP_LLM_MODEL"] == "claude-x"
    assert "RETENTION_MCP_LLM_BASE_URL" not in entry["env"]
    assert entry["args"][entry["args"].index("--data-dir") + 1] == str((tmp_path / "exports").resolve())
    assert "Configuration file / 配置文件位置:" in err


def test_config_command_refuses_a_missing_data_dir(tmp_path, capsys):
    missing = tmp_path / "nope"
    code = main(["config", "claude-desktop", "--data-dir", str(missing)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert f"retention-mcp: --data-dir {missing}: no such folder / 文件夹不存在" in err
    assert not missing.exists()


def test_config_command_refuses_a_model_without_provider(capsys):
    code = main(["config", "codex", "--llm-model", "deepseek-chat"])
    assert code == 2 and "--llm-model needs --llm-provider" in capsys.readouterr().err
