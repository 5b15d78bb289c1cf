"""Words for numbers and prices that the constraint reader and the plan checker both read, so that both read them
the same way: Chinese digits, the Chinese discount N折 (the share of the price paid), units of time, and numbers
written in words."""

from __future__ import annotations

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def zhe_to_off(token: str) -> float:
    """The percent off of a Chinese 'N折', which names the share of the price paid: 7折 -> 30, 8.5折 / 85折 / 八五折 /
    八点五折 -> 15, 95折 -> 5, 10折 -> 0 (full price). `token` is what stands before 折."""
    if token and token[0] in CN_DIGITS:
        digits = [CN_DIGITS[ch] for ch in token if ch in CN_DIGITS]
        price: float = digits[0] * 10 + (digits[1] if len(digits) > 1 else 0)
    else:
        value = float(token)
        price = value * 10 if value <= 10 else value
    return float(round(100 - price, 2))


# -- units of time ------------------------------------------------------------------------------------------------------
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365 / 12, "quarter": 365 / 4, "year": 365.0}


def duration_unit(token: str) -> str:
    """The unit a duration word names: 'days', '天', '日' -> day; 'wks', '周', '个星期' -> week; '个月', 'mos' -> month;
    '季度', 'quarters' -> quarter; anything else ('年', 'yrs') -> year."""
    token = token.lower()
    if token.startswith(("天", "日", "day")):
        return "day"
    if token.startswith(("周", "星期", "个星期", "week", "wk", "个周")):
        return "week"
    if "季" in token or token.startswith("quarter"):
        return "quarter"
    if "月" in token or token.startswith("mo"):
        return "month"
    return "year"


# -- numbers written in words -------------------------------------------------------------------------------------------
EN_UNITS = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
# Words that multiply what stands before them: "two hundred grand", "5 lakh", "a dozen".
EN_SCALES = {
    "couple": 2, "hundred": 100, "dozen": 12, "thousand": 1e3, "grand": 1e3, "k": 1e3, "lakh": 1e5, "lakhs": 1e5,
    "crore": 1e7, "crores": 1e7, "million": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9,
}  # fmt: skip
_UNIT_WORDS = "|".join(sorted(EN_UNITS, key=len, reverse=True))
_SCALE_WORDS = "|".join(sorted(EN_SCALES, key=len, reverse=True))
# A number in words, or digits followed by scale words: "fifty thousand", "twenty-five thousand", "half a dozen",
# "5 lakh", "a dozen". Every repetition consumes a word, so a scan stays linear.
WORD_NUMBER = (
    rf"(?:\bhalf an?\s+(?:{_SCALE_WORDS})\b|(?<![\d.,])\d+(?:\.\d+)?(?=\s*(?:{_SCALE_WORDS})\b)|\b(?:{_UNIT_WORDS})\b)"
    rf"(?:(?:[\s-]+|(?<=\d))(?:and\s+)?\b(?:{_UNIT_WORDS}|{_SCALE_WORDS})\b){{0,6}}"
)


def words_to_number(text: str) -> float | None:
    """'fifty thousand' -> 50000; 'two hundred grand' -> 200000; 'half a dozen' -> 6; '5 lakh' -> 500000;
    'twenty-five' -> 25; 'a dozen' -> 12. None when the words hold no number."""
    tokens = [t for t in text.lower().replace("-", " ").split() if t != "and"]
    if not tokens:
        return None
    total, current, seen = 0.0, 0.0, False
    if tokens[0] == "half" and len(tokens) >= 3 and tokens[2] in EN_SCALES:
        return EN_SCALES[tokens[2]] / 2 * (words_to_number(" ".join(tokens[3:])) or 1)
    for token in tokens:
        if token in EN_UNITS:
            current += EN_UNITS[token]
            seen = True
        elif token in EN_SCALES:
            scale = EN_SCALES[token]
            current = (current or 1) * scale
            if scale >= 1000:
                total, current = total + current, 0.0
            seen = True
        else:
            try:
                current += float(token)
                seen = True
            except ValueError:
                return None
    return total + current if seen else None


# -- discounts in words ---------------------------------------------------------------------------------------------------
# Phrases that state a discount without a digit, and the percent off each one names: 不打折 and "no discounts" are
# caps by themselves (0% off); "half price" is a cap only next to a cap word ("at most half price", 最多半价).
DISCOUNT_WORDS = (
    (r"半价|half[- ]price|half off", 50.0),
    (
        r"不打折|不降价|不做折扣|不给折扣|无折扣|不提供(?:任何)?折扣|不允许(?:任何)?折扣|不能打折|"
        r"no discounts?(?: at all| whatsoever| of any kind)?|(?:never|don't|do not|can't|cannot|won't) discount|"
        r"without (?:any )?discounts?|zero discounts?|discounts? (?:are|is) (?:not allowed|off the table|ruled out)",
        0.0,
    ),
)
