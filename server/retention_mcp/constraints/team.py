"""The team size."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject, mark
from retention_mcp.constraints.lexicon import CN_NUM, EN_WORD, N_EN, NUM, parse_number, rx
from retention_mcp.constraints.record import Constraints
from retention_mcp.constraints.text import Hit, Mask, clause

_I = re.IGNORECASE
# -- team size --------------------------------------------------------------------------------------------------------
_N_TEAM = rf"(?:{NUM}|{CN_NUM}|{EN_WORD})"
_ROLE_EN = (
    r"staff(?:ers)?|people|persons?|FTEs?|CSMs?|CSRs?|AMs?|SDRs?|marketers?|engineers?|developers?|devs?|designers?|"
    r"analysts?|operators?|agents?|reps?|representatives?|managers?|specialists?|team members?|employees?|hires?|PMs?|"
    r"writers?|copywriters?|scientists?|coordinators?|associates?|strategists?|ops people|ops|consultants?|"
    r"contractors?|freelancers?|interns?|heads?"
)
_ROLE_ZH = (
    r"客户成功经理|客户成功|客户经理|运营专员|运营|客服|销售|工程师|开发|研发|设计师|设计|数据分析师|分析师|市场|产品经理|"
    r"产品|专员|同事|员工|人员|文案|美工|店长|顾问|实习生|兼职"
)
_MODIFIER = r"(?:(?!of\b|the\b|and\b|or\b|to\b|for\b|per\b|few\b|lot\b|couple\b|number\b|handful\b|bunch\b|dozen\b)[a-z][a-z-]*\s+)"
_CUSTOMER_BEFORE = re.compile(
    r"(?:用户|客户|会员|粉丝|触达|覆盖|服务|reach|customers?|users?|members|accounts?|subscribers|audience|companies|"
    r"businesses|of)\s*(?:约|about|around|of)?\s*$",
    _I,
)


_TEAM_WORDS = ("团队", "人手", "小组", "编制", "人员", "人力", "共", "合计", "team", "staff", "person", "people", "member",
               "strong", "man", "headcount", "fte", "full-time", "total", "altogether")  # fmt: skip


_TOTALS_PATTERNS = [
    rf"(?:团队|人手|小组|编制|人员|人力)(?:规模|共|总共|一共|合计|为|是|有|:|：|\s)*(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
    rf"(?P<n>{NUM}|{CN_NUM})\s*(?:人|名)(?:的)?[^\s,，;；。\n]{{0,4}}?(?:团队|小组)",
    rf"(?:共|总共|一共|合计|共计)\s*(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
    rf"\bteam of (?P<n>{N_EN})\b",
    rf"\bstaff of (?P<n>{N_EN})\b",
    rf"(?P<n>{N_EN})[- ](?:person|people|member|strong|man|headcount)\s+(?:\w+\s+)?team",
    rf"\bteam\s+(?:size\s+)?(?:is|of|:|=)\s*(?P<n>{N_EN})\b",
    rf"(?P<n>{N_EN})\s+(?:FTEs?|full-time (?:staff|people|equivalents?)|people on the team|people in total|staff in total)\b",
    rf"\bheadcount(?: of| is|:)?\s*(?P<n>{NUM}|{EN_WORD})",
    rf"\b(?:in total|total(?: of)?|altogether)\s*(?P<n>{N_EN})\s+(?:people|staff|persons)",
]
_TOTALS = [rx(p) for p in _TOTALS_PATTERNS]
_TOTAL_GATES = {  # the patterns that start with a number in words: their rarer part first
    5: rx(r"(?:person|people|member|strong|man|headcount)\s+(?:\w+\s+)?team"),
    7: rx(r"FTEs?|full-time (?:staff|people|equivalents?)|people on the team|people in total|staff in total"),
}


def _team_totals(text: str, bearing: bool = True) -> list[Hit]:
    low = text.lower()
    if not any(w in low for w in _TEAM_WORDS):
        return []
    hits = []
    for index, pattern in enumerate(_TOTALS):
        gate = _TOTAL_GATES.get(index)
        if gate is not None and not gate.search(text):
            continue
        for match in pattern.finditer(text):
            if not bearing and _CUSTOMER_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
                continue  # "ops leads of 3 people teams": the customers' teams
            value = parse_number(match["n"])
            if 0 < value < 10_000 and float(value).is_integer():
                hits.append(Hit(int(value), match.start(), match.end()))
    return sorted(hits, key=lambda h: h.start)


_ROLES_PATTERNS = [
    rf"(?<![\d.])(?P<n>{N_EN})\s+{_MODIFIER}{{0,2}}(?:{_ROLE_EN})\b",
    rf"(?<![\d.])(?P<n>{NUM}|{CN_NUM})\s*(?:名|位|个)\s*(?:{_ROLE_ZH})",
    rf"(?:{_ROLE_ZH})\s*(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
    rf"(?<![\d.])(?P<n>{NUM}|{CN_NUM})\s*(?:人|名)(?![次均民天])",
]
_ROLES = [rx(p) for p in _ROLES_PATTERNS]
# Each pattern's rarest part, tried first: a pattern that starts with a number of any spelling is tried at every
# character, a role word or 人/名 is not.
_ROLE_GATES = [
    rx(rf"(?:{_ROLE_EN})\b"),
    re.compile(rf"(?:名|位|个)\s*(?:{_ROLE_ZH})"),
    None,
    re.compile(r"[人名]"),
]


@lru_cache(maxsize=256)
def team_roles(text: str) -> tuple[Hit, ...]:
    """Head-counts of a role: 'two ops staff', '3 CSMs', '1名运营', '运营2人', '3人'."""
    hits: list[Hit] = []
    seen = Mask(len(text))
    for pattern, gate in zip(_ROLES, _ROLE_GATES, strict=True):
        if gate is not None and not gate.search(text):
            continue
        for match in pattern.finditer(text):
            if seen.touches(match.start(), match.end()):
                continue
            if _CUSTOMER_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
                continue
            value = parse_number(match["n"])
            if 0 < value < 500 and float(value).is_integer():
                hits.append(Hit(int(value), match.start(), match.end()))
                seen.add(match.start(), match.end())
    return tuple(sorted(hits, key=lambda h: h.start))


def team_hits(text: str, bearing: bool) -> list[Hit]:
    """The team in one input: a stated total wins and accounts for its breakdown ("团队3人(运营1、客服2)"); in a
    constraint-bearing input the head-counts of every role are summed ("1名运营+2名客服" -> 3)."""
    totals = _team_totals(text, bearing)
    roles = team_roles(text) if bearing else ()
    if totals:
        first = totals[0]
        cs, ce = clause(text, first.start, first.end)
        first.consumed = [s for r in roles if cs <= r.start < ce or r.value == first.value for s in r.spans()] + [
            (t.start, t.end) for t in totals[1:] if t.value == first.value
        ]
        return [first]
    roles = _without_breakdowns(text, roles)
    if roles:
        first, last = roles[0], roles[-1]
        end = last.end if clause(text, first.start, first.end) == clause(text, last.start, last.end) else first.end
        return [Hit(sum(r.value for r in roles), first.start, end, [s for r in roles for s in r.spans()])]
    return []


def _without_breakdowns(text: str, roles: tuple[Hit, ...]) -> tuple[Hit, ...]:
    """'two people (one CSM, one marketer)' is two people: a breakdown in brackets that adds up to the count before it
    is part of that count, not more people."""
    kept = list(roles)
    for role in roles:
        inside = re.match(r"\s*[(（]([^)）]*)[)）]", text[role.end :])
        if not inside or role not in kept:
            continue
        s, e = role.end + inside.start(1), role.end + inside.end(1)
        parts = [r for r in kept if s <= r.start and r.end <= e]
        if parts and sum(r.value for r in parts) == role.value:
            kept = [r for r in kept if r not in parts]
            kept[kept.index(role)] = Hit(
                role.value, role.start, role.end, [*role.consumed, *((r.start, r.end) for r in parts)]
            )
    return tuple(kept)


def read_team_size(text: str) -> int | None:
    """'增长团队3人', 'team of 3', 'two ops staff', '3 CSMs', '1名运营+2名客服' (3), 'one marketer and two engineers' (3)."""
    hits = team_hits(text, bearing=True)
    return hits[0].value if hits else None


# -- team --------------------------------------------------------------------------------------------------------------
def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    if c.team_size is None:
        return
    plan = subject.plan
    needed = getattr(plan, "team_size_needed", None)
    if needed is None:
        checks.record(
            "team_size",
            "unverified",
            f"The team has {c.team_size} people, but the plan does not say how many it needs (team_size_needed).",
            f"团队共 {c.team_size} 人,但方案没有写明所需人数(team_size_needed)。",
        )
        return
    checks.add(
        "team_size",
        needed <= c.team_size,
        f"The plan needs {needed} people; the team has {c.team_size}.",
        f"方案需要 {needed} 人;团队共 {c.team_size} 人。",
    )


def line(c: Constraints, zh: bool) -> str | None:
    if c.team_size is None:
        return None
    text = f"{c.team_size} 人" if zh else f"{c.team_size} people"
    return ("- 团队:" if zh else "- Team: ") + mark(c, "team_size", text, zh)


def row(effective: Any, zh: bool) -> str | None:
    size = effective.team_size
    return None if size is None else (f"{size} 人" if zh else f"{size} people")


KIND = Kind(
    field="team_size",
    name=("team", "团队"),
    checks=frozenset({"team_size"}),
    check=check,
    line=line,
    label=("Team", "团队"),
    row=row,
    ask="team",
)
