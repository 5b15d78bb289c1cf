"""Hostile workbooks, built here byte by byte with zipfile, stop at the limit that names them: through the real
command line (a subprocess under a 1.5 GB address-space limit, its private folder in a folder of the test) and through
the MCP server (the analysis timeout stops a conversion, and the server answers the next call). A declared dimension
is never trusted, and nothing converted is left behind, even by a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from retention_mcp.server import build_server
from tests.conftest import ROOT

pytestmark = pytest.mark.anyio

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()
WIDE = b'<dimension ref="A1:XFD1048576"/>'
ADDRESS_SPACE = 1536 * 1024 * 1024  # 1.5 GB: a workbook that needs more is refused, not a crash
ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}


def xlsx(path: Path, sheet: Iterable[bytes], strings: Iterable[bytes] | None = None) -> Path:
    """A minimal workbook: one sheet (its XML given in pieces, so a huge part is never held whole) and, when given,
    a shared-strings part."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OFFICE}.worksheet+xml"/>'
            + (
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{OFFICE}.sharedStrings+xml"/>'
                if strings
                else ""
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets><sheet name="数据" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELS}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{RELS}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        for name, pieces in (("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", strings)):
            if pieces is None:
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                for piece in pieces:
                    member.write(piece)
    return path


def repeated(piece: bytes, count: int) -> Iterator[bytes]:
    block = max(1, (1 << 20) // len(piece))
    whole = piece * block
    for _ in range(count // block):
        yield whole
    yield piece * (count % block)


def table_rows(customers: int) -> Iterator[bytes]:
    """A small churn table: a header and one row per customer (inline strings and numbers)."""
    header = ["customer_id", "signup_date", "cancel_date"]
    yield b"<row>" + b"".join(b'<c t="inlineStr"><is><t>%s</t></is></c>' % h.encode() for h in header) + b"</row>"
    for i in range(customers):
        end = b'<c t="inlineStr"><is><t>2025-03-01</t></is></c>' if i % 3 == 0 else b""
        yield (
            b'<row><c t="inlineStr"><is><t>c%d</t></is></c><c t="inlineStr"><is><t>2024-01-%02d</t></is></c>%s</row>'
            % (
                i,
                1 + i % 28,
                end,
            )
        )


def slow_sheet(rows: int = 10_000_000) -> list[bytes]:
    """Declares the largest sheet Excel allows, then holds millions of one-cell rows: legal, small (about 0.3%
    of its XML), and seconds of work to convert."""
    return [
        HEAD,
        WIDE,
        b"<sheetData>",
        *table_rows(3),
        *repeated(b"<row><c><v>1</v></c></row>", rows),
        b"</sheetData></worksheet>",
    ]


def limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def analyze(data: Path, scratch: Path, name: str, *flags: str, **popen) -> subprocess.Popen:
    env = ENV | {"PYTHONPATH": str(ROOT / "server"), "RETENTION_MCP_SCRATCH_DIR": str(scratch)}
    args = [sys.executable, "-m", "retention_mcp", "analyze", name, "--data-dir", str(data), "--json", *flags]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limit_memory, **popen
    )


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """The process's output once it ends; killed (and the test failed) if it runs past `timeout` seconds."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise


def leftovers(scratch: Path) -> list[str]:
    return sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*"))


@pytest.fixture
def folders(tmp_path):
    data, scratch = tmp_path / "data", tmp_path / "scratch"
    data.mkdir()
    scratch.mkdir(mode=0o700)
    return data, scratch


HOSTILE = {
    # a 2 KB sheet that declares A1:XFD1048576 and has a value in its last cell
    "declared": (
        lambda: [
            HEAD,
            WIDE,
            b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
            b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>',
        ],
        lambda: None,
        [],
        "past the limit of 1000 columns (RETENTION_MCP_MAX_COLUMNS)",
    ),
    "20000 columns": (
        lambda: [
            HEAD,
            b"<sheetData><row>",
            *(b"<c><v>%d</v></c>" % i for i in range(20_000)),
            b"</row></sheetData></worksheet>",
        ],
        lambda: None,
        ["--max-columns", "500"],
        "past the limit of 500 columns (RETENTION_MCP_MAX_COLUMNS)",
    ),
    # one shared string of 200 MB from a member of about 200 KB
    "huge shared string": (
        lambda: [HEAD, b'<sheetData><row><c t="s"><v>0</v></c></row></sheetData></worksheet>'],
        lambda: [f'<sst xmlns="{MAIN}"><si><t>'.encode(), *repeated(b"a" * 4096, 50 * 1024), b"</t></si></sst>"],
        [],
        "a shared string is longer than 1024 KB (RETENTION_MCP_MAX_LINE_KB)",
    ),
    # one tag of 64 MB: expat would hold it whole before any handler sees it
    "huge tag": (
        lambda: [
            HEAD,
            b'<sheetData><row><c r="A1" x="',
            *repeated(b"a" * 4096, 16 * 1024),
            b'"><v>1</v></c></row></sheetData></worksheet>',
        ],
        lambda: None,
        [],
        "an XML tag or comment is longer than 1024 KB (RETENTION_MCP_MAX_LINE_KB)",
    ),
    # a million tiny rows: 26 MB of XML in a file of about 60 KB
    "tiny rows": (
        lambda: [
            HEAD,
            b"<sheetData>",
            *repeated(b"<row><c><v>1</v></c></row>", 1_000_000),
            b"</sheetData></worksheet>",
        ],
        lambda: None,
        ["--max-decompressed-mb", "16"],
        "unpacks to more than 16 MB (RETENTION_MCP_MAX_DECOMPRESSED_MB)",
    ),
    # rows of text over 1000 times smaller packed than unpacked: the ratio limit, with its default
    "expansion": (
        lambda: [
            HEAD,
            b"<sheetData>",
            *repeated(b'<row><c t="inlineStr"><is><t>' + b"x" * 200 + b"</t></is></c></row>", 600_000),
            b"</sheetData></worksheet>",
        ],
        lambda: None,
        [],
        "times its size (RETENTION_MCP_MAX_COMPRESSION_RATIO)",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_workbook_stops_at_the_limit_that_names_it(folders, case):
    data, scratch = folders
    sheet, strings, flags, expected = HOSTILE[case]
    xlsx(data / "hostile.xlsx", sheet(), strings())
    proc = analyze(data, scratch, "hostile.xlsx", "--timeout", "120", *flags)
    out, err = finish(proc, 240)
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert expected in err and " / " in err, err[-2000:]
    assert "Traceback" not in err and "MemoryError" not in err
    assert out == ""
    assert leftovers(scratch) == []


def test_a_declared_dimension_is_never_trusted(folders):
    """A sheet that declares A1:XFD1048576 is read as the cells it holds: the analysis is quick and right."""
    data, scratch = folders
    xlsx(data / "declared.xlsx", [HEAD, WIDE, b"<sheetData>", *table_rows(30), b"</sheetData></worksheet>"])
    proc = analyze(data, scratch, "declared.xlsx", "--as-of", "2025-06-30", "--timeout", "60")
    out, err = finish(proc, 120)
    assert proc.returncode == 0, err[-2000:]
    assert '"customers": 30' in out and '"churned": 10' in out
    assert "read sheet '数据', header on row 1" in out
    assert leftovers(scratch) == []


def test_a_doctype_is_refused(folders):
    data, scratch = folders
    laughs = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    xlsx(
        data / "laughs.xlsx",
        [
            laughs,
            f'<worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'.encode(),
        ],
    )
    proc = analyze(data, scratch, "laughs.xlsx")
    _, err = finish(proc, 120)
    assert proc.returncode == 2 and "declares a DOCTYPE" in err, err[-2000:]
    assert leftovers(scratch) == []


async def test_the_analysis_timeout_stops_a_conversion_and_the_server_answers_the_next_call(
    registry, folders, monkeypatch
):
    data, _ = folders
    xlsx(data / "slow.xlsx", slow_sheet())
    (data / "small.csv").write_text(
        "customer_id,signup_date,cancel_date\n"
        + "".join(f"c{i},2024-01-0{1 + i % 9},{'2025-03-01' if i % 3 == 0 else ''}\n" for i in range(30))
    )
    monkeypatch.setenv("RETENTION_MCP_ANALYSIS_TIMEOUT", "2")
    monkeypatch.setenv("RETENTION_MCP_MAX_COMPRESSION_RATIO", "100000")  # only the time limit applies
    from retention_mcp.analytics import scratch

    async with Client(build_server(registry, "all", data_dirs=[data])) as client:
        with anyio.fail_after(240):  # a guard against a conversion that never stops, not a measure of speed
            result = await client.call_tool("analyze_churn", {"path": "slow.xlsx", "charts": False})
        message = result.content[0].text
        assert result.is_error and "RETENTION_MCP_ANALYSIS_TIMEOUT" in message, message
        assert [p.name for p in scratch.folder().rglob("*.csv")] == []
        result = await client.call_tool("analyze_churn", {"path": "small.csv", "as_of": "2025-06-30", "charts": False})
        assert not result.is_error, result.content[0].text
        assert result.structured_content["customers"] == 30


async def test_a_client_that_cancels_stops_the_conversion(registry, folders, monkeypatch):
    """The client gives up on a call while a workbook is being converted: the server stops converting (its copy
    is removed) and answers the next call."""
    from retention_mcp.analytics import scratch

    data, _ = folders
    xlsx(data / "slow.xlsx", slow_sheet())
    (data / "small.csv").write_text("customer_id,signup_date,cancel_date\na,2024-01-01,2025-03-01\nb,2024-01-02,\n")
    monkeypatch.setenv("RETENTION_MCP_MAX_COMPRESSION_RATIO", "100000")  # no limit stops it: only the cancel

    def converting() -> list[Path]:
        return list(scratch.folder().rglob("*.csv"))

    async with Client(build_server(registry, "all", data_dirs=[data])) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "analyze_churn", {"path": "slow.xlsx", "charts": False})
            with anyio.fail_after(120):  # guards, not measures: until the conversion is under way
                while not converting():
                    await anyio.sleep(0.05)
            group.cancel_scope.cancel()
        with anyio.fail_after(120):  # until the server has stopped converting and removed its copy
            while converting():
                await anyio.sleep(0.05)
        result = await client.call_tool("analyze_churn", {"path": "small.csv", "as_of": "2025-06-30", "charts": False})
        assert not result.is_error, result.content[0].text
        assert result.structured_content["customers"] == 2


def test_a_killed_process_leaves_no_converted_file_behind(folders):
    data, scratch = folders
    xlsx(data / "slow.xlsx", slow_sheet())
    (data / "small.csv").write_text("customer_id,signup_date,cancel_date\na,2024-01-01,2025-03-01\nb,2024-01-02,\n")
    proc = analyze(data, scratch, "slow.xlsx", start_new_session=True)
    try:
        for _ in range(1200):  # until the converted file is being written
            if any(p.suffix == ".csv" for p in scratch.rglob("*")) or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert any(p.suffix == ".csv" for p in scratch.rglob("*")), f"no converted file; exit {proc.poll()}"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert leftovers(scratch) != []  # killed: no exit handler ran
    second = analyze(data, scratch, "small.csv", "--as-of", "2025-06-30")
    _, err = finish(second, 120)
    assert second.returncode == 0, err[-2000:]
    assert leftovers(scratch) == []


def test_cells_are_read_as_openpyxl_reads_them(tmp_path):
    """Dates, times, durations, booleans, numbers, Chinese and rich text, a 1904 workbook, sparse and ragged rows:
    the converted CSV holds what openpyxl's read-only reader gives, first sheet only."""
    import csv
    import datetime as dt

    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    from retention_mcp.analytics import workbook
    from retention_mcp.analytics.limits import Cancellation, Limits
    from retention_mcp.analytics.sheetxml import cell_text

    books = []
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "客户 data"
    sheet.append(["id", "day", "moment", "flag", "n", "share", "城市", "formula", "duration"])
    for i in range(30):
        sheet.append(
            [
                f"x{i}",
                dt.date(2024, 1, 1) + dt.timedelta(days=i),
                dt.datetime(2024, 1, 1, 12, 30, i),
                i % 2 == 0,
                i * 1000,
                i / 3,
                "北京" if i % 3 else None,
                f"=E{i + 2}*2",
                dt.timedelta(hours=i),
            ]
        )
    sheet["B40"] = '  spaced, "quoted"\nline  '
    sheet["C41"] = dt.time(13, 45)
    sheet["K5"] = "past the header"
    sheet["A45"] = CellRichText([TextBlock(InlineFont(b=True), "bo"), "ld 粗体"])
    book.create_sheet("second").append(["never read"])
    books.append(tmp_path / "mixed.xlsx")
    book.save(books[-1])
    book = openpyxl.Workbook()
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    book.active.append(["day", "x"])
    book.active.append([dt.date(2020, 5, 17), 1.5])
    book.active.append([dt.datetime(2020, 5, 17, 1, 2, 3), 1e20])
    books.append(tmp_path / "mac.xlsx")
    book.save(books[-1])

    for path in books:
        expected = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = [[cell_text(v) for v in row] for row in expected.worksheets[0].iter_rows(values_only=True)]
        rows = [row for row in rows if any(row)]
        title = expected.worksheets[0].title
        expected.close()
        converted, note = workbook.convert(path, path.name, None, Limits(), Cancellation())
        with open(converted, newline="", encoding="utf-8") as handle:
            got = list(csv.reader(handle))
        converted.unlink()
        width = max(len(row) for row in got)
        assert all(len(row) == width for row in got)
        assert note.startswith(f"read sheet '{title}', header on row 1")
        assert got == [(row + [""] * width)[:width] for row in rows]
        assert all(not any(row[width:]) for row in rows)  # what openpyxl pads past the widest value is empty
