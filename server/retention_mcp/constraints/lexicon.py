"""Words for numbers and prices that the constraint reader and the plan checker both read, so that both read them
the same way: Chinese digits, the Chinese discount N折 (the share of the price paid), units of time, and numbers
written in words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from retention_mcp.vocabulary import ISO_4217

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
        return float(_chinese_integer(text))
    return float(text.replace(",", ""))


def _chinese_integer(text: str) -> int:
    """'十二' -> 12, '三百五十' -> 350, '两万五千' -> 25000."""
    if "亿" in text:
        high, _, low = text.partition("亿")
        return (_chinese_integer(high) if high else 1) * 100_000_000 + (_chinese_integer(low) if low else 0)
    if "万" in text:
        high, _, low = text.partition("万")
        return (_chinese_integer(high) if high else 1) * 10_000 + (_chinese_integer(low) if low else 0)
    total, current = 0, 0
    for char in text:
        if char in CN_DIGITS:
            current = CN_DIGITS[char]
        elif char in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[char]
            current = 0
    return total + current


CN_AMOUNT = re.compile(r"(?P<n>[零〇一二两三四五六七八九十百千万亿]+)\s*(?P<cur>元|块|人民币)?")


# -- money ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Money:
    amount: float  # the cap: the upper end of a range
    currency: str | None
    low: float | None = None  # lower end of a range, when one was given


def parse_chinese_amount(text: str) -> Money | None:
    """'十二万元' -> 120000 CNY; '两万五千元' -> 25000 CNY (Chinese numerals, as amounts are often written)."""
    match = CN_AMOUNT.match(text)
    if not match or not (match["cur"] or re.search("[万亿]", match["n"])):
        return None
    return Money(float(_chinese_integer(match["n"])), "CNY")


_MULTIPLIERS = {
    "万": 1e4, "w": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7, "k": 1e3, "thousand": 1e3, "m": 1e6,
    "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9,
}  # fmt: skip
_CURRENCY_WORDS = [
    (r"US\$|USD|美元|美金|dollars?|bucks", "USD"),
    (r"HK\$|HKD|港币|港元", "HKD"),
    (r"S\$|SGD|新币|新加坡元", "SGD"),
    (r"A\$|AUD|澳元", "AUD"),
    (r"C\$|CAD|加元", "CAD"),
    (r"EUR|€|欧元|euros?", "EUR"),
    (r"GBP|£|英镑|pounds?(?: sterling)?", "GBP"),
    (r"JPY|日元|円", "JPY"),
    (r"CNY|RMB|¥|￥|元|块|人民币|yuan", "CNY"),
    (r"\$", "USD"),
]
_CURRENCY = "|".join(p for p, _ in _CURRENCY_WORDS) + r"|(?-i:\b[A-Z]{3}\b)"  # any ISO 4217 code, upper case
_MULT = r"百万|千万|万|亿|千|thousand|million|billion|mn|bn|[kKmM](?![a-zA-Z])|(?<=\d)[wW](?![a-zA-Z])"
AMOUNT = (
    rf"(?P<pre>{_CURRENCY})?\s*(?<![\d.,])(?P<low>{NUM})\s*(?P<lowmult>{_MULT})?"
    rf"(?:{DASH}(?P<precur2>{_CURRENCY})?\s*(?P<high>{NUM}))?\s*(?P<mult>{_MULT})?\s*(?P<post>{_CURRENCY})?"
)
_AMOUNT_RE = re.compile(AMOUNT, _I)
# after a number with a multiplier but no currency: it counts something other than money
COUNT_NOUN = re.compile(
    r"\s*(?:人|名|位|个|家|户|单|次|条|份|笔|张|件|台|套|门店|店|会员|用户|客户|粉丝|订单|席位|账号|账户|次数|"
    r"(?:active |paying |new )?(?:paying|payers?|付费|users?|customers?|members?|accounts?|subscribers?|seats?|orders?|people|visits?|"
    r"sessions?|downloads?|installs?|followers?|fans?|stores?|shops?|transactions?|messages?|emails?|skus?|leads?|"
    r"sign-?ups?|trials?|units?|clients?|logos?|mau|dau|wau|views?|impressions?|clicks?|opens?))",
    _I,
)


def _currency_code(token: str | None) -> str | None:
    if not token:
        return None
    for pattern, code in _CURRENCY_WORDS:
        if re.fullmatch(pattern, token, _I):
            return code
    return token if re.fullmatch(r"[A-Z]{3}", token) and token in ISO_4217 else None


def _money(match: re.Match[str]) -> Money:
    mult_token = (match["mult"] or match["lowmult"] or "").lower()
    mult = _MULTIPLIERS.get(mult_token, 1.0)
    low_mult = _MULTIPLIERS.get((match["lowmult"] or "").lower(), mult)
    low = parse_number(match["low"]) * low_mult
    currency = _currency_code(match["pre"]) or _currency_code(match["precur2"]) or _currency_code(match["post"])
    if match["high"]:
        return Money(parse_number(match["high"]) * mult, currency, low)
    return Money(low, currency)


def parse_amount(text: str) -> Money | None:
    """'12万元' -> 120000 CNY; '$50k' -> 50000 USD; '10-12万' -> 120000 (low 100000); '1.2M USD'; '三十万元'."""
    hits = amounts_in(text)
    return hits[0].money if hits else None


@dataclass(frozen=True)
class Amount:
    start: int
    end: int
    money: Money
    currency: bool  # a currency was written
    multiplier: bool  # 万, k, M…


# before a number with no currency: what it counts ("现有会员20万", "MAU 30k")
_COUNT_BEFORE = re.compile(
    r"(?:会员|用户|客户|粉丝|门店|订单|月活|日活|账号|members?|users?|customers?|accounts?|subscribers?|stores?|orders?|"
    r"mau|dau|followers?)(?:数|数量|量|规模|总数)?\s*(?:约|有|达|共|:|：|of|is|are|at|about|around|~)?\s*$",
    _I,
)
_DIGIT_RUN = re.compile(r"(?<![\d.,])\d")
_CURRENCY_BEFORE = re.compile(rf"(?:{_CURRENCY})\s*$", _I)


def _amount_matches(text: str) -> Iterable[re.Match[str]]:
    """AMOUNT at every run of digits, starting at a currency written just before it: the same matches as scanning
    the text with AMOUNT, without trying the currency words at every character."""
    end = 0
    for digit in _DIGIT_RUN.finditer(text):
        if digit.start() < end:
            continue
        before = _CURRENCY_BEFORE.search(text, max(end, digit.start() - 10), digit.start())
        match = _AMOUNT_RE.match(text, before.start() if before else digit.start())
        if match and match["low"]:
            end = match.end()
            yield match


@lru_cache(maxsize=256)
def amounts_in(text: str) -> tuple[Amount, ...]:
    """Every amount of money in a text: a number with a currency, or with 万/亿/k/M and no count noun after it."""
    found: list[Amount] = []
    for match in _amount_matches(text):
        currency = bool(
            _currency_code(match["pre"]) or _currency_code(match["precur2"]) or _currency_code(match["post"])
        )
        multiplier = bool(match["mult"] or match["lowmult"])
        tail = text[match.end() : match.end() + 3]
        if not (currency or multiplier) or re.match(r"\s*[%％]|\s*折", tail):
            continue
        if not currency and (COUNT_NOUN.match(text, match.end()) or _COUNT_BEFORE.search(text, 0, match.start())):
            continue
        start = match.start("pre") if _currency_code(match["pre"]) else match.start("low")
        end = match.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if match["post"] and not _currency_code(match["post"]):
            end = match.start("post")
            while end > start and text[end - 1].isspace():
                end -= 1
        found.append(Amount(start, end, _money(match), currency, multiplier))
    chinese = any(c in text for c in "万亿元块币")
    numerals = r"(?<![\d.零〇一二两三四五六七八九十百千万亿])[零〇一二两三四五六七八九十百千][零〇一二两三四五六七八九十百千万亿]*"
    for match in rx(numerals + r"\s*(?:元|块|人民币)?").finditer(text) if chinese else ():
        money = parse_chinese_amount(match.group(0))
        if money is None or COUNT_NOUN.match(text, match.end()) or money.amount < 100:
            continue
        if any(a.start <= match.start() < a.end for a in found):
            continue
        found.append(Amount(match.start(), match.end(), money, "元" in match.group(0), True))
    return tuple(_ranges(text, sorted(found, key=lambda a: a.start)))


def _ranges(text: str, amounts: list[Amount]) -> list[Amount]:
    """'五十万到八十万元': two Chinese amounts joined by a dash are one range (the digit form is one AMOUNT match)."""
    merged: list[Amount] = []
    for amount in amounts:
        last = merged[-1] if merged else None
        if last and last.money.low is None and rx(rf"{DASH}").fullmatch(text, last.end, amount.start):
            currency = amount.money.currency or last.money.currency
            money = Money(amount.money.amount, currency, last.money.amount)
            merged[-1] = Amount(last.start, amount.end, money, last.currency or amount.currency, True)
        else:
            merged.append(amount)
    return merged


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


_NUM = r"(\d[\d,]*(?:\.\d+)?)\s*(万|千|[kK](?![a-zA-Z]))?"


_SCALE = {"万": 10_000.0, "千": 1_000.0, "k": 1_000.0, "K": 1_000.0}


_MONEY_UNIT = r"(?:元|块|美元|欧元|rmb|cny|usd|eur|yuan|dollars?|euros?|cents?|¢|分钱)"


_MONEY = re.compile(rf"[$¥￥€£]\s*{_NUM}|{_NUM}\s*(?P<unit>{_MONEY_UNIT})", re.I)


_PER_UNIT_MONEY = re.compile(r"(?:per|every|each|a|每)\s*(?:dollar|euro|yuan|元|块|美元)\b|每\s*(?:元|块)", re.I)


_POINTS = re.compile(rf"{_NUM}\s*(?:个)?(?:积分|分(?![钟之钱])|points?\b|pts?\b)", re.I)


def _value(number: str, scale: str | None) -> float:
    return float(number.replace(",", "")) * _SCALE.get(scale or "", 1.0)


def money_in(text: str) -> float | None:
    """The first amount of money in a text ('¥0.1', '0.02元', '$1', '50 cents'); 'per dollar' counts as 1."""
    match = _MONEY.search(text)
    if match is None:
        return 1.0 if _PER_UNIT_MONEY.search(text) else None
    if match.group(1) is not None:
        return _value(match.group(1), match.group(2))
    amount = _value(match.group(3), match.group(4))
    unit = (match.group("unit") or "").casefold()
    return amount / 100 if unit.startswith("cent") or unit in ("¢", "分钱") else amount


def points_in(text: str) -> float | None:
    match = _POINTS.search(text)
    return _value(match.group(1), match.group(2)) if match else None


def point_value(text: str) -> float | None:
    """Currency per point from a statement of both: '1分约合0.02元', '100 points = $1', '每积分0.01元'."""
    money = money_in(text)
    points = points_in(text)
    if points is None and re.search(r"每\s*(?:个)?积分|per point|each point|a point", text, re.I):
        points = 1.0
    if money is None or not points:
        return None
    return money / points


def earn_rate(text: str) -> float | None:
    """Points per unit of currency spent: '消费1元积1分' -> 1, '10 points per $1' -> 10, '每10元1分' -> 0.1."""
    money = money_in(text)
    points = points_in(text)
    if money is None or points is None or money <= 0:
        return None
    return points / money


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
