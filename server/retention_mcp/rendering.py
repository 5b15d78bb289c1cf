"""Rendering rules: user values are data, never template source, and can never forge a message.

- Every template is compiled once in an immutable sandbox with StrictUndefined; a value holding `{{ ... }}` or
  `{% ... %}` is output as it is, because Jinja2 never evaluates what it outputs.
- Role lines are parsed from the template source before any value exists, so a value can't create a message.
- A value can't open or close a delimited block: a `<` that starts a tag (`<name`, `</name`) becomes `&lt;`, and
  so does a look-alike, found once the value is folded as a reader sees it (untrusted.starts_tag): a full-width, small or
  arrowhead `<` (＜ ﹤ ‹ ˂ ❮), look-alike slashes and letters (Cyrillic `с`, Greek `ο`, full-width `ｕ`), invisible
  characters anywhere and spaces around the slash.
  Control characters other than tab and newline are dropped; line endings become `\\n`.
- Output is deterministic: the same template version and the same arguments give the same bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from retention_mcp.untrusted import LESS_THAN_LIKE, starts_tag

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja2 environment every template is parsed and compiled in, made on first use: a server that only
    lists its tools never imports Jinja2."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def global_names() -> frozenset[str]:
    """Names a template may read that are not inputs: Jinja2's own globals and loop helpers."""
    return frozenset(environment().globals) | {"loop", "varargs", "kwargs", "caller"}


# Names the server fills for every template: the stated-constraints block built from the effective constraints. A
# template places it with {{ stated_constraints }} in a user message; one that does not gets it at the end of its
# last user message.
STATED_CONSTRAINTS = "stated_constraints"
SERVER_NAMES = frozenset({STATED_CONSTRAINTS})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def defuse(value: Any) -> Any:
    """Return the value with every string made safe to place inside a delimited block."""
    if isinstance(value, str):
        return _defuse_text(_CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")))
    if isinstance(value, list):
        return [defuse(item) for item in value]
    if isinstance(value, dict):
        return {str(defuse(k)): defuse(v) for k, v in value.items()}
    return value


def _defuse_text(text: str) -> str:
    """Each `<` (or look-alike) that starts a tag as read becomes `&lt;`; the rest is kept as typed."""
    pieces, done = [], 0
    for match in LESS_THAN_LIKE.finditer(text):
        if starts_tag(text, match.start()):
            pieces += [text[done : match.start()], "&lt;"]
            done = match.end()
    return "".join([*pieces, text[done:]]) if pieces else text


@functools.cache
def _cjk() -> re.Pattern[str]:
    """Chinese, Japanese and Korean characters; compiled on first use (a few milliseconds that start-up needs not)."""
    return re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def detect_language(texts: Iterable[str]) -> str | None:
    """Guess 'zh' or 'en' from filled values: Chinese characters against Latin words; None for no text."""
    cjk = words = 0
    for text in texts:
        cjk += len(_cjk().findall(text))
        words += len(_LATIN_WORD.findall(text))
    if cjk == 0 and words == 0:
        return None
    return "zh" if cjk >= words else "en"


def strings_in(values: Mapping[str, Any]) -> Iterable[str]:
    for value in values.values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))
        elif isinstance(value, dict):
            yield from strings_in(value)
