"""The parts of an Excel workbook as expat events: what each part holds, read piece by piece.

Each handler keeps only what the conversion needs (analytics/workbook.py feeds it the counted XML): a part's
relationships, the sheets of the workbook, which cell styles are dates or durations, the shared strings (their
UTF-8 bytes and one offset each), and a worksheet's rows, written as CSV as they end. Cells are read as openpyxl
reads them with data_only, using openpyxl's own rules for number formats and dates.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from array import array
from typing import Any, Protocol

from retention_mcp.analytics.limits import Cancellation, DataError, LimitError, Limits
from retention_mcp.analytics.sheetpick import SAMPLE_ROWS, short

REL_ID = "relationships}id"
MAX_ITEMS = 100_000  # sheets, relationships and styles kept from one part (Excel allows 64,000 cell styles)


class Bounds(Protocol):
    """What a handler needs from the conversion: the limits, the file's name in messages, the cancellation."""

    limits: Limits
    shown: str
    cancel: Cancellation

    def too_long(self, what: str) -> LimitError: ...


def cell_text(value: object) -> str:
    """How a cell's value is written to the CSV."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Handler:
    """What expat calls for one part; tags arrive as 'namespace}local'."""

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, tag: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


_LOCAL: dict[str, str] = {}  # 'namespace}row' -> 'row', for the few tags a workbook uses


def _local(tag: str) -> str:
    local = _LOCAL.get(tag)
    if local is None:
        local = tag.rpartition("}")[2]
        if len(_LOCAL) < 1024:
            _LOCAL[tag] = local
    return local


class Relations(Handler):
    def __init__(self, folder: str):
        self.folder = folder
        self.found: dict[str, tuple[str, str]] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External" and len(self.found) < MAX_ITEMS:
            target = attrs.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(self.folder, target))
            self.found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)


class WorkbookPart(Handler):
    def __init__(self) -> None:
        self.sheets: list[tuple[str, str, bool]] = []  # (name, relationship id, hidden), in the workbook's order
        self.date1904 = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "sheet" and len(self.sheets) < MAX_ITEMS:
            rid = next((v for k, v in attrs.items() if k.endswith(REL_ID)), "")
            self.sheets.append((attrs.get("name", ""), rid, attrs.get("state", "visible") != "visible"))
        elif local == "workbookPr":
            self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")


class Styles(Handler):
    """Which cell styles (indexes into cellXfs) show a number as a date, and which as a duration."""

    def __init__(self) -> None:
        self.custom: dict[int, str] = {}
        self.formats: list[int] = []
        self.depth = 0  # inside cellXfs

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "numFmt" and len(self.custom) < MAX_ITEMS:
            self.custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            self.depth += 1
        elif local == "xf" and self.depth and len(self.formats) < MAX_ITEMS:
            self.formats.append(int(attrs.get("numFmtId", "0")))

    def end(self, tag: str) -> None:
        if _local(tag) == "cellXfs":
            self.depth -= 1

    def date_styles(self) -> tuple[set[int], set[int]]:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        dates, durations = set(), set()
        for index, number in enumerate(self.formats):
            code = self.custom[number] if number in self.custom else BUILTIN_FORMATS.get(number)
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations


class Strings(Handler):
    """The shared strings, kept as UTF-8 bytes and the offset where each ends; one longer than the line limit, or
    all of them past the decompressed limit, stop the conversion."""

    def __init__(self, book: Bounds):
        self.book, self.limit = book, book.limits.max_line_bytes
        self.blob = bytearray()
        self.ends = array("q")
        self.parts: list[str] = []
        self.size = 0
        self.collect = False
        self.phonetic = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "si":
            self.parts, self.size = [], 0
        elif local == "t":
            self.collect = not self.phonetic
        elif local == "rPh":
            self.phonetic += 1

    def end(self, tag: str) -> None:
        local = _local(tag)
        if local == "t":
            self.collect = False
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "si":
            self.blob += "".join(self.parts).encode("utf-8")
            self.ends.append(len(self.blob))
            self.parts = []

    def text(self, data: str) -> None:
        if self.collect:
            self.size += len(data)
            if self.size > self.limit:
                raise self.book.too_long("a shared string")
            self.parts.append(data)

    def __getitem__(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        start = self.ends[index - 1] if index else 0
        return self.blob[start : self.ends[index]].decode("utf-8")


WINDOWS_EPOCH = dt.datetime(1899, 12, 30)
MAC_EPOCH = dt.datetime(1904, 1, 1)
ROWS_PER_CHECK = 1024


class Enough(Exception):
    """Raised by a Sheet that only samples, once its header is decided: the rest of the sheet is not read."""


Row = tuple[int, dict[int, str], dict[int, float]]  # row number, column -> text, column -> number (plain cells)


class Sheet(Handler):
    """A worksheet's rows written as CSV as they are parsed, from its header row on: only rows with a value, each as
    wide as the widest so far (at least `width`); `widened` says a row came out wider than one already written.

    The header is row `header_row` (as Excel numbers rows), or else decided from the first SAMPLE_ROWS rows with a
    value (analytics/sheetpick.py); rows above it are skipped. Plain numbers in a column whose header names a date
    role, or is one of the `mapped` date columns, are Excel serial dates, written as dates and counted in
    `converted`. With no `out`, rows are only counted (`rows`), and with `sample`, reading stops (Enough) once the
    header is decided."""

    def __init__(
        self,
        book: Bounds,
        strings: Strings,
        dates: set[int],
        durations: set[int],
        epoch: dt.datetime,
        mapped: frozenset[str],
        out: Any,
        width: int = 0,
        header_row: int | None = None,
        name: str = "",
        sample: bool = False,
    ):
        import csv

        self.book, self.strings, self.dates, self.durations, self.epoch = book, strings, dates, durations, epoch
        self.mapped = mapped
        self.writer = csv.writer(out) if out is not None else None
        self.max_columns, self.limit = book.limits.max_columns, book.limits.max_line_bytes
        self.width, self.widened, self.written = width, False, 0
        self.header_row, self.name, self.sample = header_row, name, sample
        self.first: list[Row] = []  # rows read while the header is not decided yet
        self.header: Row | None = None
        self.skipped = 0  # rows with a value above the header
        self.date_columns: set[int] = set()
        self.converted: dict[int, int] = {}  # column -> serial numbers written as dates
        self.rows = 0  # rows below the header
        self.number = 0  # the row being read, as Excel numbers it
        self.row: dict[int, str] = {}
        self.numbers: dict[int, float] = {}
        self.row_size = 0
        self.column = 0
        self.kind, self.style = "n", 0
        self.parts: list[str] = []
        self.size = 0
        self.collect = False
        self.has_value = False
        self.plain: float | None = None
        self.inline = 0
        self.phonetic = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _LOCAL.get(tag) or _local(tag)
        if local == "c":
            ref = attrs.get("r")
            column = _column(ref) if ref else 0
            self.column = column if column else self.column + 1
            self.kind = attrs.get("t", "n")
            self.style = int(attrs.get("s") or 0)
            self.parts, self.size, self.has_value = [], 0, False
        elif local == "v" and self.kind != "inlineStr":
            self.collect, self.has_value = True, True
        elif local == "is":
            self.inline += 1
            self.has_value = self.has_value or self.kind == "inlineStr"
        elif local == "t" and self.inline and not self.phonetic and self.kind == "inlineStr":
            self.collect = True
        elif local == "rPh":
            self.phonetic += 1
        elif local == "row":
            self.row, self.numbers, self.row_size, self.column = {}, {}, 0, 0
            if self.header is None:  # row numbers matter until the header is found
                given = attrs.get("r", "")
                self.number = int(given) if given.isdigit() and len(given) < 12 else self.number + 1

    def text(self, data: str) -> None:
        if self.collect:
            self.size += len(data)
            if self.size > self.limit:
                raise self.book.too_long(f"the cell in column {self.column}")
            self.parts.append(data)

    def end(self, tag: str) -> None:
        local = _LOCAL.get(tag) or _local(tag)
        if local in ("v", "t"):
            self.collect = False
        elif local == "is":
            self.inline -= 1
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "c":
            if self.has_value:
                self.plain = None
                self.add(self.value("".join(self.parts)))
                if self.plain is not None and (self.header is None or self.column in self.date_columns):
                    self.numbers[self.column] = self.plain
        elif local == "row":
            self.finish_row()

    def value(self, raw: str) -> str:
        kind = self.kind
        if kind == "inlineStr" or kind == "str" or kind == "e":
            return raw
        if not raw:
            return ""
        if kind == "n":
            number: float | int = float(raw) if ("." in raw or "e" in raw or "E" in raw) else int(raw)
            if self.style in self.dates:
                from openpyxl.utils.datetime import from_excel

                try:
                    return cell_text(from_excel(number, self.epoch, timedelta=self.style in self.durations))
                except (OverflowError, ValueError):
                    return "#VALUE!"
            self.plain = number
            return cell_text(number)
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "b":
            return cell_text(bool(int(raw)))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return cell_text(from_ISO8601(raw))
        return raw

    def add(self, text: str) -> None:
        if not text:
            return
        if self.column > self.max_columns:
            letters = _name(self.column)
            raise LimitError(
                f"{self.book.shown}: the sheet has a value in column {letters} ({self.column}), past the "
                f"limit of {self.max_columns} columns (RETENTION_MCP_MAX_COLUMNS) / 工作表在第 {self.column} 列"
                f"({letters})有值,超过 {self.max_columns} 列的上限(RETENTION_MCP_MAX_COLUMNS)"
            )
        self.row_size += len(text) + 1
        if self.row_size > self.limit:
            raise self.book.too_long("a row of the sheet")
        self.row[self.column] = text

    def finish_row(self) -> None:
        if not self.row:
            return
        row: Row = (self.number, self.row, self.numbers)
        self.row, self.numbers = {}, {}
        if self.header is not None:
            self.data(row)
        elif self.header_row is not None:
            if self.number == self.header_row:
                self.decide([row])
            elif self.number > self.header_row:
                raise self.no_header()
        else:
            self.first.append(row)
            if len(self.first) >= SAMPLE_ROWS:
                self.decide(self.first)
        if self.sample and self.header is not None:
            raise Enough

    def close(self) -> None:
        """The sheet is read: decide the header from the rows there are, if that is still to do."""
        if self.header is None and self.header_row is not None:
            raise self.no_header()
        if self.header is None and self.first:
            self.decide(self.first)

    def no_header(self) -> DataError:
        where = f"sheet '{short(self.name)}'" if self.name else "the sheet"
        return DataError(
            f"header_row: row {self.header_row} of {where} has no value, so it cannot be the header; give the row "
            f"that holds the column names, as Excel numbers it / header_row:第 {self.header_row} 行没有内容,不能作为"
            f"表头;请给出列名所在的行号(与 Excel 行号一致)"
        )

    def decide(self, rows: list[Row]) -> None:
        from retention_mcp.analytics.sheetpick import header_index, is_date

        index = 0 if self.header_row is not None else header_index([cells for _, cells, _ in rows])
        self.header, self.skipped, self.first = rows[index], index, []
        self.date_columns = {c for c, text in self.header[1].items() if text in self.mapped or is_date(text)}
        if self.writer is not None:
            self.write(self.header[1])
        for row in rows[index + 1 :]:
            self.data(row)

    def data(self, row: Row) -> None:
        self.rows += 1
        if self.writer is None:
            if self.rows % ROWS_PER_CHECK == 0:
                self.book.cancel.check()
            return
        _, cells, numbers = row
        if numbers and self.date_columns:
            for column in self.date_columns.intersection(numbers):
                day = serial_date(numbers[column], self.epoch)
                if day is not None:
                    cells[column] = day
                    self.converted[column] = self.converted.get(column, 0) + 1
        self.write(cells)

    def write(self, row: dict[int, str]) -> None:
        last = max(row)
        if last > self.width:
            self.widened = self.widened or self.written > 0
            self.width = last
        cells = [""] * self.width
        for column, text in row.items():
            cells[column - 1] = text
        assert self.writer is not None
        self.writer.writerow(cells)
        self.written += 1
        if self.written % ROWS_PER_CHECK == 0:
            self.book.cancel.check()


LAST_SERIAL = 2_958_465  # 9999-12-31 in the 1900 date system


def serial_date(number: float, epoch: dt.datetime) -> str | None:
    """An Excel serial number as the date (and time) it stands for, as openpyxl reads a date cell: in the 1900
    system, serials below 60 are a day later than the epoch says, because Excel counts a 29 February 1900 that never
    was (serial 60, read as 28 February). None for a number no date has."""
    if not 1 <= number <= LAST_SERIAL:
        return None
    from openpyxl.utils.datetime import from_excel

    try:
        return cell_text(from_excel(number, epoch))
    except (OverflowError, ValueError):
        return None


def _column(ref: str) -> int:
    """The column number of a cell reference such as 'XFD1048576' (0 when it has no letters)."""
    number = 0
    for char in ref:
        code = ord(char) | 0x20  # lower case
        if not 97 <= code <= 122:
            break
        number = number * 26 + code - 96
        if number > 1 << 24:  # far past any real column: the limit will refuse it
            break
    return number


def _name(column: int) -> str:
    """Excel's name of a column number (1 -> A, 16384 -> XFD)."""
    letters = ""
    while column > 0 and len(letters) < 8:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
