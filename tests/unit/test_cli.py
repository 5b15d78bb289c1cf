"""The command line as a user runs it: `main(argv)` in this process, with its own environment, working folder,
stdin, stdout and stderr (what `python -m retention_mcp ARGS` runs), and a real subprocess where the process itself
matters (a closed pipe, the demo)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from retention_mcp.cli import main
from tests.conftest import GOLDEN, MINIMAL_TEMPLATE, ROOT, SCENARIOS, TEMPLATE_NAMES, write_template

ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str, env: dict | None = None, stdin: str | None = None, cwd: Path | None = None) -> Ran:
    """`retention-mcp ARGS`, run through `main` with exactly `env` as the environment (default: without any
    RETENTION_MCP_ variable) and `cwd` as the working folder."""
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    os.environ.clear()
    os.environ.update(env or ENV)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin or ""), out, err
    try:
        if cwd is not None:
            os.chdir(cwd)
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
    return Ran(code, out.getvalue(), err.getvalue())


def test_render_with_args_prints_the_prompt():
    proc = run("render", "churn_analysis", "--arg", "business_context=SaaS {{ x }}", "--arg", "data_summary=churn 3%")
    assert proc.returncode == 0, proc.stderr
    assert "<business_context>\nSaaS {{ x }}\n</business_context>" in proc.stdout
    assert proc.stdout.startswith("You are a customer analytics lead")


def test_render_args_file_and_json_match_the_golden_file(tmp_path):
    scenario = SCENARIOS[1]
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps(scenario), encoding="utf-8")
    proc = run("render", scenario["tool"], "--args-file", str(args_file), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads((GOLDEN / f"{scenario['id']}.json").read_text("utf-8"))
    from_stdin = run(
        "render", scenario["tool"], "--args-file", "-", "--language", "en", stdin=json.dumps(scenario["arguments"])
    )
    assert from_stdin.returncode == 0 and from_stdin.stdout.startswith("You are a loyalty-program architect")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["render", "nope"], "Unknown template 'nope'. Available: churn_analysis"),
        (["render", "churn_analysis", "--arg", "business_context=x"], "data_summary: is required but missing"),
        (["render", "churn_analysis", "--arg", "oops"], "--arg takes KEY=VALUE"),
        (["render", "churn_analysis", "--args-file", "/nonexistent.json"], "cannot read it"),
        (
            ["render", "churn_analysis", "--arg", "business_context=a", "--arg", "business_context=b"],
            "--arg business_context is given 2 times; only list inputs take several values",
        ),
    ],
)
def test_render_errors_are_clear(args, fragment):
    proc = run(*args)
    assert proc.returncode == 2
    assert fragment in proc.stderr and "Traceback" not in proc.stderr


def test_render_bad_json_names_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"business_context": "x",\n  oops}')
    proc = run("render", "churn_analysis", "--args-file", str(bad))
    assert proc.returncode == 2 and "not valid JSON (line 2, column 3" in proc.stderr


def test_templates_list_show_and_check(tmp_path):
    listing = run("templates", "list", "--json")
    assert [t["name"] for t in json.loads(listing.stdout)] == TEMPLATE_NAMES
    human = run("templates", "list")
    assert "retention_strategy" in human.stdout and "service_type*" in human.stdout
    shown = run("templates", "show", "loyalty_program", "--language", "zh")
    assert shown.stdout.rstrip("\n") == (ROOT / "templates" / "loyalty_program.zh.prompty").read_text("utf-8").rstrip(
        "\n"
    )
    ok = run("templates", "check", str(ROOT / "templates"))
    assert ok.returncode == 0 and "ok:" in ok.stdout and "(10 files)" in ok.stdout
    write_template(tmp_path, "a.prompty", MINIMAL_TEMPLATE.format(name="a", title="A", version="1", locale="en"))
    write_template(
        tmp_path,
        "b.prompty",
        MINIMAL_TEMPLATE.format(name="b", title="B", version="1.0.0", locale="en").replace(
            "{{ topic }}", "{{ topik }}"
        ),
    )
    broken = run("templates", "check", str(tmp_path))
    assert broken.returncode == 1
    assert f"{tmp_path / 'a.prompty'}:6: metadata.version: must be text; put the value in quotes" in broken.stderr
    assert f"{tmp_path / 'b.prompty'}:19: 'topik' is used in the body but not declared" in broken.stderr
    assert "2 problem(s) found" in broken.stderr


def test_templates_from_environment_variable(tmp_path):
    write_template(
        tmp_path, "note.en.prompty", MINIMAL_TEMPLATE.format(name="note", title="Note", version="1.0.0", locale="en")
    )
    proc = run("render", "note", "--arg", "topic=churn", env=ENV | {"RETENTION_MCP_TEMPLATES": str(tmp_path)})
    assert proc.returncode == 0 and "<topic>\nchurn\n</topic>" in proc.stdout


def test_settings_errors_are_reported():
    proc = run("templates", "list", env=ENV | {"RETENTION_MCP_MAX_FIELD_CHARS": "lots"})
    assert proc.returncode == 2 and "RETENTION_MCP_MAX_FIELD_CHARS must be a whole number" in proc.stderr
    too_small = run("templates", "list", env=ENV | {"RETENTION_MCP_MAX_PROMPT_CHARS": "999"})
    assert (
        too_small.returncode == 2
        and "RETENTION_MCP_MAX_PROMPT_CHARS must be at least 1000, not 999" in too_small.stderr
    )


@pytest.mark.parametrize("client", ["claude-desktop", "cursor", "vscode", "codex"])
def test_config_prints_an_absolute_command(client, tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    proc = run("config", client, "--templates", str(tmp_path), "--data-dir", str(data))
    assert proc.returncode == 0
    if client == "codex":
        import tomllib

        entry = tomllib.loads(proc.stdout)["mcp_servers"]["retention-mcp"]
    else:
        parsed = json.loads(proc.stdout)
        entry = (parsed.get("mcpServers") or parsed["servers"])["retention-mcp"]
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
    assert "serve" in entry["args"] and str(tmp_path.resolve()) in entry["args"]
    assert entry["args"][entry["args"].index("--data-dir") + 1] == str(data.resolve())


@pytest.mark.process  # the demo starts the server as a stdio subprocess
def test_demo_renders_every_example(tmp_path):
    proc = run("demo", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert f"Rendered {len(SCENARIOS)} of {len(SCENARIOS)} example scenarios" in proc.stdout
    assert "next call on the same connection: ok" in proc.stdout
    # the bundled synthetic data set is analysed, and its planted plan effect shows
    assert "D3: Monthly customer churn rate (lost / active at start of month, pooled): 2.85%" in proc.stdout
    assert "annual 20.6% (lift 0.53, n=2011), monthly 50.7% (lift 1.31, n=2989)" in proc.stdout
    for scenario in SCENARIOS:
        golden = json.loads((GOLDEN / f"{scenario['id']}.json").read_text("utf-8"))
        assert (tmp_path / f"{scenario['id']}.md").read_text("utf-8") == golden["prompt"] + "\n"


def test_version_and_help():
    assert run("--version").stdout.strip().startswith("retention-mcp ")
    help_text = run("serve", "--help").stdout
    for option in ("--transport", "--templates", "--tools", "--stateless", "--token", "--allowed-host"):
        assert option in help_text


def test_every_command_says_what_it_does():
    for command in (
        ["serve"], ["render"], ["generate"], ["analyze"], ["plans"], ["plans", "list"], ["plans", "show"],
        ["plans", "export"], ["templates"], ["templates", "list"], ["templates", "show"], ["templates", "check"],
        ["config"], ["demo"], ["schemas"],
    ):  # fmt: skip
        help_text = run(*command, "--help").stdout
        description = help_text.split("\n\n")[1]
        assert description.strip() and not description.startswith(("positional", "options")), command
    serve = " ".join(run("serve", "--help").stdout.split())
    assert "full (default): one typed tool per template" in serve and "compact: list_templates" in serve
    assert "all: both sets" in serve and "--language {en,zh}" in serve
    config = " ".join(run("config", "--help").stdout.split())
    assert "put '--tools MODE' in the entry" in config


def test_schemas_commands_say_what_is_wrong(tmp_path):
    elsewhere = run("schemas", "check", cwd=tmp_path)
    assert elsewhere.returncode == 1 and "no schemas/ folder here" in elsewhere.stderr
    dash = run("schemas", "export", "-", cwd=tmp_path)
    assert dash.returncode == 2 and "give a folder" in dash.stderr and not (tmp_path / "-").exists()
    assert run("schemas", "export", "out", cwd=tmp_path).returncode == 0
    assert run("schemas", "check", "out", cwd=tmp_path).stdout.startswith("ok: out matches the models")


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_the_command_quietly(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["templates", "show", "retention_strategy"]) == 0
    assert main(["analyze", "subscriptions.csv", "--json"]) == 0


@pytest.mark.process
def test_a_closed_pipe_in_a_real_process(tmp_path):
    """`retention-mcp templates show X | head -1`: the reader is gone before the first write."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_mcp", "templates", "show", "retention_strategy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_templates_check_takes_one_file_as_publish_does(tmp_path):
    text = MINIMAL_TEMPLATE.format(name="note", title="Note", version="1.0.0", locale="en")
    good = write_template(tmp_path, "note.en.prompty", text)
    bad = write_template(tmp_path, "bad.en.prompty", text.replace("metadata:", "metadata:\n  colour: red", 1))
    assert run("templates", "check", str(good)).returncode == 0
    failed = run("templates", "check", str(bad))
    assert failed.returncode == 1 and f"{bad}:" in failed.stderr and "unknown key 'colour'" in failed.stderr
    other = tmp_path / "notes.txt"
    other.write_text("x", encoding="utf-8")
    refused = run("templates", "check", str(other))
    assert refused.returncode == 1 and "not a folder or a .prompty file / 不是文件夹或 .prompty 文件" in refused.stderr
