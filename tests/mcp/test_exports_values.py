"""One clean 500-customer subscription table, its true figures computed with pandas, and the same table written the
ways business exports write it: thousands separators, currency signs and 元, Chinese and English billing intervals,
durations with units, a `churned` column of 流失/在网, +08:00 timestamps, repeated rows. Through the command line
(`analyze FILE --json`) and the analyze_churn tool, each export gives the clean table's figures or an error naming the
column and the way past it."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from mcp import Client

from retention_mcp import cli
from retention_mcp.server import build_server

pytestmark = pytest.mark.anyio

AS_OF = date(2025, 12, 31)
FLAGS = {"decimal": "--decimal", "timezone": "--timezone", "tenure_unit": "--tenure-unit", "delimiter": "--delimiter",
         "encoding": "--encoding"}  # fmt: skip


# -- the clean table and its truth ---------------------------------------------------------------------------------------
def clean_table(n: int = 500, seed: int = 21) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = [date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1000, n)]
    start = [d.replace(day=1) if i % 5 == 0 else d for i, d in enumerate(start)]  # a fifth start on the 1st
    lifetime = rng.integers(20, 900, n)
    end = [s + timedelta(days=int(k)) for s, k in zip(start, lifetime, strict=True)]
    end = [e if e <= AS_OF and i % 3 else None for i, e in enumerate(end)]
    annual = rng.random(n) < 0.3
    monthly_price = np.round(rng.uniform(80, 900, n), 2)
    amount = np.where(annual, np.round(monthly_price * 12, 2), monthly_price)  # annual plans pay a year at once
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "start_date": start,
            "end_date": end,
            "churned": [e is not None for e in end],
            "tenure": [((e or AS_OF) - s).days for s, e in zip(start, end, strict=True)],
            "plan": np.where(rng.random(n) < 0.5, "basic", "pro"),
            "amount": amount,
            "billing_interval": np.where(annual, "annual", "monthly"),
        }
    )


def kaplan_meier_median(times: pd.Series, churned: pd.Series) -> float:
    frame = pd.DataFrame({"t": times.round(2), "d": churned.astype(int)})
    counts = frame.groupby("t")["d"].agg(["sum", "count"]).sort_index()
    at_risk = counts["count"][::-1].cumsum()[::-1]
    survival = (1 - counts["sum"] / at_risk).cumprod()
    return round(float(survival[survival <= 0.5 + 1e-12].index[0]), 2)


def truth(table: pd.DataFrame) -> dict:
    """What the analysis should say, computed here with pandas on the clean table."""
    mrr = table["amount"] / table["billing_interval"].map({"monthly": 1, "annual": 12})
    start = pd.to_datetime(table["start_date"])
    end = pd.to_datetime(table["end_date"])
    churned = table["churned"]
    window_start, window_end = pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01")
    before = start < window_start
    starting = mrr[before & ~(churned & (end < window_start))].sum()
    lost = mrr[before & churned & (end >= window_start) & (end < window_end)].sum()
    lifetime = ((end.fillna(pd.Timestamp(AS_OF)) - start).dt.days) / (365.25 / 12)
    return {
        "customers": len(table),
        "churned": int(churned.sum()),
        "churn_share": round(churned.mean(), 6),
        "mrr": round(float(mrr[~churned].sum()), 2),
        "grr": round(float(1 - lost / starting), 6),
        "median_months": kaplan_meier_median(lifetime, churned),
        "median_days": kaplan_meier_median(table["tenure"].astype(float), churned),
        "new_by_month": start.dt.strftime("%Y-%m").value_counts().to_dict(),
    }


TABLE = clean_table()
TRUE = truth(TABLE)


def rows(table: pd.DataFrame, **columns) -> list[dict]:
    """The table's rows as an export writes them: each column formatted by the function given for it."""
    out = []
    for i, record in enumerate(table.to_dict("records")):
        record["start_date"] = record["start_date"].isoformat()
        record["end_date"] = record["end_date"].isoformat() if record["end_date"] else ""
        record["churned"] = "yes" if record["churned"] else "no"
        for name, write in columns.items():
            record[name] = write(i, record)
        out.append(record)
    return out


def write(path: Path, records: list[dict], delimiter: str = ",", drop: tuple[str, ...] = ()) -> str:
    header = [k for k in records[0] if k not in drop]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows([[r[k] for k in header] for r in records])
    return path.name


# -- the two interfaces ---------------------------------------------------------------------------------------------------
def cli_args(name: str, params: dict) -> list[str]:
    args = [name, "--as-of", str(AS_OF)]
    for key, value in params.items():
        args += [FLAGS[key], value]
    return args


def run_cli(folder: Path, name: str, params: dict) -> dict:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["analyze", *cli_args(name, params), "--json", "--data-dir", str(folder)])
    assert code == 0, err.getvalue()[-2000:]
    return json.loads(out.getvalue())


def cli_error(folder: Path, name: str, params: dict) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["analyze", *cli_args(name, params), "--data-dir", str(folder)])
    assert code != 0, out.getvalue()[:500]
    return err.getvalue()


async def run_tool(registry, folder: Path, name: str, params: dict):
    async with Client(build_server(registry, data_dirs=[folder])) as client:
        return await client.call_tool("analyze_churn", {"path": name, "as_of": str(AS_OF), "charts": False, **params})


async def both(registry, folder: Path, name: str, **params) -> list[dict]:
    """The report from the command line and from the tool (which must agree)."""
    result = await run_tool(registry, folder, name, params)
    assert not result.is_error, result.content[0].text[:2000]
    return [run_cli(folder, name, params), result.structured_content]


async def both_refuse(registry, folder: Path, name: str, **params) -> list[str]:
    result = await run_tool(registry, folder, name, params)
    assert result.is_error
    return [cli_error(folder, name, params), result.content[0].text]


def assert_money(report: dict) -> None:
    assert report["customers"] == TRUE["customers"] and report["churned"] == TRUE["churned"]
    assert report["mrr"]["current"] == pytest.approx(TRUE["mrr"], abs=0.01)
    assert report["mrr"]["grr"] == pytest.approx(TRUE["grr"], abs=1e-6)


# -- amounts --------------------------------------------------------------------------------------------------------------
async def test_the_clean_table_and_its_thousands_separated_export_give_the_pandas_figures(registry, tmp_path):
    clean = write(tmp_path / "clean.csv", rows(TABLE))
    exported = write(tmp_path / "exported.csv", rows(TABLE, amount=lambda i, r: f"{r['amount']:,.2f}"))
    for name in (clean, exported):
        for report in await both(registry, tmp_path, name):
            assert_money(report)
            assert report["churn_share"] == TRUE["churn_share"]
            assert report["survival"]["median"] == TRUE["median_months"]


def thousands(_i, r):
    return f"{r['amount']:,.2f}"


AMOUNTS = {
    "thousands separators": (thousands, {}),
    "yen on a tenth": (lambda i, r: ("¥" if i % 10 == 0 else "") + f"{r['amount']:,.2f}", {}),
    "yuan suffix and spaces": (lambda i, r: f"{r['amount']:,.2f}".replace(",", "\u00a0") + " 元", {}),
    "codes before": (lambda i, r: f"CNY {r['amount']:,.2f}" if i % 2 else f"RMB{r['amount']:.2f}", {}),
    "ten thousands": (lambda i, r: f"{r['amount'] / 1e4:.6f}万元" if i % 7 == 0 else f"￥{r['amount']:.2f}", {}),
    "decimal comma": (lambda i, r: f"{r['amount']:,.2f}".replace(",", " ").replace(".", ","), {"decimal": ","}),
    "dots and a decimal comma": (
        lambda i, r: f"{r['amount']:,.2f}".replace(",", "_").replace(".", ",").replace("_", "."),
        {"decimal": ","},
    ),
}


@pytest.mark.parametrize("case", AMOUNTS, ids=str)
async def test_amounts_as_exports_write_them_give_the_true_mrr(registry, tmp_path, case):
    fmt, params = AMOUNTS[case]
    delimiter = ";" if params.get("decimal") == "," else ","
    name = write(tmp_path / "amounts.csv", rows(TABLE, amount=fmt), delimiter)
    for report in await both(registry, tmp_path, name, **params):
        assert_money(report)
        assert not any("--decimal ," in n for n in report["notes"])


async def test_mixed_currencies_are_refused_naming_the_column_and_currencies(registry, tmp_path):
    name = write(
        tmp_path / "mixed.csv", rows(TABLE, amount=lambda i, r: ("$" if i % 4 == 0 else "¥") + f"{r['amount']}")
    )
    for message in await both_refuse(registry, tmp_path, name):
        assert "amount: amounts in more than one currency (CNY (375), USD (125))" in message
        assert "convert them to one currency first" in message and " / " in message


async def test_unreadable_amounts_are_counted_by_row_never_shown(registry, tmp_path):
    secret = "sk-live-abc123"
    name = write(tmp_path / "bad.csv", rows(TABLE, amount=lambda i, r: secret if i in (3, 40) else r["amount"]))
    for report in await both(registry, tmp_path, name):
        note = next(n for n in report["notes"] if n.startswith("amount: 2 value(s) are not amounts"))
        assert "data row(s) 4, 41" in note and secret not in json.dumps(report)


async def test_a_decimal_comma_alone_is_pointed_at_decimal_but_thousands_never_are(registry, tmp_path):
    comma = write(tmp_path / "comma.csv", rows(TABLE, amount=lambda i, r: f"{r['amount']:.2f}".replace(".", ",")), ";")
    for message in await both_refuse(registry, tmp_path, comma):
        assert "amount: 500 amount(s) are written with a decimal comma (like 12,50); pass --decimal ," in message
    both_ways = write(
        tmp_path / "both.csv", rows(TABLE, amount=lambda i, r: thousands(i, r) if i % 2 else f"{r['amount']:.2f}".replace(".", ",")), ";"
    )  # fmt: skip
    for message in await both_refuse(registry, tmp_path, both_ways):
        assert "amount: 250 value(s) use a decimal point (like 1,299.00) and 250 a decimal comma" in message


# -- billing intervals ----------------------------------------------------------------------------------------------------
INTERVALS = {
    "chinese": lambda i, r: ("包年" if i % 2 else "年付") if r["billing_interval"] == "annual" else ("月付", "包月", "按月")[i % 3],
    "english phrases": lambda i, r: "Annual plan" if r["billing_interval"] == "annual" else ("Monthly", "per month")[i % 2],
    "counted": lambda i, r: "12个月" if r["billing_interval"] == "annual" else "1 month",
}  # fmt: skip


@pytest.mark.parametrize("case", INTERVALS, ids=str)
async def test_billing_intervals_in_both_languages(registry, tmp_path, case):
    name = write(tmp_path / "intervals.csv", rows(TABLE, billing_interval=INTERVALS[case]))
    for report in await both(registry, tmp_path, name):
        assert_money(report)


def odd_intervals_file(folder: Path) -> str:
    """Two intervals no vocabulary knows, on ten rows each."""
    odd = {0: "两年半", 1: "lifetime"}
    return write(folder / "odd.csv", rows(TABLE, billing_interval=lambda i, r: odd.get(i % 50, r["billing_interval"])))


async def test_an_unknown_interval_is_an_error_never_monthly(registry, tmp_path):
    name = odd_intervals_file(tmp_path)
    for message in await both_refuse(registry, tmp_path, name):
        assert (
            "billing_interval: billing intervals that are not known: '两年半' (10 rows); 'lifetime' (10 rows)"
            in message
        )
        assert "Known intervals: monthly/月付/包月" in message and "计费周期" in message


def period_column_file(folder: Path) -> str:
    """The billing interval in Chinese words, in a column named `period`."""
    records = rows(TABLE, billing_interval=INTERVALS["chinese"])
    for r in records:
        r["period"] = r.pop("billing_interval")
    return write(folder / "period.csv", records)


async def test_a_period_column_of_intervals_is_the_billing_interval(registry, tmp_path):
    name = period_column_file(tmp_path)
    for report in await both(registry, tmp_path, name):
        assert_money(report)
        assert report["columns"]["billing_interval"] == "period"


# -- durations ------------------------------------------------------------------------------------------------------------
async def test_tenure_with_units_and_separators(registry, tmp_path):
    name = write(
        tmp_path / "tenure.csv",
        rows(TABLE, tenure=lambda i, r: f"{r['tenure']:,}天", churned=lambda i, r: "流失" if r["churned"] == "yes" else "在网"),
        drop=("start_date", "end_date", "amount", "billing_interval"),
    )  # fmt: skip
    for report in await both(registry, tmp_path, name):
        assert report["churned"] == TRUE["churned"] and report["survival"]["unit"] == "days"
        assert report["survival"]["median"] == TRUE["median_days"]
        assert any(n.startswith("tenure: durations read in days, from the unit written") for n in report["notes"])
    converted = write(tmp_path / "months.csv", rows(TABLE, tenure=lambda i, r: f"{r['tenure'] / (365.25 / 12):.4f} months"),
                      drop=("start_date", "end_date", "amount", "billing_interval"))  # fmt: skip
    for report in await both(registry, tmp_path, converted, tenure_unit="day"):
        assert report["survival"]["median"] == pytest.approx(TRUE["median_days"], abs=0.5)


def named_tenure_file(folder: Path, column: str, scale: float) -> str:
    """Tenure and the churned flag only, the tenure in days divided by `scale`, in a column named `column`."""
    records = rows(TABLE, tenure=lambda i, r: round(r["tenure"] / scale, 6))
    for r in records:
        r[column] = r.pop("tenure")
    return write(folder / "named.csv", records, drop=("start_date", "end_date", "amount", "billing_interval"))


@pytest.mark.parametrize(("column", "unit", "scale"), [("tenure_years", "years", 365.25), ("在网天数", "days", 1)])
async def test_a_unit_in_the_column_name_is_the_tenure_unit(registry, tmp_path, column, unit, scale):
    name = named_tenure_file(tmp_path, column, scale)
    for report in await both(registry, tmp_path, name):
        assert report["columns"]["tenure"] == column and report["survival"]["unit"] == unit
        assert report["survival"]["median"] == pytest.approx(TRUE["median_days"] / scale, abs=0.01)
        assert any(n.startswith(f"{column}: durations read in {unit}, from its name") for n in report["notes"])


# -- the file's own columns, time zones, repeated rows ----------------------------------------------------------------------
def churned_words_file(folder: Path, words: tuple[str, str]) -> str:
    """The churned column written as `words` (churned, active)."""
    return write(folder / "flags.csv", rows(TABLE, churned=lambda i, r: words[r["churned"] == "no"]))


@pytest.mark.parametrize("words", [("流失", "在网"), ("是", "否"), ("churned", "active")])
async def test_a_churned_column_of_documented_words_beside_dates(registry, tmp_path, words):
    name = churned_words_file(tmp_path, words)
    for report in await both(registry, tmp_path, name):
        assert_money(report)
        assert report["columns"]["churned"] == "churned"


async def test_offset_timestamps_keep_their_local_date(registry, tmp_path):
    def stamped(key):
        return lambda i, r: f"{r[key]}T00:30:00+08:00" if r[key] else ""

    name = write(tmp_path / "tz.csv", rows(TABLE, start_date=stamped("start_date"), end_date=stamped("end_date")))
    for report in await both(registry, tmp_path, name):
        assert_money(report)
        assert {p["month"]: p["new"] for p in report["periods"] if p["new"]} == TRUE["new_by_month"]
        assert any("start_date: 500 timestamp(s) carry a UTC offset" in n for n in report["notes"])
    utc = (pd.to_datetime(TABLE["start_date"]) - pd.Timedelta(days=1)).dt.strftime("%Y-%m").value_counts().to_dict()
    for report in await both(registry, tmp_path, name, timezone="UTC"):  # in UTC, 00:30+08:00 is the day before
        assert {p["month"]: p["new"] for p in report["periods"] if p["new"]} == utc != TRUE["new_by_month"]
        assert any("read as dates in UTC" in n for n in report["notes"])
    for message in await both_refuse(registry, tmp_path, name, timezone="Mars/Olympus"):
        assert "timezone: 'Mars/Olympus' is not an IANA time zone name" in message


def repeats_file(folder: Path) -> str:
    """The clean table with an export date on every row and its first seven rows repeated exactly."""
    records = rows(TABLE, invoice_date=lambda i, r: "2025-12-31")
    return write(folder / "repeats.csv", records + records[:7])


async def test_repeated_rows_and_an_export_date_keep_a_subscription_file(registry, tmp_path):
    name = repeats_file(tmp_path)
    records = rows(TABLE, invoice_date=lambda i, r: "2025-12-31")
    for report in await both(registry, tmp_path, name):
        assert report["mode"] == "subscriptions"
        assert_money(report)
        assert any(n.startswith("customer_id: 7 row(s) repeat an earlier row exactly (first on data row 501)") for n in report["notes"])  # fmt: skip
    changed = [dict(r, plan="gold") for r in records[:3]]
    other = write(tmp_path / "other.csv", records + changed)
    for message in await both_refuse(registry, tmp_path, other):
        assert "customer_id: 3 customer id(s) appear on more than one row (first repeat on data row 501)" in message


# -- advice that leads somewhere --------------------------------------------------------------------------------------------
async def test_mrr_movements_say_end_dates_are_missing(registry, tmp_path):
    name = write(tmp_path / "noend.csv", rows(TABLE), drop=("end_date",))
    for report in await both(registry, tmp_path, name):
        reason = next(a["reason"] for a in report["absent"] if a["name"] == "mrr_movements")
        assert "no end date" in reason and "no start dates" not in reason


async def test_utf8_asked_of_a_gbk_file_names_the_encoding(registry, tmp_path):
    text = "客户编号,开始日期,结束日期,套餐\n" + "".join(f"c{i},2025-01-0{1 + i % 9},,基础版\n" for i in range(40))
    (tmp_path / "gbk.csv").write_bytes(text.encode("gb18030"))
    for message in await both_refuse(registry, tmp_path, "gbk.csv", encoding="utf-8"):
        assert "--encoding utf-8 was given, but the file is not UTF-8 text" in message
        assert "pass --encoding gb18030" in message and "longer than" not in message


async def test_the_bundled_example_says_so_in_the_title(registry, tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["analyze", "subscriptions.csv", "--data-dir", str(tmp_path)]) == 0
    assert out.getvalue().startswith("# Churn analysis: subscriptions.csv (bundled example")
    result = await run_tool(registry, tmp_path, "subscriptions.csv", {"as_of": "2025-12-31"})
    assert result.structured_content["source"].endswith("(bundled example / 内置示例)")
    write(tmp_path / "subscriptions.csv", rows(TABLE))
    assert run_cli(tmp_path, "subscriptions.csv", {})["source"] == "subscriptions.csv"  # the user's own file


def instants_file(folder: Path) -> Path:
    """The clean table in Parquet, its dates as instants of 00:30 in Shanghai (the day before in UTC)."""
    frame = TABLE[["customer_id", "start_date", "end_date", "plan", "amount", "billing_interval"]].copy()
    for column in ("start_date", "end_date"):
        local = pd.to_datetime(frame[column]) + pd.Timedelta(minutes=30)
        frame[column] = local.dt.tz_localize("Asia/Shanghai")
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute(f"COPY frame TO '{folder / 'instants.parquet'}' (FORMAT parquet)")
    return folder / "instants.parquet"


async def test_parquet_instants_are_dated_in_the_zone_given(registry, tmp_path):
    instants_file(tmp_path)
    for report in await both(registry, tmp_path, "instants.parquet", timezone="Asia/Shanghai"):
        assert_money(report)
        assert {p["month"]: p["new"] for p in report["periods"] if p["new"]} == TRUE["new_by_month"]
        assert any(n.startswith("start_date: timestamps with a time zone are read as dates in Asia/Shanghai") for n in report["notes"])  # fmt: skip
    for report in await both(registry, tmp_path, "instants.parquet"):
        assert any("read as dates in UTC; pass --timezone NAME" in n for n in report["notes"])
