"""Money in text: amounts with their currency and multiplier (12万元, $50k, EUR 25k, 两万五千元), ranges, and the
prices and point values a plan's own economics state. Part of the lexicon the reader and the checks share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from retention_mcp.constraints.lexicon import DASH, NUM, chinese_integer, parse_number, rx
from retention_mcp.vocabulary import ISO_4217

_I = re.IGNORECASE

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
    return Money(float(chinese_integer(match["n"])), "CNY")


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


_CURRENCY_RES = [(re.compile(pattern, _I), code) for pattern, code in _CURRENCY_WORDS]
_ISO_CODE = re.compile(r"[A-Z]{3}")


@cache
def _currency_code(token: str | None) -> str | None:
    """The ISO code a currency word or sign names ('¥', '元', 'bucks', 'EUR'); None for anything else. Each is read
    once: the tokens are the currency words and three capital letters, a bounded set."""
    if not token:
        return None
    for pattern, code in _CURRENCY_RES:
        if pattern.fullmatch(token):
            return code
    return token if _ISO_CODE.fullmatch(token) and token in ISO_4217 else None


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


SCALED_NUM = r"(\d[\d,]*(?:\.\d+)?)\s*(万|千|[kK](?![a-zA-Z]))?"


_SCALE = {"万": 10_000.0, "千": 1_000.0, "k": 1_000.0, "K": 1_000.0}


MONEY_UNIT = r"(?:元|块|美元|欧元|rmb|cny|usd|eur|yuan|dollars?|euros?|cents?|¢|分钱)"


_MONEY = re.compile(rf"[$¥￥€£]\s*{SCALED_NUM}|{SCALED_NUM}\s*(?P<unit>{MONEY_UNIT})", re.I)


_PER_UNIT_MONEY = re.compile(r"(?:per|every|each|a|每)\s*(?:dollar|euro|yuan|元|块|美元)\b|每\s*(?:元|块)", re.I)


_POINTS = re.compile(rf"{SCALED_NUM}\s*(?:个)?(?:积分|分(?![钟之钱])|points?\b|pts?\b)", re.I)


def scaled_value(number: str, scale: str | None) -> float:
    return float(number.replace(",", "")) * _SCALE.get(scale or "", 1.0)


def money_in(text: str) -> float | None:
    """The first amount of money in a text ('¥0.1', '0.02元', '$1', '50 cents'); 'per dollar' counts as 1."""
    match = _MONEY.search(text)
    if match is None:
        return 1.0 if _PER_UNIT_MONEY.search(text) else None
    if match.group(1) is not None:
        return scaled_value(match.group(1), match.group(2))
    amount = scaled_value(match.group(3), match.group(4))
    unit = (match.group("unit") or "").casefold()
    return amount / 100 if unit.startswith("cent") or unit in ("¢", "分钱") else amount


def points_in(text: str) -> float | None:
    match = _POINTS.search(text)
    return scaled_value(match.group(1), match.group(2)) if match else None


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
