"""Secrets never leave the process: the model API key and the HTTP bearer tokens are scrubbed from any text before it
is cut, shown to a client, reported as progress or logged.

Every secret the settings hold is registered here when the settings are built, whatever its format; scrubbing
replaces it in the forms an echoing server may use (as is, JSON-escaped, URL-encoded). Text is always scrubbed
first and shortened afterwards, so a cut can never leave part of a secret behind. As a second line, credentials in
the usual header forms (`Authorization: Bearer …`, `x-api-key: …`) and common key shapes are blanked even when they
are not ours.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_CHARS = 8  # shorter values are too likely to be ordinary words; settings refuse nothing, we just skip them

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_variants: tuple[str, ...] = ()  # every registered secret in every form, longest first
_factory_installed = False

# Credentials in header or key shapes, ours or not: keep the label, blank the value.
_GENERIC = re.compile(
    r"(?i)(\bbearer\s+|\b(?:x-api-key|api[-_]?key|authorization|access[-_]?token|secret)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)([^\s\"',;}{]{8,})"
    r"|\b(sk|pk|rk|key|token|ghp|gho|xox[abp])[-_]([A-Za-z0-9_\-]{8,})"
)


def _forms(secret: str) -> set[str]:
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    return {
        secret,
        escaped,
        json.dumps(secret)[1:-1],  # ASCII-escaped JSON
        escaped.replace("/", "\\/"),  # JSON encoders that escape the slash
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }


def register(*secrets: str | None) -> None:
    """Scrub these values from every text from now on (the whole process)."""
    global _secrets, _variants
    fresh = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET_CHARS}
    with _lock:
        if fresh <= _secrets:
            return
        _secrets = _secrets | fresh
        forms = {form for s in _secrets for form in _forms(s) if form}
        _variants = tuple(sorted(forms, key=len, reverse=True))
        _install_log_scrubbing()


def scrub(text: str) -> str:
    """`text` with every registered secret and every credential-shaped value replaced by ***."""
    if not text:
        return text
    for form in _variants:
        if form in text:
            text = text.replace(form, MASK)
    return _GENERIC.sub(_blank, text)


def _blank(match: re.Match[str]) -> str:
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
