"""The checks of one plan as they are recorded: each with a stable name, a status and a detail in the plan's language,
and the lines that tell the user what to fill in so that everything can be checked."""

from __future__ import annotations

from collections.abc import Callable

from retention_mcp.models import Check, CheckStatus

Record = Callable[[str, CheckStatus, str, str], None]  # CheckList.record, for checks that only record


class CheckList:
    def __init__(self, language: str):
        self.zh = language == "zh"
        self.language = "zh" if self.zh else "en"
        self.items: list[Check] = []
        self.to_fill: list[str] = []

    def add(self, name: str, passed: bool, en: str, zh: str) -> None:
        self.record(name, "passed" if passed else "failed", en, zh)

    def record(self, name: str, status: CheckStatus, en: str, zh: str) -> None:
        self.items.append(Check(name=name, passed=status == "passed", status=status, detail=zh if self.zh else en))

    def fill(self, en: str, zh: str) -> None:
        line = zh if self.zh else en
        if line not in self.to_fill:
            self.to_fill.append(line)
