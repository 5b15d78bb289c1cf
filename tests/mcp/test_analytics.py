"""analyze_churn through the MCP client: the planted effects of the bundled data set are found (and the null one is
not), bad files get clear errors, paths stay inside the data directories, and prompts and plans are grounded."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from mcp import Client

from retention_mcp.analytics.synthetic import write_csv
from retention_mcp.registry import Registry
from retention_mcp.server import build_server
from tests.conftest import ROOT, TEMPLATE_VERSIONS
from tests.mcp.test_sandbox import subscriptions as subscriptions_file
from tests.unit.test_analytics_reference import write_rows
from tests.unit.test_cli import run

pytestmark = pytest.mark.anyio
EXAMPLE = ROOT / "server" / "retention_mcp" / "examples" / "subscriptions.csv"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}


@pytest.fixture
def data_server(registry, tmp_path):
    return build_server(registry, data_dirs=[tmp_path])


async def analyze(server, **arguments):
    async with Client(server) as client:
        return await client.call_tool("analyze_churn", arguments)


def test_bundled_sample_is_what_the_generator_writes(tmp_path):
    assert write_csv(tmp_path / "again.csv").read_bytes() == EXAMPLE.read_bytes()


async def test_planted_effects_are_recovered(data_server):
    result = await analyze(data_server, path="subscriptions.csv")  # bundled: readable from any data directory
    assert not result.is_error, result.content
    report = result.structured_content
    assert report["customers"] == 5000 and report["mode"] == "subscriptions"
    assert report["columns"]["start_date"] == "signup_date" and report["columns"]["end_date"] == "cancel_date"
    segments = {s["column"]: {v["value"]: v for v in s["values"]} | {"_": s} for s in report["segments"]}
    # plan: month-to-month churns far more than annual, with intervals that do not overlap
    monthly, annual = segments["plan"]["monthly"], segments["plan"]["annual"]
    assert monthly["lift"] > 1.2 and annual["lift"] < 0.7 and annual["ci_high"] < monthly["ci_low"]
    # usage: the lowest quartile churns most
    usage = {k: v for k, v in segments["usage_hours"].items() if k.startswith("Q")}
    lowest = usage[min(usage)]
    assert lowest["lift"] > 1.2 and all(lowest["ci_low"] > v["ci_high"] for k, v in usage.items() if k != min(usage))
    # region: the planted null effect is not reported as a driver
    assert segments["region"]["_"]["p_value"] > 0.05
    drivers = [d["column"] for d in report["drivers"]]
    assert drivers[0] == "plan" and "usage_hours" in drivers[:2] and "region" not in drivers
    log_rank = {t["column"]: t for t in report["survival"]["log_rank"]}
    assert log_rank["plan"]["p_value"] < 1e-10 and log_rank["region"]["p_value"] > 0.05
    top = report["high_risk"][0]
    assert "plan = monthly" in top["rule"] and "usage_hours = Q1" in top["rule"] and top["lift"] > 1.5
    # frailty makes retention rise with tenure; sBG sees it, a constant rate under-projects
    sbg = report["sbg"]
    assert (
        sbg["retention_rate"] == sorted(sbg["retention_rate"]) and sbg["retention_rate"][0] < sbg["retention_rate"][-1]
    )
    assert sbg["projected_survival"][23] > sbg["constant_rate_projection"][23]
    assert report["survival"]["median"] > 12
    assert 0.5 < report["mrr"]["grr"] < 1 and report["mrr"]["nrr"] == report["mrr"]["grr"]
    assert report["churn_rate"] == pytest.approx(
        sum(p["churned"] for p in report["periods"]) / sum(p["active_at_start"] for p in report["periods"]),
        abs=1e-5,
    )
    assert {a["name"] for a in report["absent"]} == {"bgnbd", "rfm"}
    # Markdown first, then the two charts as PNG images
    text, *images = result.content
    assert (
        text.text.startswith("# Churn analysis: subscriptions.csv") and "D3: Monthly customer churn rate" in text.text
    )
    assert [i.mime_type for i in images] == ["image/png", "image/png"]
    assert all(base64.b64decode(i.data).startswith(b"\x89PNG") for i in images)


async def test_chinese_columns_and_inline_csv(data_server):
    csv_text = "客户编号,注册日期,取消日期,套餐,月费\n" + "\n".join(
        f"K{i},2025-0{1 + i % 3}-0{1 + i % 7},{'2025-05-1' + str(i % 9) if i % 3 == 0 else ''},{'月付' if i % 2 else '年付'},{99 + i % 5}"
        for i in range(60)
    )
    result = await analyze(data_server, csv=csv_text, charts=False)
    assert not result.is_error, result.content
    report = result.structured_content
    assert report["columns"] == {
        "customer_id": "客户编号",
        "start_date": "注册日期",
        "end_date": "取消日期",
        "plan": "套餐",
        "amount": "月费",
    }
    assert report["customers"] == 60 and report["churned"] == 20
    assert len(result.content) == 1 and result.content[0].text.startswith(
        "# 客户流失分析"
    )  # summary follows the columns


def churn_file(tmp_path: Path, name: str, header: list[str], rows: list[list[object]]) -> str:
    write_rows(tmp_path / name, header, rows)
    return name


BAD_FILES = {
    "empty": (lambda p: (p / "empty.csv").write_text(""), "empty.csv", "the file is empty"),
    "header only": (
        lambda p: (p / "header.csv").write_text("customer_id,start_date,end_date\n"),
        "header.csv",
        "has a header but no rows",
    ),
    "mixed dates": (
        lambda p: write_rows(
            p / "mixed.csv",
            ["customer_id", "start_date", "end_date"],
            [["a", "2025-01-05", ""], ["b", "05/02/2025", ""], ["c", "2025-03-01", "2025-04-01"]],
        ),
        "mixed.csv",
        "start_date: mixed date formats (2 in YYYY-MM-DD (first on data row 1); 1 in DD/MM/YYYY or MM/DD/YYYY (first on data row 2))",
    ),
    "missing mapping": (
        lambda p: write_rows(p / "cols.csv", ["a", "b", "c"], [[1, 2, 3], [4, 5, 6]]),
        "cols.csv",
        "No customer id column found; name it with customer_id_column (CLI: --map customer_id=COLUMN). Columns found: a, b, c",
    ),
    "no churn columns": (
        lambda p: write_rows(p / "ids.csv", ["customer_id", "region"], [["a", "x"], ["b", "y"]]),
        "ids.csv",
        "needs a start date (or tenure) and an end/cancel date (or a churned flag). Columns found: customer_id, region",
    ),
    "ambiguous": (
        lambda p: write_rows(
            p / "two.csv",
            ["customer_id", "start_date", "signup_date", "end_date"],
            [["a", "2025-01-01", "2025-01-02", ""]],
        ),
        "two.csv",
        "Several columns could be the start_date: start_date, signup_date. Say which, e.g. --map start_date=start_date",
    ),
    "duplicate ids": (
        lambda p: write_rows(
            p / "dup.csv", ["customer_id", "start_date", "end_date"], [["a", "2025-01-01", ""], ["a", "2025-02-01", ""]]
        ),
        "dup.csv",
        "1 customer id(s) appear on more than one row (first repeat on data row 2)",
    ),
    "end before start": (
        lambda p: write_rows(
            p / "order.csv",
            ["customer_id", "start_date", "end_date"],
            [["a", "2025-03-01", "2025-02-01"], ["b", "2025-01-01", ""]],
        ),
        "order.csv",
        "1 customer(s) end before they start (first on data row 1)",
    ),
    "all flags blank": (
        lambda p: write_rows(p / "flag.csv", ["customer_id", "tenure", "churned"], [["a", 3, ""], ["b", 5, "NA"]]),
        "flag.csv",
        "churned: no value is a readable churn flag (2 blank or NA); churn cannot be measured from it",
    ),
    "NaN and negative tenure": (
        lambda p: write_rows(
            p / "nan.csv",
            ["customer_id", "tenure", "churned"],
            [["a", 3, "yes"], ["b", "nan", "no"], ["c", 4, "no"], ["d", -5, "yes"], ["e", "inf", "no"]],
        ),
        "nan.csv",
        "tenure: 3 value(s) are not a duration (NaN, infinite or negative) in data row(s) 2, 4, 5",
    ),
    "ambiguous day and month": (
        lambda p: write_rows(
            p / "dm.csv", ["customer_id", "start_date", "end_date"], [["a", "01/02/2025", ""], ["b", "03/04/2025", ""]]
        ),
        "dm.csv",
        "start_date: dates in DD/MM/YYYY or MM/DD/YYYY read both day-first and month-first, and no value tells which; "
        "pass --date-format DD/MM/YYYY (day first) or MM/DD/YYYY (month first) (tool: date_format)",
    ),
    "decimal comma": (
        lambda p: (p / "comma.csv").write_text(
            "customer_id;start_date;end_date;mrr\na;2025-01-01;;12,50\nb;2025-01-02;2025-03-01;9,90\n"
        ),
        "comma.csv",
        "mrr: 2 amount(s) are written with a decimal comma (like 12,50); pass --decimal ,",
    ),
    "bad tenure unit": (
        lambda p: write_rows(p / "unit.csv", ["customer_id", "tenure", "churned"], [["a", 3, "yes"]]),
        {"path": "unit.csv", "tenure_unit": "fortnight"},
        "tenure_unit",
    ),
    "bad as_of": (
        lambda p: write_rows(p / "asof.csv", ["customer_id", "tenure", "churned"], [["a", 3, "yes"]]),
        {"path": "asof.csv", "as_of": "31/12/2025"},
        "as_of: '31/12/2025' is not a date in YYYY-MM-DD",
    ),
    "as_of before every start": (
        lambda p: None,
        {"path": "subscriptions.csv", "as_of": "1990-01-01"},
        "No customer is left to analyse: 5000 customer(s) start after the observation end (1990-01-01)",
    ),
    "unknown encoding": (
        lambda p: (p / "latin.csv").write_bytes(
            "customer_id,start_date,end_date,région\na,2025-01-01,,Zürich\n".encode("latin-1")
        ),
        "latin.csv",
        "latin.csv: not UTF-8 text (an invalid byte at offset",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=str)
async def test_bad_files_get_clear_errors(data_server, tmp_path, case):
    make, name, message = BAD_FILES[case]
    make(tmp_path)
    async with Client(data_server) as client:
        result = await client.call_tool("analyze_churn", name if isinstance(name, dict) else {"path": name})
        still_serving = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts": False})
    assert result.is_error
    assert message in result.content[0].text
    assert not still_serving.is_error


async def test_wrong_delimiter_is_named(data_server, tmp_path):
    (tmp_path / "semi.csv").write_text("customer_id;start_date;end_date\na;2025-01-01;\nb;2025-01-02;2025-03-01\n")
    async with Client(data_server) as client:
        sniffed = await client.call_tool("analyze_churn", {"path": "semi.csv", "charts": False})
    assert not sniffed.is_error and sniffed.structured_content["customers"] == 2  # sniffing handles ';'
    from retention_mcp.analytics import engine
    from retention_mcp.analytics.loading import DataError

    with pytest.raises(DataError, match=r"only one column was found.*contains ';'; is that the delimiter"):
        engine.analyze(engine.AnalysisRequest(path="semi.csv", delimiter=","), [tmp_path])
    async with Client(data_server) as client:
        wrong = await client.call_tool("analyze_churn", {"path": "semi.csv", "delimiter": ","})
        right = await client.call_tool("analyze_churn", {"path": "semi.csv", "delimiter": ";", "charts": False})
    assert wrong.is_error and "Pass delimiter=';'" in wrong.content[0].text
    assert right.structured_content["customers"] == 2


async def test_churned_flags_and_tenure_without_dates(data_server, tmp_path):
    rows = [
        [f"c{i}", 1 + i % 24, ["yes", "no", "1", "0", "true", "false", "Y", "N"][i % 8], "pro" if i % 2 else "basic"]
        for i in range(200)
    ]
    name = churn_file(tmp_path, "tenure.csv", ["customer_id", "tenure_months", "churned", "plan"], rows)
    report = (await analyze(data_server, path=name, charts=False)).structured_content
    assert report["churned"] == 100 and report["churn_rate"] is None and report["churn_share"] == 0.5
    assert report["survival"]["median"] is not None and report["sbg"] is not None
    assert {a["name"] for a in report["absent"]} >= {"periods", "cohorts", "mrr"}


async def test_paths_stay_inside_the_data_directories(data_server, tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("customer_id,start_date,end_date\na,2025-01-01,\n")
    (tmp_path / "link.csv").symlink_to(outside)
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "broken.csv").symlink_to(tmp_path / "nowhere.csv")
    cases = {
        str(outside): "outside the data directories",
        "../" + outside.name: "outside the data directories",
        "link.csv": "outside the data directories",  # a symlink that escapes
        "folder.csv": "not a file",
        "broken.csv": "broken or looping link",
        "missing.csv": "no such file in the data directories",
    }
    async with Client(data_server) as client:
        for path, message in cases.items():
            result = await client.call_tool("analyze_churn", {"path": path})
            assert result.is_error and message in result.content[0].text, (path, result.content[0].text)
        both = await client.call_tool("analyze_churn", {"path": "x.csv", "csv": "a,b\n1,2"})
        assert both.is_error and "either a file path or inline CSV" in both.content[0].text
        charts = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts_dir": "/tmp/elsewhere"})
        assert charts.is_error and "inside the data directories" in charts.content[0].text
        written = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts_dir": "charts"})
    assert written.structured_content["charts"] == [
        str(tmp_path / "charts" / "survival.png"),
        str(tmp_path / "charts" / "cohorts.png"),
    ]
    assert (tmp_path / "charts" / "cohorts.png").read_bytes().startswith(b"\x89PNG")
    async with Client(data_server) as client:  # written to the folder, not sent back as images
        quiet = await client.call_tool(
            "analyze_churn", {"path": "subscriptions.csv", "charts": False, "charts_dir": "quiet"}
        )
    assert [c.type for c in quiet.content] == ["text"] and (tmp_path / "quiet" / "survival.png").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
async def test_unreadable_file(data_server, tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text("customer_id,start_date\n")
    path.chmod(0)
    result = await analyze(data_server, path="secret.csv")
    assert result.is_error and "not readable" in result.content[0].text


async def test_progress_is_reported(data_server):
    seen = []

    async def on_progress(progress, total, message):
        seen.append(message)

    async with Client(data_server) as client:
        await client.call_tool("analyze_churn", {"path": "subscriptions.csv"}, progress_callback=on_progress)
    assert seen[0] == "Reading the data" and "Retention model (sBG)" in seen and seen[-1] == "Drawing charts"


# -- grounding ----------------------------------------------------------------------------------------------------------
async def test_dataset_grounds_the_prompt(data_server):
    arguments = {
        "business_context": "B2B SaaS",
        "data_summary": "see the attached file",
        "dataset": "subscriptions.csv",
    }
    async with Client(data_server) as client:
        result = await client.call_tool("churn_analysis", arguments)
        prompt = await client.get_prompt("churn_analysis", arguments)
        missing = await client.call_tool("churn_analysis", {**arguments, "dataset": "nope.csv"})
        without = await client.call_tool("churn_analysis", {k: v for k, v in arguments.items() if k != "dataset"})
    text = result.structured_content["prompt"]
    assert "<computed_facts>\nD1: Customers: 5,000 (subscriptions, data to 2025-12-31)" in text
    assert "D3: Monthly customer churn rate (lost / active at start of month, pooled): 2.85%" in text
    assert "cite each one you use by its id" in text
    assert "<computed_facts>" in prompt.messages[-1].content.text
    assert missing.is_error and "- dataset: nope.csv: no such file in the data directories" in missing.content[0].text
    assert "<computed_facts>" not in without.structured_content["prompt"]


async def test_cancelling_a_grounded_call_stops_its_analysis(registry, tmp_path, monkeypatch):
    """The dataset's analysis goes through the analytics service, like every analysis: a client that cancels the call
    gets control back at once, and the analysis in its worker thread is told to stop (before, grounding called the
    engine itself, out of reach of the call's cancellation, and the call waited for the analysis to end)."""
    import threading
    import time

    import anyio

    from retention_mcp.analytics import service

    data = tmp_path / "data"
    data.mkdir()
    subscriptions_file(data / "big.csv", 200)
    running, reasons = threading.Event(), []

    def analysis_until_stopped(request, data_dirs, progress=None, cancel=None, limits=None):
        running.set()  # an analysis that only ends when it is stopped: the test does not depend on the machine
        deadline = time.monotonic() + 20
        while cancel is not None and cancel.reason is None and time.monotonic() < deadline:
            time.sleep(0.01)
        reasons.append(cancel.reason if cancel is not None else "no cancellation")
        raise cancel.error() if cancel is not None else RuntimeError("no cancellation")

    monkeypatch.setattr(service, "analyze", analysis_until_stopped)
    arguments = {"business_context": "B2B SaaS", "data_summary": "see the file", "dataset": "big.csv"}
    async with Client(build_server(registry, data_dirs=[data])) as client:
        started = time.monotonic()
        with anyio.move_on_after(5):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(client.call_tool, "churn_analysis", arguments)
                while not running.is_set():
                    await anyio.sleep(0.01)
                tasks.cancel_scope.cancel()  # the client gives up on the call
        returned = time.monotonic() - started
        with anyio.fail_after(10):
            while not reasons:
                await anyio.sleep(0.05)
        follow_up = await client.call_tool("churn_analysis", {k: v for k, v in arguments.items() if k != "dataset"})
    assert reasons == ["cancelled"] and returned < 5
    assert not follow_up.is_error  # the server keeps serving


async def test_dataset_facts_in_chinese(data_server):
    arguments = {
        "service_type": "协作SaaS",
        "target_customers": "中小团队",
        "retention_goals": "90天内月度流失率降至2%",
        "dataset": "subscriptions.csv",
    }
    async with Client(data_server) as client:
        result = await client.call_tool("retention_strategy", arguments)
    assert result.structured_content["language"] == "zh"
    assert "D3: 月度客户流失率(当月流失数 / 月初在网数,合并计算):2.85%" in result.structured_content["prompt"]


def test_cli_analyze_json_and_charts(tmp_path):
    proc = run("analyze", "subscriptions.csv", "--json", "--charts", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["customers"] == 5000 and report["sbg"]["alpha"] > 0
    assert "... Fitting" not in proc.stderr and "... Survival curves" in proc.stderr
    assert (tmp_path / "survival.png").exists() and (tmp_path / "cohorts.png").exists()
    # CSV on stdin; a 'cancelled' column of dates is read as the end date
    piped = run(
        "analyze", "-", "--json",
        stdin="id,signup,cancelled\na,2025-01-01,2025-03-02\nb,2025-01-05,\nc,2025-02-01,\n", cwd=tmp_path,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    piped_report = json.loads(piped.stdout)
    assert piped_report["source"] == "inline CSV" and piped_report["churned"] == 1
    assert piped_report["columns"]["end_date"] == "cancelled"
    bad = run("analyze", "/etc/hostname", cwd=tmp_path)
    assert bad.returncode == 2 and "outside the data directories" in bad.stderr


def test_registry_is_untouched_by_grounding():
    template = Registry.load().get("churn_analysis")
    assert [s.name for s in template.inputs][-1] == "dataset" and template.version == TEMPLATE_VERSIONS[
        "churn_analysis"
    ]


async def test_parquet_and_json_lines(data_server, tmp_path):
    import duckdb

    con = duckdb.connect()
    source = str(EXAMPLE).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM read_csv('{source}')) TO '{tmp_path / 'subs.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT * FROM read_csv('{source}')) TO '{tmp_path / 'subs.jsonl'}' (FORMAT json)")
    async with Client(data_server) as client:
        parquet = await client.call_tool("analyze_churn", {"path": "subs.parquet", "charts": False})
        jsonl = await client.call_tool("analyze_churn", {"path": "subs.jsonl", "charts": False})
        csv_report = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts": False})
    for result in (parquet, jsonl):
        assert not result.is_error, result.content
        for key in ("customers", "churned", "churn_rate", "sbg", "mrr"):
            assert result.structured_content[key] == csv_report.structured_content[key], key


async def test_a_late_row_in_another_date_format_is_still_caught(data_server, tmp_path):
    rows = [[f"c{i}", f"2025-01-{1 + i % 28:02d}", ""] for i in range(30_000)] + [["x", "05/02/2025", ""]]
    write_rows(tmp_path / "late.csv", ["customer_id", "start_date", "end_date"], rows)
    result = await analyze(data_server, path="late.csv")
    assert (
        result.is_error
        and "start_date: mixed date formats (30000 in YYYY-MM-DD (first on data row 1); 1 in DD/MM/YYYY or MM/DD/YYYY (first on data row 30001))"
        in result.content[0].text
    )


def test_cli_render_with_a_dataset(tmp_path):
    proc = run(
        "render", "churn_analysis", "--arg", "business_context=SaaS", "--arg", "data_summary=see the file",
        "--arg", "dataset=subscriptions.csv", "--language", "zh", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "<computed_facts>\nD1: 客户数:5,000(订阅数据,截至 2025-12-31)" in proc.stdout


def test_a_file_system_root_is_never_the_default_data_directory(tmp_path, monkeypatch):
    from retention_mcp.settings import Settings

    monkeypatch.chdir("/")
    assert Settings.from_env({}).data_dirs == []
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).data_dirs == [tmp_path]


async def test_a_churned_flag_without_end_dates_is_not_read_as_zero_churn(data_server, tmp_path):
    rows = [
        [f"c{i}", f"2025-0{1 + i % 6}-01", "yes" if i % 4 == 0 else "no", "pro" if i % 2 else "basic"]
        for i in range(80)
    ]
    name = churn_file(tmp_path, "flags.csv", ["customer_id", "signup_date", "churned", "plan"], rows)
    report = (await analyze(data_server, path=name, charts=False)).structured_content
    assert report["churned"] == 20 and report["churn_share"] == 0.25
    assert report["periods"] == [] and report["churn_rate"] is None and report["survival"] is None
    absent = {a["name"]: a["reason"] for a in report["absent"]}
    assert absent["periods"].startswith("no end date") and absent["survival"].startswith(
        "20 churned customers have no end date"
    )
    assert [s["column"] for s in report["segments"]] == ["plan"]
