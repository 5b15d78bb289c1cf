"""Text from users and models, made safe for the places it is shown: character rules only, no project imports.

- `starts_tag`: whether a `<` starts a tag as a reader (or a model) would read it, once each character is folded:
  Unicode compatibility forms (NFKD: full-width, mathematical and circled letters, ligatures), letters of other
  scripts that look like Latin ones (Cyrillic `с`, Greek `ο`, Armenian `ս`...) and look-alikes of `<` and `/` become
  the ASCII character; invisible characters and combining marks vanish. Only what follows a `<` (or look-alike,
  `LESS_THAN_LIKE`) is folded, and only as far as needed.
- `one_line`: a field shown one per line (a title in a listing) can't start a line of its own: line breaks, control
  characters (C0, C1), line and paragraph separators and bidi overrides become a space or vanish.
- `inert_markdown`: Markdown written from model text loads nothing and runs nothing: raw HTML (`<img>`, `<iframe>`,
  `<script>`, any tag, comment or declaration) is shown as text, and so is image syntax (`![..](..)`, `![..][..]`).
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing (zero-width, bidi controls, joiners, soft hyphen, variation selectors, tags):
# a model reads `<\u200b/user_facts>` as `</user_facts>`.
INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
_INVISIBLE = re.compile(f"[{INVISIBLE}]")

# What reads like `<` or `/` without folding to it under NFKD: angle brackets and arrowheads, slashes and divisions.
_LOOK_ALIKES: dict[str, str] = {
    **dict.fromkeys("\u02c2\u2039\u2329\u3008\u27e8\u1438\u276c\u276e\u2770\u29fc\u16b2\u227a\u2282\u02f1", "<"),
    **dict.fromkeys("\u2044\u2215\u29f8\u2571\u27cb\u3033\u2cc6\u1735\u0338", "/"),
}
# Letters of other scripts that look like Latin letters (after NFKD and lower-casing), as a reader sees them.
_LETTERS = {
    "a": "\u0430\u03b1\u0251\u237a",
    "b": "\u0184\u0185\u042c\u044c\u0431\u13cf\u15af",
    "c": "\u0441\u03f2\u1d04\u217d\u2ca5",
    "d": "\u0501\u217e\u13e7",
    "e": "\u0435\u0454\u04bd\u03b5\u212e\u2c89",
    "f": "\u0192\u017f\u1e9d",
    "g": "\u0261\u0581\u01e5",
    "h": "\u04bb\u0570\u13c2",
    "i": "\u0456\u0131\u03b9\u0269\u2170\u1fbe",
    "j": "\u0458\u03f3\u0237",
    "k": "\u043a\u03ba\u1d0b",
    "l": "\u04cf\u217c\u01c0\u05c0\u2223",
    "m": "\u043c\u217f",
    "n": "\u0578\u057c\u043f\u03b7",
    "o": "\u043e\u03bf\u0585\u03c3\u1d0f\u0ed0\u0665\u06f5",
    "p": "\u0440\u03c1\u2374\u2ca3",
    "q": "\u051b\u0563\u0566",
    "r": "\u0433\u1d26\u2c85",
    "s": "\u0455\u01bd\ua731",
    "t": "\u0442\u03c4\u1d1b",
    "u": "\u057d\u03c5\u028b\u1d1c\ua79f",
    "v": "\u03bd\u0475\u1d20\u2174",
    "w": "\u051d\u0561\u1d21\u03c9",
    "x": "\u0445\u03c7\u2179\u166e",
    "y": "\u0443\u03b3\u028f\u04af\u10e7",
    "z": "\u1d22\u0290",
    "_": "\u2017\uff3f\u02cd\u0332",
}
for _latin, _others in _LETTERS.items():
    _LOOK_ALIKES.update(dict.fromkeys(_others, _latin))


_FOLDED: dict[str, str] = {}  # non-ASCII characters folded so far
_FOLDED_MAX = 1 << 16


def _fold_char(char: str) -> str:
    folded = _FOLDED.get(char)
    if folded is None:
        if len(_FOLDED) >= _FOLDED_MAX:  # text made of every code point does not grow it without bound
            _FOLDED.clear()
        folded = _FOLDED[char] = _fold_uncached(char)
    return folded


def _fold_uncached(char: str) -> str:
    if _INVISIBLE.match(char):
        return ""
    folded = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.category(part) in ("Mn", "Me", "Cf"):  # combining marks and format characters: unseen
            folded.append(_LOOK_ALIKES.get(part, "") if part == "\u0338" else "")
            continue
        lowered = part.lower() if not part.isascii() else part
        folded.append(_LOOK_ALIKES.get(lowered, _LOOK_ALIKES.get(part, part)))
    return "".join(folded)


# Every character read as `<`: ASCII, what folds to it under NFKD (≮ ﹤ ＜), and the look-alikes above.
LESS_THAN_LIKE = re.compile(
    "[<\u226e\ufe64\uff1c" + "".join(c for c, folded in _LOOK_ALIKES.items() if folded == "<") + "]"
)
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


def starts_tag(text: str, at: int) -> bool:
    """Whether the `<` (or look-alike) at `at` starts a tag as read: `<name`, `</name`, or with spaces around the
    slash (`< /name`, `</ name`); invisible characters anywhere in between. Reads only as far as it must."""
    state = "open"  # open: just after `<`; spaced: spaces, no slash yet; slash: after the slash
    first = True
    for index in range(at, len(text)):
        char = text[index]
        folded = char if char.isascii() else _fold_char(char)
        if first:  # the `<` itself: what follows its `<` when it folds to more (≮ is `<` and a slash)
            folded, first = folded[1:], False
        for part in folded:
            if part.isspace():
                if state == "open":
                    state = "spaced"
            elif part == "/" and state != "slash":
                state = "slash"
            else:
                return part in _NAME_START and state != "spaced"
    return False


# -- one line ---------------------------------------------------------------------------------------------------------
# Line breaks of every kind, C0 and C1 controls, line and paragraph separators: each becomes a space.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\x85]+")
# Bidi embeddings, overrides and isolates, and marks: they reorder what follows on the line; they vanish.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def one_line(text: object) -> str:
    """A value shown one per line: never more than one line, and nothing that reorders the rest of it."""
    return " ".join(_BREAKS.sub(" ", _BIDI.sub("", str(text))).split())


# -- inert Markdown ---------------------------------------------------------------------------------------------------
# A `<` that CommonMark reads as raw HTML or an autolink: a tag (`<img`, `</div`), a comment or declaration (`<!`),
# a processing instruction (`<?`).
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")
_IMAGE_START = re.compile(r"!(?=\[)")


def inert_markdown(text: str) -> str:
    """Markdown with every raw HTML opener written as `&lt;` and every image written as the text of its syntax."""
    return _IMAGE_START.sub("!\\\\", _HTML_START.sub("&lt;", text))
