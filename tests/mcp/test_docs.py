"""The documentation matches the code: the READMEs stay short and link to docs/ files that exist in both
languages, the example template loads, the tool and configuration tables list the real tools and settings, and
every `retention-mcp` command shown in a ```sh block runs."""

from __future__ import annotations

import csv
import json
import random
import re
import shlex
from datetime import date, timedelta
from pathlib import Path

import pytest

from retention_mcp.registry import Registry
from retention_mcp.template import parse_template
from tests.conftest import ROOT, SCENARIOS, TEMPLATE_NAMES

READMES = [ROOT / "README.md", ROOT / "README.zh-CN.md"]
DOCS = ROOT / "docs"
DOCS_ZH = DOCS / "zh-CN"
# Every page of the documentation, in both languages: the READMEs and docs/ (English) with docs/zh-CN/ (Chinese).
PAGES = READMES + sorted(DOCS.glob("*.md")) + sorted(DOCS_ZH.glob("*.md"))
TEMPLATE_PAGES = [DOCS / "templates.md", DOCS_ZH / "templates.md"]
TOOL_PAGES = [DOCS / "tools.md", DOCS_ZH / "tools.md"]
CONFIG_PAGES = [DOCS / "configuration.md", DOCS_ZH / "configuration.md"]


def page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_docs_exist_in_both_languages():
    english = {p.name for p in DOCS.glob("*.md")}
    assert english >= {"tools.md", "plan-mode.md", "analytics.md", "team-server.md", "configuration.md"}
    assert english == {p.name for p in DOCS_ZH.glob("*.md")}


@pytest.mark.parametrize("readme", READMES, ids=page_id)
def test_readme_is_short_and_links_every_doc(readme):
    text = readme.read_text("utf-8")
    assert len(text.splitlines()) < 150
    folder = DOCS if readme.name == "README.md" else DOCS_ZH
    for doc in folder.glob("*.md"):
        assert f"]({doc.relative_to(ROOT).as_posix()})" in text, f"{readme.name} does not link {doc.name}"
    for quickstart in ("make demo", "make test"):
        assert quickstart in text


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_lead_to_files_that_exist(page):
    text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page_id(page)} links {target}, which does not exist"


@pytest.mark.parametrize("page", TEMPLATE_PAGES, ids=page_id)
def test_example_template_in_docs_is_valid(page, tmp_path):
    blocks = re.findall(r"```yaml\n(---\n.*?)```", page.read_text("utf-8"), flags=re.S)
    assert len(blocks) == 1
    file = parse_template(blocks[0], page.name)
    (tmp_path / "example.prompty").write_text(blocks[0], encoding="utf-8")
    template = Registry.load([tmp_path], shipped=False).get(file.name)
    result = template.render({"product": "Meal kits"})
    assert "<product>\nMeal kits\n</product>" in result.prompt


@pytest.mark.parametrize("page", TOOL_PAGES, ids=page_id)
def test_tool_table_lists_every_parameter(page, registry):
    text = page.read_text("utf-8")
    for name in TEMPLATE_NAMES:
        template = registry.get(name)
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |") and "language" in line)
        params = [p.strip().replace("\\*", "*") for p in row.split("|")[2].split(",")]
        expected = [s.name + ("*" if s.required else "") for s in template.inputs]
        expected += ["constraints", "goals", "language", "mode"]
        assert params == expected, name


@pytest.mark.anyio
@pytest.mark.parametrize("page", TOOL_PAGES, ids=page_id)
async def test_tool_table_lists_every_tool_and_its_parameters(page, server):
    from mcp import Client

    text = page.read_text("utf-8")
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        rows = [line.split("|")[2] for line in text.splitlines() if line.startswith(f"| `{tool.name}` |")]
        assert rows, f"{tool.name} is missing from the tool table of {page_id(page)}"
        params = list(tool.input_schema.get("properties", {}))
        assert any(all(p in row for p in params) for row in rows), f"{tool.name}: {params} not all in {page_id(page)}"


def environment_names() -> list[str]:
    from retention_mcp import settings

    return [value for key, value in vars(settings).items() if key.startswith("ENV_")]


@pytest.mark.parametrize("page", CONFIG_PAGES, ids=page_id)
def test_configuration_table_documents_every_environment_variable(page):
    text = page.read_text("utf-8")
    names = environment_names()
    assert len(names) >= 13
    for name in names:
        assert f"| `{name}` |" in text, f"{name} is missing from the configuration table of {page_id(page)}"


# --- every command shown in a ```sh block --------------------------------------------------------------------

# Commands the docs show that a test cannot run here, each with the reason. Anything else must be a
# `retention-mcp` command (which runs), or the test fails: a new kind of command needs a decision here.
NOT_RUN = {
    ("make", "test"): "runs lint and this very suite; .ci/run runs it on every change",
    ("uvx",): "fetches the package from a git repository over the network",
    ("pipx",): "installs from a git repository over the network",
    ("npx",): "fetches the MCP Inspector from npm; the server part of each line runs in test_inspector_command.py",
    ("docker",): "no container engine on the test machines (deploy/ scripts are tested instead)",
    ("tail",): "follows a desktop client's log file on the user's machine",
}
# Commands that would not return (a server) are parsed by the real parser and get `--help` run instead.
BLOCKING = {"serve"}


def sh_commands(page: Path) -> list[tuple[dict[str, str], list[str]]]:
    """Each command of the page's ```sh blocks as (environment it sets, words), `export` lines included."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", page.read_text("utf-8"), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            env: dict[str, str] = {}
            if words[0] == "export":
                words = words[1:]
            while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", words[0]):
                name, value = words.pop(0).split("=", 1)
                env[name] = value
            commands.append((env, words))
    return commands


def pages_with_commands() -> list[Path]:
    return [page for page in PAGES if any(words and "retention-mcp" in words[0] for _, words in sh_commands(page))]


def test_commands_are_found():
    found = {page_id(page) for page in pages_with_commands()}
    assert {"README.md", "README.zh-CN.md", "docs/analytics.md", "docs/zh-CN/plan-mode.md"} <= found


def write_files(folder: Path) -> None:
    """The files the docs' commands name, made here: facts for `generate`, a plan for `check`, and customer exports
    in each format."""
    import duckdb
    from openpyxl import Workbook

    from retention_mcp.paths import EXAMPLES_FILE
    from tests.mcp.test_plan_generation import SAAS_ZH

    (folder / "facts.json").write_text(json.dumps(SAAS_ZH["arguments"], ensure_ascii=False), encoding="utf-8")
    (folder / "plan.json").write_bytes((EXAMPLES_FILE.parent / "plans" / "saas-collaboration-en.json").read_bytes())
    sample = EXAMPLES_FILE.parent / "subscriptions.csv"
    (folder / "exports").mkdir()
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (cancel_date), cancel_date AS cancelled_on FROM read_csv('{sample}')) "
        f"TO '{folder / 'exports' / 'customers.parquet'}' (FORMAT parquet)"
    )
    # Yearly contracts: customers who leave do so on an anniversary of their start.
    rng = random.Random(7)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["customer_id", "start_date", "end_date", "plan"])
    for i in range(300):
        start = date(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))
        years = next(y for y in range(1, 20) if rng.random() < 0.3 or y == 19)
        end = date(start.year + years, start.month, min(start.day, 28))
        sheet.append([f"K{i:04d}", start, end if end <= date(2025, 12, 31) else None, rng.choice(["basic", "pro"])])
    workbook.save(folder / "contracts.xlsx")
    # Orders: repeat buyers who stop at some point.
    with (folder / "orders.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["customer_id", "order_date", "amount"])
        for i in range(400):
            day = date(2025, 1, 1) + timedelta(days=rng.randrange(120))
            while day <= date(2025, 12, 31):
                writer.writerow([f"U{i:04d}", day.isoformat(), round(rng.uniform(10, 90), 2)])
                if rng.random() < 0.25:
                    break
                day += timedelta(days=1 + int(rng.expovariate(1 / 30)))


# `retention-mcp demo` as written (no options) reads no file of the folder, writes none and sees no setting but the
# environment's: the same command with the same settings gives the same result on every page, so it runs once per
# process; the pages run in one process (one xdist group) so the pages after the first reuse it.
RAN_ONCE: dict[tuple, object] = {}
STATELESS = (["demo"],)


def runs_the_demo(page: Path) -> bool:
    """Whether a page's commands include the demo, which starts the server as a stdio subprocess (process tier)."""
    return any("demo" in words[:2] for _, words in sh_commands(page))


@pytest.mark.xdist_group("docs-commands")
@pytest.mark.parametrize(
    "page",
    [pytest.param(p, marks=pytest.mark.process) if runs_the_demo(p) else p for p in pages_with_commands()],
    ids=page_id,
)
def test_every_command_in_the_docs_runs(page, tmp_path, standin):
    """Runs each command of the page in order, in a fresh folder, through `retention-mcp`'s `main(argv)`: the
    model settings point at the stand-in model, plans go to a fresh store, `~` is a fresh home folder."""
    from retention_mcp.cli import build_parser
    from tests.mcp.test_plan_generation import KEY, fixture_plan
    from tests.standin_model import plan
    from tests.unit.test_cli import ENV, run

    standin.default = lambda received: plan(fixture_plan("saas-collaboration-zh"))
    home = tmp_path / "home"
    (home / "exports").mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    write_files(work)
    known = set(environment_names())
    exported: dict[str, str] = {}
    ran = 0
    for env, words in sh_commands(page):
        assert set(env) <= known, f"{page_id(page)}: unknown environment variables {set(env) - known}"
        if not words:  # an `export` line: it holds for the commands after it
            exported.update(env)
            continue
        if not words[0].endswith("retention-mcp"):
            makefile = (ROOT / "Makefile").read_text("utf-8")
            if words[:2] == ["make", "demo"]:  # the Quickstart's first command: what it runs, runs here
                assert "\t$(BIN)/retention-mcp demo\n" in makefile
                words = ["retention-mcp", "demo"]
            elif words[:2] == ["make", "test"]:  # it still does what the Quickstart says (lint, types, the suite)
                recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
                assert all(step in recipe for step in ("ruff check", "mypy", "-m pytest")), recipe
                continue
            else:
                assert any(tuple(words[: len(key)]) == key for key in NOT_RUN), f"{page_id(page)}: {words}"
                continue
        assert words[0] in ("retention-mcp", ".venv/bin/retention-mcp"), words[0]
        argv = [str(home / w[2:]) if w.startswith("~/") else w for w in words[1:]]
        assert not any("<" in w for w in argv), f"unfilled placeholder in {words}"
        settings = {**exported, **env}
        provider = settings.get("RETENTION_MCP_LLM_PROVIDER", "openai")
        if "RETENTION_MCP_LLM_PROVIDER" in settings:
            settings |= {"RETENTION_MCP_LLM_BASE_URL": standin.url(provider), "RETENTION_MCP_LLM_API_KEY": KEY}
        settings["RETENTION_MCP_PLAN_STORE"] = str(tmp_path / "plans.sqlite3")
        if argv and argv[0] in BLOCKING:
            build_parser().parse_args(argv)  # the options and values as shown are accepted
            argv = [argv[0], "--help"]
        if argv in STATELESS:
            key = (tuple(argv), tuple(sorted((k, v) for k, v in settings.items() if k != "RETENTION_MCP_PLAN_STORE")))
            if key not in RAN_ONCE:
                RAN_ONCE[key] = run(*argv, env={**ENV, "HOME": str(home), **settings}, cwd=work)
            proc = RAN_ONCE[key]
        else:
            proc = run(*argv, env={**ENV, "HOME": str(home), **settings}, cwd=work)
        assert proc.returncode == 0, f"{page_id(page)}: retention-mcp {' '.join(argv)}\n{proc.stderr[-2000:]}"
        assert proc.stdout.strip(), f"{page_id(page)}: retention-mcp {' '.join(argv)} printed nothing"
        ran += 1
    assert ran


@pytest.mark.anyio
@pytest.mark.parametrize("page", READMES + TOOL_PAGES, ids=page_id)
async def test_tools_mode_sizes_are_the_measured_ones(page, registry):
    """The tools-mode table states what bench/surface_size.py measures: tool counts and model-visible characters."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("surface_size", ROOT / "bench" / "surface_size.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    text = page.read_text("utf-8")
    for mode, languages in (("full", ("en", "zh")), ("compact", ("en", "zh")), ("all", ("en",))):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{mode}`"))
        measured = [await bench.size(registry, mode, language) for language in languages]
        stated = [int(n.replace(",", "")) for n in re.findall(r"\b\d{1,3},\d{3}\b", row)]
        assert stated == [visible for visible, _ in measured], f"{page_id(page)}, {mode}: measured {measured}"
        counts = re.findall(r"[((](\d+)(?: 个)?[))]", row)
        if counts:  # the READMEs give the number of tools too
            assert [int(c) for c in counts] == [measured[0][1]], f"{page_id(page)}, {mode}: {counts}"


@pytest.mark.anyio
@pytest.mark.parametrize("readme", READMES, ids=page_id)
async def test_example_conversation_shows_what_the_tool_returns(readme, server, tmp_path):
    """The README's example conversation quotes lines of the real `analyze_churn` summary, and says so, then the
    first lines of what `check_plan` answers for the bundled draft plan."""
    from mcp import Client

    from retention_mcp.paths import EXAMPLES_FILE
    from retention_mcp.server import build_server

    text = readme.read_text("utf-8")
    call = re.search(r"`analyze_churn`[^{]*(\{.*?\})", text)
    assert call, f"{readme.name}: no analyze_churn call in the example"
    arguments = json.loads(call.group(1))
    quoted, checked = re.findall(r"```text\n(.*?)```", text, flags=re.S)
    example = "saas-collaboration-zh" if readme.name == "README.zh-CN.md" else "saas-collaboration-en"
    scenario = next(s for s in SCENARIOS if s["id"] == example)
    draft = EXAMPLES_FILE.parent / "plans" / f"{example}.draft.json"
    async with Client(build_server(server.app.registry, plan_store=tmp_path / "plans.sqlite3")) as client:
        result = await client.call_tool("analyze_churn", arguments)
        check = await client.call_tool(
            "check_plan",
            {
                "template": scenario["tool"],
                "plan": draft.read_text("utf-8"),
                "arguments": json.dumps(scenario["arguments"]),
            },
        )
    # the second block is what check_plan answers for the bundled draft, first lines, with the id it was given
    plan_id = check.structured_content["plan_id"]
    quoted_id = re.search(r"\(([0-9a-f]{12}) r1\)", checked).group(1)
    assert check.content[0].text.replace(plan_id, quoted_id).startswith(checked.strip() + "\n\n"), readme.name
    assert not result.is_error
    summary = next(block.text for block in result.content if block.type == "text").splitlines()
    assert [block.type for block in result.content].count("image") == 2  # "two charts"
    for line in quoted.strip().splitlines():
        assert line in summary, f"{readme.name}: {line!r} is not in the tool's output"
