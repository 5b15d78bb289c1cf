"""The constraint kinds live in one package: each kind's field is spelled in few modules outside it, every kind
declares what the block, the checks and the Markdown need, rendering a prompt loads no plan-generation module, and
periods and per-customer words are spelled in the lexicon only."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from retention_mcp.constraints.kinds import kinds
from retention_mcp.constraints.record import Constraints
from retention_mcp.constraints.typed import ConstraintsInput
from retention_mcp.models import EffectiveConstraints

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "server" / "retention_mcp"
PACKAGE = SERVER / "constraints"
MAX_MODULES_OUTSIDE = 3


def _words_in_code(path: Path) -> set[str]:
    """Identifiers and string constants of a module (comments and docstrings are prose, not spellings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(re.findall(r"[a-z_]+", node.value))
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
    return found


def test_a_kinds_field_is_spelled_in_at_most_three_modules_outside_the_package():
    outside = [p for p in SERVER.rglob("*.py") if PACKAGE not in p.parents]
    words = {p: _words_in_code(p) for p in outside}
    # start_date is also a column role of the analytics (the data's start dates), a different thing
    fields = [k.field for k in kinds() if k.field not in ("budget", "goals", "start_date")] + ["budget_period"]
    spread = {f: sorted(str(p.relative_to(SERVER)) for p, w in words.items() if f in w) for f in fields}
    too_wide = {f: where for f, where in spread.items() if len(where) > MAX_MODULES_OUTSIDE}
    assert not too_wide, too_wide
    assert spread["horizon_days"], "the scan must see the field where it is declared (models.py)"


def test_every_kind_is_a_field_of_the_reader_the_result_and_the_typed_parameter():
    record = {f.name for f in dataclasses.fields(Constraints)}
    effective = set(EffectiveConstraints.model_fields)
    typed = set(ConstraintsInput.model_fields)
    for k in kinds():
        assert k.field in record and k.field in effective, k.field
        assert k.field in typed or k.field == "goals", k.field  # goals are a parameter of their own
        if k.checks:
            assert k.label is not None and k.row is not None, k.field  # a checked kind has a row in the table
    names = [k.field for k in kinds()]
    assert len(names) == len(set(names))


def test_check_names_belong_to_one_kind_except_the_budget_present_check():
    owners: dict[str, list[str]] = {}
    for k in kinds():
        for name in k.checks:
            owners.setdefault(name, []).append(k.field)
    shared = {name: fields for name, fields in owners.items() if len(fields) > 1}
    # a plan without a budget section fails the budget and the cost cap alike
    assert shared == {"budget_present": ["budget", "cost_cap_pct_of_revenue"]}


RENDER = """
import anyio, json, sys
from mcp import Client
from retention_mcp.registry import Registry
from retention_mcp.server import build_server

async def main():
    server = build_server(Registry.load())
    async with Client(server) as client:
        result = await client.call_tool("retention_strategy", {
            "service_type": "SaaS 协作软件",
            "target_customers": "中小企业团队,3,000 个账户",
            "retention_goals": "年流失率从 18% 降到 12%",
            "budget_constraints": "季度预算12万元,折扣最多打8.5折,未来90天,团队3人,只用邮件和短信",
            "language": "zh",
        })
        assert not result.is_error, result
    loaded = sorted(m for m in sys.modules if m.startswith("retention_mcp."))
    print(json.dumps(loaded))

anyio.run(main)
"""

PLAN_GENERATION = {
    "retention_mcp.generation.service",
    "retention_mcp.generation.backends",
    "retention_mcp.generation.plans",
    "retention_mcp.generation.validation",
    "retention_mcp.generation.markdown",
    "retention_mcp.generation.substance_checks",
}


@pytest.mark.process
def test_rendering_a_prompt_with_constraints_loads_no_plan_generation_module():
    done = subprocess.run(
        [sys.executable, "-c", RENDER], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "retention_mcp.constraints.reader" in loaded and "retention_mcp.constraints.block" in loaded
    assert not loaded & PLAN_GENERATION, sorted(loaded & PLAN_GENERATION)
    assert not [m for m in loaded if m.startswith("retention_mcp.generation")]  # the whole plan-generation package


def test_the_constraints_package_imports_nothing_above_it():
    """Constraints sit below the services: no module of the package imports generation, analytics, the server or
    the adapters."""
    above = re.compile(r"^\s*(?:from|import)\s+retention_mcp\.(generation|analytics|server|cli|app|http_host)\b", re.M)
    offenders = [p.name for p in PACKAGE.glob("*.py") if above.search(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders


# -- one vocabulary of periods ------------------------------------------------------------------------------------------
PERIOD_NAMES = {"month", "quarter", "year"}
PERIOD_PHRASES = {  # (English, Chinese) ways of saying one period: a pattern reading it holds both side by side
    "month": (("monthly", "per month"), ("每月", "月度")),
    "quarter": (("quarterly", "per quarter"), ("每季", "季度")),
    "year": (("yearly", "per year"), ("每年", "年度")),
}
# lexicon.py says every period; vocabulary.py holds the days of the checked ones beneath it; analytics/ groups the
# data's own dates by month, quarter or year (cohorts, intervals), a vocabulary of the data, not of a plan's budget.
PERIOD_HOMES = {"constraints/lexicon.py", "vocabulary.py"}


def _period_tables(path: Path) -> list[str]:
    """Where a module spells periods of its own: a dict keyed (or valued) by period names, a list of (pattern, period)
    pairs, or a pattern that says one period in both languages; or words of an amount per customer (人均, per head)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: set[str] = set()
        if isinstance(node, ast.Dict):
            names = {n.value for n in [*node.keys, *node.values] if isinstance(n, ast.Constant)} & PERIOD_NAMES
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            pairs = [e.elts for e in node.elts if isinstance(e, ast.Tuple)]
            names = {n.value for pair in pairs for n in pair if isinstance(n, ast.Constant)} & PERIOD_NAMES
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if "|" in text and any(
                any(w in text for w in en) and any(w in text for w in zh) for en, zh in PERIOD_PHRASES.values()
            ):
                found.append(f"line {node.lineno}: a pattern saying a period")
            if "人均" in text:
                found.append(f"line {node.lineno}: words of an amount per customer")
        if len(names) >= 2:
            found.append(f"line {node.lineno}: a table of {sorted(names)}")
    return found


def test_periods_and_per_customer_words_are_spelled_only_in_the_lexicon():
    modules = [p for p in SERVER.rglob("*.py") if "analytics" not in p.relative_to(SERVER).parts]
    spelled = {
        str(p.relative_to(SERVER)): found
        for p in modules
        if str(p.relative_to(SERVER)) not in PERIOD_HOMES and (found := _period_tables(p))
    }
    assert not spelled, spelled
    assert _period_tables(PACKAGE / "lexicon.py"), "the scan must see the tables where they live"
