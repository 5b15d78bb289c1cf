"""Workbooks as exports write them, through `retention-mcp analyze` and the analyze_churn tool: a title above the
header, a summary sheet before the data, dates stored as Excel serial numbers (1900 and 1904 systems), amounts kept
as text. The figures are checked against pandas on the clean table the workbook was written from."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from retention_mcp import cli
from retention_mcp.server import build_server

pd = pytest.importorskip("pandas")
openpyxl = pytest.importorskip("openpyxl")

pytestmark = pytest.mark.anyio

AS_OF = "2025-06-30"
EPOCH_1900 = date(1899, 12, 30)  # serials from 61 on (1 March 1900) count days from here
EPOCH_1904 = date(1904, 1, 1)


def clean_table(customers: int = 150, seed: int = 5, prefix: str = "C"):
    """One customer per row: starts over 2024, about a third cancelled before the observation end."""
    rng = np.random.default_rng(seed)
    start = [date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 366, customers)]
    end = [s + timedelta(days=int(d)) if rng.random() < 0.35 else None for s, d in zip(start, rng.integers(20, 300, customers), strict=True)]  # fmt: skip
    end = [e if e is not None and e <= date.fromisoformat(AS_OF) else None for e in end]
    plan = rng.choice(["basic", "pro"], customers)
    price = np.round(rng.uniform(10, 90, customers), 2)
    return pd.DataFrame(
        {"customer_id": [f"{prefix}{i}" for i in range(customers)], "start_date": start, "end_date": end,
         "plan": plan, "price": price}
    )  # fmt: skip


def serial(day: date | None, epoch: date = EPOCH_1900) -> int | None:
    return None if day is None else (day - epoch).days


def write_rows(sheet, table, epoch: date) -> None:
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append([row.customer_id, serial(row.start_date, epoch), serial(row.end_date, epoch), row.plan, row.price])


def export_workbook(path: Path, table, epoch: date = EPOCH_1900) -> Path:
    """A summary sheet first, then the data under a merged title and an empty row: the header is on row 3. Dates
    are plain numbers (General format), as a copy-paste of values leaves them."""
    book = openpyxl.Workbook()
    if epoch == EPOCH_1904:
        book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    summary = book.active
    summary.title = "汇总"
    summary.append(["指标", "数值"])
    summary.append(["客户数", len(table)])
    summary.append(["流失", int(table["end_date"].notna().sum())])
    data = book.create_sheet("Data")
    data.append(["2026年订阅明细"])
    data.merge_cells("A1:E1")
    data.append([])
    write_rows(data, table, epoch)
    book.save(path)
    return path


def expected(table) -> dict:
    """What the analysis must find, from pandas on the clean table."""
    starts = pd.to_datetime(table["start_date"]).dt.strftime("%Y-%m")
    ends = pd.to_datetime(table["end_date"]).dt.strftime("%Y-%m")
    return {
        "customers": len(table),
        "churned": int(table["end_date"].notna().sum()),
        "new": starts.value_counts().to_dict(),
        # a period's churn counts those active at its start: a customer who starts and leaves in one month is not
        "ended": ends[ends.notna() & (ends != starts)].value_counts().to_dict(),
    }


def check(report: dict, table) -> None:
    truth = expected(table)
    assert report["customers"] == truth["customers"] and report["churned"] == truth["churned"]
    periods = {p["month"]: p for p in report["periods"]}
    assert {m: p["new"] for m, p in periods.items() if p["new"]} == truth["new"]
    assert {m: p["churned"] for m, p in periods.items() if p["churned"]} == truth["ended"]
    cohorts = dict(zip(report["cohorts"]["months"], report["cohorts"]["sizes"], strict=True))
    assert {month: size for month, size in cohorts.items() if size} == truth["new"]


def run_cli(folder: Path, *argv: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["analyze", *argv, "--json", "--data-dir", str(folder), "--as-of", AS_OF])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


def test_a_title_row_and_a_summary_sheet_before_the_data_through_the_cli(tmp_path):
    table = clean_table()
    export_workbook(tmp_path / "订阅.xlsx", table)
    report = run_cli(tmp_path, "订阅.xlsx")
    check(report, table)
    assert report["columns"]["start_date"] == "start_date" and report["columns"]["customer_id"] == "customer_id"
    note = next(n for n in report["notes"] if "read sheet" in n)
    assert "read sheet 'Data', header on row 3" in note and "读取工作表 'Data',表头在第 3 行" in note
    assert "of 2 sheets, the one with a customer id column and the most rows" in note and "--sheet" in note
    assert "1 row(s) above it taken as a title and skipped" in note and "--header-row" in note
    churned = int(table["end_date"].notna().sum())
    assert f"(1900 date system): start_date ({len(table)}), end_date ({churned})" in note


async def test_the_tool_reads_a_1904_workbook_with_the_sheet_and_header_row_given(registry, tmp_path):
    """Two data sheets: the larger one would be chosen; `sheet` (by name or number) and `header_row` say which."""
    big, small = clean_table(200, seed=1, prefix="B"), clean_table(90, seed=2, prefix="S")
    book = openpyxl.Workbook()
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    first = book.active
    first.title = "2024"
    write_rows(first, big, EPOCH_1904)
    second = book.create_sheet("2025 续订")
    second.append(["导出时间", "2026-01-05"])  # two cells above the header, one of them a date-like word
    write_rows(second, small, EPOCH_1904)
    book.save(tmp_path / "mac.xlsx")
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        chosen = await client.call_tool("analyze_churn", {"path": "mac.xlsx", "as_of": AS_OF, "charts": False})
        by_name = await client.call_tool(
            "analyze_churn",
            {"path": "mac.xlsx", "sheet": "2025 续订", "header_row": 2, "as_of": AS_OF, "charts": False},
        )
        by_number = await client.call_tool(
            "analyze_churn", {"path": "mac.xlsx", "sheet": "2", "as_of": AS_OF, "charts": False}
        )
    for result in (chosen, by_name, by_number):
        assert not result.is_error, result.content
    check(chosen.structured_content, big)
    check(by_name.structured_content, small)
    check(by_number.structured_content, small)
    note = next(n for n in by_name.structured_content["notes"] if "read sheet" in n)
    assert "read sheet '2025 续订', header on row 2" in note and "(1904 date system)" in note
    assert "taken as a title" not in note  # the row was given, not guessed
    number_note = next(n for n in by_number.structured_content["notes"] if "read sheet" in n)
    assert "header on row 2" in number_note and "1 row(s) above it taken as a title" in number_note


@pytest.mark.filterwarnings("ignore:Title is more than 31 characters")
async def test_a_sheet_or_header_row_that_is_not_there_is_an_error_that_says_what_is(registry, tmp_path, capsys):
    table = clean_table(40)
    export_workbook(tmp_path / "book.xlsx", table)
    book = openpyxl.load_workbook(tmp_path / "book.xlsx")
    book.create_sheet("a sheet with a very long name, longer than any")  # Excel's own limit is 31 characters
    book.save(tmp_path / "book.xlsx")
    table.to_csv(tmp_path / "plain.csv", index=False)
    cases = [
        ({"sheet": "Daten"}, "sheet: book.xlsx has no sheet 'Daten'; its sheets are '汇总', 'Data', 'a sheet with a very long name,…' (give a name, or a number from 1 to 3)"),
        ({"sheet": "4"}, "has no sheet '4'"),
        ({"sheet": "Data", "header_row": 2}, "header_row: row 2 of sheet 'Data' has no value"),
        ({"header_row": 500}, "header_row: row 500 of sheet 'Data' has no value"),
    ]  # fmt: skip
    async with Client(build_server(registry, data_dirs=[tmp_path])) as client:
        for arguments, message in cases:
            result = await client.call_tool("analyze_churn", {"path": "book.xlsx", "charts": False, **arguments})
            assert result.is_error and message in result.content[0].text, (arguments, result.content)
            assert " / " in result.content[0].text
        plain = await client.call_tool("analyze_churn", {"path": "plain.csv", "sheet": "Data", "charts": False})
    assert plain.is_error and "sheet: only an Excel workbook (.xlsx, .xlsm) has sheets" in plain.content[0].text
    assert cli.main(["analyze", "book.xlsx", "--sheet", "Daten", "--data-dir", str(tmp_path)]) != 0
    assert cases[0][1] in capsys.readouterr().err
    assert cli.main(["analyze", "plain.csv", "--header-row", "3", "--data-dir", str(tmp_path)]) != 0
    assert "header_row: only an Excel workbook" in capsys.readouterr().err


def test_serial_numbers_and_text_amounts_reach_the_csv_as_they_should(tmp_path):
    """The 1900 system counts a 29 February 1900 that never was: serials below 60 are a day later than the epoch
    says. Text cells keep their text ("1,299.00" is the amount reader's to read), numbers their value."""
    from retention_mcp.analytics import workbook
    from retention_mcp.analytics.limits import Cancellation, Limits

    serials = [1, 59, 61, 367, 45292, 45658.75]
    amounts = ["1,299.00", "¥1,299", "12.50", 99.5, "1.299,00", "3万元"]
    for system, epoch in (("1900", None), ("1904", openpyxl.utils.datetime.CALENDAR_MAC_1904)):
        book = openpyxl.Workbook()
        if epoch is not None:
            book.epoch = epoch
        sheet = book.active
        sheet.append(["客户编号", "开始日期", "金额", "n"])
        for i, (number, amount) in enumerate(zip(serials, amounts, strict=True)):
            sheet.append([f"k{i}", number, amount, number])
        path = tmp_path / f"{system}.xlsx"
        book.save(path)
        converted, note = workbook.convert(path, path.name, None, Limits(), Cancellation())
        with open(converted, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        converted.unlink()
        origin = {"1900": "1899-12-30", "1904": "1904-01-01"}[system]
        truth = pd.to_datetime(pd.Series(serials), unit="D", origin=origin)
        if system == "1900":  # before the phantom leap day, Excel's serials run a day ahead
            truth = truth.where(pd.Series(serials) >= 60, truth + pd.Timedelta(days=1))
        days = [t.strftime("%Y-%m-%d %H:%M:%S") if t.hour else t.strftime("%Y-%m-%d") for t in truth]
        assert rows[0] == ["客户编号", "开始日期", "金额", "n"]
        assert [row[1] for row in rows[1:]] == days, system
        assert [row[2] for row in rows[1:]] == [str(a) for a in amounts]
        assert [row[3] for row in rows[1:]] == ["1", "59", "61", "367", "45292", "45658.75"]  # not a date column
        assert f"Excel serial numbers read as dates ({system} date system): 开始日期 (6)" in note


def test_a_header_of_unknown_names_below_a_title_is_found_and_a_narrow_header_is_kept(tmp_path, capsys):
    """Column names the detection does not know: the title above is still skipped (it is far narrower than the
    table), and the names mapped with --map, which also makes the serial numbers of a mapped date column dates; a
    header narrower than its data rows is still the header."""
    from retention_mcp.analytics import workbook
    from retention_mcp.analytics.limits import Cancellation, Limits

    table = clean_table(60)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Kundenbericht 2026"])
    sheet.append(["Kunde", "Beginn", "Ende", "Tarif", "Preis"])
    for row in table.itertuples(index=False):
        sheet.append([row.customer_id, serial(row.start_date), serial(row.end_date), row.plan, row.price])
    book.save(tmp_path / "kunden.xlsx")
    mapped = ["--map", "customer_id=Kunde", "--map", "start_date=Beginn", "--map", "end_date=Ende"]
    report = run_cli(tmp_path, "kunden.xlsx", *mapped)
    check(report, table)
    note = next(n for n in report["notes"] if "read sheet" in n)
    assert "header on row 2; 1 row(s) above it taken as a title" in note
    churned = int(table["end_date"].notna().sum())
    assert f"(1900 date system): Beginn ({len(table)}), Ende ({churned})" in note

    narrow = openpyxl.Workbook()
    narrow.active.append(["Kunde", "Beginn", "Ende"])
    for i in range(20):
        narrow.active.append([f"k{i}", "2024-01-01", "", "extra", "columns", "unnamed"])
    narrow.save(tmp_path / "narrow.xlsx")
    converted, note = workbook.convert(tmp_path / "narrow.xlsx", "narrow.xlsx", None, Limits(), Cancellation())
    with open(converted, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    converted.unlink()
    assert rows[0][:3] == ["Kunde", "Beginn", "Ende"] and len(rows) == 21 and "header on row 1" in note


def test_without_an_id_column_the_sheet_with_the_most_rows_is_read_and_hidden_sheets_are_passed_over(tmp_path):
    from retention_mcp.analytics import workbook
    from retention_mcp.analytics.limits import Cancellation, Limits

    book = openpyxl.Workbook()
    book.active.title = "说明"
    for line in ("导出说明", "tenure in months"):
        book.active.append([line])
    hidden = book.create_sheet("lookup")
    hidden.append(["customer_id", "note"])
    for i in range(50):
        hidden.append([f"h{i}", "x"])
    hidden.sheet_state = "hidden"
    rows = book.create_sheet("rows")
    rows.append(["tenure", "churned"])
    for i in range(12):
        rows.append([i + 1, "yes" if i % 3 else "no"])
    book.save(tmp_path / "noid.xlsx")
    converted, note = workbook.convert(tmp_path / "noid.xlsx", "noid.xlsx", None, Limits(), Cancellation())
    with open(converted, newline="", encoding="utf-8") as handle:
        got = list(csv.reader(handle))
    converted.unlink()
    assert got[0] == ["tenure", "churned"] and len(got) == 13
    assert note.startswith("read sheet 'rows', header on row 1; of 3 sheets, the one with the most rows;")
