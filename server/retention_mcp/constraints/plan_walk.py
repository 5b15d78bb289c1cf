"""Walking a plan's dumped form: its offer-bearing parts, its dicts, and how a part is named in a check's detail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_OFFER_KEYS = ("offer", "offers", "description", "incentive", "reward", "save_offer", "win_back", "credit", "gift")


def offers(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) of every offer-bearing part of a plan: dicts holding an incentive, and their text."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from offers(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from offers(v, key)
    elif isinstance(node, str) and key in _OFFER_KEYS:
        yield key, node


def dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from dicts(v)


_TITLE_KEYS = ("description", "name", "churn_reason", "step", "reward", "offer", "moment", "action")


def title_of(value: dict[str, Any], fallback: str) -> str:
    return next((str(value[k]) for k in _TITLE_KEYS if isinstance(value.get(k), str) and value.get(k)), fallback)


def where(path: tuple[str | int, ...]) -> str:
    return ".".join(map(str, path))
