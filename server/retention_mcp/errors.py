"""Errors a user can act on: which field, what rule it broke, what is allowed. In English and Chinese."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from retention_mcp.redaction import scrub


class UserError(Exception):
    """An error caused by the caller's input; its message is safe and useful to show to them.

    Safe includes secret-free: a configured API key or token in the message is blanked when the error is made.
    """

    def __init__(self, *args: object):
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class ArgumentError(UserError):
    """Arguments that break a rule of the template's parameters."""


class UnknownTemplateError(UserError):
    def __init__(self, name: str, available: Iterable[str]):
        names = ", ".join(sorted(available)) or "none"
        super().__init__(f"Unknown template '{name}'. Available: {names}. / 未知模板「{name}」。可用模板:{names}。")
        self.name = name


def invalid_arguments(
    target: str, allowed: Iterable[str], error: ValidationError | None = None, unknown: Iterable[str] = ()
) -> str:
    """One line a problem: the field, then the rule in English and in Chinese. Never echoes the value."""
    allowed_list = sorted(allowed)
    allowed_text = ", ".join(allowed_list)
    lines = [f"Invalid arguments for '{target}' / 「{target}」的参数无效:"]
    for name in sorted(unknown):
        lines.append(
            f"- {name}: is not a parameter of '{target}'; allowed: {allowed_text} / "
            f"不是「{target}」的参数;可用参数:{allowed_text}"
        )
    for err in error.errors(include_url=False) if error is not None else ():
        field = ".".join(str(part) for part in err["loc"]) or "arguments"
        en, zh = field_rule(err, allowed_list)
        lines.append(f"- {field}: {en} / {zh}" if zh else f"- {field}: {en}")
    return "\n".join(lines)


def field_rule(err: Any, allowed: list[str]) -> tuple[str, str | None]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "is required but missing", "为必填项,但未提供"
    if kind == "string_too_short":
        return "must not be empty", "不能为空"
    if kind == "string_too_long":
        size = len(value) if isinstance(value, str) else "too many"
        limit = ctx.get("max_length")
        return (
            f"is {size} characters; the limit is {limit} characters per field",
            f"长度为 {size} 个字符,超过每个字段 {limit} 个字符的上限",
        )
    if kind == "too_long":
        limit = ctx.get("max_length")
        return (
            f"has {ctx.get('actual_length')} items; at most {limit} allowed",
            f"共 {ctx.get('actual_length')} 项,最多 {limit} 项",
        )
    if kind == "string_type":
        return "must be text (a string)", "必须是文本(字符串)"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number", "必须是整数"
    if kind in ("float_type", "float_parsing"):
        return "must be a number", "必须是数字"
    if kind == "finite_number":
        return "must be a finite number", "必须是有限的数字"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false", "必须是 true 或 false"
    if kind == "list_type":
        return "must be a list", "必须是列表"
    if kind in ("dict_type", "model_type"):
        return "must be an object (key-value pairs)", "必须是对象(键值对)"
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        listed_zh = str(expected).replace(" or ", ", ").replace(", ", "、")  # 'a', 'b' or 'c' -> 'a'、'b'、'c'
        return f"must be one of {expected}", f"必须是以下之一:{listed_zh}"
    if kind == "extra_forbidden":
        if len(err["loc"]) > 1:  # a key inside an object parameter (constraints, goals)
            return (
                "is not a known key of this object; see the tool's input schema",
                "不是此对象的有效键,请参阅工具的输入格式",
            )
        allowed_text = ", ".join(allowed)
        return f"is not a parameter; allowed: {allowed_text}", f"不是有效参数;可用参数:{allowed_text}"
    bounds = {
        "greater_than_equal": ("ge", "at least", "不能小于"),
        "greater_than": ("gt", "more than", "必须大于"),
        "less_than_equal": ("le", "at most", "不能大于"),
        "less_than": ("lt", "less than", "必须小于"),
    }
    if kind in bounds:
        key, en, zh = bounds[kind]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {en} {limit}", f"{zh} {limit}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"])), None  # our own validators write both languages
    return err["msg"], None
