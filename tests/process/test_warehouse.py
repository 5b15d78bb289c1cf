"""A table in PostgreSQL gives the same facts as the file it was loaded from: every subscription step is aggregated
in the database (churn shares, periods and cohorts, Kaplan-Meier medians, log-rank p, segments, sBG, MRR), and only
aggregates come back."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from retention_mcp.analytics.engine import AnalysisRequest, analyze
from retention_mcp.analytics.loading import DataError
from tests.mcp import test_analytics_files as files
from tests.mcp import test_exports_values as exports
from tests.mcp.test_analytics_files import cdnow_transactions, fader_hardie_file
from tests.pg_tables import load_file
from tests.unit.test_analytics_reference import GEHAN_6MP, GEHAN_PLACEBO, SBG, cdnow_calibration, write_rows

EXAMPLE = Path(__file__).parents[2] / "server" / "retention_mcp" / "examples" / "subscriptions.csv"
ONLY_FOR_FILES = {"source", "notes", "absent"}


def facts(report) -> dict:
    data = json.loads(report.model_dump_json())
    data["absent"] = [a["name"] for a in data["absent"]]  # the reasons may be worded apart
    return {k: v for k, v in data.items() if k not in ONLY_FOR_FILES} | {"absent": data["absent"]}


def same_facts(url: str, path: Path, table: str, **options) -> tuple:
    load_file(url, path, table)
    from_file = analyze(AnalysisRequest(path=path.name, **options), [path.parent]).report
    from_table = analyze(AnalysisRequest(source="pg", table=f"data.{table}", source_url=url, **options), []).report
    assert facts(from_table) == facts(from_file)
    return from_file, from_table


def test_bundled_example_from_a_table_matches_the_file(postgres_url, tmp_path):
    from_file, from_table = same_facts(postgres_url, example_file(tmp_path), "subscriptions", as_of="2026-06-30")
    assert from_table.mrr and from_table.mrr.grr == from_file.mrr.grr and from_table.mrr.nrr == from_file.mrr.nrr
    assert from_table.survival.log_rank and from_table.survival.median == from_file.survival.median
    assert from_table.sbg.alpha == from_file.sbg.alpha
    assert from_table.source == "pg:data.subscriptions"


@pytest.mark.parametrize("segment", ["Regular", "High End"])
def test_fader_hardie_cohorts_from_a_table(postgres_url, tmp_path, segment):
    path = fader_hardie_file(tmp_path, segment)
    _, from_table = same_facts(postgres_url, path, "cohort", period="year", as_of="2006-12-31")
    assert from_table.sbg is not None and from_table.sbg.period == "year"


def test_churn_per_month_from_a_table(postgres_url, tmp_path):
    rows = [[f"a{i}", "2025-01-05", ""] for i in range(8)]
    rows += [["a8", "2025-01-05", "2025-02-10"], ["a9", "2025-01-06", "2025-02-20"]]
    rows += [[f"b{i}", "2025-02-03", ""] for i in range(4)] + [["b4", "2025-02-03", "2025-03-15"]]
    path = write_rows(tmp_path / "subs.csv", ["customer_id", "start_date", "end_date"], rows)
    _, from_table = same_facts(postgres_url, path, "subs")
    assert from_table.churn_rate == 0.2


def test_the_connection_is_read_only_and_tables_come_from_its_catalog(postgres_url, tmp_path):
    from retention_mcp.analytics.warehouse import open_warehouse

    path = write_rows(tmp_path / "s.csv", ["customer_id", "start_date", "end_date"], [["a", "2025-01-01", ""]])
    load_file(postgres_url, path, "s")
    wh = open_warehouse("pg", postgres_url, "data.s", 30)
    try:
        with pytest.raises(Exception, match="read-only"):
            wh.backend.con.execute("CREATE TABLE data.x (a int)")
    finally:
        wh.close()
    with pytest.raises(DataError, match="not a table or view") as missing:
        open_warehouse("pg", postgres_url, "data.nope", 30)
    assert "127.0.0.1" not in str(missing.value)


def test_a_failed_connection_never_shows_the_url(tmp_path):
    url = "postgresql://reader:s3cret-pass@127.0.0.1:1/db"
    with pytest.raises(DataError) as failed:
        analyze(AnalysisRequest(source="prod", table="public.t", source_url=url), [])
    assert "s3cret" not in str(failed.value) and "127.0.0.1" not in str(failed.value)
    assert "prod" in str(failed.value)


def test_cdnow_orders_from_a_table(postgres_url, tmp_path):
    path = cdnow_transactions(tmp_path)
    _, fitted = same_facts(postgres_url, path, "orders", as_of="1997-09-30")
    assert fitted.bgnbd.r == pytest.approx(0.243, rel=0.01) and fitted.rfm.customers == 2357
    _, held = same_facts(postgres_url, path, "orders", calibration_end="1997-09-30")
    assert held.bgnbd.holdout is not None and held.bgnbd.holdout.by_frequency


def test_a_configured_source_through_the_tool_and_the_command(postgres_url, tmp_path, monkeypatch):
    import anyio
    from mcp import Client

    from retention_mcp.registry import Registry
    from retention_mcp.server import build_server
    from tests.unit.test_cli import ENV, run

    path = tmp_path / "subscriptions.csv"
    path.write_bytes(EXAMPLE.read_bytes())
    load_file(postgres_url, path, "subscriptions")
    listed = tmp_path / "sources"
    listed.write_text(f"crm = {postgres_url}\n")
    monkeypatch.setenv("RETENTION_MCP_SOURCES", str(listed))

    async def call():
        server = build_server(Registry.load())
        async with Client(server) as client:
            return await client.call_tool(
                "analyze_churn",
                {"source": "crm", "table": "data.subscriptions", "as_of": "2026-06-30", "charts": False},
            )

    result = anyio.run(call)
    assert not result.is_error and result.structured_content["customers"] == 5000
    assert result.structured_content["source"] == "crm:data.subscriptions"
    ran = run(
        "analyze",
        "--source",
        "crm",
        "--table",
        "data.subscriptions",
        "--json",
        env=ENV | {"RETENTION_MCP_SOURCES": str(listed)},
    )
    assert ran.returncode == 0 and json.loads(ran.stdout)["churned"] == result.structured_content["churned"]


def test_a_slow_query_is_stopped_at_the_timeout(postgres_url):
    import time

    import psycopg

    from retention_mcp.analytics.limits import AnalysisStopped, Limits

    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("CREATE SCHEMA data")
        con.execute(
            "CREATE VIEW data.slow AS SELECT 'a' AS customer_id, DATE '2025-01-01' AS start_date, "
            "CAST(NULL AS DATE) AS end_date FROM pg_sleep(30)"
        )
    started = time.monotonic()
    with pytest.raises((AnalysisStopped, DataError), match=r"(?i)timeout|took longer"):
        analyze(
            AnalysisRequest(source="pg", table="data.slow", source_url=postgres_url), [], limits=Limits(timeout=1.5)
        )
    assert time.monotonic() - started < 20  # stopped, not waited out


@pytest.mark.parametrize("day", ["", "-01"])  # the month as YYYY-MM text, or as a date column
def test_monthly_revenue_from_a_table(postgres_url, tmp_path, day):
    """One row per customer and month: the movements of the reference case (new, expansion, contraction, churn,
    reactivation) and GRR/NRR, from the table as from the file."""
    months = {
        "2025-01": {"f": 30.0, "a": 100.0, "b": 100.0, "c": 50.0, "d": 80.0},
        "2025-02": {"a": 100.0, "b": 100.0, "c": 50.0, "d": 80.0},
        "2025-03": {"a": 150.0, "b": 60.0, "e": 40.0, "f": 30.0},  # f comes back: reactivation
    }
    rows = [[c, m + day, v, "pro" if c in "abe" else "basic"] for m, d in months.items() for c, v in d.items()]
    path = write_rows(tmp_path / "mrr.csv", ["customer_id", "month", "mrr", "plan"], rows)
    _, from_table = same_facts(postgres_url, path, "mrr")
    march = from_table.mrr.months[-1]
    assert from_table.mode == "monthly" and from_table.customers == 6 and from_table.rows == len(rows)
    assert (march.new, march.expansion, march.contraction, march.churned, march.reactivation) == (40, 50, 40, 130, 30)
    assert from_table.mrr.starting == 360 and from_table.mrr.churned == 130


def test_a_monthly_revenue_panel_from_a_table(postgres_url, tmp_path):
    """Two years of monthly revenue for 400 customers (upgrades, downgrades, pauses, cancellations; a plan and a
    region): every fact of the report, sBG and survival included, from the table as from the file."""
    import random

    rng = random.Random(26)
    rows = []
    for i in range(400):
        plan, region = rng.choice(["basic", "pro"]), rng.choice(["north", "south", "east"])
        start, price = rng.randrange(24), rng.choice([20.0, 50.0, 120.0])
        stay = rng.randrange(1, 30) if plan == "basic" else rng.randrange(6, 40)
        for m in range(start, min(24, start + stay)):
            if rng.random() < 0.04:
                continue  # a month without payment: reactivated after it
            price = price * rng.choice([1.0, 1.0, 1.0, 1.5, 0.5])
            rows.append([f"c{i}", f"{2024 + m // 12}-{m % 12 + 1:02d}", round(price, 2), plan, region])
    path = write_rows(tmp_path / "panel.csv", ["customer_id", "month", "mrr", "plan", "region"], rows)
    from_file, from_table = same_facts(postgres_url, path, "panel")
    assert from_table.mode == "monthly" and from_table.mrr.months and from_table.mrr.nrr == from_file.mrr.nrr
    assert from_table.sbg is not None and from_table.survival is not None and from_table.segments


def test_tenure_and_a_churned_flag_from_a_table(postgres_url, tmp_path):
    """One row per customer with a tenure in months and a yes/no flag (as telecom exports have), segments numeric
    (quartiles) and categorical, and an unknown flag left out of every rate."""
    import random

    rng = random.Random(5)
    rows = []
    for i in range(400):
        contract = rng.choice(["month-to-month", "one year", "two year"])
        churned = rng.random() < (0.45 if contract == "month-to-month" else 0.12)
        flag = "NA" if i % 97 == 0 else ("Yes" if churned else "No")
        rows.append([f"t{i}", rng.randint(0, 72), flag, contract, round(rng.uniform(18, 120), 2)])
    path = write_rows(tmp_path / "telco.csv", ["customer_id", "tenure_months", "churned", "contract", "charges"], rows)
    _, from_table = same_facts(postgres_url, path, "telco")
    assert from_table.unknown_churn == 5 and from_table.survival and from_table.survival.log_rank
    assert {s.column for s in from_table.segments} >= {"contract", "charges"}


def test_non_finite_values_in_a_table_are_missing_not_a_quartile(postgres_url, tmp_path):
    """NaN and infinity in a double precision column: left out of the quartile cuts and shown as missing, as for a
    file."""
    rows = [[f"c{i}", 1 + i % 12, "yes" if i % 3 == 0 else "no", "nan" if i % 5 == 0 else i * 7 % 50 + 0.5, "inf"]
            for i in range(60)]  # fmt: skip
    path = write_rows(tmp_path / "segnan.csv", ["customer_id", "tenure", "churned", "usage", "score"], rows)
    _, from_table = same_facts(postgres_url, path, "segnan")
    assert from_table.segments[0].values[0].value == "(missing)"


def test_options_for_reading_file_text_are_refused_for_a_table(tmp_path):
    url = "postgresql://reader@127.0.0.1:1/db"  # never reached: the options are checked first
    with pytest.raises(DataError, match=r"^encoding, sheet: how a file's text is read"):
        analyze(AnalysisRequest(source="pg", table="data.t", source_url=url, encoding="gbk", sheet="2"), [])


def gehan_file(folder: Path) -> Path:
    """Gehan's leukemia trial: weeks in remission, relapse (censored when negative) and the treatment group."""
    weeks = [*GEHAN_6MP, *GEHAN_PLACEBO]
    groups = ["6-MP"] * len(GEHAN_6MP) + ["placebo"] * len(GEHAN_PLACEBO)
    rows = [[f"p{i}", abs(w), "yes" if w > 0 else "no", g] for i, (w, g) in enumerate(zip(weeks, groups, strict=True))]
    return write_rows(folder / "gehan.csv", ["customer_id", "tenure", "churned", "treatment"], rows)


def in_folder(write):
    """A builder that returns the file's name, as one that returns its path."""
    return lambda folder, *args: folder / write(folder, *args)


def example_file(folder: Path) -> Path:
    path = folder / "subscriptions.csv"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def sbg_is(segment: str):
    published = (SBG[segment]["alpha"], SBG[segment]["beta"])
    return lambda report: (round(report.sbg.alpha, 3), round(report.sbg.beta, 3)) == published


def money_is(report) -> bool:
    true = exports.TRUE
    counted = (report.customers, report.churned) == (true["customers"], true["churned"])
    return counted and report.mrr.grr == pytest.approx(true["grr"], abs=1e-6)


def lifelines_agree(report, tenure, contract, churned) -> bool:
    from lifelines.statistics import multivariate_logrank_test

    test = report.survival.log_rank[0]
    theirs = multivariate_logrank_test(tenure, contract, churned).test_statistic
    return test.column == "contract" and test.statistic == pytest.approx(theirs, rel=1e-4)


def gehan_is(report) -> bool:
    medians = {g.value: g.median for g in report.survival.by_segment["treatment"]}
    return round(report.survival.log_rank[0].statistic, 2) == 16.79 and medians == {"6-MP": 23, "placebo": 8}


def published_bgnbd(report) -> bool:
    return report.bgnbd.r == pytest.approx(0.243, rel=0.01) and report.bgnbd.b == pytest.approx(2.426, rel=0.01)


CLEAN = {"as_of": str(exports.AS_OF)}
# case: (the file (or the file and what the oracle is given besides the report), the options of its test, a
# published, lifelines, lifetimes or pandas figure the table gives too)
ORACLES = {
    "Fader-Hardie Regular, as published": (
        lambda d: fader_hardie_file(d, "Regular"),
        {"period": "year", "as_of": "2007-06-30"},
        sbg_is("Regular"),
    ),
    "Fader-Hardie High End, as published": (
        lambda d: fader_hardie_file(d, "High End"),
        {"period": "year", "as_of": "2007-06-30"},
        sbg_is("High End"),
    ),
    "monthly anniversaries": (
        lambda d: files.anniversaries_file(d, "Regular", "monthly.csv", date(2024, 1, 1), 1),
        {"as_of": "2024-08-31"},
        sbg_is("Regular"),
    ),
    "quarterly anniversaries": (
        lambda d: files.anniversaries_file(d, "High End", "quarters.csv", date(2020, 1, 1), 3),
        {"period": "quarter", "as_of": "2021-12-31"},
        sbg_is("High End"),
    ),
    "tenure in years": (
        lambda d: files.tenure_file(d, "years.csv", ids=True),
        {"tenure_unit": "year", "period": "year"},
        sbg_is("High End"),
    ),
    "tenure in months, yearly periods": (
        lambda d: files.tenure_file(d, "months.csv", per_year=12, ids=True),
        {"tenure_unit": "month", "period": "year"},
        sbg_is("High End"),
    ),
    "a constant churn rate": (
        files.constant_churn_file,
        {},
        lambda r: r.sbg.degenerate and r.sbg.constant_retention == pytest.approx(0.95, abs=0.01),
    ),
    "drivers against lifelines": (files.drivers_file, {}, lifelines_agree),
    "CDNOW with a calibration end and holdout": (
        cdnow_transactions,
        {"calibration_end": "1997-09-30", "as_of": "1998-06-30"},
        published_bgnbd,
    ),
    "CDNOW to June 1998": (cdnow_transactions, {"as_of": "1998-06-30"}, lambda r: r.bgnbd.holdout is None),
    "CDNOW calibration, YYYYMMDD dates": (cdnow_calibration, {}, published_bgnbd),
    "Gehan's leukemia trial": (gehan_file, {}, gehan_is),
    "the bundled example, observation end from the data": (
        example_file,
        {},
        lambda r: r.observation_end == "2025-12-31" and r.drivers[0].column == "plan",
    ),
    "pandas: the clean table": (
        in_folder(lambda d: exports.write(d / "clean.csv", exports.rows(exports.TABLE))),
        CLEAN,
        money_is,
    ),
    **{
        f"pandas: billing intervals, {case}": (
            in_folder(
                lambda d, f=fmt: exports.write(d / "intervals.csv", exports.rows(exports.TABLE, billing_interval=f))
            ),
            CLEAN,
            money_is,
        )
        for case, fmt in exports.INTERVALS.items()
    },
    "pandas: a period column of intervals": (in_folder(exports.period_column_file), CLEAN, money_is),
    "pandas: tenure_years": (
        in_folder(lambda d: exports.named_tenure_file(d, "tenure_years", 365.25)),
        CLEAN,
        lambda r: r.survival.median == pytest.approx(exports.TRUE["median_days"] / 365.25, abs=0.01),
    ),
    "pandas: 在网天数": (
        in_folder(lambda d: exports.named_tenure_file(d, "在网天数", 1)),
        CLEAN,
        lambda r: r.survival.median == pytest.approx(exports.TRUE["median_days"], abs=0.01),
    ),
    **{
        f"pandas: churned as {words[0]}/{words[1]}": (
            in_folder(lambda d, w=words: exports.churned_words_file(d, w)),
            CLEAN,
            money_is,
        )
        for words in [("流失", "在网"), ("是", "否"), ("churned", "active")]
    },
    "pandas: repeated rows": (in_folder(exports.repeats_file), CLEAN, money_is),
}


@pytest.mark.parametrize("case", ORACLES, ids=str)
def test_every_oracle_case_gives_the_same_facts_from_a_table(postgres_url, tmp_path, case):
    """Each case the analytics tests check against published values, lifelines, lifetimes or pandas, loaded into a
    table: the whole report is the file's, and the oracle's figure holds for the table too."""
    build, options, oracle = ORACLES[case]
    built = build(tmp_path)
    path, *given = built if isinstance(built, tuple) else (built,)
    _, from_table = same_facts(postgres_url, path, "oracle", **options)
    assert oracle(from_table, *given), case


def numbered_orders_file(folder: Path) -> Path:
    rows = [[f"u{i % 40}", 1000 + i, 10] for i in range(200)]  # order numbers, not YYYYMMDD dates
    return write_rows(folder / "numbered.csv", ["customer_id", "order_date", "amount"], rows)


REFUSED = {  # the column and rule first, then what each message names (words of equal count in either order)
    "billing intervals that are not known": (
        in_folder(exports.odd_intervals_file),
        ["billing_interval: billing intervals that are not known: ", "'两年半' (10 rows)", "'lifetime' (10 rows)"],
    ),
    "integers that are not YYYYMMDD dates": (numbered_orders_file, ["order_date: holds numbers, not dates / "]),
}


@pytest.mark.parametrize("case", REFUSED, ids=str)
def test_what_a_file_refuses_a_table_refuses_in_the_same_words(postgres_url, tmp_path, case):
    build, (rule, *named) = REFUSED[case]
    path = build(tmp_path)
    load_file(postgres_url, path, "refused")
    with pytest.raises(DataError) as from_file:
        analyze(AnalysisRequest(path=path.name, **CLEAN), [path.parent])
    with pytest.raises(DataError) as from_table:
        analyze(AnalysisRequest(source="pg", table="data.refused", source_url=postgres_url, **CLEAN), [])
    for message in (str(from_file.value), str(from_table.value)):
        assert message.startswith(rule) and all(name in message for name in named), message


def test_instants_in_a_table_are_dated_in_utc_as_in_a_file(postgres_url, tmp_path):
    """timestamptz columns (the clean table's dates as instants of 00:30 in Shanghai) in a database whose time zone
    is Shanghai: dated in UTC, the day before, as a Parquet file of the same instants is."""
    import pandas as pd
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"ALTER DATABASE \"{postgres_url.rsplit('/', 1)[1]}\" SET timezone = 'Asia/Shanghai'")
    _, from_table = same_facts(postgres_url, exports.instants_file(tmp_path), "instants", **CLEAN)
    with psycopg.connect(postgres_url) as con:
        zone = con.execute("SHOW timezone").fetchone()[0]
        kind = con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'instants' AND column_name = "
            "'start_date'"
        ).fetchone()[0]
    assert (zone, kind) == ("Asia/Shanghai", "timestamp with time zone")
    utc = (pd.to_datetime(exports.TABLE["start_date"]) - pd.Timedelta(days=1)).dt.strftime("%Y-%m").value_counts()
    assert {p.month: p.new for p in from_table.periods if p.new} == utc.to_dict() != exports.TRUE["new_by_month"]
