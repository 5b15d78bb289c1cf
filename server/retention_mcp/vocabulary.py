"""Words the typed constraints, the free-text reader and the plan checker share: channel kinds, budget periods and
ISO 4217 currency codes. Pure data and small lookups; cheap to import.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# -- channel kinds ----------------------------------------------------------------------------------------------------
# id: (English name, Chinese name, pattern that names it in free text)
CHANNELS: dict[str, tuple[str, str, str]] = {
    "outbound_calls": (
        "outbound calls", "外呼/电话",
        r"外呼|电销|电话|致电|cold[- ]?calls?|outbound(?: calls?| dialing)?|phone(?: calls?)?|telemarketing|\bcalls?\b",
    ),
    "offline_events": (
        "offline events", "线下活动",
        r"线下|地推|到店活动|门店活动|offline|in[- ]person|in[- ]store events?|on[- ]site events?|field events?",
    ),
    "sms": ("SMS", "短信", r"短信|\bsms\b|text messages?"),
    "email": ("email", "邮件", r"邮件|邮箱|\bedm\b|e-?mails?|newsletters?"),
    "in_app": ("in-app messages", "应用内消息", r"应用内|app内|站内信|in[- ]app"),
    "push": ("push notifications", "推送", r"推送|\bpush\b"),
    "wechat": ("WeChat", "微信", r"(?<!企业)微信(?!群)|公众号|\bwechat\b(?![ -]work)"),
    "im": (
        "instant messaging (WeCom, WhatsApp, LINE, Telegram, Slack Connect)", "即时通讯(企业微信、WhatsApp 等)",
        r"企业微信|企微|wecom|wechat[ -]work|whatsapp|\bline\b(?= (?:app|official|oa|messages?|chats?)|[,，、]| and|$)|"
        r"telegram|slack connect|即时通讯|\bim\b|instant messag(?:ing|es?)|messenger",
    ),
    "community": (
        "community chat groups", "社群/群聊", r"社群|群聊|微信群|discord|community (?:groups?|chats?|channels?)|forums?|论坛",
    ),
    "social": ("social media", "社交媒体", r"社交媒体|微博|小红书|抖音|social media|communit(?:y|ies)(?! (?:groups?|chats?|channels?))"),
    "paid_ads": ("paid ads", "付费广告", r"付费广告|广告投放|信息流|paid (?:ads|media|search|social)|advertising|\bads\b"),
    "live_training": ("live training and webinars", "直播/培训", r"直播|网络研讨会|webinars?|live (?:training|sessions?|streams?)"),
    "webhooks": ("webhooks", "Webhook", r"webhooks?"),
    "direct_mail": ("direct mail", "直邮", r"直邮|direct mail|mailers?"),
}  # fmt: skip
# Kinds a plan may use besides the contact channels: a feature inside the product (badges, a community challenge, a
# pause button) sends no message, so no channel rule applies to it; `other` is a contact channel outside this list.
PRODUCT = "product"
OTHER = "other"
CHANNEL_KINDS: tuple[str, ...] = (*CHANNELS, PRODUCT, OTHER)
_EXTRA_LABELS = {PRODUCT: ("in-product feature", "产品内功能"), OTHER: ("other channel", "其他渠道")}


@functools.cache
def _channel_patterns() -> dict[str, re.Pattern[str]]:
    """Compiled on first use: start-up reads the vocabulary, only a call that reads text needs the patterns."""
    return {cid: re.compile(pattern, re.IGNORECASE) for cid, (_, _, pattern) in CHANNELS.items()}


def channels_in(text: str) -> list[str]:
    """Contact-channel kinds named in a text, in vocabulary order."""
    return list(_channels_in(text))


@functools.lru_cache(maxsize=1024)
def _channels_in(text: str) -> tuple[str, ...]:
    # a brief names its channels in a few short clauses, read again by each reader and check: each is read once
    return tuple(cid for cid, pattern in _channel_patterns().items() if pattern.search(text))


def channel_label(cid: str, language: str) -> str:
    if cid in _EXTRA_LABELS:
        en, zh = _EXTRA_LABELS[cid]
    else:
        en, zh, _ = CHANNELS[cid]
    return zh if language == "zh" else en


def channel_kind(value: str) -> str | None:
    """The kind a user's or a model's channel name stands for: the id itself ('sms', 'in-app' -> in_app), or the one
    kind its words name ('短信' -> sms, 'WeChat service account' -> wechat); None when it names none or several.
    Full-width letters, as a Chinese input method types them ('ＳＭＳ'), read as their ASCII forms."""
    value = unicodedata.normalize("NFKC", value)
    token = value.strip().lower().replace("-", "_").replace(" ", "_")
    if token in CHANNEL_KINDS:
        return token
    found = channels_in(value)
    return found[0] if len(found) == 1 else None


# -- periods ----------------------------------------------------------------------------------------------------------
PERIOD_DAYS: dict[str, float] = {"month": 365 / 12, "quarter": 365 / 4, "year": 365.0}

# -- ISO 4217 ---------------------------------------------------------------------------------------------------------
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SLL",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
        "ZWL",
    ]
)
