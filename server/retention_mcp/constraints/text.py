"""Spans, clauses and hits: how the reader cuts a text into the words a value stands on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from retention_mcp.rendering import defuse

# -- spans and clauses ------------------------------------------------------------------------------------------------
Span = tuple[int, int]
REACH = 300
MAX_HITS = 12  # per input and kind: what a brief states is a handful; more is noise, or an attack
_CLAUSE_END = ";；。\n"
_SUBCLAUSE_END = ",，;；。\n()（）、"


@dataclass
class Hit:
    """One value read from one input: the words it stands on and every span of numbers it accounts for."""

    value: Any
    start: int
    end: int
    consumed: list[Span] = field(default_factory=list)

    def spans(self) -> list[Span]:
        return [(self.start, self.end), *self.consumed]


def bounds(text: str, start: int, end: int, stops: str) -> Span:
    """The span between the stops around [start, end); a clause reaches at most REACH characters either side, which
    keeps every look-around bounded however long a field without punctuation is."""
    lo, hi = max(0, start - REACH), min(len(text), end + REACH)
    left = max((text.rfind(c, lo, start) for c in stops), default=-1)
    rights = [i for i in (text.find(c, end, hi) for c in stops) if i != -1]
    return (left + 1 if left != -1 else lo), (min(rights) if rights else hi)


def clause(text: str, start: int, end: int) -> Span:
    return bounds(text, start, end, _CLAUSE_END)


def subclause(text: str, start: int, end: int) -> Span:
    """The comma-delimited part of a clause around a span (a thousands comma between digits does not end it)."""
    left, right = clause(text, start, end)
    s, e = left, right
    for stop in _SUBCLAUSE_END:  # the nearest stop on each side, found by str.find rather than a step at a time
        i = text.rfind(stop, left, start)
        while i != -1 and thousands_comma(text, i):
            i = text.rfind(stop, left, i)
        if i != -1:
            s = max(s, i + 1)
        i = text.find(stop, end, right)
        while i != -1 and thousands_comma(text, i):
            i = text.find(stop, i + 1, right)
        if i != -1:
            e = min(e, i)
    return s, e


def thousands_comma(text: str, i: int) -> bool:
    return text[i] == "," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # quoted spans go to terminals and Markdown: no escapes


def short(text: str, start: int, end: int, limit: int = 80) -> str:
    """A span of at most `limit` characters, trimmed; widened no further than the text it stands in."""
    piece = CONTROL.sub("", text[start:end]).strip(" \t,，;；:：、()（）")
    if len(piece) <= limit:
        return piece
    return piece[: limit - 1].rstrip() + "…"


def overlaps(spans: Iterable[Span], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


class Mask:
    """The characters some spans cover, so that 'does this span touch one of them' costs the span's length only."""

    def __init__(self, size: int, spans: Iterable[Span] = ()) -> None:
        self.covered = bytearray(size + 1)
        for s, e in spans:
            self.add(s, e)

    def add(self, start: int, end: int) -> None:
        self.covered[start:end] = b"\x01" * max(0, end - start)

    def touches(self, start: int, end: int) -> bool:
        return 1 in self.covered[start:end]


def one_line(text: str) -> str:
    """User words on one line of the block: a line break in a goal must not start a line that reads as the server's
    (a second "- Discount cap:", a "G9:", a role line)."""
    return " ".join(defuse(text).split())


# -- which inputs hold what --------------------------------------------------------------------------------------------
TIMELINE_FIELD = re.compile(r"timeline|horizon|duration|period|window|周期|时间", re.IGNORECASE)
CONSTRAINT_FIELD = re.compile(r"budget|constraint|resource|channel|team|timeline|预算|渠道", re.IGNORECASE)
NO_CAPS_FIELD = re.compile(r"competitor|竞品|竞争", re.IGNORECASE)
