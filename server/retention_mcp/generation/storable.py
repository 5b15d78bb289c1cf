"""Text as every plan store keeps it: U+0000 (NUL) becomes U+FFFD, the replacement character.

PostgreSQL refuses NUL in text (and in `jsonb`); SQLite keeps it. A model can write one (a stray `\\u0000` in its
JSON), so both stores replace it before writing, in every string of the record: the plan, its Markdown, the title,
the model name, the arguments and the audit entries. Both then return the same text for the same plan.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

NUL = "\x00"
REPLACEMENT = "\ufffd"
M = TypeVar("M", bound=BaseModel)


def _replaced(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, list):
        return [_replaced(item) for item in value]
    if isinstance(value, dict):
        return {_replaced(key): _replaced(item) for key, item in value.items()}
    return value


def storable(record: M) -> M:
    """The record with every NUL replaced; the same object when it holds none."""
    if "\\u0000" not in record.model_dump_json():  # JSON writes NUL as \u0000: the common case costs one dump
        return record
    return type(record).model_validate(_replaced(record.model_dump()))
