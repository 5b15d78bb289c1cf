"""Secrets never leave the process: the model API key and the HTTP bearer tokens are scrubbed from any text before it
is cut, stored, shown to a client, reported as progress or logged.

Every secret the settings hold (4 characters or more) is registered here when the settings are built, whatever its
format. Scrubbing blanks it in every form an echoing or hostile endpoint may use:

- as is, JSON-escaped, URL-encoded, reversed, hex (lower or upper case) and base64 (standard or URL-safe, padded or
  not, at each of the three byte alignments inside a longer base64 run);
- split by whitespace or line breaks, or interleaved with zero-width characters (U+200B..U+200D, U+2060..U+2064,
  U+FEFF, the soft hyphen): the text is searched with those removed, and the whole span is blanked in the original;
- masked: a run of mask characters (`*`, `…`, `•`, two dots or more, three x or more) next to the key's last (or
  first) four characters or more, as a 401 message shows it ("sk-...abcd", "sk-****abcd"), is blanked whole.

Matching is exact (case-sensitive), so a short key blanks its own occurrences and nothing else; a form shorter than
8 characters matches across line breaks and zero-width characters only, not across spaces between words. Text is
always scrubbed first and shortened afterwards, so a cut can never leave part of a secret behind. As a second line,
credentials in the usual header forms (`Authorization: Bearer …`, `x-api-key: …`) and common key shapes are blanked
even when they are not ours. Every step is a fixed number of passes over the text.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from bisect import bisect_right
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_CHARS = 4  # shorter values cannot be told from ordinary text
SPLIT_ACROSS_SPACES = 8  # a form this long may be matched with spaces between its parts; shorter ones only lines
EDGE_CHARS = 4  # a masked form shows this many of the key's first or last characters, or more

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"
_ZW_CLASS = "\u200b-\u200d\u2060-\u2064\ufeff\u00ad"
_GAP = re.compile(rf"[\s{_ZW_CLASS}]+")  # what may sit between the parts of a split or interleaved secret
# a gap a short form may span: zero-width characters, or whitespace that holds a line break
_LINE_GAP = re.compile(rf"[\s{_ZW_CLASS}]*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029][\s{_ZW_CLASS}]*|[{_ZW_CLASS}]+")
_DROP_ZERO_WIDTH = {ord(c): None for c in _ZERO_WIDTH}
_MASK_CHARS = "*.…•xX"
_TOKEN_STOP = frozenset(" \t\r\n\"'`<>()[]{},;:=|")  # where a masked token ends
_TOKEN_REACH = 64  # how far a mask run, and the token around it, are followed

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_forms: tuple[str, ...] = ()  # every registered secret in every form, separators removed, longest first
_edges: tuple[str, ...] = ()  # the secrets long enough to have a masked form (more than EDGE_CHARS characters)
_factory_installed = False

# Credentials in header or key shapes, ours or not: keep the label, blank the value.
_GENERIC = re.compile(
    r"(?i)(\bbearer\s+|\b(?:x-api-key|api[-_]?key|authorization|access[-_]?token|secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)([^\s\"',;}{]{8,})"
    r"|\b(sk|pk|rk|key|token|ghp|gho|xox[abp])[-_]([A-Za-z0-9_\-]{8,})"
)


def _base64_cores(raw: bytes) -> set[str]:
    """The characters of the base64 of `raw` that depend on its bytes alone, wherever it starts in a longer run:
    for each of the three alignments, the 6-bit groups that lie wholly inside the secret's bits."""
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0")
        first = -(-8 * shift // 6)  # the first group that starts at or after the secret's first bit
        last = (8 * (shift + len(raw))) // 6  # groups before this one end at or before its last bit
        core = encoded[first:last].decode("ascii")
        cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


def _secret_forms(secret: str) -> set[str]:
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    raw = secret.encode("utf-8")
    forms = {
        secret,
        escaped,
        json.dumps(secret)[1:-1],  # ASCII-escaped JSON
        escaped.replace("/", "\\/"),  # JSON encoders that escape the slash
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        secret[::-1],
        binascii.hexlify(raw).decode("ascii"),
        binascii.hexlify(raw).decode("ascii").upper(),
    } | _base64_cores(raw)
    return {bare for form in forms if len(bare := _GAP.sub("", form)) >= MIN_SECRET_CHARS}


def register(*secrets: str | None) -> None:
    """Scrub these values from every text from now on (the whole process)."""
    global _secrets, _forms, _edges
    fresh = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET_CHARS}
    with _lock:
        if fresh <= _secrets:
            return
        _secrets = _secrets | fresh
        _forms = tuple(sorted({form for s in _secrets for form in _secret_forms(s)}, key=len, reverse=True))
        _edges = tuple(s for s in _secrets if len(s) > EDGE_CHARS)
        _install_log_scrubbing()


def scrub(text: str) -> str:
    """`text` with every registered secret (in every form above) and every credential-shaped value replaced by ***."""
    if not text:
        return text
    if _forms:
        text = _blank(text, _form_spans(text))
    if _edges:
        text = _blank(text, _masked_spans(text))
    return _GENERIC.sub(_blank_generic, text)


def scrub_data(value: Any) -> Any:
    """A JSON-like value (what a model endpoint returned) with every string in it, keys included, scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_data(k): scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v) for v in value]
    return value


def _form_spans(text: str) -> list[tuple[int, int]]:
    """Where the registered forms occur in `text`, separators between their characters allowed."""
    bare = "".join(text.split())  # str.split and the regex \s agree on what whitespace is
    if any(c in bare for c in _ZERO_WIDTH):
        bare = bare.translate(_DROP_ZERO_WIDTH)
    found: list[tuple[int, int, str]] = []
    for form in _forms:
        at = bare.find(form)
        while at != -1:
            found.append((at, at + len(form), form))
            at = bare.find(form, at + 1)
    if not found:
        return []
    if len(bare) == len(text):  # nothing was removed: positions are the same
        return [(a, b) for a, b, _ in found]
    gaps_at: list[int] = []  # where each removed run was, in positions of `bare`
    removed: list[int] = []  # characters removed up to and including that run
    total = 0
    for gap in _GAP.finditer(text):
        gaps_at.append(gap.start() - total)
        total += gap.end() - gap.start()
        removed.append(total)

    def original(position: int) -> int:
        k = bisect_right(gaps_at, position)
        return position + (removed[k - 1] if k else 0)

    spans = []
    for a, b, form in found:
        start, end = original(a), original(b - 1) + 1
        short = len(form) < SPLIT_ACROSS_SPACES and end - start != len(form)
        if short and _LINE_GAP.sub("", text[start:end]) != form:  # spaces between words, not a key over lines
            continue
        spans.append((start, end))
    return spans


def _masked_spans(text: str) -> list[tuple[int, int]]:
    """Runs of mask characters next to the first or last EDGE_CHARS+ characters of a secret, with the token around.

    The secret's edges are looked for first (a few fast searches); the mask is checked only where one is found."""
    spans = []
    for secret in _edges:
        head, tail = secret[:EDGE_CHARS], secret[-EDGE_CHARS:]
        at = text.find(tail)
        while at != -1:
            hit = _masked_tail(text, at + EDGE_CHARS, secret)
            if hit is not None:
                spans.append(hit)
            at = text.find(tail, at + 1)
        at = text.find(head)
        while at != -1:
            hit = _masked_head(text, at, secret)
            if hit is not None:
                spans.append(hit)
            at = text.find(head, at + 1)
    return spans


def _masked_tail(text: str, end: int, secret: str) -> tuple[int, int] | None:
    """text[:end] ends with the secret's last characters: blank them and their token if a mask run comes first."""
    size = EDGE_CHARS
    while size < len(secret) - 1 and end - size > 0 and text[end - size - 1] == secret[-size - 1]:
        size += 1  # the longest visible part; shorter ones are tried too, as the mask may end with key characters
    for shown in range(size, EDGE_CHARS - 1, -1):
        stop = end - shown
        begin = stop
        while begin > 0 and stop - begin < _TOKEN_REACH and text[begin - 1] in _MASK_CHARS:
            begin -= 1
        if begin < stop and _is_mask(text[begin:stop]):
            return _token_start(text, begin), end
    return None


def _masked_head(text: str, start: int, secret: str) -> tuple[int, int] | None:
    """text[start:] begins with the secret's first characters: blank them and their token if a mask run follows."""
    size = EDGE_CHARS
    while size < len(secret) - 1 and start + size < len(text) and text[start + size] == secret[size]:
        size += 1
    for shown in range(size, EDGE_CHARS - 1, -1):
        begin = start + shown
        stop = begin
        while stop < len(text) and stop - begin < _TOKEN_REACH and text[stop] in _MASK_CHARS:
            stop += 1
        if stop > begin and _is_mask(text[begin:stop]):
            return start, _token_end(text, stop)
    return None


def _is_mask(run: str) -> bool:
    return any(c in run for c in "*…•") or ".." in run or "xxx" in run.lower()


def _token_start(text: str, start: int) -> int:
    limit = max(0, start - _TOKEN_REACH)
    while start > limit and text[start - 1] not in _TOKEN_STOP:
        start -= 1
    return start


def _token_end(text: str, end: int) -> int:
    limit = min(len(text), end + _TOKEN_REACH)
    while end < limit and text[end] not in _TOKEN_STOP:
        end += 1
    return end


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span (merged where they overlap or touch) replaced by one MASK."""
    if not spans:
        return text
    parts: list[str] = []
    kept = 0
    merged_end = -1
    for start, end in sorted(spans):
        if start <= merged_end:
            merged_end = max(merged_end, end)
            continue
        if merged_end >= 0:
            parts.append(MASK)
            kept = merged_end
        parts.append(text[kept:start])
        merged_end = end
    parts.append(MASK)
    parts.append(text[merged_end:])
    return "".join(parts)


def _blank_generic(match: re.Match[str]) -> str:
    value = match.group(2) if match.group(1) is not None else match.group(4)
    if not _looks_like_credential(value):  # "Bearer authentication", "key_accounts": ordinary words
        return match.group(0)
    if match.group(1) is not None:
        return match.group(1) + MASK
    return f"{match.group(3)}-{MASK}"


def _looks_like_credential(value: str) -> bool:
    """Random-looking: a digit among letters, or long enough that no word is that long."""
    return len(value) >= 24 or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value))


def cut(text: str, limit: int) -> str:
    """Scrub, then shorten to `limit` characters (with an ellipsis when something was cut)."""
    clean = scrub(text)
    return clean if len(clean) <= limit else clean[: max(0, limit - 1)] + "…"


def _install_log_scrubbing() -> None:
    """Scrub every log record of the process, whichever logger or handler it goes to (called under _lock)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
