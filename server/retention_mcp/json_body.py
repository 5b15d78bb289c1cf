"""JSON read under limits: a request body at most so many bytes, nested at most so deep; JSON text with only finite
numbers (`loads_finite`).

The team guard parses each POST to the MCP endpoint before the SDK does (to tell what it costs); a body nested
millions of levels deep must then be a short 400, not a RecursionError with a traceback in the log and a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from retention_mcp.errors import UserError

DEFAULT_MAX_DEPTH = 64  # MCP requests nest a handful of levels; a template's arguments a few more


class BodyRefused(Exception):
    """A request body the server will not read: `status` is the HTTP status to answer, the message is bilingual."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class NotJSON(Exception):
    """A body that is not JSON at all: left to the MCP app, which answers it with a JSON-RPC parse error."""


def parse(body: bytes, max_depth: int) -> Any:
    """`body` as JSON; BodyRefused when nested deeper than `max_depth`, NotJSON when it does not parse."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise too_deep(max_depth) from None
    except ValueError:
        raise NotJSON() from None
    if depth_exceeds(value, max_depth):
        raise too_deep(max_depth)
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects in `value` nest more than `max_depth` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def too_deep(max_depth: int) -> BodyRefused:
    return BodyRefused(
        400,
        f"Request body: JSON nested more than {max_depth} levels deep (RETENTION_MCP_HTTP_MAX_JSON_DEPTH) / "
        f"请求体 JSON 嵌套超过 {max_depth} 层",
    )


def too_large(max_bytes: int) -> BodyRefused:
    return BodyRefused(
        413,
        f"Request body: larger than {max_bytes // (1024 * 1024)} MB (RETENTION_MCP_HTTP_MAX_BODY_MB) / "
        f"请求体超过 {max_bytes // (1024 * 1024)} MB",
    )


class NotFinite(ValueError):
    """A number JSON cannot hold: NaN, Infinity, or a literal beyond the float range (1e400)."""


def _refuse_constant(literal: str) -> float:
    raise NotFinite(literal)


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise NotFinite(literal)
    return value


def loads_finite(text: str) -> Any:
    """`json.loads`, refusing (NotFinite) what Python would read as NaN or infinity; JSONDecodeError and
    RecursionError as `json.loads` raises them."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)


class JSONTextError(UserError):
    """JSON text given for an object (a plan, a template's arguments) that is not one: the field and the rule."""


def read_object(value: str | Mapping[str, Any], field: str, max_chars: int, max_depth: int) -> dict[str, Any]:
    """An object from JSON text (or an object already): at most `max_chars` characters, nested at most `max_depth`
    deep, finite numbers only. Errors name the field and the rule, in English and Chinese, and never show the text."""
    if isinstance(value, Mapping):
        return dict(value)
    if len(value) > max_chars:
        raise JSONTextError(
            f"{field}: is {len(value):,} characters; the limit is {max_chars:,} / "
            f"{field}:长度为 {len(value):,} 个字符,超过 {max_chars:,} 个字符的上限"
        )
    if not value.strip():
        raise JSONTextError(f"{field}: is empty; send a JSON object / {field}:为空,请提交 JSON 对象")
    try:
        data = loads_finite(value)
    except json.JSONDecodeError as exc:
        raise JSONTextError(
            f"{field}: is not valid JSON ({exc.msg}; line {exc.lineno}, column {exc.colno}) / "
            f"{field}:不是有效的 JSON(第 {exc.lineno} 行第 {exc.colno} 列有语法错误)"
        ) from None
    except NotFinite:
        raise JSONTextError(
            f"{field}: holds a number that is not finite (NaN, Infinity or beyond 1e308); amounts and counts are "
            f"finite numbers / {field}:含有非有限数字(NaN、Infinity 或超过 1e308),金额与数量必须是有限数字"
        ) from None
    except RecursionError:
        data = None
    if data is None or depth_exceeds(data, max_depth):
        raise JSONTextError(
            f"{field}: is nested more than {max_depth} levels deep; it needs a handful / "
            f"{field}:嵌套超过 {max_depth} 层,只需几层"
        )
    if not isinstance(data, dict):
        raise JSONTextError(f"{field}: must be a JSON object (found {type(data).__name__}) / {field}:必须是 JSON 对象")
    return data
