"""Words for numbers and prices that the constraint reader and the plan checker both read, so that both read them
the same way: Chinese digits, the Chinese discount N折 (the share of the price paid), units of time, budget periods
(their names in a line, and how a text says an amount is per period or per customer), and numbers written in words."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import NamedTuple

from retention_mcp.vocabulary import PERIOD_DAYS

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


# -- units of time and budget periods -----------------------------------------------------------------------------------
# Every name of a period and every way of saying one lives here: the reader, the quote checks, the budget checks, the
# plan-mode rules and the plan's Markdown import these tables (the days of a checked period: vocabulary.PERIOD_DAYS).
UNIT_DAYS = {"day": 1.0, "week": 7.0, **PERIOD_DAYS}


class PeriodWords(NamedTuple):
    """How a period reads in a line."""

    per_en: str  # "per month"
    per_zh: str  # 每月
    many_en: str  # "months"
    many_zh: str  # 个月 (a count word: 3个月)
    unit_en: str  # "month" (lines by month, the first month)
    unit_zh: str  # 月 (科目按月计, 第几个月)


PERIOD_WORDS = {
    "day": PeriodWords("per day", "每天", "days", "天", "day", "天"),
    "week": PeriodWords("per week", "每周", "weeks", "周", "week", "周"),
    "month": PeriodWords("per month", "每月", "months", "个月", "month", "月"),
    "quarter": PeriodWords("per quarter", "每季度", "quarters", "个季度", "quarter", "季度"),
    "year": PeriodWords("per year", "每年", "years", "年", "year", "年"),
}
# How a budget's period reads beside its amount (en, zh): "per month", 每月; a budget for no period, "total".
PERIOD_ROWS = {
    **{p: (w.per_en, w.per_zh) for p, w in PERIOD_WORDS.items()},
    "total": ("for the whole plan", "整个方案"),
}

# How a text says an amount is per period (case-insensitive patterns): "per month", "monthly", "/mo", 每月, 月度, 月预算.
# A counted or ordinal period is a length or a date, not a rate: 三个季度, 第二季度, 下季度, "the quarter of"; 季度内 too.
_NOT_COUNTED = r"(?<![个第下上两二三四五六七八九十\d])"
PERIOD_SAID = {
    "day": r"daily|per day|a day|each day|/\s*day\b|每天|每日|/\s*天",
    "week": r"weekly|per week|a week|each week|every week|/\s*w(?:ee)?k\b|每周|每星期|/\s*周",
    "month": r"每月|月度|每个月|/\s*月|月均|monthly|(?:per|a|each|every|for the|this) month(?! of)|/\s*mo(?:nth)?\b|"
    r"\bp\.?m\.?(?=[\s,;.]|$)|(?<![个\d])月(?=预算|费用|投入)",
    "quarter": rf"{_NOT_COUNTED}季度(?!内)|每季|/\s*季|quarterly|(?:per|a|each|every|for the|this|the) quarter(?! of)|"
    r"/\s*q(?:tr|uarter)?\b|(?<![个\d])季(?=预算|费用|投入)",
    "year": r"年度|每年|全年|/\s*年|annual(?:ly)?|yearly|(?:per|a|each|every|for the|this) year(?! of)|per annum|"
    r"\bp\.a\.|/\s*y(?:ea)?r\b|(?<![\d])年(?=预算|费用|投入)",
}
# An amount per customer, member, seat or head: 每人, 人均, 单个客户, "per customer", "each member".
PER_CUSTOMER = re.compile(
    r"per[- ](?:customer|member|user|account|subscriber|head|person|client|seat)|"
    r"(?:each|every|a|any one|any single)\s+(?:customer|member|user|account|subscriber|client)|"
    r"每(?:人|位|名|个|户)(?:客户|用户|会员)?|单(?:个|位|名)?(?:客户|用户|会员)|人均|每个?账户",
    re.IGNORECASE,
)
# The words the reader looks for in a sentence before it tries PER_CUSTOMER there (a quick gate on every sentence).
PER_CUSTOMER_CUES = (
    "per", "each", "every", "customer", "member", "user", "account", "client", "每", "人均", "单个", "单位", "单名",
)  # fmt: skip


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


_I = re.IGNORECASE


@cache
def rx(pattern: str) -> re.Pattern[str]:
    """The compiled, case-insensitive form of a pattern: the reader runs on every render, so each compiles once."""
    return re.compile(pattern, _I)


# -- numbers ----------------------------------------------------------------------------------------------------------
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_WORDS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18, "twenty": 20,
    "thirty": 30, "sixty": 60, "ninety": 90,
}  # fmt: skip
# A number starts where a run of digits (or of Chinese numerals) starts: no pattern retries inside one, which keeps
# every scan linear in the text.
NUM = r"(?<!\d)(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
CN_NUM = r"(?<![零〇一二两三四五六七八九十百])[零〇一二两三四五六七八九十百]+"
EN_WORD = r"\b(?:" + "|".join(sorted(_EN_WORDS, key=len, reverse=True)) + r")\b"
COUNT = rf"(?:{NUM}|{CN_NUM}|{EN_WORD}|半)"
DASH = r"\s*(?:-|–|—|~|～|至|到|to)\s*"


def parse_number(text: str) -> float:
    """'120,000' -> 120000; '十二' -> 12; 'two' -> 2; '半' -> 0.5."""
    text = text.strip().lower()
    if text in _EN_WORDS:
        return float(_EN_WORDS[text])
    if text == "半":
        return 0.5
    if re.fullmatch(CN_NUM, text):
        return float(chinese_integer(text))
    return float(text.replace(",", ""))


def chinese_integer(text: str) -> int:
    """'十二' -> 12, '三百五十' -> 350, '两万五千' -> 25000."""
    if "亿" in text:
        high, _, low = text.partition("亿")
        return (chinese_integer(high) if high else 1) * 100_000_000 + (chinese_integer(low) if low else 0)
    if "万" in text:
        high, _, low = text.partition("万")
        return (chinese_integer(high) if high else 1) * 10_000 + (chinese_integer(low) if low else 0)
    total, current = 0, 0
    for char in text:
        if char in CN_DIGITS:
            current = CN_DIGITS[char]
        elif char in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[char]
            current = 0
    return total + current


def to_days(count: float, unit: str) -> int:
    return round(count * UNIT_DAYS[unit])


# -- words the readers of several kinds share ------------------------------------------------------------------------
PERCENT = r"(?:[%％]|\s*percent\b|\s*per cent\b)"
CAP_BEFORE = (
    r"不超过|不超|不高于|不多于|不大于|最多|至多|最高|最大|上限为?|上限是|控制在|限制在|限定在|小于等于|低于|少于|≤|<=|<|＜|"
    r"at most|no more than|not (?:to )?exceed(?:ing)?|must not exceed|never exceed|(?:of )?up to|max(?:imum)?(?: of)?|"
    r"capped at|cap(?:ped)? (?:of|at)|limited to|under|below|within|no greater than|no higher than|no deeper than|"
    r"not above|not more than|never more than|less than"
)


def has_percent(text: str) -> bool:
    return "%" in text or "％" in text or "percent" in text.lower() or "per cent" in text.lower()


UNIT_ZH_STRICT = r"个月|天|日(?!期)|周(?![一二三四五六日天末])|个?星期(?![一二三四五六日天])|个?季度|年(?![级龄纪])"
UNIT_EN = r"days?|weeks?|wks?|months?|mos?|quarters?|years?|yrs?"
N_EN = rf"(?:{NUM}|{EN_WORD})"
GOAL_VERB = (
    r"提升|提高|降低|降至|降到|减少|增加|增长|达到|达成|达标|实现|突破|控制|维持|保持|拉升|缩短|扩大|进入|获得|转化|"
    r"\b(?:improve|increase|reduce|cut|lift|raise|grow|reach|hit|get|drive|achieve|lower|boost|keep|hold|win|"
    r"double|halve|bring|move|convert|recover|expand|launch|rank|size|choose)\w*"
)


CN_COUNT = r"(?<![一二两三四五六七八九十百\d.,])(?:\d+|[一二两三四五六七八九十百]+)"  # starts where a run starts


def count_of(token: str | None) -> int | None:
    if not token:
        return None
    token = token.strip()
    if re.fullmatch(r"\d+", token):
        return int(token)
    if re.fullmatch(r"[一二两三四五六七八九十百]+", token):
        return int(parse_number(token))
    value = words_to_number(token)
    return int(value) if value else None


# -- every number a quote states -----------------------------------------------------------------------------------------------
CN_RUN = "零〇一二两三四五六七八九十百千万亿"
# A quote spells numbers as people do: the lexicon's words, plus "a pair" and "a couple" as two and "m" as million.
_QUOTE_UNITS = {**EN_UNITS, "pair": 2, "couple": 2}
_QUOTE_SCALES = {k: v for k, v in {**EN_SCALES, "m": 1e6}.items() if k != "couple"}
_WORD = re.compile(rf"[a-z]+|\d+(?:[.,]\d+)*|[{CN_RUN}]+|半")
_DIGITS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def numbers_in(quote: str) -> set[float]:
    """Every number the quote states, in digits (with k, 万, thousand… after them), in English words ("fifty
    thousand", "half a dozen", "two hundred grand") or in Chinese numerals (一万五千, 两)."""
    text = " ".join(unicodedata.normalize("NFKC", quote).casefold().split())
    found: set[float] = set()
    current: float | None = None  # the number being spelled out in words
    total = 0.0
    half = False
    words = False  # whether the last token was a number word

    def flush() -> None:
        nonlocal current, total, half
        if current is not None or total:
            value = total + (current or 0.0)
            found.add(value / 2 if half else value)
            half = False
        current, total = None, 0.0

    for m in _WORD.finditer(text):
        token = m.group()
        if _DIGITS.fullmatch(token):
            flush()
            current = float(token.replace(",", ""))
            words = False
            continue
        if token == "半":
            flush()
            found.add(0.5)
        elif token[0] in CN_RUN:
            flush()
            if len(token) > 1 or token not in "百千万亿":  # a lone 万 is a word (万一), not ten thousand
                found.add(float(chinese_integer(token)))
        elif token == "half":
            flush()
            half = True
        elif token in _QUOTE_UNITS:
            value = float(_QUOTE_UNITS[token])
            joins = (
                current is not None
                and words
                and ((current % 100 == 0 and value < 100) or (current % 10 == 0 and value < 10 and current >= 20))
            )
            if joins:
                current = (current or 0.0) + value
            else:
                flush()
                current = value
            words = True
            continue
        elif token in _QUOTE_SCALES and (current is not None or token == "dozen"):
            scale = _QUOTE_SCALES[token]
            base = 1.0 if current is None else current
            if scale in (100, 12):
                current = base * scale
            else:
                total, current = (total + base) * scale, None
            words = True
            continue
        elif token == "and" and words:
            continue
        else:
            flush()
        words = False
    flush()
    # digits with a multiplier written after them: 25k, 5万, 1.5 million, 30 grand
    for m in re.finditer(
        r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(千万|百万|万|千|亿|k|w|grand|thousand|million|mn|bn|m|lakh)(?![a-z])",
        text,
    ):
        factor = {"千万": 1e7, "百万": 1e6, "万": 1e4, "千": 1e3, "亿": 1e8, "w": 1e4}.get(m.group(2))
        found.add(float(m.group(1).replace(",", "")) * (factor or _QUOTE_SCALES[m.group(2)]))
    return {v for v in found if v == v}
