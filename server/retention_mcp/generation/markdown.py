"""A plan as Markdown in its own language, laid out like the document its prompt asks for.

The validation status comes first (passed, failed, or unverified when nothing could be checked against the user's
constraints); then the template's sections, in the order and with the headings of its prompt (plans.SECTIONS);
then the constraints the server read with the result of each check; last, anything the model wrote that the schema
does not know. Goals are printed with their ids, lists stay lists, steps are sorted by day (T-30 before T-7), and an
A/B hypothesis (实验假设) is never called an assumption (前提假设). What the model wrote is untrusted: the title stays
on one line, and raw HTML and image syntax are shown as text (untrusted.inert_markdown), never loaded or run.
"""

from __future__ import annotations

import re
from typing import Any

from retention_mcp.constraints.lexicon import PERIOD_ROWS as PERIODS
from retention_mcp.constraints.lexicon import PERIOD_WORDS
from retention_mcp.generation.check_markdown import provenance_markdown, status_line, validation_markdown
from retention_mcp.generation.labels import cell, format_day, format_number, inline, is_empty, label_of
from retention_mcp.generation.plan_parts import EXTRAS, PlanBase
from retention_mcp.generation.plans import PLAN_MODELS
from retention_mcp.generation.sections import Section, sections_for
from retention_mcp.models import ConstraintFill, EffectiveConstraints, ValidationReport
from retention_mcp.untrusted import inert_markdown, one_line
from retention_mcp.vocabulary import PERIOD_DAYS

INLINE_LISTS = {"channels", "goal_ids", "variants", "fields", "motions"}  # short names: one line, comma-separated
TITLE_KEYS = (
    "name", "segment", "churn_reason", "action", "driver", "group", "question", "statement", "step", "rule", "moment",
    "partner", "role", "signal", "reward", "category", "cadence", "scenario", "risk", "hypothesis", "metric", "source",
    "constraint", "description", "item", "stage",
)  # fmt: skip
# Lists of steps with a day: how the day reads. renewal: T-30; start: day 3 from the start; after: day 3 after.
DAY_LISTS = {"sequence": "renewal", "cadence": "renewal", "notice_checks": "renewal", "steps": "after"}


def _day_mode(key: str, row: dict[str, Any], list_key: str) -> str:
    if list_key == "touchpoints":
        return "renewal" if row.get("relative_to") == "renewal" else "start"
    return DAY_LISTS.get(list_key, "start")


def _on_event(row: dict[str, Any]) -> bool:
    """A touchpoint set off by an event (trigger and offset) rather than on a day."""
    return not isinstance(row.get("day"), int) and isinstance(row.get("trigger"), str)


def format_event(row: dict[str, Any], zh: bool) -> str:
    """When an event-triggered touchpoint happens: '1 day after payment_failed', 'payment_failed 后第 1 天'."""
    trigger = inline(row["trigger"], zh).replace("|", "\\|")
    raw = row.get("offset_days")
    offset: int = raw if isinstance(raw, int) else 0
    if zh:
        return (
            f"{trigger} 当天"
            if offset == 0
            else f"{trigger} 后第 {offset} 天"
            if offset > 0
            else f"{trigger} 前 {-offset} 天"
        )
    if offset == 0:
        return f"on {trigger}"
    days = f"{abs(offset)} day{'s' if abs(offset) != 1 else ''}"
    return f"{days} after {trigger}" if offset > 0 else f"{days} before {trigger}"


def _sorted(rows: list[dict[str, Any]], list_key: str) -> list[dict[str, Any]]:
    """Steps by day (T-30 before T-7), phases and stages by their first day; everything else as written.
    Touchpoints: by day from sign-up, then those set off by an event, then those before the renewal."""
    if list_key == "touchpoints" and rows and all(isinstance(r.get("day"), int) or _on_event(r) for r in rows):

        def order(r: dict[str, Any]) -> tuple[int, int]:
            if _on_event(r):
                offset = r.get("offset_days")
                return 1, offset if isinstance(offset, int) else 0
            return (2 if r.get("relative_to") == "renewal" else 0), r["day"]

        return sorted(rows, key=order)
    if rows and all(isinstance(r.get("day"), int) for r in rows):
        if list_key == "touchpoints":
            return sorted(rows, key=lambda r: (r.get("relative_to") == "renewal", r["day"]))
        return sorted(rows, key=lambda r: r["day"])
    if rows and all(isinstance(r.get("start_day"), int) for r in rows):
        return sorted(rows, key=lambda r: (r["start_day"], r.get("end_day", 0)))
    return rows


_EVENT_KEYS = ("trigger", "offset_days")  # shown in the day column of a touchpoint set off by an event


def _columns(rows: list[dict[str, Any]], list_key: str = "") -> list[str]:
    seen: dict[str, None] = {}
    events = list_key == "touchpoints" and any(_on_event(r) for r in rows)
    for row in rows:
        for key in row:
            if events and key in _EVENT_KEYS:
                key = "day"
            if key != "relative_to" and ((key == "day" and events) or any(not is_empty(r.get(key)) for r in rows)):
                seen.setdefault(key, None)
    return list(seen)


def _is_table(rows: list[dict[str, Any]], columns: list[str]) -> bool:
    """A table when every cell is one short value; otherwise a block per row, with its lists as lists."""
    for row in rows:
        for key, value in row.items():
            nested = isinstance(value, dict) or (isinstance(value, list) and key not in INLINE_LISTS)
            if nested and not is_empty(value):
                return False
    return len(columns) <= 8


def _day_label(list_key: str, zh: bool) -> str:
    mode = DAY_LISTS.get(list_key, "start")
    if list_key == "touchpoints":
        return "时间" if zh else "When"
    if mode == "renewal":
        return "相对到期日(T=到期日)" if zh else "Day (T = renewal date)"
    return {"steps": ("扣款失败或流失后天数", "Days after")}.get(list_key, ("天", "Day"))[0 if zh else 1]


def _column_label(column: str, list_key: str, zh: bool) -> str:
    if column == "day":
        return _day_label(list_key, zh)
    if column == "description" and list_key == "offers":
        return "优惠" if zh else "Offer"
    return label_of(column, zh)


def _rows(rows: list[dict[str, Any]], zh: bool, list_key: str, indent: str = "") -> list[str]:
    rows = _sorted(rows, list_key)
    columns = _columns(rows, list_key)
    if not columns:
        return []
    if _is_table(rows, columns) and not indent:
        head = [_column_label(c, list_key, zh) for c in columns]
        table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            cells = [
                format_day(row["day"], _day_mode(c, row, list_key), zh)
                if c == "day" and isinstance(row.get("day"), int)
                else format_event(row, zh)
                if c == "day" and _on_event(row)
                else cell(row.get(c), zh, c)
                for c in columns
            ]
            table.append("| " + " | ".join(cells) + " |")
        return table
    lines: list[str] = []
    for row in rows:
        lines += _block(row, zh, list_key, indent)
    return lines


def _block(row: dict[str, Any], zh: bool, list_key: str, indent: str = "") -> list[str]:
    """One row as a titled block: its title in bold, then one line per field, lists as nested lists."""
    title_key = next((k for k in TITLE_KEYS if isinstance(row.get(k), str) and row.get(k)), None)
    head = []
    if "start_day" in row and "end_day" in row:
        days = f"{row['start_day']}–{row['end_day']}"
        head.append(f"第 {days} 天" if zh else f"Day {days}")
    shown = {title_key, "start_day", "end_day", "day", "relative_to"}
    if isinstance(row.get("day"), int):
        head.append(format_day(row["day"], _day_mode("day", row, list_key), zh))
    elif list_key == "touchpoints" and _on_event(row):
        head.append(format_event(row, zh))
        shown |= set(_EVENT_KEYS)
    if title_key:
        head.append(inline(row[title_key], zh))
    lines: list[str] = []
    if indent:
        lines.append(
            f"{indent}- "
            + " · ".join(head + [inline(v, zh, k) for k, v in row.items() if k not in shown and not is_empty(v)])
        )
        return lines
    lines.append(f"**{' · '.join(head) or '—'}**")
    lines += _fields(row, zh, skip=shown)
    lines.append("")
    return lines


def _fields(
    data: dict[str, Any], zh: bool, skip: set[Any] | frozenset[Any] = frozenset(), indent: str = ""
) -> list[str]:
    """Key-value lines; lists as nested lists, parts of the part as nested blocks."""
    colon = ":" if zh else ": "
    lines: list[str] = []
    for key, value in data.items():
        if key in skip or is_empty(value):
            continue
        label = label_of(key, zh)
        if isinstance(value, list) and key not in INLINE_LISTS:
            lines.append(f"{indent}- {label}{colon}".rstrip())
            if all(isinstance(v, dict) for v in value):
                lines += _rows(value, zh, key, indent + "  ")
            else:
                lines += [f"{indent}  - {inline(v, zh)}" for v in value]
        elif isinstance(value, dict):
            lines.append(f"{indent}- {label}{colon}".rstrip())
            lines += _fields(value, zh, indent=indent + "  ")
        else:
            lines.append(f"{indent}- {label}{colon}{inline(value, zh, key)}")
    return lines


# -- sections -----------------------------------------------------------------------------------------------------------
def _field(key: str, value: Any, zh: bool, level: int, alone: bool, stated: EffectiveConstraints | None) -> list[str]:
    """One plan field under its section. `alone`: the only field there, so it needs no heading of its own."""
    colon = ":" if zh else ": "
    if key == "goals":
        return _goals(value, zh, level, stated)
    if is_empty(value):
        return []
    heading = [] if alone else [f"{'#' * level} {label_of(key, zh)}", ""]
    if key == "summary":
        return [str(value), ""]
    if key == "team_size_needed":
        return [f"**{label_of(key, zh)}**{colon}{value}{' 人' if zh else ' people'}", ""]
    if isinstance(value, str | int | float):
        return [f"**{label_of(key, zh)}**{colon}{inline(value, zh, key)}", ""]
    if key == "budget":
        return heading + _budget(value, zh) + [""]
    if key == "timeline":
        return heading + _rows(value["phases"], zh, "phases") + [""]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return heading + _rows(value, zh, key) + [""]
    if isinstance(value, list):
        return heading + [f"- {inline(v, zh)}" for v in value] + [""]
    if isinstance(value, dict):
        tables = {k: v for k, v in value.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
        flat = {k: v for k, v in value.items() if k not in tables}
        lines = heading + _fields(flat, zh) + [""]
        for sub, rows in tables.items():  # steps of a cancel flow, components of a health score...
            lines += [f"**{label_of(sub, zh)}**", "", *_rows(rows, zh, sub), ""]
        return lines
    return [*heading, inline(value, zh), ""]


def _one_line(text: str) -> str:
    """The user's words on one line, without control characters: a line break in a stated goal must not start a
    heading or a list item of its own, and the Markdown goes to terminals too."""
    return " ".join(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text).split())


def _goals(goals: list[dict[str, Any]], zh: bool, level: int, stated: EffectiveConstraints | None) -> list[str]:
    lines = [f"**{label_of('goals', zh)}**", ""]
    if goals:
        lines += [f"- **{g['id']}** {g['text']}" for g in goals]
    elif stated is not None and stated.goals:
        lines += [f"- **{g.id}** {_one_line(g.text)}" for g in stated.goals]
        lines.append("")
        lines.append("(目标编号与原文取自资料。)" if zh else "(Goal ids and wording as read from the facts.)")
    else:
        return []
    return [*lines, ""]


def _section(section: Section, data: dict[str, Any], zh: bool, stated: EffectiveConstraints | None) -> list[str]:
    body: list[str] = []
    fields = [f for f in section.fields if f in data]
    for key in fields:
        body += _field(key, data[key], zh, 3, len(fields) == 1, stated)
    for part in section.parts:
        part_fields = [f for f in part.fields if f in data]
        part_body: list[str] = []
        for key in part_fields:
            part_body += _field(key, data[key], zh, 4, len(part_fields) == 1, stated)
        if part_body:
            body += [f"### {part.heading('zh' if zh else 'en')}", "", *part_body]
    return ([f"## {section.heading('zh' if zh else 'en')}", "", *body]) if body else []


def plan_markdown(
    plan: PlanBase,
    language: str,
    validation: ValidationReport | None = None,
    constraints: EffectiveConstraints | None = None,
    fill: ConstraintFill | None = None,
) -> str:
    zh = language == "zh"
    data = plan.model_dump()
    template = next((name for name, model in PLAN_MODELS.items() if type(plan) is model), "")
    out = [f"# {one_line(plan.title)}", ""]  # a line break in the title must not write a status line of its own
    if validation is not None:
        out += [status_line(validation, constraints, zh), ""]
    sections = sections_for(template) or tuple(
        Section(label_of(k, False), label_of(k, True), (k,)) for k in data if k not in ("title", EXTRAS)
    )
    for section in sections:
        out += _section(section, data, zh, constraints)
    placed = {f for s in sections for f in s.all_fields()} | {"title", EXTRAS}
    rest = {k: v for k, v in data.items() if k not in placed and not is_empty(v)}
    for key, value in rest.items():  # a field a section table does not place (GenericPlan subclasses...)
        out += [f"## {label_of(key, zh)}", "", *_field(key, value, zh, 3, True, constraints)]
    if validation is not None:
        out += validation_markdown(validation, zh, constraints)
    if constraints is not None:
        out += provenance_markdown(constraints, fill, zh)
    if data.get(EXTRAS):
        out += ["", f"## {label_of(EXTRAS, zh)}", ""]
        out.append(
            "以下内容不在方案格式之内,按模型原文保留:"
            if zh
            else "Not part of the plan format; kept as the model wrote it:"
        )
        out.append("")
        for key, value in data[EXTRAS].items():
            if isinstance(value, dict):
                out += [f"- **{key}**", *_fields(value, zh, indent="  ")]
            elif isinstance(value, list):
                out += [f"- **{key}**"] + [f"  - {inline(v, zh)}" for v in value]
            else:
                out.append(f"- **{key}**: {inline(value, zh)}")
    text = "\n".join(out).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return inert_markdown(text)  # other tokens read it: what the model wrote loads and runs nothing


def _budget(budget: dict[str, Any], zh: bool) -> list[str]:
    total = "—" if budget["total"] is None else format_number(budget["total"])
    head = f"**{'总预算' if zh else 'Total'}**{':' if zh else ': '}{total} {budget['currency']}"
    period = budget.get("period")
    if period in PERIOD_DAYS:  # the total is the whole plan's; the period is how lines count
        words = PERIOD_WORDS[period]
        head += f"(整个方案;科目按{words.unit_zh}计)" if zh else f" (whole plan; lines by {words.unit_en})"
    elif period == "total":
        head += f"({PERIODS['total'][1]})" if zh else f" ({PERIODS['total'][0]})"
    if budget.get("share_of_revenue_pct") is not None:
        share = format_number(budget["share_of_revenue_pct"])
        head += f";占销售额 {share}%" if zh else f"; {share}% of sales"
    lines = [head, ""]
    if budget["lines"]:
        rows = [{k: v for k, v in line.items()} for line in budget["lines"]]
        table = _rows(rows, zh, "lines")
        lines += table
        spent = sum(line["amount"] for line in budget["lines"])
        width = table[0].count("|") - 1
        lines.append(f"| **{'合计' if zh else 'Sum'}** | **{format_number(spent)}** |" + " |" * (width - 2))
    extra = {
        k: v for k, v in budget.items() if k not in ("total", "currency", "period", "share_of_revenue_pct", "lines")
    }
    roi = extra.pop("roi", None)
    if roi:
        lines += ["", f"**{'投入产出' if zh else 'Return on the budget'}**"]
        lines += _fields(roi, zh)
    if any(not is_empty(v) for v in extra.values()):
        lines += ["", *_fields(extra, zh)]
    return lines
