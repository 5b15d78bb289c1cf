"""Excel workbooks (.xlsx, .xlsm): the first sheet turned into a private UTF-8 CSV, within the limits.

A workbook is a zip of XML parts whose cells can unpack to thousands of times the file's size, and its declared
dimension (A1:XFD1048576) says nothing about what is really there. So the parts are read here, as streams:

- only the bytes that were checked are read; every byte decompressed from a part is counted as it is read (the zip's
  declared sizes are never trusted), and so is every byte of the CSV written, each against
  RETENTION_MCP_MAX_DECOMPRESSED_MB and, once past 64 MB (as for .gz), RETENTION_MCP_MAX_COMPRESSION_RATIO;
- the XML goes through expat piece by piece: a DOCTYPE is refused (so no entity is ever expanded), and no string,
  cell, row or unfinished XML token longer than RETENTION_MCP_MAX_LINE_KB is held in memory; shared strings are kept
  as their UTF-8 bytes and one offset each, so their memory is bounded by what was decompressed;
- rows and columns are counted from the cells themselves: a value past RETENTION_MCP_MAX_COLUMNS stops the
  conversion, and empty rows are skipped, never padded;
- the analysis's Cancellation is checked for every piece of XML read, so its timeout and the client's cancel stop
  the conversion too, and the converted file is removed whatever happens.

Cells are read as openpyxl reads them with data_only: numbers, booleans, shared and inline strings, cached formula
results, and numbers whose style has a date or duration format as dates, times or durations (openpyxl's own rules).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import posixpath
import zipfile
from array import array
from pathlib import Path
from typing import Any
from xml.parsers import expat

from retention_mcp.analytics import scratch
from retention_mcp.analytics.limits import MB, Cancellation, DataError, LimitError, Limits
from retention_mcp.errors import UserError

CHUNK = 1 << 16  # bytes of XML decompressed and parsed between two looks at the cancellation
FLOOR = 64 * MB  # the compression ratio counts past this size, as for a .gz file
REL_ID = "relationships}id"


def convert(path: Path, shown: str, size: int | None, limits: Limits, cancel: Cancellation) -> tuple[Path, str]:
    """The first sheet of the workbook at `path` (its first `size` bytes, those that were checked) as a new private
    CSV file: its path and the sheet's name. Raises DataError for a file that is not a workbook, LimitError past a
    limit, AnalysisStopped on timeout or cancel; the CSV is then removed."""
    try:
        import openpyxl  # noqa: F401  # its number-format and date rules are the ones used here
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise DataError("Reading .xlsx needs openpyxl: pip install openpyxl / 读取 .xlsx 需要 openpyxl") from None
    fd, name = scratch.private_file(".csv")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w+b") as target, open(path, "rb") as raw:
            checked = os.fstat(raw.fileno()).st_size if size is None else size
            book = _Book(raw, checked, shown, limits, cancel)
            title = book.write_first_sheet(target)
    except UserError:
        scratch.remove_tree(tmp)
        raise
    except Exception as exc:  # zipfile, expat and bad numbers raise many kinds for a damaged or non-Excel file
        scratch.remove_tree(tmp)
        raise DataError(
            f"{shown}: cannot be read as an Excel workbook ({type(exc).__name__}) / 无法作为 Excel 工作簿读取"
        ) from None
    except BaseException:
        scratch.remove_tree(tmp)
        raise
    return tmp, title


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


class _Window(io.RawIOBase):
    """The first `size` bytes of `raw`, seekable: what the zip reader sees, however the file changes afterwards."""

    def __init__(self, raw: Any, size: int):
        self.raw, self.size, self.pos = raw, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.pos)
        if count <= 0:
            return 0
        self.raw.seek(self.pos)
        got = self.raw.readinto(memoryview(buffer)[:count]) or 0
        self.pos += got
        return got


class _Output:
    """CSV text written to a binary file as UTF-8 through a count: past `cap` bytes, `over()` is raised instead."""

    def __init__(self, target: Any, cap: int, over: Any):
        self.target, self.cap, self.over = target, cap, over
        self.count = self.pending = 0
        self.buffer: list[bytes] = []

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.count += len(data)
        if self.count > self.cap:
            raise self.over()
        self.buffer.append(data)
        self.pending += len(data)
        if self.pending >= CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        self.target.write(b"".join(self.buffer))
        self.buffer, self.pending = [], 0


class _Book:
    """One workbook's zip: its parts read as counted XML streams."""

    def __init__(self, raw: Any, size: int, shown: str, limits: Limits, cancel: Cancellation):
        self.shown, self.limits, self.cancel = shown, limits, cancel
        self.cap = min(limits.max_decompressed_bytes, max(limits.max_compression_ratio * size, FLOOR))
        self.unpacked = 0
        self.zip = zipfile.ZipFile(_Window(raw, size))
        self.parts = {info.filename: info for info in self.zip.infolist()}
        self.folded = {name.lower(): info for name, info in self.parts.items()}

    # --- limits -------------------------------------------------------------------------------------------------
    def too_big(self, what: str = "unpacks to") -> LimitError:
        if self.cap == self.limits.max_decompressed_bytes:
            en = f"{self.limits.max_decompressed_mb} MB (RETENTION_MCP_MAX_DECOMPRESSED_MB)"
            zh = f"{self.limits.max_decompressed_mb} MB(RETENTION_MCP_MAX_DECOMPRESSED_MB)"
        else:
            ratio = self.limits.max_compression_ratio
            en = f"{ratio} times its size (RETENTION_MCP_MAX_COMPRESSION_RATIO)"
            zh = f"文件大小的 {ratio} 倍(RETENTION_MCP_MAX_COMPRESSION_RATIO)"
        return LimitError(
            f"{self.shown}: the workbook {what} more than {en}; save its sheet as CSV (or .csv.gz) if it is genuine / "
            f"工作簿解压或转换后超过 {zh};如确为正常数据,请另存为 CSV"
        )

    def too_long(self, what: str) -> LimitError:
        kb = self.limits.max_line_kb
        return LimitError(
            f"{self.shown}: {what} is longer than {kb} KB (RETENTION_MCP_MAX_LINE_KB) / "
            f"工作簿中的内容超过单行上限 {kb} KB(RETENTION_MCP_MAX_LINE_KB)"
        )

    # --- parts --------------------------------------------------------------------------------------------------
    def part(self, name: str) -> zipfile.ZipInfo | None:
        name = name.lstrip("/")
        return self.parts.get(name) or self.folded.get(name.lower())

    def parse(self, name: str, handler: _Handler) -> None:
        """Stream the part `name` through expat into `handler`, counting every byte decompressed."""
        info = self.part(name)
        if info is None:
            raise KeyError(name)
        parser = expat.ParserCreate(namespace_separator="}")

        def refuse(*_: Any) -> None:
            raise DataError(
                f"{self.shown}: a part of the workbook declares a DOCTYPE, which a workbook never has / "
                f"工作簿中含有 DOCTYPE 声明,不是有效的工作簿"
            )

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        parser.StartElementHandler = handler.start
        parser.EndElementHandler = handler.end
        parser.CharacterDataHandler = handler.text
        pending = self.limits.max_line_bytes + CHUNK  # an unfinished token expat holds: a tag, attribute, comment
        fed = 0
        with self.zip.open(info) as member:
            while chunk := member.read(CHUNK):
                self.unpacked += len(chunk)
                if self.unpacked > self.cap:
                    raise self.too_big()
                self.cancel.check()
                parser.Parse(chunk, False)
                fed += len(chunk)
                if fed - parser.CurrentByteIndex > pending:
                    raise self.too_long("an XML tag or comment")
            parser.Parse(b"", True)
        self.cancel.check()

    def relations(self, name: str) -> dict[str, tuple[str, str]]:
        """The relationships of the part `name`: id -> (type, path of the target in the zip)."""
        folder, base = posixpath.split(name)
        rels = posixpath.join(folder, "_rels", base + ".rels")
        handler = _Relations(folder)
        if self.part(rels) is not None:
            self.parse(rels, handler)
        return handler.found

    def write_first_sheet(self, target: Any) -> str:
        """Write the first worksheet as CSV to the binary file `target`; the sheet's name."""
        main = next(
            (path for kind, path in self.relations("").values() if kind.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        book = _Workbook()
        self.parse(main, book)
        relations = self.relations(main)
        sheet = next(
            (
                (title, relations[rid][1])
                for title, rid in book.sheets
                if relations.get(rid, ("",))[0].endswith("/worksheet")
            ),
            None,
        )
        if sheet is None:
            raise DataError(f"{self.shown}: the workbook has no worksheet / 工作簿中没有工作表")
        styles = _Styles()
        strings = _Strings(self)
        for kind, path in relations.values():
            if kind.endswith("/styles") and self.part(path) is not None:
                self.parse(path, styles)
            elif kind.endswith("/sharedStrings") and self.part(path) is not None:
                self.parse(path, strings)
        dates, durations = styles.date_styles()
        epoch = MAC_EPOCH if book.date1904 else WINDOWS_EPOCH
        width = 0
        for _attempt in range(2):  # a row wider than those before it: once more, every row as wide as the widest
            target.seek(0)
            target.truncate()
            out = _Output(target, self.cap, lambda: self.too_big("converts to"))
            rows = _Sheet(self, strings, dates, durations, epoch, out, width)
            before = self.unpacked
            self.parse(sheet[1], rows)
            out.flush()
            if not rows.widened:
                break
            width, self.unpacked = rows.width, before
        return sheet[0]


class _Handler:
    """What expat calls for one part; tags arrive as 'namespace}local'."""

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        pass

    def end(self, tag: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _Relations(_Handler):
    def __init__(self, folder: str):
        self.folder = folder
        self.found: dict[str, tuple[str, str]] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(self.folder, target))
            self.found[attrs.get("Id", "")] = (attrs.get("Type", ""), path)


class _Workbook(_Handler):
    def __init__(self) -> None:
        self.sheets: list[tuple[str, str]] = []  # (name, relationship id), in the workbook's order
        self.date1904 = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "sheet":
            rid = next((v for k, v in attrs.items() if k.endswith(REL_ID)), "")
            self.sheets.append((attrs.get("name", ""), rid))
        elif local == "workbookPr":
            self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")


class _Styles(_Handler):
    """Which cell styles (indexes into cellXfs) show a number as a date, and which as a duration."""

    def __init__(self) -> None:
        self.custom: dict[int, str] = {}
        self.formats: list[int] = []
        self.depth = 0  # inside cellXfs

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "numFmt":
            self.custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            self.depth += 1
        elif local == "xf" and self.depth:
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


class _Strings(_Handler):
    """The shared strings, kept as UTF-8 bytes and the offset where each ends; one longer than the line limit, or
    all of them past the decompressed limit, stop the conversion."""

    def __init__(self, book: _Book):
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


class _Sheet(_Handler):
    """A worksheet's rows written as CSV as they are parsed: only rows with a value, each as wide as the widest so
    far (at least `width`); `widened` says a row came out wider than one already written."""

    def __init__(self, book: _Book, strings: _Strings, dates: set[int], durations: set[int], epoch, out, width: int):
        import csv

        self.book, self.strings, self.dates, self.durations, self.epoch = book, strings, dates, durations, epoch
        self.writer = csv.writer(out)
        self.max_columns, self.limit = book.limits.max_columns, book.limits.max_line_bytes
        self.width, self.widened, self.written = width, False, 0
        self.row: dict[int, str] = {}
        self.row_size = 0
        self.column = 0
        self.kind, self.style = "n", 0
        self.parts: list[str] = []
        self.size = 0
        self.collect = False
        self.has_value = False
        self.inline = 0
        self.phonetic = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
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
            self.has_value = True
        elif local == "t" and self.inline and not self.phonetic:
            self.collect = True
        elif local == "rPh":
            self.phonetic += 1
        elif local == "row":
            self.row, self.row_size, self.column = {}, 0, 0

    def text(self, data: str) -> None:
        if self.collect:
            self.size += len(data)
            if self.size > self.limit:
                raise self.book.too_long(f"the cell in column {self.column}")
            self.parts.append(data)

    def end(self, tag: str) -> None:
        local = _local(tag)
        if local in ("v", "t"):
            self.collect = False
        elif local == "is":
            self.inline -= 1
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "c":
            if self.has_value:
                self.add(self.value("".join(self.parts)))
        elif local == "row":
            self.write()

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
            raise LimitError(
                f"{self.book.shown}: the first sheet has a value in column {_name(self.column)}, past the limit of "
                f"{self.max_columns} columns (RETENTION_MCP_MAX_COLUMNS) / 第一个工作表在第 {self.column} 列有值,"
                f"超过 {self.max_columns} 列的上限(RETENTION_MCP_MAX_COLUMNS)"
            )
        self.row_size += len(text) + 1
        if self.row_size > self.limit:
            raise self.book.too_long("a row of the first sheet")
        self.row[self.column] = text

    def write(self) -> None:
        if not self.row:
            return
        last = max(self.row)
        if last > self.width:
            self.widened = self.widened or self.written > 0
            self.width = last
        cells = [""] * self.width
        for column, text in self.row.items():
            cells[column - 1] = text
        self.writer.writerow(cells)
        self.row = {}
        self.written += 1
        if self.written % ROWS_PER_CHECK == 0:
            self.book.cancel.check()


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
