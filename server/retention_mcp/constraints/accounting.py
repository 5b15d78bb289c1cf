"""Every constraint sentence ends in one place: read into a typed value of its kind and scope, or listed as unread.

Runs after the digit reader (`constraints.read_constraints`), on the same inputs. It reads what the digit patterns
miss (amounts and head-counts in words, caps in words such as "half price", 半价, 不打折, "no discounts", a cap per
customer, a cap on free periods, an allow-list without "only") and then walks each sentence of the
constraint-bearing inputs: a sentence whose words state a limit, a resource, a channel rule, a deadline or a target
and that nothing accounts for is listed under `unread`, with the field that would hold it. A deadline tied to the
calendar ("through Q4", 到年底) is never a day count: it is unread with `start_date` and `horizon_days` to fill, and
becomes a horizon only with a typed start date (`calendar_end_day`).

Scopes: a weekly or daily amount, a per-customer cap and a free-period cap are kinds of their own; a value of another
scope (a quarterly budget) never settles them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice

from retention_mcp.constraints.budget import BUDGET_WORD
from retention_mcp.constraints.calendar import CALENDAR as _CALENDAR
from retention_mcp.constraints.calendar import calendar_scope as _calendar_scope
from retention_mcp.constraints.free_periods import FREE, FREE_UNIT
from retention_mcp.constraints.lexicon import (
    CN_COUNT,
    DISCOUNT_WORDS,
    EN_SCALES,
    EN_UNITS,
    PER_CUSTOMER,
    PER_CUSTOMER_CUES,
    PERIOD_SAID,
    WORD_NUMBER,
    count_of,
    parse_number,
    rx,
    words_to_number,
)
from retention_mcp.constraints.money import Money, amounts_in
from retention_mcp.constraints.record import Constraints, CustomerCap, Evidence, FreeCap, Unread
from retention_mcp.constraints.text import NO_CAPS_FIELD, short
from retention_mcp.vocabulary import channels_in

_I = re.IGNORECASE
_MAX_SENTENCES = 200  # per input: a brief states a handful; more is noise, or an attack
Span = tuple[int, int]


@dataclass
class Text:
    """One input as the reader saw it: its name, its text (sentence ends as 。), the spans a constraint consumed."""

    name: str
    raw: str
    text: str
    bearing: bool
    consumed: list[Span]


_SENTENCE = re.compile(r"[^。；;\n!?！？]+")
_WORD_NUMBER = re.compile(WORD_NUMBER, _I)
_CURRENCY_NEAR = re.compile(
    r"^\s*(?:us\s+)?(?P<c>dollars?|bucks|euros?|pounds?|rupees?|yuan|rmb|usd|eur|gbp|inr|cny|sgd|aud|cad|hkd|jpy)\b",
    _I,
)
_CURRENCY_CODES = {"dollar": "USD", "buck": "USD", "euro": "EUR", "pound": "GBP", "rupee": "INR", "yuan": "CNY",
                   "rmb": "CNY"}  # fmt: skip
_CAP_WORD = re.compile(
    r"at most|up to|no more than|not more than|max(?:imum)?|cap(?:ped)?|limit(?:ed)?|ceiling|never (?:more|exceed)|"
    r"must not exceed|deepest|不超过|最多|上限|封顶|至多|不得超过|不能超过|以内|为限|最低|不低于",
    _I,
)
_ALLOW = re.compile(
    r"(?:we |you )?(?:can|may|could) (?:only )?(?:use|reach (?:them|customers) (?:by|via|through))|"
    r"available channels?|channels? (?:available|allowed|we have|at our disposal)|allowed channels?|"
    r"(?:渠道|触达方式)\s*(?:可用|可以用|能用|仅限|限于)|可用渠道\s*(?:为|是|包括|有|:|：)?|可用|可以用|可使用|能用",
    _I,
)
_NEGATED = re.compile(r"\b(?:no|not|never|without|except|but not|excluding)\b|不|禁止|禁用|不可|不能|不得|除", _I)
_BUDGET = re.compile(BUDGET_WORD, _I)
# Words without which a sentence holds nothing this module reads or lists: sentences without them are skipped.
_TRIGGER = re.compile(
    r"\d|[一二两三四五六七八九十百千万半几]|折|价|免费|赠|送|年底|年末|月底|季度|渠道|触达|可用|能用|可以用|预算|经费|团队|人手|截止|"
    r"\b(?:zero|an?|one|single|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|half|couple|dozen|"
    r"discounts?|free|channels?|deadline|through|thru|until|till|by|before|end|q[1-4]|can|may|available|allowed|"
    r"budget|spend|black|christmas|year)\b",
    _I,
)
_N = (
    rf"(?:{WORD_NUMBER}|(?<![\d.,])\d+(?:[.,]\d+)*|"
    r"(?<![一二两三四五六七八九十百千万半几])[一二两三四五六七八九十百千万半几]+)"
)
_ROLE_CUE = (
    r"(?:people|persons?|staff|agents?|csms?|reps?|managers?|marketers?|designers?|engineers?|developers?|analysts?|"
    r"ops\b|operators?|specialists?|heads?|fte|members? of staff|team members?)"
)
# Every word the headcount cue needs one of (role words, team words, the Chinese counters): a substring test first.
_G_HEADCOUNT = ("people", "person", "staff", "agent", "csm", "rep", "manager", "marketer", "designer", "engineer",
                "developer", "analyst", "ops", "operator", "specialist", "head", "fte", "member", "team", "团队", "人手",
                "人员", "编制", "人力", "个", "名", "位")  # fmt: skip
# ...and those the percent and deadline cues need
_G_PERCENT_CUE = ("discount", "折扣", "打折", "让利", "优惠", "markdown", "rebate", "返现", "返利", "promo", "price cut",
                  "coupon", "voucher")  # fmt: skip
_G_DEADLINE = ("deadline", "截止", "due ", "launch by", "上线前", "完成时间")
_CUE_GATES = {"amount": None, "percent": _G_PERCENT_CUE, "headcount": _G_HEADCOUNT, "deadline": _G_DEADLINE}
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "amount",
        re.compile(
            rf"(?:{BUDGET_WORD}|cost (?:cap|limit)|spend(?:ing)? cap).{{0,40}}?{_N}|{_N}.{{0,30}}?"
            rf"(?:{BUDGET_WORD})",
            _I,
        ),
    ),
    (
        "percent",
        re.compile(
            r"(?:discount|折扣|打折|让利|优惠(?:幅度|力度|上限)|markdown|rebate|返现|返利|promo(?:tion)?s?|price cuts?|"
            r"coupons?|vouchers?).{0,30}?"
            rf"(?:\d|[一二三四五六七八九十]|{WORD_NUMBER}|half|quarter|third|fifth|tenth|percent|at most|up to|"
            r"no more|more than|deeper|cap|上限|不超过|最多|封顶)",
            _I,
        ),
    ),
    (
        "headcount",
        re.compile(
            rf"\b{_N}\s+(?:[a-z-]+\s+)?{_ROLE_CUE}\b|(?:team|staff|headcount|团队|人手|人员|编制|人力)"
            rf"\s*(?:of|is|are|:|：|为|有|共)?\s*{_N}|{_N}\s*(?:个|名|位)\s*(?:人|员|专员|客服|运营|销售)",
            _I,
        ),
    ),
    (
        "channels",
        re.compile(
            r"(?:channels?|渠道|触达).{0,30}?(?:can|may|allowed|available|only|must|not|never|可|仅|只|不|禁|限)|"
            r"(?:can|may|allowed|available|only|must|not|never|可|仅|只|不|禁|限).{0,30}?(?:channels?|渠道|触达)",
            _I,
        ),
    ),
    ("deadline", re.compile(r"deadline|截止|due (?:by|date)|launch by|上线前|完成时间", _I)),
)


# Cheap substring gates in front of the patterns: most sentences of a brief name none of these words, and a
# substring test costs far less than a pattern that has no literal prefix.
_G_DISCOUNT = ("半价", "打折", "折扣", "降价", "discount", "half")
_G_FREE = ("free", "免费", "赠", "送", "免")
_G_CALENDAR = (
    "q1", "q2", "q3", "q4", "year", "end of", "eoy", "black friday", "cyber", "christmas", "thanksgiving", "双十一",
    "双11", "618", "春节", "国庆", "季度", "年", "月", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
    "oct", "nov", "dec",
)  # fmt: skip
_G_MONEY_WORDS = (
    "thousand", "grand", "lakh", "crore", "million", "billion", "dollar", "buck", "euro", "pound", "rupee", "yuan",
)  # fmt: skip
_G_ALLOW = ("can ", "may ", "could ", "available", "allowed", "可用", "可以用", "可使用", "能用", "仅限", "限于")
_G_CHANNEL = ("channel", "渠道", "触达")
_G_BUDGET = ("budget", "spend", "预算", "经费", "费用", "投入", "花费", "资金", "funding", "allocat", "cost")

_G_OUTSIDE = (*_G_BUDGET, *_G_DISCOUNT, "free month", "free week", "免费", "赠送")


def _has(low: str, words: tuple[str, ...]) -> bool:
    return any(map(low.__contains__, words))


def account(c: Constraints, inputs: Sequence[Text], goal_field: str | None) -> None:
    """Read what the digit reader missed, then list every constraint sentence nothing accounts for."""
    c.unread = [_scoped(u) for u in c.unread]
    _weekly_budget(c, inputs)
    for i in inputs:
        if i.name == goal_field or not (i.bearing or _has(i.text.lower(), _G_OUTSIDE)) or NO_CAPS_FIELD.search(i.name):
            continue  # outside the constraint inputs, only sentences about money, discounts or free periods are read
        listed = [u.text.rstrip("…") for u in c.unread if u.input == i.name]
        spans = sorted(i.consumed)
        starts = [s for s, _ in spans]
        reach = list(accumulate((e for _, e in spans), max))  # the furthest end among the spans up to each one
        for found in islice(_SENTENCE.finditer(i.text), _MAX_SENTENCES):
            start, end = found.span()
            if not (_TRIGGER.search(i.text, start, end) if i.bearing else _has(i.text[start:end].lower(), _G_OUTSIDE)):
                continue
            sentence = i.text[start:end]
            read = _read_sentence(c, i, start, end)
            k = bisect_left(starts, end)
            covered = read or (k > 0 and reach[k - 1] > start)
            covered = covered or any(t and t in i.raw[start:end] for t in listed)
            if covered or not i.bearing:
                continue
            low = sentence.lower()
            for kind, cue in _CUES:
                if kind == "amount" and not _has(low, _G_BUDGET):
                    continue
                if (gate := _CUE_GATES.get(kind)) is not None and not _has(low, gate):
                    continue
                if kind == "channels" and not (
                    _has(low, _G_CHANNEL) and cue.search(sentence) and channels_in(sentence)
                ):
                    continue
                if cue.search(sentence):
                    _unread(c, i, start, end, kind)
                    break


def _scoped(u: Unread) -> Unread:
    """An unread amount per week or per day: only a budget of that period settles it."""
    if u.kind == "amount" and u.scope is None and (period := _period(u.text)) in ("week", "day"):
        return Unread(u.input, u.text, u.kind, period)
    return u


def _weekly_budget(c: Constraints, inputs: Sequence[Text]) -> None:
    """With no other budget, one amount per week or per day is the budget, of that period ("at most $5k per week")."""
    scoped = [u for u in c.unread if u.kind == "amount" and u.scope in ("week", "day")]
    if c.budget is not None or len(scoped) != 1:
        return
    (u,) = scoped
    amounts = amounts_in(u.text)
    if len(amounts) != 1 or not _BUDGET_OR_CAP.search(u.text):
        return
    c.budget, c.budget_period = amounts[0].money, u.scope
    c.sources["budget"] = "text"
    c.evidence["budget"] = Evidence(u.input, u.text)
    c.unread.remove(u)
    for i in inputs:
        if i.name == u.input and (pos := i.raw.find(u.text.rstrip("…"))) >= 0:
            i.consumed.append((pos, pos + len(u.text.rstrip("…"))))


_BUDGET_OR_CAP = re.compile(rf"{BUDGET_WORD}|at most|up to|no more than|max(?:imum)?|cap|不超过|最多|上限|封顶", _I)


def _unread(c: Constraints, i: Text, start: int, end: int, kind: str, scope: str | None = None) -> None:
    span = Unread(i.name, short(i.raw, start, end), kind, scope)
    if span.text and span not in c.unread:
        c.unread.append(span)


def _set(c: Constraints, i: Text, name: str, start: int, end: int) -> None:
    c.sources[name] = "text"
    c.evidence[name] = Evidence(i.name, short(i.raw, start, end))
    i.consumed.append((start, end))


def _read_sentence(c: Constraints, i: Text, start: int, end: int) -> bool:
    """Read one sentence for what only words state; whether it held a constraint (read, or listed as unread)."""
    sentence = i.text[start:end]
    low = sentence.lower()
    found = False
    for pattern, off in DISCOUNT_WORDS if _has(low, _G_DISCOUNT) else ():
        match = rx(pattern).search(sentence)
        if match is None:
            continue
        found = True
        if off and not _CAP_WORD.search(sentence):
            if not _consumed(i, start, end) and i.bearing:
                _unread(c, i, start, end, "percent")  # "新客首单半价": an offer, maybe not a cap
            break
        if c.discount_cap_pct is None:
            c.discount_cap_pct = off
            _set(c, i, "discount_cap_pct", start, end)
        elif abs(c.discount_cap_pct - off) > 1e-9 and not _consumed(i, start, end):
            _unread(c, i, start, end, "percent")
        break
    per_customer = PER_CUSTOMER.search(sentence) if _has(low, PER_CUSTOMER_CUES) else None
    free = FREE.search(sentence) if _has(low, _G_FREE) else None
    if free and (per_customer or _CAP_WORD.search(sentence) or i.bearing):
        found = True
        count = count_of(next((g for g in (free["n"], free["n2"], free["n3"], free["n4"]) if g), None))
        unit_word = next(u for u in (free["u"], free["u2"], free["u3"], free["u4"]) if u)
        unit = FREE_UNIT.get(unit_word.lower().rstrip("s").split()[0], "month")
        if c.free_periods_cap is None:
            c.free_periods_cap = FreeCap(count if count is not None else 1, unit)
            _set(c, i, "free_periods_cap", start, end)
            _drop_unread(c, i, sentence, "duration")  # "赠送1个月": a free period, not a horizon
    elif per_customer and (_CAP_WORD.search(sentence) or i.bearing):
        left = max(sentence.rfind(",", 0, per_customer.start()), sentence.rfind("，", 0, per_customer.start())) + 1
        stops = [k for k in (sentence.find(",", per_customer.end()), sentence.find("，", per_customer.end())) if k >= 0]
        money = _money_in(sentence[left : min(stops, default=len(sentence))])
        if money is not None:
            found = True
            if c.per_customer_cap is None:
                c.per_customer_cap = CustomerCap(money.amount, money.currency, _period(sentence))
                _set(c, i, "per_customer_cap", start, end)
                _drop_unread(c, i, sentence[left : min(stops, default=len(sentence))], "amount")
            return True
    if found:
        return True
    return _read_words(c, i, start, end, low)


def _read_words(c: Constraints, i: Text, start: int, end: int, low: str) -> bool:
    sentence = i.text[start:end]
    calendar_end = _CALENDAR.search(sentence) if _has(low, _G_CALENDAR) else None
    if calendar_end:
        scope = _calendar_scope(calendar_end)
        if scope is not None and not _data_sentence(sentence) and not _consumed(i, start, end):
            _drop_unread(c, i, sentence, "duration")  # a calendar end, not a duration: never a guessed day count
            if c.horizon_days is None or c.sources.get("horizon_days") == "text":
                _unread(c, i, start, end, "deadline", scope)
                i.consumed.append((start, end))
                return True
    if not i.bearing and not _BUDGET.search(sentence):
        return False
    read = False
    for match in islice(_WORD_NUMBER.finditer(sentence), 8) if _has(low, _G_MONEY_WORDS) else ():
        value = words_to_number(match.group(0))
        tail = sentence[match.end() :]
        words = match.group(0).lower().split()
        currency = _CURRENCY_NEAR.match(tail)
        big = any(w in EN_SCALES and EN_SCALES[w] >= 1000 for w in re.split(r"[\s-]+", match.group(0).lower()))
        if value is None or not (currency or (big and "grand" in words) or (big and _BUDGET.search(sentence))):
            continue
        if not (currency or big):
            continue
        code = _CURRENCY_CODES.get(currency["c"].lower().rstrip("s"), currency["c"].upper()) if currency else None
        if code is None and rx(r"lakh|crore").search(match.group(0)):
            code = "INR"
        period = _period(sentence)
        if period in ("week", "day"):
            _unread(c, i, start, end, "amount", period)
            return True
        if c.budget is None:
            c.budget, c.budget_period = Money(value, code), period
            _set(c, i, "budget", start, end)
            if c.sources.get("horizon_days") == "text" and _evidence_in(c, "horizon_days", i, sentence):
                c.horizon_days = None  # "for the quarter" is the budget's period here, not a horizon
                c.sources.pop("horizon_days", None)
                c.evidence.pop("horizon_days", None)
        read = True
        break
    team = _team_words(sentence) if i.bearing else None
    if team is not None and i.bearing and team != c.team_size:
        if c.team_size is None or (c.sources.get("team_size") == "text" and _evidence_in(c, "team_size", i, sentence)):
            c.team_size = team
            _set(c, i, "team_size", start, end)
        read = True
    if i.bearing and not c.channels_allowed:
        allow = _ALLOW.search(sentence) if _has(low, _G_ALLOW) else None
        if allow:
            rest = sentence[allow.end() :]
            negation = _NEGATED.search(rest)
            kinds = channels_in(rest[: negation.start()] if negation else rest)
            if kinds:
                c.channels_allowed = kinds
                c.channels_excluded = [k for k in c.channels_excluded if k not in kinds]
                _set(c, i, "channels_allowed", start, end)
                read = True
    return read


_ROLE = (
    r"(?:csms?|agents?|reps?|staff(?:ers)?|people|persons?|marketers?|designers?|engineers?|developers?|analysts?|"
    r"managers?|ops(?: staff| people)?|operators?|writers?|copywriters?|specialists?|members?|heads?|"
    r"customer success (?:managers?|reps?)|support (?:agents?|staff)|account managers?|interns?|contractors?|"
    r"sales(?:people| reps?)?|pms?)"
)
_ROLE_COUNT = re.compile(rf"(?P<n>{WORD_NUMBER})\s+(?:(?:full[- ]time|part[- ]time|senior|junior|dedicated)\s+)?"
                         rf"(?:[a-z]+\s+)?{_ROLE}\b", _I)  # fmt: skip
_ROLE_ZH = re.compile(
    rf"(?:(?P<n>{CN_COUNT})\s*(?:个|名|位)|(?P<d>半打|一打))(?:[^\s,，、和及与加]{{0,6}}?)?(?:人|员|专员|经理|客服|运营|设计师|销售)"
)


_G_ROLES = (*_G_HEADCOUNT, "writer", "intern", "contractor", "sales", "pm", "support", "customer success", "打")
_NUMBER_TOKENS = frozenset(EN_UNITS).union(EN_SCALES) - {"a", "an", "k", "mn", "bn"}
_NUMBER_WORD = re.compile(r"(?<![a-z])(?:" + "|".join(sorted(_NUMBER_TOKENS, key=len, reverse=True)) + r")(?![a-z])")
_TOTAL = re.compile(rf"{WORD_NUMBER}\s+(?:people|persons|staff|heads|members)\b|[(（]", _I)


def _team_words(sentence: str) -> int | None:
    """A head-count written with words, summed over its roles: 'half a dozen CSMs plus one marketer' -> 7."""
    low = sentence.lower()
    if not _has(low, _G_ROLES) or not (_NUMBER_WORD.search(low) or _has(low, ("个", "名", "位", "打"))):
        return None
    if _TOTAL.search(sentence):
        return None  # a total with its breakdown: the digit reader's
    counts = [words_to_number(m["n"]) for m in islice(_ROLE_COUNT.finditer(sentence), 12)]
    dozens = {"半打": 6.0, "一打": 12.0}
    counts += [dozens[m["d"]] if m["d"] else parse_number(m["n"]) for m in islice(_ROLE_ZH.finditer(sentence), 12)]
    total = sum(n for n in counts if n)
    if not counts or total < 1 or total > 100_000:
        return None
    if len(counts) == 1 and not rx(r"dozen|couple|\b(?:team|staff)\b|打").search(sentence):
        return None  # one count the digit reader had its chance at; only sums and dozens are new here
    return round(total)


def _money_in(sentence: str) -> Money | None:
    amounts = amounts_in(sentence)
    if amounts:
        return amounts[0].money
    bare = re.search(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:元|块)", sentence)
    if bare:
        return Money(float(bare.group(1)), "CNY")
    match = _WORD_NUMBER.search(sentence)
    if match and (currency := _CURRENCY_NEAR.match(sentence[match.end() :])):
        value = words_to_number(match.group(0))
        code = _CURRENCY_CODES.get(currency["c"].lower().rstrip("s"), currency["c"].upper())
        return Money(value, code) if value else None
    return None


def _period(sentence: str) -> str | None:
    """The period a sentence states an amount for; the short ones first ("$500 a week, $2k monthly": a week)."""
    for period in ("week", "day", "month", "quarter", "year"):
        if rx(PERIOD_SAID[period]).search(sentence):
            return period
    return None


def _data_sentence(sentence: str) -> bool:
    return bool(rx(r"\bdata\b|数据|orders? from|history|历史").search(sentence))


def _consumed(i: Text, start: int, end: int) -> bool:
    return any(s < end and e > start for s, e in i.consumed)


def _evidence_in(c: Constraints, name: str, i: Text, sentence: str) -> bool:
    evidence = c.evidence.get(name)
    return evidence is not None and evidence.input == i.name and evidence.text.rstrip("…") in sentence


def _drop_unread(c: Constraints, i: Text, sentence: str, kind: str) -> None:
    c.unread = [u for u in c.unread if not (u.input == i.name and u.kind == kind and u.text.rstrip("…") in sentence)]
