"""The stated-constraints block every rendered prompt carries: the constraints a plan is held to, one line each.

Values read by a model are marked as model-read, never as the user's words; a typed value that replaces what the
text says is named with the text it replaces; a kind the brief states in a sentence the server could not read never
gets "none stated: propose one". The churn analysis is an analysis, not a campaign: its block asks for no budget,
discount cap, horizon or team it was not given.
"""

from __future__ import annotations

from retention_mcp.constraints.kinds import kind, kinds, unread_spans_of
from retention_mcp.constraints.record import Constraints
from retention_mcp.constraints.text import one_line


def stated_block(c: Constraints, language: str, analysis: bool = False) -> str:
    """The constraints a plan is held to, one line each, in the prompt's language, inside <stated_constraints>."""
    zh = language == "zh"
    lines = ["<stated_constraints>"]
    unread_kinds = {u.kind for u in c.unread}
    lines.append(
        "以下约束由用户以类型化参数给出或从上文资料中读出,方案必须逐条遵守;未声明的项请提出建议值并标注【假设】。"
        if zh
        else "The plan is checked against these constraints (typed by the user or read from the facts above). "
        "Respect each one; where one is not stated, propose a value and mark it [Assumption]."
    )
    for k in kinds():
        line = k.line(c, zh) if k.line else None
        if line is None and k.ask is not None and k.label is not None:
            # a kind with no value: stated but unread, not applicable to an analysis, or none stated
            if unread_kinds & unread_spans_of(k.field):
                line = _labelled(
                    k.label,
                    "见下方未能识别的原文(用户已声明,请遵守)"
                    if zh
                    else "stated in the text listed below as unread: respect it as written",
                    zh,
                )
            elif not analysis:
                line = _labelled(
                    k.label,
                    "未声明:请提出建议值并标注为【假设】"
                    if zh
                    else "none stated: propose one and mark it as an assumption",
                    zh,
                )
        if line is not None:
            lines.append(line)
    lines += _replaced(c, zh)
    if c.unread:
        lines.append(
            "- 服务器未能识别的约束原文(请自行阅读并遵守):"
            if zh
            else "- Constraint text the server could not read (read and respect it yourself):"
        )
        lines += [f"  {one_line(u.text)}" for u in c.unread]
    lines.append("</stated_constraints>")
    return "\n".join(lines)


def _labelled(label: tuple[str, str], text: str, zh: bool) -> str:
    return f"- {label[1]}:{text}" if zh else f"- {label[0]}: {text}"


def _replaced(c: Constraints, zh: bool) -> list[str]:
    """One line per typed value that replaces what the text says."""
    lines: list[str] = []
    for x in c.conflicts:
        found = kind(x.field)
        en, zh_name = found.name if found else (x.field, x.field)
        said = one_line(x.text)
        lines.append(
            f"- 类型化值优先:{zh_name} {x.typed}——取代资料中的「{said}」"
            if zh
            else f"- Typed: {en} {x.typed} — replaces the brief's '{said}'"
        )
    return lines
