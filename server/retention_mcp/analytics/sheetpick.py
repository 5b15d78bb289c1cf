"""Which row of a worksheet is its header, and which sheet of a workbook holds the data: decided from the first
rows of each sheet, as a person opening the export would.

An export often puts a title above the header (a merged "2026年订阅明细", an export date) and a summary sheet before
the data. The header is the first row that names a known column (the role names of analytics/loading.py), or else
the first row at least half as wide as the table's usual row; the data sheet is the one whose header has a
customer id column, and among several such, the one with the most rows.
"""

from __future__ import annotations

import functools
import math

SAMPLE_ROWS = 30  # rows with a value read before the header is decided
HEADER_SEARCH = 10  # the header is looked for among the first rows with a value
DATE_ROLES = ("start_date", "end_date", "transaction_date")


@functools.cache
def _names() -> dict[str, frozenset[str]]:
    """Role -> the normalised column names that detect it (the one list, in analytics/loading.py; imported here,
    at first use, because loading reads workbooks through this module's callers)."""
    from retention_mcp.analytics.roles import ROLES, normalise

    return {role: frozenset(normalise(name) for name in names) for role, names in ROLES.items()}


def _normalise(text: str) -> str:
    from retention_mcp.analytics.roles import normalise

    return normalise(text)


def is_known(text: str) -> bool:
    """A column name that detects some role."""
    name = _normalise(text)
    return any(name in names for names in _names().values())


def is_id(text: str) -> bool:
    return _normalise(text) in _names()["customer_id"]


def is_date(text: str) -> bool:
    """A column name of a date role: its numbers are Excel serial dates."""
    name = _normalise(text)
    return any(name in _names()[role] for role in DATE_ROLES)


def header_index(rows: list[dict[int, str]]) -> int:
    """The index in `rows` (the first rows with a value, column -> text) of the header row: the first row with two
    or more cells that names a known column, or else the first row at least half as wide as the table's usual row
    (narrower rows above it are titles); the first row when none is."""
    search = rows[:HEADER_SEARCH]
    for index, row in enumerate(search):
        if len(row) >= 2 and any(is_known(text) for text in row.values()):
            return index
    widths = sorted(len(row) for row in rows)
    usual = widths[len(widths) // 2] if widths else 0
    need = max(2, math.ceil(usual / 2))
    return next((index for index, row in enumerate(search) if len(row) >= need), 0)


def short(text: str, limit: int = 40) -> str:
    """A sheet or column name fit for a message: printable characters only, long ones shortened."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
