"""Every report fits its declared JSON Schema, whatever the numbers did: a NaN, an infinity or a value outside the
bounds the schema declares (a probability above 1) is never passed on as a real number.

`conform(data, schema)` walks the serialised report beside its schema. A bad number becomes null where the schema
allows null; otherwise the nearest part that may be null (an optional section such as `sbg`) becomes null, or the
item is left out of its list. Each change is returned as (where, why), and the report lists it in `absent`.
"""

from __future__ import annotations

import math
from typing import Any

Notes = list[tuple[str, str]]


def conform(data: Any, schema: dict[str, Any]) -> tuple[Any, Notes]:
    notes: Notes = []
    walker = _Walker(schema.get("$defs", {}), notes)
    value, failure = walker.clean(data, schema, "")
    if failure:  # a required top-level number cannot be blanked; never happens for counts
        notes.append(failure)
    return value, notes


class _Walker:
    def __init__(self, defs: dict[str, Any], notes: Notes):
        self.defs = defs
        self.notes = notes

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def clean(self, value: Any, schema: dict[str, Any], path: str) -> tuple[Any, tuple[str, str] | None]:
        """(cleaned value, None) or (value, (leaf path, reason)) when it cannot fit and has no null to fall to."""
        schema = self.resolve(schema)
        options = schema.get("anyOf")
        if options is not None:
            nullable = any(self.resolve(o).get("type") == "null" for o in options)
            if value is None:
                return None, None if nullable else (path, "missing")
            failure: tuple[str, str] | None = (path, "does not fit its type")
            for option in options:
                option = self.resolve(option)
                if option.get("type") == "null":
                    continue
                kept = len(self.notes)
                cleaned, failure = self.clean(value, option, path)
                if failure is None:
                    return cleaned, None
                del self.notes[kept:]
            if nullable and failure is not None:
                self.notes.append((failure[0], failure[1]))
                return None, None
            return value, failure
        kind = schema.get("type")
        if kind in ("number", "integer"):
            return value, self.number(value, schema, path)
        if kind == "array" and isinstance(value, list):
            items = schema.get("items", {})
            kept_items: list[Any] = []
            for index, item in enumerate(value):
                cleaned, failure = self.clean(item, items, f"{path}[{index}]")
                if failure is None:
                    kept_items.append(cleaned)
                else:
                    self.notes.append((failure[0], f"{failure[1]}; the item is left out"))
            return kept_items, None
        if kind == "object" and isinstance(value, dict):
            properties = schema.get("properties")
            if properties is None:  # a mapping: bad entries are left out
                extra = schema.get("additionalProperties", {})
                out: dict[str, Any] = {}
                for key, item in value.items():
                    cleaned, failure = self.clean(item, extra if isinstance(extra, dict) else {}, f"{path}.{key}")
                    if failure is None:
                        out[key] = cleaned
                    else:
                        self.notes.append((failure[0], f"{failure[1]}; the entry is left out"))
                return out, None
            out = dict(value)
            for key, sub in properties.items():
                if key in value:
                    cleaned, failure = self.clean(value[key], sub, f"{path}.{key}" if path else key)
                    if failure is not None:
                        return value, failure
                    out[key] = cleaned
            return out, None
        return value, None

    @staticmethod
    def number(value: Any, schema: dict[str, Any], path: str) -> tuple[str, str] | None:
        if value is None:
            return path, "not a finite number (NaN) / 不是有限数值"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return path, "not a number / 不是数值"
        if isinstance(value, float) and not math.isfinite(value):
            return path, "not a finite number (NaN or infinity) / 不是有限数值"
        if schema.get("type") == "integer" and isinstance(value, float) and not value.is_integer():
            return path, "not a whole number / 不是整数"
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"[{'' if low is None else low}, {'' if high is None else high}]"
            return (
                path,
                f"{value:.4g} is outside {bounds}: the fit gave no usable number / 超出取值范围,拟合未给出可用数值",
            )
        return None
