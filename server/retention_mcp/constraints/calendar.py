"""Deadlines tied to the calendar ("through Q4", "by the end of Q3", 到年底, "before Black Friday"): the end they name,
and, given the plan's start date, the day of the plan it falls on. Never a guessed day count without a start date."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from retention_mcp.constraints.lexicon import parse_number

_I = re.IGNORECASE
_QUARTER_NO = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
CALENDAR = re.compile(
    r"(?:through|thru|until|till|by|before|within|to|in|end of|during)\s+(?:the\s+)?(?:end\s+of\s+)?"
    r"(?:q(?P<q>[1-4])|(?P<year>(?:this |the )?year)|(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"(?!\s*\d{4}\s*(?:data|orders)))\b|"
    r"(?P<bf>black friday|cyber monday|christmas|new year|chinese new year|thanksgiving|双十一|双11|618|春节|国庆)|"
    r"(?:第?(?P<qz>[一二三四1-4])\s*季度|q(?P<qz2>[1-4]))\s*(?:末|底|前|结束|之前)|"
    r"(?P<yz>年底|年末|今年内|年终前)|(?P<mz>[一二三四五六七八九十]{1,2}|1[0-2]|[1-9])\s*月\s*(?:底|末|前|之前|结束)|"
    r"end of (?:the |this )?(?P<ye>year|quarter|month)|year[- ]end|\beoy\b|季度末|月底|(?:到|在)\s*年底",
    _I,
)


def calendar_scope(match: re.Match[str]) -> str | None:
    if match["q"] or match["qz"] or match["qz2"]:
        return f"Q{_QUARTER_NO[match['q'] or match['qz'] or match['qz2']]}"
    if (
        match["year"]
        or match["yz"]
        or (match["ye"] or "").lower() == "year"
        or re.search(r"year[- ]end|eoy|年底", match.group(0), _I)
    ):
        return "year"
    if match["month"]:
        return f"M{_MONTHS.index(match['month'].lower()[:3]) + 1}"
    if match["mz"]:
        return f"M{int(parse_number(match['mz']))}"
    if match["bf"]:
        return match["bf"].lower()
    return "quarter" if re.search(r"quarter|季度", match.group(0), _I) else "month"


def calendar_end_day(scope: str, start: dt.date) -> int | None:
    """The day of the plan (from `start`, day 0) on which a calendar end falls: Q3 -> 30 September of the start's
    year (the next year's when that has passed); None for ends with no fixed date (Black Friday...)."""
    year = start.year
    if scope == "year":
        end = dt.date(year, 12, 31)
    elif scope.startswith("Q") and scope[1:].isdigit():
        month = int(scope[1:]) * 3
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
    elif scope.startswith("M") and scope[1:].isdigit():
        month = int(scope[1:])
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
    else:
        return None
    if end < start:
        end = end.replace(year=year + 1, day=min(end.day, calendar.monthrange(year + 1, end.month)[1]))
    return (end - start).days
