"""Published values reproduced through the interface users use: a file, `retention-mcp analyze FILE --json` and the
analyze_churn tool. Fader & Hardie's cohorts are written as customers cancelling on their yearly anniversaries; the
CDNOW transactions are the raw file lifetimes ships, with a calibration end. Plus the inputs real exports bring:
future end dates, blank flags, NaN durations, day/month order, encodings, Excel, decimal commas, no id column."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from retention_mcp import cli
from retention_mcp.server import build_server
from tests.unit.test_analytics_reference import SBG, write_rows

pytestmark = pytest.mark.anyio


def run_cli(folder: Path, *argv: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["analyze", *argv, "--json", "--data-dir", str(folder)])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


def cli_error(folder: Path, *argv: str, capsys) -> str:
    code = cli.main(["analyze", *argv, "--data-dir", str(folder)])
    assert code != 0
    return capsys.readouterr().err


def anniversary(start: date, years: int) -> date:
    return start.replace(year=start.year + years)


def fader_hardie_file(folder: Path, segment: str) -> Path:
    """One customer per row: starts spread over January 2000 (and the leap day of 2000 for two of them), the lost
    ones cancel exactly on their t-th anniversary, the survivors are still active at the end of the seventh year."""
    alive = SBG[segment]["alive"]
    rows, n = [], 0
    for t in range(1, len(alive)):
        for _ in range(alive[t - 1] - alive[t]):
            start = date(2000, 1, 1) + timedelta(days=n % 31)
            rows.append([f"c{n}", start.isoformat(), anniversary(start, t).isoformat(), "pro" if n % 2 else "basic"])
            n += 1
    for _ in range(alive[-1]):
        start = date(2000, 1, 1) + timedelta(days=n % 31)
        rows.append([f"c{n}", start.isoformat(), "", "pro" if n % 2 else "basic"])
        n += 1
    return write_rows(
        folder / f"{segment.replace(' ', '_')}.csv", ["customer_id", "start_date", "end_date", "plan"], rows
    )


@pytest.mark.parametrize("segment", SBG, ids=str)
def test_fader_hardie_cohorts_from_a_dated_file(tmp_path, segment):
    ref = SBG[segment]
    path = fader_hardie_file(tmp_path, segment)
    report = run_cli(tmp_path, path.name, "--period", "year", "--as-of", "2007-06-30")
    sbg = report["sbg"]
    assert sbg["period"] == "year" and report["period"] == "year" and not sbg["degenerate"]
    assert round(sbg["alpha"], 3) == ref["alpha"] and round(sbg["beta"], 3) == ref["beta"]
    assert round(sbg["log_likelihood"], 2) == ref["ll"]
    # projected survivors of the 1000, years 8..12, and r(8) and DERL after 7 renewals at 10% a year
    assert [round(1000 * s, 1) for s in sbg["projected_survival"][7:12]] == pytest.approx(ref["projected"], abs=0.1)
    assert round(sbg["retention_rate"][7], 3) == ref["r8"]
    assert sbg["discount_rate"] == 0.1 and round(sbg["derl"]["7"], 2) == ref["derl"]
    # yearly periods: 1000 at the start of 2000's cohort, the published losses year by year
    assert report["observation_end"] == "2007-06-30" and report["customers"] == 1000
    lost = [ref["alive"][t - 1] - ref["alive"][t] for t in range(1, 8)]
    assert [p["churned"] for p in report["periods"]] == [0, *lost]
    assert [p["period"] for p in report["periods"]][:2] == ["2000", "2001"]


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 January + 1 month = 29 February)."""
    y, m = divmod(start.month - 1 + months, 12)
    first = date(start.year + y, m + 1, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(day=min(start.day, last.day))


def anniversaries_file(folder: Path, segment: str, name: str, first: date, months: int) -> Path:
    """Fader & Hardie's cohort with periods of `months` months: a customer cancelling on their t-th anniversary of
    that length (month ends clamped), the survivors still active."""
    alive, rows, n = SBG[segment]["alive"], [], 0
    for t in range(1, len(alive)):
        for _ in range(alive[t - 1] - alive[t]):
            start = first + timedelta(days=n % 31)
            rows.append([f"c{n}", start.isoformat(), add_months(start, months * t).isoformat()])
            n += 1
    rows += [[f"s{i}", (first + timedelta(days=i % 31)).isoformat(), ""] for i in range(alive[-1])]
    return write_rows(folder / name, ["customer_id", "start_date", "end_date"], rows)


def test_monthly_anniversaries_churn_in_their_own_month(tmp_path):
    """The same cohort in months: a customer cancelling on their t-th monthly anniversary (month ends clamped)
    churned in month t, so the monthly fit is the published one too."""
    ref = SBG["Regular"]
    anniversaries_file(tmp_path, "Regular", "monthly.csv", date(2024, 1, 1), 1)
    report = run_cli(tmp_path, "monthly.csv", "--as-of", "2024-08-31")
    sbg = report["sbg"]
    assert sbg["period"] == "month" and report["period"] == "month"
    assert round(sbg["alpha"], 3) == ref["alpha"] and round(sbg["beta"], 3) == ref["beta"]


def tenure_file(folder: Path, name: str, per_year: int = 1, ids: bool = False) -> Path:
    """Fader & Hardie's High End cohort as a tenure (in years, or `per_year` units a year) and a churned flag; no id
    column unless `ids`."""
    alive = SBG["High End"]["alive"]
    rows = [[per_year * t, "yes"] for t in range(1, 8) for _ in range(alive[t - 1] - alive[t])]
    rows += [[per_year * 7, "no"]] * alive[-1]
    if ids:
        return write_rows(
            folder / name, ["customer_id", "tenure", "churned"], [[f"c{i}", *r] for i, r in enumerate(rows)]
        )
    return write_rows(folder / name, ["tenure", "churned"], rows)


def test_tenure_column_in_years_with_yearly_periods(tmp_path):
    ref = SBG["High End"]
    tenure_file(tmp_path, "years.csv")  # no id column: rows are customers
    report = run_cli(tmp_path, "years.csv", "--tenure-unit", "year", "--period", "year")
    assert round(report["sbg"]["alpha"], 3) == ref["alpha"] and round(report["sbg"]["beta"], 3) == ref["beta"]
    assert report["columns"]["customer_id"] == "(row number)" and report["customers"] == 1000
    assert any("each of the 1000 rows is taken as one customer" in n for n in report["notes"])
    assert report["survival"]["unit"] == "years"
    # the same lifetimes in months give the same fit
    tenure_file(tmp_path, "months.csv", per_year=12)
    months = run_cli(tmp_path, "months.csv", "--tenure-unit", "month", "--period", "year")
    assert months["sbg"]["alpha"] == pytest.approx(report["sbg"]["alpha"], rel=1e-6)


def constant_churn_file(folder: Path) -> Path:
    """4,000 customers with the same monthly churn probability (5%), observed for up to 30 months."""
    rng = np.random.default_rng(3)
    lifetimes = rng.geometric(0.05, 4000)
    rows = [[f"c{i}", min(t, 30), "yes" if t <= 30 else "no"] for i, t in enumerate(lifetimes)]
    return write_rows(folder / "flat.csv", ["customer_id", "tenure", "churned"], rows)


def test_a_constant_churn_rate_is_reported_as_a_degenerate_fit(tmp_path):
    """Every customer with the same churn probability: the fit runs to its bounds and is reported as the constant
    rate it reduces to, never as retention rising from 94.8% to 94.8%."""
    constant_churn_file(tmp_path)
    report = run_cli(tmp_path, "flat.csv")
    sbg = report["sbg"]
    assert sbg["degenerate"] is True and sbg["reduces_to"].startswith("constant retention of 95.")
    assert sbg["constant_retention"] == pytest.approx(0.95, abs=0.01)
    assert len(set(sbg["retention_rate"])) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        cli.main(["analyze", "flat.csv", "--data-dir", str(tmp_path)])
    assert "the fit is degenerate" in out.getvalue() and "rises from" not in out.getvalue()


def test_observation_end_future_contracts_and_starts(tmp_path):
    today = date.today()
    past = (today - timedelta(days=400)).isoformat()
    rows = [[f"a{i}", past, ""] for i in range(30)]
    rows += [[f"b{i}", past, (today - timedelta(days=100)).isoformat()] for i in range(10)]
    rows += [[f"f{i}", past, "2999-12-31"] for i in range(20)]  # contracts that end in the future: not churn
    rows += [["late", "2999-01-01", ""]]  # a start typed in the future: reported and left out
    write_rows(tmp_path / "future.csv", ["customer_id", "start_date", "end_date"], rows)
    report = run_cli(tmp_path, "future.csv")
    assert (
        report["customers"] == 60
        and report["churned"] == 10
        and report["churn_share"] == pytest.approx(1 / 6, abs=1e-5)
    )
    assert report["observation_end"] <= today.isoformat()
    notes = " ".join(report["notes"])
    assert "1 customer(s) start after the observation end" in notes and "20 end date(s) fall after" in notes
    # an explicit as_of before the cancellations: nobody has churned yet
    early = run_cli(tmp_path, "future.csv", "--as-of", (today - timedelta(days=200)).isoformat())
    assert early["churned"] == 0 and early["observation_end"] == (today - timedelta(days=200)).isoformat()


def test_a_churned_flag_decides_and_periods_use_it(tmp_path):
    # end dates are contract ends; the flag says who actually left
    rows = [[f"c{i}", "2024-01-15", "2024-07-15", "yes" if i < 10 else "no"] for i in range(100)]
    write_rows(tmp_path / "flagged.csv", ["customer_id", "start_date", "end_date", "churned"], rows)
    report = run_cli(tmp_path, "flagged.csv", "--as-of", "2024-12-31")
    assert report["churned"] == 10 and report["active"] == 90
    july = next(p for p in report["periods"] if p["month"] == "2024-07")
    assert july["churned"] == 10 and july["active_at_start"] == 100 and report["periods"][-1]["active_at_end"] == 90


def test_blank_and_unknown_flags_are_counted_not_read_as_active(tmp_path):
    rows = [[f"c{i}", 1 + i % 12, ["yes", "no", "", "NA", "maybe"][i % 5]] for i in range(100)]
    write_rows(tmp_path / "blank.csv", ["customer_id", "tenure", "churned"], rows)
    report = run_cli(tmp_path, "blank.csv")
    assert report["unknown_churn"] == 60 and report["customers"] == 40 and report["churn_share"] == 0.5
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        cli.main(["analyze", "blank.csv", "--data-dir", str(tmp_path)])
    assert "Unknown churn flag: 60 customers" in out.getvalue()
    assert "maybe" not in out.getvalue()  # the file's own words are counted, never shown (they could be anything)


def test_day_first_dates_are_decided_from_the_whole_column(tmp_path, capsys):
    # only the last row shows the order: 25/12 can only be day-first
    rows = [[f"c{i}", f"0{1 + i % 9}/0{1 + i % 3}/2024", ""] for i in range(3000)] + [["z", "25/12/2024", "26/12/2024"]]
    write_rows(tmp_path / "dmy.csv", ["customer_id", "start_date", "end_date"], rows)
    report = run_cli(tmp_path, "dmy.csv", "--as-of", "2025-01-31")
    assert report["customers"] == 3001 and report["churned"] == 1
    assert report["periods"][0]["month"] == "2024-01" and report["periods"][0]["new"] == 1000  # 0d/01/2024
    # all readable both ways: say so, and take --date-format
    write_rows(tmp_path / "both.csv", ["customer_id", "start_date", "end_date"], rows[:-1])
    assert "read both day-first and month-first" in cli_error(tmp_path, "both.csv", capsys=capsys)
    month_first = run_cli(tmp_path, "both.csv", "--as-of", "2025-01-31", "--date-format", "MM/DD/YYYY")
    day_first = run_cli(tmp_path, "both.csv", "--as-of", "2025-01-31", "--date-format", "DD/MM/YYYY")
    assert month_first["periods"][0]["new"] == 334 and day_first["periods"][0]["new"] == 1000


def subscriptions_text() -> str:
    lines = ["客户编号,注册日期,取消日期,套餐,月费"]
    for i in range(60):
        end = f"2025-05-1{i % 9}" if i % 3 == 0 else ""
        lines.append(f"K{i},2025-0{1 + i % 3}-0{1 + i % 7},{end},{'月付' if i % 2 else '年付'},{99 + i % 5}.5")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16", "utf-8-sig"])
def test_chinese_exports_in_other_encodings(tmp_path, encoding):
    (tmp_path / "export.csv").write_bytes(subscriptions_text().encode(encoding))
    report = run_cli(tmp_path, "export.csv", "--as-of", "2025-06-30")
    assert report["customers"] == 60 and report["churned"] == 20 and report["columns"]["plan"] == "套餐"
    assert {v["value"] for v in report["segments"][0]["values"]} >= {"月付", "年付"}
    if encoding.startswith("gb"):
        assert any("GB18030" in n for n in report["notes"])
    explicit = run_cli(tmp_path, "export.csv", "--as-of", "2025-06-30", "--encoding", encoding)
    assert explicit["customers"] == 60


def test_decimal_comma_and_missing_markers(tmp_path):
    text = "customer_id;start_date;end_date;mrr\n" + "".join(
        f"c{i};2024-01-0{1 + i % 9};{'2025-03-01' if i % 4 == 0 else ['NA', 'N/A', 'null', '-'][i % 4]};12,5\n"
        for i in range(40)
    )
    (tmp_path / "eu.csv").write_text(text)
    report = run_cli(tmp_path, "eu.csv", "--decimal", ",", "--as-of", "2025-06-30")
    assert report["customers"] == 40 and report["churned"] == 10
    assert report["mrr"]["current"] == pytest.approx(30 * 12.5) and report["mrr"]["churned"] == pytest.approx(125)


def test_excel_workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["customer_id", "signup_date", "cancel_date", "plan", "mrr"])
    for i in range(50):
        end = date(2025, 4, 1 + i % 20) if i % 5 == 0 else None
        sheet.append([f"x{i}", date(2024, 1, 1 + i % 28), end, "pro" if i % 2 else "basic", 10.5 + i % 3])
    workbook.save(tmp_path / "export.xlsx")
    report = run_cli(tmp_path, "export.xlsx", "--as-of", "2025-06-30")
    assert report["source"] == "export.xlsx" and report["customers"] == 50 and report["churned"] == 10
    assert report["mrr"]["current"] == pytest.approx(sum(10.5 + i % 3 for i in range(50) if i % 5))
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(Exception, match="cannot be read as an Excel workbook"):
        from retention_mcp.analytics.engine import AnalysisRequest, analyze

        analyze(AnalysisRequest(path="fake.xlsx"), [tmp_path])


def test_same_file_same_bytes(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for i in range(3000):  # many customers share a recency: ties must not be ordered by chance
        for k in range(1 + int(rng.integers(0, 4))):
            rows.append(
                [f"u{i}", (date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 30)) * 7 + k)).isoformat(), 10]
            )
    write_rows(tmp_path / "orders.csv", ["customer_id", "order_date", "amount"], rows)
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            cli.main(["analyze", "orders.csv", "--json", "--as-of", "2025-09-30", "--data-dir", str(tmp_path)])
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["rfm"]["customers"] == 3000
    subs = []
    for _ in range(2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            cli.main(["analyze", "subscriptions.csv", "--json", "--data-dir", str(tmp_path)])
        subs.append(out.getvalue())
    assert subs[0] == subs[1]


async def test_the_tool_takes_the_new_parameters(registry, tmp_path):
    fader_hardie_file(tmp_path, "High End")
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        result = await client.call_tool(
            "analyze_churn", {"path": "High_End.csv", "period": "year", "as_of": "2007-06-30", "charts": False}
        )
        nan = await client.call_tool(
            "analyze_churn", {"csv": "customer_id,tenure,churned\na,nan,yes\nb,2,no\n", "charts": False}
        )
    assert not result.is_error, result.content
    assert round(result.structured_content["sbg"]["alpha"], 3) == 0.668
    assert "sBG retention model: alpha 0.668, beta 3.806; yearly retention rises" in result.content[0].text
    assert nan.is_error and "tenure: 1 value(s) are not a duration" in nan.content[0].text


def cdnow_transactions(folder: Path) -> Path:
    """The raw CDNOW sample lifetimes ships (2,357 customers, January 1997 to June 1998), as an order export."""
    lifetimes = pytest.importorskip("lifetimes")
    source = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    rows = []
    for line in source.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5:
            rows.append([parts[1], f"{parts[2][:4]}-{parts[2][4:6]}-{parts[2][6:]}", parts[4]])
    return write_rows(folder / "cdnow_orders.csv", ["customer_id", "order_date", "amount"], rows)


def test_cdnow_with_a_calibration_end_reproduces_the_published_fit_and_lifetimes_holdout(tmp_path):
    """Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426 on the 39 weeks to 1997-09-30."""
    lifetimes = pytest.importorskip("lifetimes")
    from lifetimes.utils import calibration_and_holdout_data

    path = cdnow_transactions(tmp_path)
    report = run_cli(tmp_path, path.name, "--calibration-end", "1997-09-30", "--as-of", "1998-06-30")
    fit = report["bgnbd"]
    assert report["mode"] == "transactions" and fit["customers"] == 2357 and fit["calibration_end"] == "1997-09-30"
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert round(fit[name], 3) == pytest.approx(published, abs=0.0015), name  # published to 3 d.p.
    holdout = fit["holdout"]
    assert holdout["holdout_end"] == "1998-06-30" and holdout["weeks"] == pytest.approx(39.0)
    # the oracle: lifetimes' calibration/holdout split of the same transactions, and its own fit
    import pandas as pd

    orders = pd.read_csv(path, parse_dates=["order_date"], dtype={"customer_id": str})
    summary = calibration_and_holdout_data(
        orders, "customer_id", "order_date", calibration_period_end="1997-09-30", observation_period_end="1998-06-30"
    )
    assert holdout["actual"] == summary["frequency_holdout"].sum()
    fitter = lifetimes.BetaGeoFitter().fit(summary["frequency_cal"], summary["recency_cal"] / 7, summary["T_cal"] / 7)
    predicted = fitter.conditional_expected_number_of_purchases_up_to_time(
        summary["duration_holdout"] / 7, summary["frequency_cal"], summary["recency_cal"] / 7, summary["T_cal"] / 7
    )
    assert holdout["predicted"] == pytest.approx(float(predicted.sum()), rel=0.005)
    by_frequency = {row["frequency"]: row for row in holdout["by_frequency"]}
    for k in range(7):
        mine = summary["frequency_cal"] == k
        assert by_frequency[str(k)]["customers"] == mine.sum()
        assert by_frequency[str(k)]["actual"] == pytest.approx(summary["frequency_holdout"][mine].mean(), abs=1e-4)
        assert by_frequency[str(k)]["predicted"] == pytest.approx(float(predicted[mine].mean()), rel=0.01)
    # without a calibration end the same file fits on everything and has no holdout
    whole = run_cli(tmp_path, path.name, "--as-of", "1998-06-30")["bgnbd"]
    assert whole["holdout"] is None and whole["calibration_end"] is None and whole["r"] != fit["r"]


def drivers_file(folder: Path) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """1,500 customers whose contract drives churn, nine weak columns first: the file, and the tenure, contract and
    churned arrays lifelines is given."""
    rng = np.random.default_rng(8)
    n = 1500
    contract = rng.choice(["monthly", "one year", "two year"], n)
    hazard = np.select([contract == "monthly", contract == "one year"], [0.12, 0.05], 0.02)
    lifetime = rng.geometric(hazard)
    churned = lifetime <= 36
    tenure = np.minimum(lifetime, 36)
    noise = {f"noise_{k}": rng.choice(["a", "b", "c"], n) for k in range(9)}
    header = ["customer_id", *noise, "tenure", "churned", "contract"]
    rows = [
        [f"c{i}", *(noise[c][i] for c in noise), int(tenure[i]), "yes" if churned[i] else "no", contract[i]]
        for i in range(n)
    ]
    return write_rows(folder / "telco.csv", header, rows), tenure, contract, churned


def test_group_comparisons_follow_the_drivers_not_file_order(tmp_path):
    """Nine weak columns come first in the file, the strongest driver last: it still gets its log-rank test, its
    medians and the chart; the numbers agree with lifelines."""
    lifelines = pytest.importorskip("lifelines")
    from lifelines.statistics import multivariate_logrank_test

    _, tenure, contract, churned = drivers_file(tmp_path)
    report = run_cli(tmp_path, "telco.csv")
    assert report["drivers"][0]["column"] == "contract"
    tests = report["survival"]["log_rank"]
    assert tests[0]["column"] == "contract" and len(tests) == 8
    ranked = sorted(report["segments"], key=lambda s: (-s["cramers_v"], s["column"]))
    assert [t["column"] for t in tests] == [s["column"] for s in ranked[:8]]
    theirs = multivariate_logrank_test(tenure, contract, churned)
    assert tests[0]["statistic"] == pytest.approx(theirs.test_statistic, rel=1e-4)
    medians = {g["value"]: g["median"] for g in report["survival"]["by_segment"]["contract"]}
    for value in ("monthly", "one year", "two year"):
        km = lifelines.KaplanMeierFitter().fit(tenure[contract == value], churned[contract == value])
        expected = km.median_survival_time_
        assert medians[value] == (None if np.isinf(expected) else pytest.approx(expected)), value
    assert next(iter(report["survival"]["by_segment"])) == "contract"


def test_survival_chart_shows_the_strongest_driver(tmp_path):
    from retention_mcp.analytics.engine import AnalysisRequest, analyze

    rows = [[f"c{i}", 1 + (i * 7) % 30 if i % 3 else 1 + i % 4, "yes" if i % 3 == 0 or i % 7 == 0 else "no",
             "monthly" if i % 3 == 0 else "annual", ["north", "south"][i % 2]] for i in range(600)]  # fmt: skip
    write_rows(tmp_path / "plans.csv", ["customer_id", "tenure", "churned", "contract", "region"], rows)
    analysis = analyze(AnalysisRequest(path="plans.csv", charts=True), [tmp_path])
    assert analysis.report.drivers[0].column == "contract"
    png = analysis.charts["survival.png"]
    assert png.startswith(b"\x89PNG") and b"Survival by contract" in png and b"contract = monthly" in png


def chinese_charts(folder: Path) -> dict[str, bytes]:
    from retention_mcp.analytics.engine import AnalysisRequest, analyze

    rows = [
        [f"K{i}", f"2024-{1 + i % 12:02d}-0{1 + i % 7}", f"2025-0{1 + i % 9}-1{i % 9}" if i % 3 == 0 else "",
         ["月付会员", "年付会员", "季度套餐"][i % 3], ["华东", "华南"][i % 2]]
        for i in range(600)
    ]  # fmt: skip
    write_rows(folder / "会员.csv", ["客户编号", "注册日期", "取消日期", "套餐", "地区"], rows)
    return analyze(AnalysisRequest(path="会员.csv", charts=True, as_of="2025-12-31"), [folder]).charts


def test_chinese_renders_in_the_charts(tmp_path, recwarn):
    import warnings

    warnings.simplefilter("always")
    charts = chinese_charts(tmp_path)
    missing = [str(w.message) for w in recwarn if "missing from font" in str(w.message)]
    assert missing == [], missing[:3]
    survival = charts["survival.png"]
    assert "按 套餐 的生存曲线".encode() in survival and "套餐 = 月付会员".encode() in survival
    assert "cohorts.png" in charts


def test_the_glyph_check_catches_a_missing_font(tmp_path, recwarn, monkeypatch):
    """Without the shipped font the same charts warn about missing glyphs: the test above can fail."""
    import warnings

    from retention_mcp.analytics import charts

    warnings.simplefilter("always")
    monkeypatch.setattr(charts, "_font_families", lambda: ("DejaVu Sans",))
    chinese_charts(tmp_path)
    assert any("missing from font" in str(w.message) for w in recwarn)


def test_survival_chart_axis_follows_the_tenure_unit(tmp_path):
    from retention_mcp.analytics.engine import AnalysisRequest, analyze

    rows = [[f"c{i}", 10 + (i * 37) % 700, "yes" if i % 3 else "no", ["a", "b"][i % 2]] for i in range(300)]
    write_rows(tmp_path / "days.csv", ["customer_id", "tenure", "churned", "plan"], rows)
    analysis = analyze(AnalysisRequest(path="days.csv", charts=True, tenure_unit="day"), [tmp_path])
    assert analysis.report.survival.unit == "days" and analysis.report.survival.median > 100
    assert analysis.charts["survival.png"].startswith(b"\x89PNG")


def test_quarterly_anniversaries_with_period_quarter(tmp_path):
    ref = SBG["High End"]
    anniversaries_file(tmp_path, "High End", "quarters.csv", date(2020, 1, 1), 3)
    report = run_cli(tmp_path, "quarters.csv", "--period", "quarter", "--as-of", "2021-12-31")
    assert report["sbg"]["period"] == "quarter" and report["sbg"]["discount_rate"] == 0.03
    assert round(report["sbg"]["alpha"], 3) == ref["alpha"] and round(report["sbg"]["beta"], 3) == ref["beta"]
    assert [p["period"] for p in report["periods"]][:3] == ["2020-Q1", "2020-Q2", "2020-Q3"]
    assert report["cohorts"]["months"][0] == "2020-Q1"


def test_day_first_dates_with_a_time_of_day(tmp_path):
    rows = [
        [f"c{i}", f"{1 + i % 28:02d}/03/2024 09:{i % 60:02d}", "" if i % 4 else "15/06/2024 17:30"] for i in range(80)
    ]
    write_rows(tmp_path / "times.csv", ["customer_id", "start_date", "end_date"], rows)
    report = run_cli(tmp_path, "times.csv", "--as-of", "2024-12-31")
    assert report["customers"] == 80 and report["churned"] == 20
    assert report["periods"][0]["month"] == "2024-03" and report["periods"][0]["new"] == 80


def test_non_finite_segment_values_are_missing_not_a_quartile(tmp_path):
    rows = [[f"c{i}", 1 + i % 12, "yes" if i % 3 == 0 else "no", "nan" if i % 5 == 0 else i * 7 % 50 + 0.5, "inf"]
            for i in range(60)]  # fmt: skip
    write_rows(tmp_path / "segnan.csv", ["customer_id", "tenure", "churned", "usage", "score"], rows)
    report = run_cli(tmp_path, "segnan.csv")
    segments = {s["column"]: [v["value"] for v in s["values"]] for s in report["segments"]}
    assert (
        list(segments) == ["usage"] and segments["usage"][0] == "(missing)" and "nan" not in " ".join(segments["usage"])
    )


def test_the_default_observation_end_follows_the_clock(tmp_path):
    from retention_mcp.analytics.engine import AnalysisRequest, analyze
    from retention_mcp.analytics.loading import DataError

    rows = [[f"c{i}", "2030-01-10", "2030-06-10" if i % 2 else "2031-03-01"] for i in range(40)]
    write_rows(tmp_path / "later.csv", ["customer_id", "start_date", "end_date"], rows)
    request = AnalysisRequest(path="later.csv", today=date(2030, 12, 31))
    report = analyze(request, [tmp_path]).report
    assert report.observation_end == "2030-06-10" and report.churned == 20 and report.active == 20
    assert any("20 end date(s) fall after the observation end (2030-06-10)" in n for n in report.notes)
    after = analyze(AnalysisRequest(path="later.csv", today=date(2031, 6, 1)), [tmp_path]).report
    assert after.observation_end == "2031-03-01" and after.churned == 40
    with pytest.raises(DataError, match=r"Every date in the file is after today \(2029-01-01\); pass .* --as-of"):
        analyze(AnalysisRequest(path="later.csv", today=date(2029, 1, 1)), [tmp_path])


def test_json_lines_in_gb18030_and_parquet_untouched_by_an_encoding(tmp_path):
    lines = [
        json.dumps({"客户编号": f"K{i}", "注册日期": "2025-01-0" + str(1 + i % 9), "是否流失": "是" if i % 4 == 0 else "否",
                    "在网时长": 1 + i % 10}, ensure_ascii=False)
        for i in range(40)
    ]  # fmt: skip
    (tmp_path / "export.jsonl").write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    report = run_cli(tmp_path, "export.jsonl")
    assert report["customers"] == 40 and report["churned"] == 10 and report["columns"]["churned"] == "是否流失"
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'c' || i AS customer_id, 1 + i % 12 AS tenure, i % 3 = 0 AS churned FROM range(60) t(i)) "
        f"TO '{tmp_path / 'subs.parquet'}' (FORMAT parquet)"
    )
    parquet = run_cli(tmp_path, "subs.parquet", "--encoding", "gb18030")
    assert parquet["customers"] == 60 and parquet["churned"] == 20


async def test_every_new_tool_parameter_reaches_the_analysis(registry, tmp_path):
    cdnow_transactions(tmp_path)
    (tmp_path / "eu.csv").write_text(
        "customer_id;start_date;end_date;mrr\n"
        + "".join(f"c{i};0{1 + i % 9}/01/2024;{'01/03/2025' if i % 4 == 0 else ''};12,5\n" for i in range(40))
    )
    (tmp_path / "gbk.csv").write_bytes(subscriptions_text().encode("gb18030"))
    write_rows(tmp_path / "days.csv", ["customer_id", "tenure", "churned"], [[f"c{i}", 30 * (1 + i % 9), "yes" if i % 2 else "no"] for i in range(60)])  # fmt: skip
    calls = {
        "cdnow": {"path": "cdnow_orders.csv", "calibration_end": "1997-09-30", "as_of": "1998-06-30"},
        "eu": {"path": "eu.csv", "decimal": ",", "date_format": "MM/DD/YYYY", "as_of": "2025-06-30"},
        "gbk": {"path": "gbk.csv", "encoding": "gb18030", "as_of": "2025-06-30"},
        "days": {"path": "days.csv", "tenure_unit": "day"},
    }
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        results = {k: await client.call_tool("analyze_churn", {**v, "charts": False}) for k, v in calls.items()}
    assert all(not r.is_error for r in results.values()), {k: r.content[0].text[:200] for k, r in results.items()}
    reports = {k: r.structured_content for k, r in results.items()}
    assert reports["cdnow"]["bgnbd"]["holdout"]["calibration_end"] == "1997-09-30"
    assert reports["eu"]["churned"] == 10 and reports["eu"]["periods"][0]["month"] == "2024-01"
    assert reports["eu"]["mrr"]["current"] == pytest.approx(30 * 12.5)
    assert reports["gbk"]["customers"] == 60 and any("gb18030" in n for n in reports["gbk"]["notes"])
    assert reports["days"]["survival"]["unit"] == "days"


@pytest.mark.parametrize(
    "rows",
    [
        ["a,2025-01-01,2025-03-01,x", "b,2025-01-05,,y"],  # the only churn happens with one customer at risk
        ["a,2025-01-01,2025-03-01,x", "b,2025-01-05,,y", "c,2025-02-01,2025-04-01,z"],  # a singular log-rank system
    ],
    ids=["two", "three"],
)
async def test_a_tiny_file_is_analysed_and_says_what_it_cannot_test(registry, tmp_path, rows):
    (tmp_path / "tiny.csv").write_text("customer_id,start_date,end_date,plan\n" + "\n".join(rows) + "\n")
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        result = await client.call_tool("analyze_churn", {"path": "tiny.csv", "charts": False})
    assert not result.is_error, result.content[0].text
    report = result.structured_content
    tested = {t["column"] for t in report["survival"]["log_rank"]}
    absent = {a["name"] for a in report["absent"]}
    assert "plan" in tested or "survival.log_rank.plan" in absent  # a statistic only where the data carry one
    for test in report["survival"]["log_rank"]:
        assert 1 <= test["dof"] <= len(rows) - 1 and 0 <= test["p_value"] <= 1
