"""How real exports are written: text encodings (GBK/GB18030 and UTF-16 are common from Chinese tools and Excel),
Excel workbooks, missing-value markers and decimal commas. A file DuckDB cannot read as it is is turned into a
temporary UTF-8 CSV first; DuckDB then reads that as usual."""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from retention_mcp.analytics import scratch, workbook
from retention_mcp.analytics.intake import grew_error
from retention_mcp.analytics.limits import Cancellation, DataError, Limits

EXCEL = (".xlsx", ".xlsm")
BINARY = (".parquet", ".pq")
SAMPLE_BYTES = 1 << 20
CHUNK = 1 << 22
# read as missing, not as a value: what spreadsheets and databases write for "no value"
NA_STRINGS = ("", "NA", "N/A", "n/a", "na", "#N/A", "null", "NULL", "Null", "None", "-", "—")
ENCODING_HELP = "e.g. gb18030, utf-16, latin-1"


@dataclass
class Prepared:
    path: Path  # what DuckDB reads
    tmp: Path | None = None  # a converted copy to delete afterwards
    note: str | None = None  # how the file was read, when not plain UTF-8 / CSV

    def close(self) -> None:
        if self.tmp:
            scratch.remove_tree(self.tmp)


def csv_options(decimal: str | None = None) -> str:
    """Extra read_csv options. Only ISO dates may be typed by DuckDB's sniffer: any other date-like column stays
    text, so the project's own rule (which sees the whole column) decides day-first or month-first."""
    if decimal not in (None, ".", ","):
        raise DataError(f"decimal: {decimal[:5]!r} is not '.' or ',' / decimal 只能是 '.' 或 ','")
    nulls = ", ".join("'" + s.replace("'", "''") + "'" for s in NA_STRINGS)
    options = f", dateformat='%Y-%m-%d', timestampformat='%Y-%m-%d %H:%M:%S', nullstr=[{nulls}]"
    if decimal == ",":
        options += ", decimal_separator=','"
    return options


def prepare(
    path: Path,
    encoding: str | None = None,
    name: str | None = None,
    shown: str | None = None,
    size: int | None = None,
    limits: Limits | None = None,
    cancel: Cancellation | None = None,
    sheet: workbook.SheetChoice | None = None,
) -> Prepared:
    """The file as DuckDB can read it: Excel converted to CSV; UTF-16 and GB18030/GBK text converted to UTF-8; any
    other non-UTF-8 text a DataError naming what was seen and `encoding`. `path` may be the sandbox's open
    descriptor (/proc/self/fd/N): `name` is then the real file name, whose suffix tells the format, and `shown` how
    messages name the file. `size` is what was checked: a conversion reads no more than that. A workbook is
    converted within `limits`, and `cancel` stops the conversion (analytics/workbook.py)."""
    suffix = Path(name or path.name).suffix.lower()
    shown = shown or Path(name or path.name).name
    if suffix in EXCEL:
        return _excel(path, shown, size, limits, cancel, sheet)
    if suffix in BINARY:
        return Prepared(path)  # Parquet carries its own encoding
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise DataError(
                f"encoding: {encoding[:40]!r} is not a known text encoding ({ENCODING_HELP}) / 未知的文本编码"
            ) from None
        if codec == "utf-8":
            _check_utf8(head, shown)
            return Prepared(path)
        return _transcode(path, suffix, shown, codec, f"read as {codec} (as asked)", size)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _transcode(path, suffix, shown, "utf-16", "read as UTF-16 (byte-order mark)", size)
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return _transcode(path, suffix, shown, "utf-16-le", "read as UTF-16 little-endian", size)
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 and head[1::2].count(0) == 0:
        return _transcode(path, suffix, shown, "utf-16-be", "read as UTF-16 big-endian", size)
    if _decodes(head, "utf-8", len(head) == SAMPLE_BYTES):
        return Prepared(path)
    if _decodes(head, "gb18030", len(head) == SAMPLE_BYTES) and _looks_chinese(head):
        return _transcode(path, suffix, shown, "gb18030", "read as GB18030 (GBK): the file is not UTF-8", size)
    offset = 0
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
    raise DataError(
        f"{shown}: not UTF-8 text (an invalid byte at offset {offset}), and not GBK/GB18030 or UTF-16 either; "
        f"say which encoding it uses with --encoding ({ENCODING_HELP}) (tool: encoding) / "
        f"文件不是 UTF-8 编码,也不是 GBK/GB18030 或 UTF-16;请用 --encoding 指定编码"
    )


def _check_utf8(head: bytes, shown: str) -> None:
    """Asked to read UTF-8: a file whose first megabyte is not UTF-8 is named as such, with what it looks like."""
    if _decodes(head, "utf-8", len(head) == SAMPLE_BYTES):
        return
    try:
        head.decode("utf-8")
        offset = 0
    except UnicodeDecodeError as exc:
        offset = exc.start
    gbk = _decodes(head, "gb18030", len(head) == SAMPLE_BYTES) and _looks_chinese(head)
    hint = (
        "it reads as GB18030 (GBK): pass --encoding gb18030, or leave --encoding out"
        if gbk
        else (f"pass the encoding it uses with --encoding ({ENCODING_HELP}), or leave --encoding out")
    )
    raise DataError(
        f"{shown}: --encoding utf-8 was given, but the file is not UTF-8 text (an invalid byte at offset {offset}); "
        f"{hint} (tool: encoding) / 指定了 utf-8 编码,但文件不是 UTF-8 文本"
        + (
            ",看起来是 GB18030(GBK)编码:请改用 --encoding gb18030 或不指定编码"
            if gbk
            else ",请用 --encoding 指定正确的编码"
        )
    )


def _looks_chinese(data: bytes) -> bool:
    """GBK text of real Chinese is mostly common characters (GB2312); Latin-1 or cp1252 bytes that happen to decode
    as GB18030 give rare ones."""
    han = [ch for ch in data.decode("gb18030", errors="ignore") if "\u4e00" <= ch <= "\u9fff"]
    common = 0
    for ch in han:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return bool(han) and common >= 0.9 * len(han)


def _decodes(data: bytes, encoding: str, truncated: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data, final=not truncated)  # a character cut at the sample's end is not an error
    except UnicodeDecodeError:
        return False
    return True


def _temp(suffix: str = ".csv") -> Path:
    """A private file (analytics/scratch.py); the suffix tells open_table the format (CSV, or JSON Lines)."""
    fd, name = scratch.private_file(suffix)
    os.close(fd)
    return Path(name)


def _transcode(path: Path, suffix: str, shown: str, encoding: str, note: str, size: int | None = None) -> Prepared:
    tmp = _temp(suffix if suffix in (".jsonl", ".ndjson", ".json", ".tsv") else ".csv")
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as source, open(tmp, "w", encoding="utf-8", newline="") as target:
            first = True
            left = size if size is not None else -1
            while left and (chunk := source.read(CHUNK if left < 0 else min(CHUNK, left))):
                left -= len(chunk) if left > 0 else 0
                text = decoder.decode(chunk)
                target.write(text.lstrip("\ufeff") if first else text)
                first = False
            target.write(decoder.decode(b"", final=True))
            if size is not None and source.read(1):
                raise grew_error(shown, size, os.fstat(source.fileno()).st_size)
    except UnicodeDecodeError as exc:
        scratch.remove_tree(tmp)
        raise DataError(
            f"{shown}: not valid {encoding} text ({exc.reason}); pass the right --encoding ({ENCODING_HELP}) "
            f"(tool: encoding) / 文件不是有效的 {encoding} 文本,请用 --encoding 指定正确的编码"
        ) from None
    except BaseException:
        scratch.remove_tree(tmp)
        raise
    return Prepared(tmp, tmp, note + f" / 按 {encoding} 编码读取")


def _excel(
    path: Path,
    shown: str,
    size: int | None,
    limits: Limits | None,
    cancel: Cancellation | None,
    sheet: workbook.SheetChoice | None = None,
) -> Prepared:
    tmp, note = workbook.convert(path, shown, size, limits or Limits(), cancel or Cancellation(), sheet)
    return Prepared(tmp, tmp, note)
