"""The checks in a plan's Markdown: the status line, the table of stated constraints with each one's result, every
check, and where each constraint came from (typed, read from the text, read by a model, asked in a form)."""

from __future__ import annotations

from retention_mcp.constraints.kinds import checked, kinds
from retention_mcp.generation.labels import cell
from retention_mcp.generation.substance_checks import compared_checks
from retention_mcp.models import Check, ConstraintFill, EffectiveConstraints, ValidationReport


# -- validation ---------------------------------------------------------------------------------------------------------
def validation_status(validation: ValidationReport, constraints: EffectiveConstraints | None = None) -> str:
    """passed, failed, or unverified: no check compared the plan with anything the user stated or the data gave."""
    status = getattr(validation, "status", None)
    if status in ("passed", "failed", "unverified"):
        return status
    if any(not c.passed for c in validation.checks):
        return "failed"
    against = compared_checks()
    if not any(c.name in against for c in validation.checks):
        return "unverified"
    return "passed"


def _stated_rows(constraints: EffectiveConstraints, zh: bool) -> list[tuple[str, str, str]]:
    """(field, label, stated value) for every constraint kind, stated or not; the caps per customer only when stated."""
    none = "未声明" if zh else "none stated"
    rows = []
    for kind in kinds():
        if kind.label is None or kind.row is None:
            continue
        value = kind.row(constraints, zh)
        if value is None and not kind.always:
            continue
        rows.append((kind.field, kind.label[1 if zh else 0], value if value is not None else none))
    return rows


ICONS = {"passed": "✅", "failed": "❌", "unverified": "⚠️"}


def _status(check: Check) -> str:
    return getattr(check, "status", None) or ("passed" if check.passed else "failed")


def status_line(validation: ValidationReport, constraints: EffectiveConstraints | None, zh: bool) -> str:
    status = validation_status(validation, constraints)
    total = len(validation.checks)
    failed = [c.name for c in validation.checks if _status(c) == "failed"]
    open_checks = [c.name for c in validation.checks if _status(c) == "unverified"]
    sep = "、" if zh else ", "
    if status == "failed":
        names = ", ".join(f"`{n}`" for n in failed)
        text = (
            f"**校验结果:未通过** —— {total} 项检查中有 {len(failed)} 项未通过:{names}。"
            if zh
            else f"**Validation: failed** — {len(failed)} of {total} checks failed: {names}."
        )
    elif status == "unverified":
        reasons: list[str] = []
        if open_checks:
            names = ", ".join(f"`{n}`" for n in open_checks)
            reasons.append(
                f"{len(open_checks)} 项检查无法完成({names})"
                if zh
                else f"{len(open_checks)} check(s) could not be carried out ({names})"
            )
        unread = constraints.unread if constraints is not None else []
        if unread:
            reasons.append(
                f"资料中有 {len(unread)} 处约束未能识别"
                if zh
                else f"{len(unread)} span(s) of the constraint text could not be read"
            )
        stated = compared_checks()
        if not any(c.name in stated for c in validation.checks):
            reasons.append(
                "资料中没有读到可检查的约束(预算、折扣上限、时间范围、团队、渠道、目标),只核对了方案自身的算术"
                if zh
                else "no constraint (budget, discount cap, horizon, team, channels, goals) was stated or read, so "
                "only the plan's own arithmetic was checked"
            )
        if not reasons and validation.to_fill:
            reasons.append("部分约束无法核验" if zh else "some constraints could not be checked")
        fill = (
            (
                "请补充下方「需补充的约束」中的各项,才能逐条检查。"
                if zh
                else " Fill in what is listed under 'To fill in' below to have everything checked."
            )
            if validation.to_fill
            else ""
        )
        text = (
            f"**校验结果:未核验** —— 没有检查未通过,但并非全部可以核验:{';'.join(reasons)}。{fill}"
            if zh
            else f"**Validation: unverified** — no check failed, but not everything could be checked: "
            f"{'; '.join(reasons)}.{fill}"
        )
    else:
        text = (
            f"**校验结果:通过** —— {total} 项检查全部通过。"
            if zh
            else f"**Validation: passed** — all {total} checks passed."
        )
    unchecked = _unchecked(validation, constraints, zh)
    if unchecked:
        text += (" 未检查:" if zh else " Not checked: ") + sep.join(unchecked) + ("。" if zh else ".")
    return "> " + text


def _unchecked(validation: ValidationReport, constraints: EffectiveConstraints | None, zh: bool) -> list[str]:
    if constraints is None:
        return []
    names = {c.name for c in validation.checks}
    rows = _stated_rows(constraints, zh)
    none = "未声明" if zh else "none stated"
    return [f"{label} {value}" for key, label, value in rows if value != none and not names & checked(key)]


def validation_markdown(
    validation: ValidationReport, zh: bool, constraints: EffectiveConstraints | None = None
) -> list[str]:
    title = "服务器校验" if zh else "Checks by the server"
    lines = [f"## {title}", ""]
    if constraints is not None:
        by_name = {c.name: c for c in validation.checks}
        none = "未声明" if zh else "none stated"
        head = ("约束", "资料中的值", "结果") if zh else ("Constraint", "Stated", "Result")
        lines += [f"| {head[0]} | {head[1]} | {head[2]} |", "|---|---|---|"]
        for key, label, value in _stated_rows(constraints, zh):
            statuses = {_status(by_name[n]) for n in checked(key) if n in by_name}
            if value == none:
                result = "—"
            elif not statuses:
                result = "未检查" if zh else "not checked"
            elif "failed" in statuses:
                result = ICONS["failed"]
            elif "unverified" in statuses:
                result = f"{ICONS['unverified']} " + ("未核验" if zh else "unverified")
            else:
                result = ICONS["passed"]
            lines.append(f"| {label} | {cell(value + _model_read(constraints, key, zh), zh)} | {result} |")
        lines.append("")
    lines += [f"- {ICONS[_status(c)]} `{c.name}`: {c.detail}" for c in validation.checks]
    if validation.to_fill:
        lines += ["", f"### {'需补充的约束' if zh else 'To fill in'}", ""]
        lines.append(
            "以下内容服务器未能核验;把它们填入类型化参数(constraints、goals)后再次生成或提交(check_plan)即可逐条检查:"
            if zh
            else "The server could not check these; give them as typed parameters (constraints, goals) and "
            "generate or submit (check_plan) again to have them checked:"
        )
        lines.append("")
        lines += [f"- {line}" for line in validation.to_fill]
    return lines


def _model_read(constraints: EffectiveConstraints, key: str, zh: bool) -> str:
    """For a value the model read out of the brief: the words it stands on, so it never reads as the user's own."""
    if constraints.sources.get(key) != "model":
        return ""
    where = constraints.read_from.get(key)
    if where is None:
        return "(由模型读出)" if zh else " (read by the model)"
    quote = f"「{where.text}」" if zh else f"«{where.text}»"
    return f"(由模型读自:{quote})" if zh else f" (read by the model from: {quote})"


_SOURCE_LABELS = {
    "typed": ("typed by the user", "用户以参数给出"),
    "text": ("read from the facts", "从资料中读出"),
    "model": ("extracted by the model", "由模型提取"),
}


_FILL_OUTCOMES = {
    "filled": ("filled in", "已补充"),
    "nothing_found": ("nothing found", "未找到"),
    "declined": ("declined", "用户拒绝"),
    "cancelled": ("cancelled", "用户取消"),
    "failed": ("failed", "失败"),
}


def provenance_markdown(constraints: EffectiveConstraints, fill: ConstraintFill | None, zh: bool) -> list[str]:
    """Where each constraint came from, typed values that disagree with the text, and how missing ones were filled."""
    by_source: dict[str, list[str]] = {}
    for key, source in constraints.sources.items():
        by_source.setdefault(source, []).append(f"`{key}`")
    lines: list[str] = []
    if by_source:
        lines.append("**约束来源**:" if zh else "**Where the constraints came from**: ")
        sep = "、" if zh else ", "
        lines[-1] += (";" if zh else "; ").join(
            f"{_SOURCE_LABELS[src][1 if zh else 0]}:{sep.join(keys)}"
            if zh
            else f"{_SOURCE_LABELS[src][0]}: {sep.join(keys)}"
            for src, keys in by_source.items()
        )
    for c in constraints.conflicts:
        lines.append(
            f"- `{c.field}`:采用参数值 {c.typed},资料中写的是 {c.text}"
            if zh
            else f"- `{c.field}`: the typed value {c.typed} is used; the facts say {c.text}"
        )
    if fill is not None:
        method = ("表单询问" if fill.method == "elicitation" else "模型提取") if zh else fill.method
        outcome = _FILL_OUTCOMES[fill.outcome][1 if zh else 0]
        fields = ("、" if zh else ", ").join(f"`{f}`" for f in fill.fields)
        lines.append(
            f"- 缺失约束的补充({method}):{outcome}" + (f":{fields}" if fields else "")
            if zh
            else f"- Missing constraints ({method}): {outcome}" + (f": {fields}" if fields else "")
        )
    return ["", *lines] if lines else []
