"""Checks on what a plan says, not only on what it declares: the cost share its own points economics give, tier
thresholds that rise with the tiers, one point value across the plan, every segment reached with an offer and a
channel, shares of a whole at most 100%, and figures attributed to the data found among the computed facts.

The plan's own arithmetic (tiers, point value, shares, coverage) never makes a plan `passed` on its own; the figures
attributed to the data compare it with the data, so they count as a comparison.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.cost_share import computed_cost_share, declared_cost_share, redemption_values
from retention_mcp.constraints.kinds import stated_checks
from retention_mcp.constraints.money import MONEY_UNIT, SCALED_NUM, point_value, scaled_value
from retention_mcp.constraints.record import format_amount
from retention_mcp.generation.plan_parts import PlanBase

DATA_CHECK = "data_figures_match"  # compares the plan with the data: a comparison, not the plan's own arithmetic


def compared_checks() -> frozenset[str]:
    """The checks that compare a plan with something outside it: what the user stated, or the data."""
    return stated_checks() | {DATA_CHECK}


def _check_cost_share(plan: PlanBase, checks: CheckList) -> None:
    computed = computed_cost_share(plan)
    declared = declared_cost_share(plan)
    if computed is None or declared is None:
        return
    share, how = computed
    checks.add(
        "cost_share_computed",
        declared + 0.05 >= share,
        f"The plan's points economics give {how} of sales for points alone (points per unit spent x point value x "
        f"share redeemed); it declares {format_amount(declared)}% in all.",
        f"方案自身的积分经济给出积分成本 {how}(每单位消费得分 × 每分价值 × 兑换率);方案声明的总成本为 {format_amount(declared)}%。",
    )


_EQUATION = re.compile(
    rf"{SCALED_NUM}\s*(?:个)?(?:积分|分(?![钟之钱])|points?|pts?)\s*(?:=|＝|约合|合|抵|兑|worth|is worth|equals)\s*"
    rf"(?:[$¥￥€£]\s*)?\d[\d,]*(?:\.\d+)?\s*(?:{MONEY_UNIT})?",
    re.I,
)

_EQUATION_HINT = re.compile(r"[=＝合抵兑]|worth|equals", re.I)


def _strings(value: Any, skip: frozenset[str] = frozenset({"assumptions", "constraint_check"})) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                yield from _strings(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, skip)


def _check_point_value(plan: PlanBase, dumped: dict[str, Any], checks: CheckList) -> None:
    economics = getattr(plan, "economics", None)
    if economics is None or (stated := point_value(economics.point_value)) is None:
        return
    implied = [(f"redemption {i + 1}", v) for i, v in enumerate(redemption_values(plan))]
    texts = [t for t in _strings({k: v for k, v in dumped.items() if k != "economics"}) if _EQUATION_HINT.search(t)]
    for text in texts:
        for match in _EQUATION.finditer(text):
            if (v := point_value(match.group(0))) is not None:
                implied.append((f"'{match.group(0).strip()}'", v))
    if not implied:
        return
    off = [(where, v) for where, v in implied if abs(v - stated) > 0.05 * stated + 1e-9]
    shown = "; ".join(f"{where}: {v:g}" for where, v in off)
    checks.add(
        "point_value_consistent",
        not off,
        f"One point is worth {stated:g} in the economics"
        + (f"; elsewhere the plan implies another value ({shown})." if off else ", and the plan agrees everywhere."),
        f"积分经济中每分价值 {stated:g}" + (f";方案其他位置隐含的每分价值不同({shown})。" if off else ",全方案一致。"),
    )


# -- tier thresholds ---------------------------------------------------------------------------------------------------
_PERIOD_AFTER = re.compile(r"\s*(?:天|日|周|个?月|年|days?|weeks?|months?|years?)", re.I)
_PERIOD_BEFORE = re.compile(r"(?:近|过去|最近|每|within|past|last|per|every|in)\s*$", re.I)
_COUNT_UNIT = re.compile(r"\s*(?:次|单|笔|杯|份|orders?|visits?|purchases?|times|bookings?)", re.I)


def tier_threshold(text: str) -> tuple[str, float] | None:
    """(kind, value) of what a tier's qualification asks: money spent, points, or a count; windows ('近30天',
    'in the last 12 months') are not thresholds."""
    for match in re.finditer(SCALED_NUM, text):
        start, end = match.span()
        if _PERIOD_AFTER.match(text, end) or _PERIOD_BEFORE.search(text[:start]):
            continue
        value = scaled_value(match.group(1), match.group(2))
        before = text[max(0, start - 2) : start]
        if re.search(r"[$¥￥€£]\s*$", before) or re.match(rf"\s*{MONEY_UNIT}", text[end:], re.I):
            return "money", value
        if re.match(r"\s*(?:个)?(?:积分|分|points?|pts?)", text[end:], re.I):
            return "points", value
        if _COUNT_UNIT.match(text, end):
            return "count", value
    return None


def _check_tiers(plan: PlanBase, checks: CheckList) -> None:
    tiers = getattr(plan, "tiers", [])
    read = [(t.name, tier_threshold(t.qualification)) for t in tiers]
    last: dict[str, tuple[str, float]] = {}
    wrong: list[str] = []
    compared = 0
    for name, found in read:
        if found is None:
            continue
        kind, value = found
        if kind in last:
            compared += 1
            if value <= last[kind][1]:
                wrong.append(f"{name} ({format_amount(value)}) after {last[kind][0]} ({format_amount(last[kind][1])})")
        last[kind] = (name, value)
    if not compared:
        return
    checks.add(
        "tier_thresholds_rise",
        not wrong,
        "Tier thresholds rise with the tier order."
        if not wrong
        else "Tier thresholds that do not rise with the tier order: " + "; ".join(wrong) + ".",
        "等级门槛随等级顺序递增。" if not wrong else "以下等级门槛未随等级顺序递增:" + ";".join(wrong) + "。",
    )


# -- segment coverage --------------------------------------------------------------------------------------------------
_EVERYONE = re.compile(r"^(?:all|every|everyone|全部|所有|全体)|^(?:全员|全量)", re.I)
# (plan part, whether an entry is an offer or treatment for its segment, the entry's channels)
_TREATMENTS = ("offers", "initiatives", "personalisation", "messaging", "sequence", "win_back")
_TREATMENT_ZH = {"offers": "优惠", "initiatives": "举措", "personalisation": "个性化", "messaging": "沟通",
                 "sequence": "触达节奏", "win_back": "召回"}  # fmt: skip


def _channels_of(entry: dict[str, Any]) -> list[str]:
    value = entry.get("channels", entry.get("channel"))
    return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]


def _same_segment(name: str, target: str) -> bool:
    a, b = name.strip().casefold(), target.strip().casefold()
    return bool(a and b) and (a == b or a in b or b in a or bool(_EVERYONE.match(b)))


def _check_segments(dumped: dict[str, Any], checks: CheckList) -> None:
    segments = [s for s in dumped.get("segments") or [] if isinstance(s, dict) and s.get("name")]
    if not segments:
        return
    entries = [(part, e) for part in _TREATMENTS for e in dumped.get(part) or [] if isinstance(e, dict)]
    no_offer, no_channel = [], []
    for segment in segments:
        name = segment["name"]
        mine = [(p, e) for p, e in entries if isinstance(e.get("segment"), str) and _same_segment(name, e["segment"])]
        if not mine and not segment.get("key_action"):
            no_offer.append(name)
        if not any(_channels_of(e) for _, e in mine):
            no_channel.append(name)
    ok = not no_offer and not no_channel
    here = [p for p in _TREATMENTS if p in dumped] or list(_TREATMENTS)  # the parts this plan has, for the hint
    where_en, where_zh = ", ".join(here), "、".join(_TREATMENT_ZH[p] for p in here)
    parts_en, parts_zh = [], []
    if no_offer:
        parts_en.append("no offer or action for " + ", ".join(no_offer))
        parts_zh.append("没有优惠或动作:" + "、".join(no_offer))
    if no_channel:
        parts_en.append("no channel reaches " + ", ".join(no_channel))
        parts_zh.append("没有触达渠道:" + "、".join(no_channel))
    checks.add(
        "segment_coverage",
        ok,
        f"Each of the {len(segments)} segments has an offer or action and a channel (offers, initiatives, triggers, "
        "messaging or the sequence name it in segment)."
        if ok
        else "Segments the plan does not reach: " + "; ".join(parts_en) + f" (name the segment in the segment "
        f"field of an entry with a channel, in one of: {where_en}).",
        f"{len(segments)} 个客群均有优惠或动作及触达渠道。"
        if ok
        else "方案未覆盖的客群:"
        + ";".join(parts_zh)
        + f"(请在以下部分中带渠道的条目的 segment 字段写明该客群:{where_zh})。",
    )


# -- shares of a whole -------------------------------------------------------------------------------------------------
_MIX_CUE = re.compile(r"mix|split|allocation|breakdown|占比|分配|构成|配比|拆分", re.I)
_SHARE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%(?!\s*(?:off|折扣|优惠|discount|of (?:the )?(?:revenue|sales)))")


def text_mix_total(text: str) -> float | None:
    """The sum of the percentages a mix or split lists ('channel mix: email 50%, SMS 30%, push 30%' -> 110), when
    the text names a mix and lists at least two shares; ranges and percentages off are not shares."""
    cue = _MIX_CUE.search(text)
    if cue is None or re.search(r"\d\s*%?\s*(?:-|–|~|～|至|到|to)\s*\d", text):
        return None
    shares = [float(m.group(1)) for m in _SHARE.finditer(text, cue.start())]
    return sum(shares) if len(shares) >= 2 else None


def _check_shares(plan: PlanBase, dumped: dict[str, Any], checks: CheckList) -> None:
    wholes: list[tuple[str, float]] = []
    typed = [s.share_pct for s in getattr(plan, "segments", []) if s.share_pct is not None]
    if len(typed) >= 2:
        wholes.append(("segments.share_pct", sum(typed)))
    health = getattr(plan, "health_score", None)
    if health is not None and len(health.components) >= 2:
        wholes.append(("health_score.components.weight_pct", sum(c.weight_pct for c in health.components)))
    drivers = [d.share_of_churn_pct for d in getattr(plan, "drivers", []) if d.share_of_churn_pct is not None]
    if len(drivers) >= 2:
        wholes.append(("drivers.share_of_churn_pct", sum(drivers)))
    for text in _strings(dumped):
        if text.count("%") >= 2 and (total := text_mix_total(text)) is not None:
            wholes.append((f"'{text[:80]}'", total))
    if not wholes:
        return
    over = [(where, total) for where, total in wholes if total > 100.05]
    shown = "; ".join(f"{where} = {format_amount(total)}%" for where, total in over)
    checks.add(
        "shares_within_whole",
        not over,
        f"Shares of a whole add up to at most 100% ({len(wholes)} checked)."
        if not over
        else f"Shares of a whole that add up to more than 100%: {shown}.",
        f"各组占比合计均不超过 100%(共 {len(wholes)} 组)。" if not over else f"以下占比合计超过 100%:{shown}。",
    )


# -- figures attributed to the data ------------------------------------------------------------------------------------
_FACT_ID = re.compile(r"^(D\d+):")


def fact_numbers(line: str) -> set[float]:
    """Numbers in a fact line; a percentage also counts as its fraction (2.85% -> 2.85 and 0.0285)."""
    found: set[float] = set()
    for match in re.finditer(r"(\d[\d,]*(?:\.\d+)?)(\s*%)?", line.split(":", 1)[-1]):
        value = float(match.group(1).replace(",", ""))
        found.add(value)
        if match.group(2):
            found.add(value / 100)
    return found


def _matches(value: float, numbers: set[float]) -> bool:
    return any(abs(value - n) <= max(0.005 * abs(n), 0.005) for n in numbers)


def _cited(plan: PlanBase) -> list[tuple[str, float, str | None]]:
    cited: list[tuple[str, float, str | None]] = []
    for finding in getattr(plan, "findings", []):
        if finding.value is not None and (finding.source == "data" or finding.data_ref):
            cited.append((finding.statement, finding.value, finding.data_ref))
    for kpi in plan.kpis:
        if kpi.data_ref and isinstance(kpi.baseline, int | float):
            cited.append((kpi.metric, kpi.baseline, kpi.data_ref))
    for group in getattr(plan, "risk_groups", []):
        if group.data_ref:
            for label, value in (("size", group.size), ("share_pct", group.share_pct), ("churn", group.churn_rate_pct)):
                if value is not None:
                    cited.append((f"{group.group} {label}", float(value), group.data_ref))
    return cited


def check_data_figures(plan: PlanBase, data_facts: list[str], checks: CheckList, brief: str = "") -> None:
    """Numbers the plan attributes to the data must be numbers the server computed. With no dataset only the brief
    can back them (the user's own figures); any other such figure fails, so that the plan marks it as an assumption
    or the user gives the data."""
    cited = _cited(plan)
    if not cited:
        return
    if not data_facts:
        stated = fact_numbers(":" + brief)
        unbacked = [(label, value, ref) for label, value, ref in cited if not _matches(value, stated)]
        shown = "; ".join(f"{label} = {value:g}" + (f" ({ref})" if ref else "") for label, value, ref in unbacked)
        checks.add(
            DATA_CHECK,
            not unbacked,
            f"No dataset was given; the {len(cited)} figures attributed to the data are the brief's own."
            if not unbacked
            else f"No dataset was given and the brief does not state these figures the plan attributes to the data: "
            f"{shown}. Mark them as assumptions (source 'assumption', no data_ref), or give the dataset.",
            f"未提供数据集;归于数据的 {len(cited)} 个数字均为资料中用户给出的数字。"
            if not unbacked
            else f"未提供数据集,资料中也没有方案归于数据的以下数字:{shown}。请标为假设"
            "(source 写 assumption,不写 data_ref),或提供数据集。",
        )
        return
    by_id = {m.group(1): fact_numbers(line) for line in data_facts if (m := _FACT_ID.match(line))}
    everything = set().union(*by_id.values()) if by_id else set()
    wrong = []
    for label, value, ref in cited:
        ref = (ref or "").strip().upper()
        numbers = by_id.get(ref, everything) if ref else everything
        if ref and ref not in by_id:
            wrong.append(f"{label} ({ref}: no such fact)")
        elif not _matches(value, numbers):
            wrong.append(f"{label} = {value:g}" + (f" ({ref})" if ref else ""))
    checks.add(
        DATA_CHECK,
        not wrong,
        f"All {len(cited)} figures attributed to the data match the computed facts."
        if not wrong
        else "Figures attributed to the data that the data does not give: " + "; ".join(wrong) + ".",
        f"归于数据的 {len(cited)} 个数字均与计算结果一致。"
        if not wrong
        else "以下归于数据的数字与计算结果不符:" + ";".join(wrong) + "。",
    )


def check_substance(plan: PlanBase, dumped: dict[str, Any], checks: CheckList) -> None:
    """The checks on the plan's own substance (none of them compares the plan with what the user stated)."""
    _check_cost_share(plan, checks)
    _check_point_value(plan, dumped, checks)
    _check_tiers(plan, checks)
    _check_segments(dumped, checks)
    _check_shares(plan, dumped, checks)
