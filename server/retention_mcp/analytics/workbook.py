"""Excel workbooks (.xlsx, .xlsm): one sheet turned into a private UTF-8 CSV, within the limits.

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

What each part holds, and how a cell is read (as openpyxl reads it with data_only), is in analytics/sheetxml.py;
which sheet holds the data and which row is its header, in analytics/sheetpick.py. Sheets sampled to choose count
against the limits too; the chosen one, read again in full, is counted once.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers import expat

from retention_mcp.analytics import scratch, sheetxml
from retention_mcp.analytics.limits import MB, Cancellation, DataError, LimitError, Limits
from retention_mcp.analytics.sheetpick import DATE_ROLES, is_id, short
from retention_mcp.errors import UserError

CHUNK = 1 << 16  # bytes of XML decompressed and parsed between two looks at the cancellation
FLOOR = 64 * MB  # the compression ratio counts past this size, as for a .gz file
MAX_PARTS = 65_535  # a zip without its 64-bit extension holds no more; a workbook holds far fewer
MAX_SAMPLED = 64  # sheets looked at when choosing the one with the data
MAX_LISTED = 20  # sheet or column names listed in a message


@dataclass(frozen=True)
class SheetChoice:
    """What the caller says about a workbook: the sheet (a name or a 1-based number), the header row (as Excel
    numbers rows), and the columns mapped to a date role, whose plain numbers are serial dates whatever their name."""

    sheet: str | None = None
    header_row: int | None = None
    date_columns: frozenset[str] = frozenset()

    @classmethod
    def of(cls, sheet: str | None, header_row: int | None, columns: dict[str, str]) -> SheetChoice:
        """From an analysis's parameters: `columns` is its role -> column mapping."""
        return cls(sheet, header_row, frozenset(c for role, c in columns.items() if role in DATE_ROLES))

    def check(self, shown: str, is_workbook: bool) -> None:
        """`sheet` and `header_row` choose within a workbook: for any other file they are an error, never ignored."""
        given = [name for name, value in (("sheet", self.sheet), ("header_row", self.header_row)) if value is not None]
        if given and not is_workbook:
            raise DataError(
                f"{' and '.join(given)}: only an Excel workbook (.xlsx, .xlsm) has sheets and a header row to "
                f"choose; {shown} is not one, so leave {' and '.join(given)} out / {'、'.join(given)} 只适用于 "
                f"Excel 工作簿(.xlsx、.xlsm),该文件不是工作簿,请去掉该参数"
            )


def convert(
    path: Path,
    shown: str,
    size: int | None,
    limits: Limits,
    cancel: Cancellation,
    choice: SheetChoice | None = None,
) -> tuple[Path, str]:
    """One sheet of the workbook at `path` (its first `size` bytes, those that were checked) as a new private CSV
    file, from its header row on: its path and a note saying which sheet and row were read. The sheet and header
    row are the `choice` given, or those detected (see analytics/sheetpick.py). Raises DataError for a file that is not a workbook, LimitError past a limit,
    AnalysisStopped on timeout or cancel; the CSV is then removed."""
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
            note = book.write_sheet(target, choice or SheetChoice())
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
    return tmp, note


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
        window = _Window(raw, size)
        self.check_parts(window)
        self.zip = zipfile.ZipFile(window)
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

    def check_parts(self, window: _Window) -> None:
        """Refuse a zip that lists more parts than a zip without its 64-bit extension can, before reading the list
        (each listed part costs memory; the list is read whole)."""
        tail_size = min(window.size, (1 << 16) + 22)
        window.seek(window.size - tail_size)
        tail = window.read(tail_size) or b""
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or len(tail) < end + 12:
            return  # not a zip: the zip reader says so
        parts = int.from_bytes(tail[end + 10 : end + 12], "little")
        locator = tail.rfind(b"PK\x06\x07", 0, end)
        if parts == 0xFFFF and locator >= 0 and len(tail) >= locator + 16:
            window.seek(int.from_bytes(tail[locator + 8 : locator + 16], "little"))
            record = window.read(56) or b""
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                parts = int.from_bytes(record[32:40], "little")
        if parts > MAX_PARTS:
            raise LimitError(
                f"{self.shown}: the workbook lists {parts} parts; a workbook has far fewer (at most {MAX_PARTS} are "
                f"read) / 工作簿列出 {parts} 个部件,超过上限 {MAX_PARTS}"
            )

    # --- parts --------------------------------------------------------------------------------------------------
    def part(self, name: str) -> zipfile.ZipInfo | None:
        name = name.lstrip("/")
        return self.parts.get(name) or self.folded.get(name.lower())

    def parse(self, name: str, handler: sheetxml.Handler) -> None:
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
        parser.buffer_text = True  # text in pieces of at most buffer_size characters, fewer calls
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
        handler = sheetxml.Relations(folder)
        if self.part(rels) is not None:
            self.parse(rels, handler)
        return handler.found

    def write_sheet(self, target: Any, choice: SheetChoice) -> str:
        """Write one worksheet as CSV to the binary file `target`, from its header row on: the sheet chosen or the
        one holding the data; the note that says what was read."""
        wanted, header_row = choice.sheet, choice.header_row
        main = next(
            (path for kind, path in self.relations("").values() if kind.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        book = sheetxml.WorkbookPart()
        self.parse(main, book)
        relations = self.relations(main)
        sheets = [
            (title, relations[rid][1], hidden)
            for title, rid, hidden in book.sheets
            if relations.get(rid, ("",))[0].endswith("/worksheet")
        ]
        if not sheets:
            raise DataError(f"{self.shown}: the workbook has no worksheet / 工作簿中没有工作表")
        styles = sheetxml.Styles()
        strings = sheetxml.Strings(self)
        for kind, path in relations.values():
            if kind.endswith("/styles") and self.part(path) is not None:
                self.parse(path, styles)
            elif kind.endswith("/sharedStrings") and self.part(path) is not None:
                self.parse(path, strings)
        dates, durations = styles.date_styles()
        epoch = sheetxml.MAC_EPOCH if book.date1904 else sheetxml.WINDOWS_EPOCH
        reader = functools.partial(sheetxml.Sheet, self, strings, dates, durations, epoch, choice.date_columns)
        how: tuple[str, str] | None = None
        if wanted is not None:
            chosen = self.named(sheets, wanted)
        elif len(sheets) == 1:
            chosen = 0
        else:
            chosen, how = self.choose(sheets, reader)
        title, path, _ = sheets[chosen]
        width = 0
        for _attempt in range(2):  # a row wider than those before it: once more, every row as wide as the widest
            target.seek(0)
            target.truncate()
            out = _Output(target, self.cap, lambda: self.too_big("converts to"))
            rows = reader(out, width, header_row, title)
            before = self.unpacked
            self.parse(path, rows)
            rows.close()
            out.flush()
            if not rows.widened:
                break
            width, self.unpacked = rows.width, before
        return self.note(title, rows, how, header_row, book.date1904)

    def named(self, sheets: list[tuple[str, str, bool]], wanted: str) -> int:
        """The index of the sheet named `wanted` (or, failing that, numbered so from 1); else an error that lists
        the sheets' names."""
        names = [title for title, _, _ in sheets]
        if wanted in names:
            return names.index(wanted)
        folded = [name.strip().casefold() for name in names]
        if wanted.strip().casefold() in folded:
            return folded.index(wanted.strip().casefold())
        if wanted.strip().isdigit() and 1 <= int(wanted.strip()) <= len(sheets):
            return int(wanted.strip()) - 1
        listed = ", ".join(f"'{short(n, 31)}'" for n in names[:MAX_LISTED]) + (", …" if len(names) > MAX_LISTED else "")
        raise DataError(
            f"sheet: {self.shown} has no sheet '{short(wanted)}'; its sheets are {listed} (give a name, or a number "
            f"from 1 to {len(names)}) / sheet:工作簿中没有工作表 '{short(wanted)}';现有工作表:{listed}"
            f"(请给出名称,或 1 到 {len(names)} 的序号)"
        )

    def choose(self, sheets: list[tuple[str, str, bool]], reader: Any) -> tuple[int, tuple[str, str]]:
        """The sheet holding the data: of the visible sheets whose header has a customer id column (or, if none
        has, of all of them), the one with the most rows. Each is sampled first; rows are counted only when several
        remain. What a re-read costs is not counted twice against the limits."""
        sampled: list[tuple[int, sheetxml.Sheet]] = []
        spent: dict[int, int] = {}
        for index, (title, path, hidden) in enumerate(sheets[:MAX_SAMPLED]):
            if hidden:
                continue
            rows, before = reader(None, 0, None, title, True), self.unpacked
            try:
                self.parse(path, rows)
                rows.close()
            except sheetxml.Enough:
                pass
            spent[index] = self.unpacked - before
            if rows.header is not None:
                sampled.append((index, rows))
        with_id = [(i, s) for i, s in sampled if any(is_id(text) for text in s.header[1].values())]  # type: ignore[index]
        candidates = [i for i, _ in with_id or sampled]
        if not candidates:
            raise DataError(f"{self.shown}: every sheet of the workbook is empty / 工作簿中的工作表都是空的")
        counts = {candidates[0]: 0}
        if len(candidates) > 1:
            for index in candidates:
                title, path, _ = sheets[index]
                rows, before = reader(None, 0, None, title), self.unpacked
                self.parse(path, rows)
                rows.close()
                counts[index], spent[index] = rows.rows, self.unpacked - before
        chosen = max(counts, key=lambda i: (counts[i], -i))
        self.unpacked -= spent.get(chosen, 0)  # read again, in full, by the conversion
        count = len(sheets)
        if with_id:
            return chosen, (
                f"of {count} sheets, the one with a customer id column and the most rows",
                f"{count} 个工作表中含客户编号列且行数最多的一个",
            )
        return chosen, (f"of {count} sheets, the one with the most rows", f"{count} 个工作表中行数最多的一个")

    def note(
        self, title: str, rows: sheetxml.Sheet, how: tuple[str, str] | None, header_row: int | None, mac: bool
    ) -> str:
        """What was read, in English and Chinese: the sheet, the header row, and serial numbers read as dates."""
        number = rows.header[0] if rows.header else header_row or 1
        en = [f"read sheet '{short(title)}', header on row {number}"]
        zh = [f"读取工作表 '{short(title)}',表头在第 {number} 行"]
        if how is not None:
            en.append(f"{how[0]}; choose another with --sheet NAME|NUMBER (tool: sheet)")
            zh.append(f"{how[1]};可用 --sheet 名称或序号 指定其他工作表(工具参数 sheet)")
        if rows.skipped and header_row is None:
            en.append(
                f"{rows.skipped} row(s) above it taken as a title and skipped; choose the header with --header-row N "
                f"(tool: header_row)"
            )
            zh.append(f"其上 {rows.skipped} 行视为标题已跳过;可用 --header-row 行号 指定表头(工具参数 header_row)")
        if rows.converted and rows.header is not None:
            system = "1904" if mac else "1900"
            columns = ", ".join(
                f"{short(rows.header[1][c])} ({n})" for c, n in sorted(rows.converted.items())[:MAX_LISTED]
            )
            en.append(f"Excel serial numbers read as dates ({system} date system): {columns}")
            zh.append(f"Excel 日期序列数已按日期读取({system} 日期系统):{columns}")
        return "; ".join(en) + " / " + ";".join(zh)
