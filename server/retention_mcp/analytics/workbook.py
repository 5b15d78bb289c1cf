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

What each part holds, and how a cell is read (as openpyxl reads it with data_only), is in analytics/sheetxml.py.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from pathlib import Path
from typing import Any
from xml.parsers import expat

from retention_mcp.analytics import scratch, sheetxml
from retention_mcp.analytics.limits import MB, Cancellation, DataError, LimitError, Limits
from retention_mcp.errors import UserError

CHUNK = 1 << 16  # bytes of XML decompressed and parsed between two looks at the cancellation
FLOOR = 64 * MB  # the compression ratio counts past this size, as for a .gz file
MAX_PARTS = 65_535  # a zip without its 64-bit extension holds no more; a workbook holds far fewer


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

    def write_first_sheet(self, target: Any) -> str:
        """Write the first worksheet as CSV to the binary file `target`; the sheet's name."""
        main = next(
            (path for kind, path in self.relations("").values() if kind.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        book = sheetxml.WorkbookPart()
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
        styles = sheetxml.Styles()
        strings = sheetxml.Strings(self)
        for kind, path in relations.values():
            if kind.endswith("/styles") and self.part(path) is not None:
                self.parse(path, styles)
            elif kind.endswith("/sharedStrings") and self.part(path) is not None:
                self.parse(path, strings)
        dates, durations = styles.date_styles()
        epoch = sheetxml.MAC_EPOCH if book.date1904 else sheetxml.WINDOWS_EPOCH
        width = 0
        for _attempt in range(2):  # a row wider than those before it: once more, every row as wide as the widest
            target.seek(0)
            target.truncate()
            out = _Output(target, self.cap, lambda: self.too_big("converts to"))
            rows = sheetxml.Sheet(self, strings, dates, durations, epoch, out, width)
            before = self.unpacked
            self.parse(sheet[1], rows)
            out.flush()
            if not rows.widened:
                break
            width, self.unpacked = rows.width, before
        return sheet[0]
