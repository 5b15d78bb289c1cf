"""Reading a customer file safely: DuckDB readers, column roles and date parsing.

The file is the one the sandbox checked and opened (sandbox.py: one regular file inside a data directory, never a
pattern); DuckDB reads its open descriptor (CSV, Parquet or JSON Lines; CSV dialect and types sniffed), so files
larger than memory work, within the limits of analytics/limits.py.

Messages never quote the file's values: they give row numbers, counts, sizes and byte offsets. Column names are
listed once the file parsed as a table; a CSV with one "column" is refused without showing it (that "column name" is
the file's first line, which could be anything, a key included).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retention_mcp.analytics import scratch
from retention_mcp.analytics.intake import GrowthWatch, copy_checked, gunzip, line_over_limit
from retention_mcp.analytics.limits import MB, Cancellation, DataError, LimitError, Limits
from retention_mcp.analytics.params import DELIMITERS, TYPED_TAB
from retention_mcp.analytics.roles import ROLE_NAMES, ROLES, normalise
from retention_mcp.analytics.sandbox import DataPath, descriptor_path, open_data_file
from retention_mcp.analytics.workbook import SheetChoice

MAX_INLINE_CSV = 20_000_000  # characters of CSV text accepted inline

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
}


@dataclass
class Mapping:
    roles: dict[str, str] = field(default_factory=dict)  # role -> column
    segments: list[str] = field(default_factory=list)

    def get(self, role: str) -> str | None:
        return self.roles.get(role)


def map_columns(columns: list[str], given: dict[str, str] | None, segments: list[str] | None) -> Mapping:
    """Roles from the caller's mapping first, then from common English and Chinese column names."""
    given = dict(given or {})
    unknown = [r for r in given if r not in ROLES]
    if unknown:
        raise DataError(
            f"Unknown role(s) in the column mapping: {', '.join(unknown)}; roles are {', '.join(ROLE_NAMES)} / "
            f"列映射中有未知角色"
        )
    missing = [c for c in [*given.values(), *(segments or [])] if c not in columns]
    if missing:
        raise DataError(
            f"Column(s) not in the file: {', '.join(missing)}; columns found: {', '.join(columns)} / "
            f"文件中没有这些列;现有列:{', '.join(columns)}"
        )
    mapping = Mapping(roles=dict(given))
    taken = set(given.values())
    by_normal: dict[str, list[str]] = {}
    for column in columns:
        by_normal.setdefault(normalise(column), []).append(column)
    for role, synonyms in ROLES.items():
        if role in mapping.roles:
            continue
        matches = [c for s in synonyms for c in by_normal.get(normalise(s), []) if c not in taken]
        matches = list(dict.fromkeys(matches))
        if len(matches) > 1 and role not in ("transaction_date",):
            raise DataError(
                f"Several columns could be the {role}: {', '.join(matches)}. Say which, e.g. "
                f'--map {role}={matches[0]} (tool: {role}_column="{matches[0]}"). Columns found: '
                f"{', '.join(columns)} / 有多列都可能是 {role},请指定"
            )
        if matches:
            mapping.roles[role] = matches[0]
            taken.add(matches[0])
    mapping.segments = list(segments or [])
    return mapping


# -- reading ----------------------------------------------------------------------------------------------------------
@dataclass
class Table:
    con: Any  # duckdb connection holding the table `data`
    columns: list[str]
    types: dict[str, str]
    rows: int
    source: str
    _spill: str | None = None  # the connection's private folder for DuckDB's spill files
    _cancel: Cancellation | None = None
    note: str | None = None  # how the file was read, when not as plain UTF-8 CSV (an encoding, a workbook)

    def close(self) -> None:
        if self._cancel is not None:
            self._cancel.detach(self.con)
        self.con.close()
        scratch.remove_tree(self._spill)


COMPRESSED = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}


def check_delimiter(delimiter: str | None) -> str | None:
    if delimiter in (None, ""):
        return None
    delimiter = TYPED_TAB.get(delimiter, delimiter)
    if delimiter not in DELIMITERS:
        allowed = " ".join(repr(d) for d in DELIMITERS)
        raise DataError(f"delimiter: must be one of {allowed} / delimiter 必须是以下之一:{allowed}")
    return delimiter


def _kind(name: str) -> tuple[str, str | None]:
    """(format, compression) from a file name: subscriptions.csv.gz -> (csv, gzip)."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compression = COMPRESSED.get(suffixes[-1]) if suffixes else None
    if compression and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1] if suffixes else "", "csv"), compression


def _duckdb_problem(exc: Exception) -> str:
    """What went wrong, without a word of DuckDB's message: it quotes lines and values of the file."""
    text = str(exc)
    line = re.search(r"on line:? ?(\d+)", text, re.IGNORECASE)
    where = f" on line {line.group(1)}" if line else ""
    for pattern, what in (
        (r"state machine reached an invalid state", "the rows do not keep one CSV layout (line endings or quotes)"),
        (r"maximum line size|max_line_size", "a line is longer than the line limit"),
        (r"invalid unicode|not utf-8|byte sequence", "the text is not UTF-8"),
        (r"out of memory|memory limit", "more memory is needed than RETENTION_MCP_DUCKDB_MEMORY allows"),
        (r"expected \d+ fields?|too many columns|fewer columns|column count", "rows have different column counts"),
        (r"convert|conversion", "a value does not fit the type of its column"),
        (r"quote|unterminated", "a quoted value is not closed"),
        (r"parquet|magic bytes", "the Parquet data is not valid"),
        (r"json|malformed", "a record is not valid JSON"),
    ):
        if re.search(pattern, text, re.IGNORECASE):
            return what + where
    return f"DuckDB {type(exc).__name__}{where}"


def open_table(
    source: DataPath | None = None,
    csv_text: str | None = None,
    delimiter: str | None = None,
    limits: Limits | None = None,
    cancel: Cancellation | None = None,
    csv_options: str = "",
    encoding: str | None = None,
    sheet: SheetChoice | None = None,
) -> Table:
    """A DuckDB table `data` read from a checked file or from inline CSV text, within `limits`.

    The file is opened here (see open_data_file) and DuckDB reads the open descriptor; a .gz file is decompressed
    first into a private temp file, and an export DuckDB cannot read as it is (Excel, GBK/GB18030, UTF-16) is turned
    into a private UTF-8 CSV from that same descriptor (analytics/dialect.py). `csv_options` go to read_csv. Messages give sizes, counts, line numbers and byte offsets, never the file's
    content."""
    import duckdb

    limits = limits or Limits()
    cancel = cancel or Cancellation()
    delimiter = check_delimiter(delimiter)
    temps: list[str] = []
    descriptors: list[int] = []

    def clean() -> None:
        for fd in descriptors:
            os.close(fd)
        for name in temps:
            scratch.remove_tree(name)

    try:
        if csv_text is not None:
            if len(csv_text) > MAX_INLINE_CSV:
                raise DataError(
                    f"csv: inline CSV is {len(csv_text)} characters; the limit is {MAX_INLINE_CSV}. Pass a file / "
                    f"内联 CSV 为 {len(csv_text)} 个字符,超过上限 {MAX_INLINE_CSV};请改用文件"
                )
            fd, tmp = scratch.private_file(".csv")
            temps.append(tmp)
            descriptors.append(fd)
            with os.fdopen(os.dup(fd), "w", encoding="utf-8", errors="surrogatepass") as handle:
                handle.write(csv_text)
            name, kind, compression = "inline CSV", "csv", None
        else:
            assert source is not None
            fd = open_data_file(source)
            descriptors.append(fd)
            name = source.shown
            kind, compression = _kind(source.real.name)
        size = os.fstat(fd).st_size
        if size == 0:
            raise DataError(f"{name}: the file is empty / 文件为空")
        if size > limits.max_file_bytes:
            raise LimitError(
                f"{name}: the file is {size / MB:.0f} MB; the limit is {limits.max_file_mb} MB "
                f"(RETENTION_MCP_MAX_FILE_MB) / 文件大小 {size / MB:.0f} MB,超过上限 {limits.max_file_mb} MB"
            )
        if compression == "gzip" and kind != "parquet":
            fd, tmp = gunzip(fd, name, size, limits, cancel)
            temps.append(tmp)
            descriptors.append(fd)
            size = os.fstat(fd).st_size
        elif compression:
            raise DataError(
                f"{name}: {compression}-compressed files are not read; decompress it, or use gzip (.gz) / "
                f"不支持 {compression} 压缩文件,请先解压或改用 gzip(.gz)"
            )
        if sheet is not None:
            sheet.check(name, source is not None and source.real.suffix.lower() in (".xlsx", ".xlsm"))
        reader_path = descriptor_path(fd)
        if reader_path is None:  # no /proc or /dev/fd (Windows): a private copy of what was opened
            fd, tmp = copy_checked(fd, size, ".parquet" if kind == "parquet" else ".data")
            temps.append(tmp)
            descriptors.append(fd)
            reader_path = tmp
        note = None
        if kind != "parquet" and csv_text is None:
            from retention_mcp.analytics.dialect import prepare

            real_name = source.real.name if source is not None else name
            prepared = prepare(
                Path(reader_path), encoding, name=real_name, shown=name, size=size, limits=limits, cancel=cancel,
                sheet=sheet,
            )  # fmt: skip
            note = prepared.note
            if prepared.tmp is not None:  # converted from the opened file: read the private UTF-8 copy
                temps.append(str(prepared.tmp))
                fd = os.open(prepared.tmp, os.O_RDONLY)
                descriptors.append(fd)
                size = os.fstat(fd).st_size
                reader_path = str(prepared.tmp)
                if size > limits.max_decompressed_bytes:  # a workbook is a zip: its cells can unpack to far more
                    raise LimitError(
                        f"{name}: holds {size / MB:.0f} MB of text once converted; the limit is "
                        f"{limits.max_decompressed_mb} MB (RETENTION_MCP_MAX_DECOMPRESSED_MB) / 转换后超过上限"
                    )
                kind = "json" if prepared.tmp.suffix in (".jsonl", ".ndjson", ".json") else "csv"
        if kind in ("csv", "json"):
            offset = line_over_limit(fd, size, limits.max_line_bytes)
            if offset is not None:
                raise LimitError(
                    f"{name}: the line starting at byte {offset} is longer than {limits.max_line_kb} KB "
                    f"(RETENTION_MCP_MAX_LINE_KB); is this a CSV or JSON Lines file? / "
                    f"从第 {offset} 字节开始的一行超过 {limits.max_line_kb} KB 的上限"
                )
        cancel.check()
        table = _read(duckdb, reader_path, (fd, size), kind, name, delimiter, limits, cancel, csv_options)
        table.note = note
    finally:
        clean()
    return table


def _read(
    duckdb,
    path: str,
    checked: tuple[int, int],
    kind: str,
    name: str,
    delimiter,
    limits: Limits,
    cancel: Cancellation,
    extra: str = "",
) -> Table:
    """Read `path` (the descriptor and size in `checked`) into the table `data` of a new DuckDB connection. DuckDB
    spills to a private folder of its own (analytics/scratch.py) when the table outgrows memory; if the file grows
    past the checked size while it is read, the read stops (analytics/intake.py)."""
    spill = scratch.private_dir()
    try:
        con = duckdb.connect(config=limits.duckdb_config() | {"temp_directory": spill})
    except BaseException:
        scratch.remove_tree(spill)
        raise
    con.execute("SET enable_progress_bar = false")  # DuckDB draws it on stdout: on stdio, that is the protocol
    cancel.attach(con)
    watch = GrowthWatch(checked[0], checked[1], name, con)
    line = max(limits.max_line_bytes * 2, 2 * MB)  # a backstop: the scan in line_over_limit is exact
    csv_options = (", delim=?" if delimiter else "") + extra  # extra: constant options of dialect.csv_options
    csv_args = [path, line, *([delimiter] if delimiter else [])]
    readers = {
        # types are sniffed from a sample; if a later row contradicts them, read again sniffing every row
        "csv": [
            (f"read_csv(?, header=true, max_line_size=?{csv_options})", csv_args),
            (f"read_csv(?, header=true, max_line_size=?, sample_size=-1{csv_options})", csv_args),
        ],
        "parquet": [("read_parquet(?)", [path])],
        "json": [("read_json_auto(?, format='newline_delimited', maximum_object_size=?)", [path, line])],
    }[kind]
    try:
        if kind == "parquet":
            _check_parquet_size(con, path, name, limits)
        for attempt, (reader, arguments) in enumerate(readers, 1):
            try:
                con.execute(f"CREATE OR REPLACE TABLE data AS SELECT * FROM {reader}", arguments)  # read once
                described = con.execute("DESCRIBE data").fetchall()
                zoned = [r[0] for r in described if str(r[1]).upper() == "TIMESTAMP WITH TIME ZONE"]
                if zoned and kind == "csv":  # keep the offsets as written: the dates are read from the text
                    kept = ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in zoned)
                    reader = reader[:-1] + f", types={{{kept}}})"
                    con.execute(f"CREATE OR REPLACE TABLE data AS SELECT * FROM {reader}", arguments)
                    described = con.execute("DESCRIBE data").fetchall()
                rows = con.execute("SELECT count(*) FROM data").fetchone()[0]
                break
            except duckdb.Error as exc:
                cancel.check()
                watch.check()
                if attempt < len(readers) and not isinstance(exc, duckdb.OutOfMemoryException):
                    continue
                raise DataError(
                    f"{name}: cannot be read as {kind.upper()} ({_duckdb_problem(exc)}) / 无法读取文件"
                ) from None
        watch.stop()
        watch.check()
        con.execute("SET enable_external_access = false")  # the table is read: no other file can be
    except BaseException:
        watch.stop()
        cancel.detach(con)
        con.close()
        scratch.remove_tree(spill)
        raise
    columns = [row[0] for row in described]
    types = {row[0]: row[1] for row in described}
    table = Table(con, columns, types, int(rows), name, spill, cancel)
    if rows == 0:
        table.close()
        raise DataError(f"{name}: has a header but no rows / 只有表头,没有数据")
    if len(columns) == 1 and kind == "csv":
        # one "column" is a file's first line, not a table's header: its text is never shown
        header = columns[0]
        guess = next((d for d in (";", "\t", "|", ",", "，") if d in header), None)
        table.close()
        shown_guess = "\\t" if guess == "\t" else guess
        hint = (
            f" the header contains '{shown_guess}'; is that the delimiter? Pass delimiter='{shown_guess}'"
            if guess
            else ""
        )
        raise DataError(
            f"{name}: only one column was found (a first line of {len(header)} characters);"
            f"{hint or ' check the delimiter'} / 只识别出一列,请检查分隔符"
        )
    return table


def _check_parquet_size(con, path: str, name: str, limits: Limits) -> None:
    import duckdb

    try:
        total = con.execute("SELECT sum(total_uncompressed_size) FROM parquet_metadata(?)", [path]).fetchone()[0]
    except duckdb.Error as exc:
        raise DataError(f"{name}: cannot be read as PARQUET ({_duckdb_problem(exc)}) / 无法读取文件") from None
    if total is not None and total > limits.max_decompressed_bytes:
        raise LimitError(
            f"{name}: holds {total / MB:.0f} MB of data once decompressed; the limit is {limits.max_decompressed_mb} "
            f"MB (RETENTION_MCP_MAX_DECOMPRESSED_MB) / 解压后数据为 {total / MB:.0f} MB,超过上限"
        )


def row_name(rowid: int | None) -> str:
    """Where a value is, for a message: errors name rows, never the values (a file may hold a secret)."""
    return "an unknown row" if rowid is None else f"data row {int(rowid) + 1}"


def quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
