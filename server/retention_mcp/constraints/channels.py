"""Channels allowed and ruled out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject
from retention_mcp.constraints.lexicon import rx
from retention_mcp.constraints.plan_walk import title_of, where
from retention_mcp.constraints.record import Constraints
from retention_mcp.constraints.text import Hit
from retention_mcp.vocabulary import CHANNEL_KINDS, OTHER, PRODUCT, channel_label, channels_in

_I = re.IGNORECASE
# -- channels ---------------------------------------------------------------------------------------------------------
_NEGATION = (
    r"不新增|不增加|不使用|不用|不做|不打|不发|不投放|不开展|不考虑|不能用|不可用|不允许|不得|不走|禁止|禁用|避免|不含|不包括|"
    r"杜绝|拒绝|\bno\b|\bnot\b|\bnever\b|can't|cannot|won't|without|excluding|exclude[sd]?|avoid|don't use|do not use|ruled out|banned|ban\b"
)
_NEGATION_AFTER = (
    r"不可用|不能用|不允许|禁止|禁用|不做|不考虑|除外|are not allowed|is not allowed|not allowed|are off[- ]limits|"
    r"is off[- ]limits|off the table|are out|is out|are banned|is banned|are excluded|is excluded"
)
_ONLY = (
    r"仅限|仅用|仅使用|仅通过|仅走|仅|只用|只使用|只通过|只走|只能用|只能通过|只发|只|限于|\bonly\b|exclusively|solely"
)


_BAN_ENDS = re.compile(r"[;；。\n]")
_BAN_STOP = r"[,，]\s*(?=[a-z]*\s*(?:only|仅|只))|\bonly\b|仅|只"  # where the ruled-out list ends
_BAN_STOP_AT = re.compile(_BAN_STOP, _I)
_ONLY_AT = re.compile(r"only\b", _I)  # "only" right after the negation, where the slice would see a word start
_BAN_STOP_WITHIN = re.compile(rf"(?s:.{{1,59}}?)(?={_BAN_STOP})", _I)


def _banned_words(text: str, start: int, end: int) -> str:
    """The words after a negation: `text[start:end]` (the rest of its clause) up to an allow-list, at most 60
    characters. Searched in place, never sliced to the clause's end: a brief with a thousand negations in one
    clause stays linear."""
    if _BAN_STOP_AT.match(text, start, end) or _ONLY_AT.match(text, start, end):  # a list that ends at once
        return ""
    within = _BAN_STOP_WITHIN.match(text, start, end)
    return text[start : within.end()] if within else text[start : min(start + 60, end)]


def excluded_hits(text: str) -> list[Hit]:
    hits: list[Hit] = []
    clause_end = -1
    for match in rx(_NEGATION).finditer(text):
        if clause_end < match.end():
            stop = _BAN_ENDS.search(text, match.end())
            clause_end = stop.start() if stop else len(text)
        clause = _banned_words(text, match.end(), clause_end)
        found = channels_in(clause)
        if found:
            hits.append(Hit(found, match.start(), match.end() + len(clause)))
    for match in rx(_NEGATION_AFTER).finditer(text):  # "外呼禁止", "SMS is not allowed": the words before the ban
        start = max(match.start() - 40, *(text.rfind(sep, 0, match.start()) + 1 for sep in _LIST_ENDS))
        found = channels_in(text[start : match.start()])
        if found:
            hits.append(Hit(found, start, match.end()))
    return hits


_LIST_ENDS = (";", "；", "。", "\n", ",", "，")


def read_excluded_channels(text: str) -> list[str]:
    """Channels named after a negation in the same clause ('不新增外呼与线下成本', 'no outbound calls', 'excluding cold
    calls') or before a ban ('外呼禁止', 'SMS is not allowed')."""
    excluded: list[str] = []
    for hit in excluded_hits(text):
        excluded += [c for c in hit.value if c not in excluded]
    return excluded


_STOP = r"(?=渠道|触达|进行|开展|投放|沟通|发送|联系|[,，;；。\n]|$)"
_ALLOWED_PATTERNS = [
    rf"(?:{_ONLY})\s*(?:use|using|via|through|on|over|用|使用|通过|走|发)?\s*(?P<list>[^;；。\n,，][^;；。\n]*?){_STOP}",
    # the shortest list before "only": a blank at the clause's start, else one that ends at a word (which keeps
    # the search linear: a lazy list that may end in a space rescans every run of spaces)
    r"(?:^|(?<=[;；。\n]))(?:[^\S\n]|(?P<list>[^;；。\n]+?)(?<!\s))\s+only\b",
    r"(?:channels?|触点|渠道)\s*(?:are|is|:|：|为|是)?\s*(?:limited to|restricted to|仅限|限于|限定为)\s*(?P<list>[^;；。\n]+)",
    r"(?<![\w-])(?P<list>[\w-]+)-only\b",
]
_ALLOWED = [rx(p) for p in _ALLOWED_PATTERNS]


def allowed_hits(text: str) -> list[Hit]:
    """Allow-lists: 'X only', 'only X and Y', '仅限短信和App推送', '只用企微', 'channels limited to email', 'email-only'."""
    hits: list[Hit] = []
    for pattern in _ALLOWED:
        for match in pattern.finditer(text):
            listed = match["list"] or ""
            negation = rx(_NEGATION).search(listed)
            if negation:
                listed = listed[: negation.start()]
            found = channels_in(re.split(r"[:：]", listed)[-1])
            if found:
                hits.append(Hit(found, match.start(), match.start("list") + len(listed)))
    return sorted(hits, key=lambda h: h.start)


def read_allowed_channels(text: str) -> tuple[list[str], bool]:
    """Channels a user lists as the ones to use, and whether they said 'only' (仅/只/only): only then is it an
    allow-list. '渠道:邮件、应用内Banner' lists the channels without ruling out others."""
    hits = allowed_hits(text)
    if hits:
        return hits[0].value, True
    match = re.search(r"(?:渠道|触点|channels?)\s*(?:为|是|包括|:|：|are|include)\s*(?P<list>[^;；。\n]+)", text, _I)
    if match:
        listed = match["list"]
        negation = rx(_NEGATION).search(listed)
        found = channels_in(listed[: negation.start()] if negation else listed)
        if found:
            return found, False
    return [], False


# -- channels ----------------------------------------------------------------------------------------------------------
def channel_uses(
    value: Any, path: tuple[str | int, ...] = (), parents: tuple[dict[str, Any], ...] = ()
) -> Iterator[tuple[str, str]]:
    """(kind, where) for every channel field in the plan: the fields named channel or channels, which hold kinds.
    Names of budget lines, initiatives or features are never read for channel words."""
    if isinstance(value, dict):
        parents = (*parents, value)
        for key, item in value.items():
            if key in CHANNEL_FIELDS:
                title = next((t for d in reversed(parents) if (t := title_of(d, ""))), "")
                for kind in item if isinstance(item, list) else [item]:
                    if isinstance(kind, str):
                        yield kind, where((*path, key)) + (f" ({title})" if title else "")
            elif isinstance(item, dict | list):
                yield from channel_uses(item, (*path, key), parents)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from channel_uses(item, (*path, index), parents)


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    """Channels ruled out never used; with an allow-list, every contact channel an allowed one (both lists, one walk
    of the plan)."""
    if not (c.channels_excluded or c.channels_allowed):
        return
    plan = subject.dumped
    language = checks.language
    sep = "、" if checks.zh else ", "
    uses = list(channel_uses(plan))

    def listing(hits: dict[str, list[str]]) -> str:
        return "; ".join(f"{channel_label(k, language)}: {', '.join(dict.fromkeys(w))}" for k, w in hits.items())

    if c.channels_excluded:
        excluded = set(c.channels_excluded)
        hits: dict[str, list[str]] = {}
        for kind, where in uses:
            if kind in excluded:
                hits.setdefault(kind, []).append(where)
        ruled_out = sep.join(channel_label(k, language) for k in c.channels_excluded)
        checks.add(
            "excluded_channels",
            not hits,
            f"The plan uses channels the user ruled out ({listing(hits)})."
            if hits
            else f"No excluded channel is used (ruled out: {ruled_out}).",
            f"方案使用了用户排除的渠道({listing(hits)})。" if hits else f"未使用被排除的渠道(已排除:{ruled_out})。",
        )
    if c.channels_allowed:
        allowed = set(c.channels_allowed) | {PRODUCT}
        outside: dict[str, list[str]] = {}
        for kind, where in uses:
            if kind not in allowed and (kind == OTHER or kind in CHANNEL_KINDS):
                outside.setdefault(kind, []).append(where)
        only = sep.join(channel_label(k, language) for k in c.channels_allowed)
        contact = sorted({k for k, _ in uses if k != PRODUCT})
        used = sep.join(channel_label(k, language) for k in contact) or ("无" if checks.zh else "none")
        checks.add(
            "channels_allowed",
            not outside,
            f"The plan uses channels outside the allowed ones ({only}): {listing(outside)}."
            if outside
            else f"Every contact channel is an allowed one ({only}); used: {used}; in-product features are not "
            "channels.",
            f"方案使用了允许范围({only})以外的渠道:{listing(outside)}。"
            if outside
            else f"全部触达渠道均在允许范围内({only});使用了:{used};产品内功能不算渠道。",
        )


CHANNEL_FIELDS = ("channel", "channels")


def allowed_line(c: Constraints, zh: bool) -> str | None:
    names = _names(c.channels_allowed, zh)
    if names is None:
        return None
    return (
        f"- 渠道:仅限 {names}(产品内功能不受限)"
        if zh
        else f"- Channels: only {names} (in-product features are not channels)"
    )


def excluded_line(c: Constraints, zh: bool) -> str | None:
    names = _names(c.channels_excluded, zh)
    if names is None:
        return None
    return f"- 禁用渠道:{names}" if zh else f"- Channels ruled out: {names}"


def _names(kinds: list[str], zh: bool) -> str | None:
    return ("、" if zh else ", ").join(channel_label(k, "zh" if zh else "en") for k in kinds) or None


ALLOWED = Kind(
    field="channels_allowed",
    name=("channels allowed", "可用渠道"),
    checks=frozenset({"channels_allowed"}),
    check=check,
    line=allowed_line,
    label=("Allowed channels (only)", "仅可用渠道"),
    row=lambda effective, zh: _names(effective.channels_allowed, zh),
)
EXCLUDED = Kind(
    field="channels_excluded",
    name=("channels ruled out", "禁用渠道"),
    checks=frozenset({"excluded_channels"}),
    line=excluded_line,
    label=("Excluded channels", "禁用渠道"),
    row=lambda effective, zh: _names(effective.channels_excluded, zh),
)
